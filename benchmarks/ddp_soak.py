"""How often the two-process CPU recipe (gloo) ends cleanly when the machine is busy: a soak test of its exit.

Each run is the command of ``tests/training/test_entry_points.py::test_accelerate_cpu_recipe_runs_two_processes``
(``accelerate launch --config_file recipes/accelerate/cpu_ddp.yaml recipes/train.py`` on a tiny synthetic corpus,
checkpoints every 3 steps), or with ``--recipe prompt2langgloss`` the one of
``tests/langgloss/test_prompt2langgloss.py::test_both_stages_train_under_accelerate_with_two_processes`` (both
stages; process 0 scores the prompt stage alone after the last collective). ``--load N`` keeps N busy-loop
processes running meanwhile (each stops by itself after ``--max-seconds``). A run passes when the launcher exits 0
and ``metrics.json`` says two processes trained; an abort is a rank killed by SIGABRT (``terminate called without
an active exception``: gloo torn down at interpreter exit while another rank still worked).

    python benchmarks/ddp_soak.py --runs 20 --load 2                    # this tree
    python benchmarks/ddp_soak.py --runs 10 --load 2 --repo /tmp/old    # another copy of the repository
    python benchmarks/ddp_soak.py --runs 10 --load 3 --recipe prompt2langgloss

On the 2-core box a signer run takes about 15 s idle and 20-30 s under ``--load 2``. Results (before and after the
fix of issue 11): ``benchmarks/results/ddp_soak.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import accelerate
import torch
import transformers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.training.helpers import tiny_cli, tiny_corpus  # noqa: E402

ABORT_SIGNS = ("terminate called", "Signal 6 (SIGABRT)", "exitcode  : -6", "SIGABRT")


def burner(seconds: float) -> subprocess.Popen:
    """A process that keeps one core busy for ``seconds`` at most (it ends by itself if this script is killed)."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


RECIPES = {
    "signer": ["--config", "tiny_cpu.yaml", *tiny_cli(save_strategy="steps", save_steps=3)],
    "prompt2langgloss": [
        "--config",
        "prompt2langgloss.yaml",
        "--bf16",
        "false",
        *tiny_cli(max_frames=200, eval_max_frames=20),
        *("--prompt_stage_steps", "100000", "--prompt_stage_seconds", "5"),
        *("--prompt_stage_d_model", "32", "--prompt_stage_layers", "1"),
    ],
}


def one_run(repo: Path, recipe: str, corpus: Path, out: Path, port: int, timeout: float) -> dict:
    flags = list(RECIPES[recipe])
    flags[1] = str(repo / "recipes" / "configs" / flags[1])
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(repo / "recipes" / "accelerate" / "cpu_ddp.yaml"),
        "--main_process_port",
        str(port),
        str(repo / "recipes" / "train.py"),
        *flags,
        "--dataset",
        str(corpus),
        "--output_dir",
        str(out),
        "--eval_split",
        "none",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    started = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        rc, stderr = result.returncode, result.stderr
    except subprocess.TimeoutExpired as error:
        rc, stderr = None, (error.stderr or b"").decode(errors="replace") if isinstance(error.stderr, bytes) else ""
    seconds = time.perf_counter() - started
    metrics = out / "metrics.json"
    world = json.loads(metrics.read_text())["world_size"] if metrics.is_file() else None
    if rc is None:
        outcome = "timeout"
    elif rc == 0 and world == 2:
        outcome = "pass"
    elif any(sign in stderr for sign in ABORT_SIGNS):
        outcome = "abort"
    else:
        outcome = "fail"
    return {"rc": rc, "seconds": seconds, "outcome": outcome, "world_size": world, "stderr": stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=2, help="busy-loop processes running meanwhile")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="signer", help="which two-process test's run")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the repository copy whose recipe runs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a run counts as hung")
    parser.add_argument("--max-seconds", type=float, default=3600, help="the burners stop after this at the latest")
    parser.add_argument("--port", type=int, default=29650, help="first main-process port (one per run)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed: still stop the busy loops (finally below)
    repo = args.repo.resolve()
    started = datetime.datetime.now(datetime.UTC)
    print(f"command: python benchmarks/ddp_soak.py {' '.join(sys.argv[1:])}", flush=True)
    print(
        f"date: {started:%Y-%m-%d %H:%M} UTC; machine: {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} cores; python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, accelerate {accelerate.__version__}; tree: {repo}",
        flush=True,
    )
    burners = []
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        sizes = (
            {"vocab_size": 10, "train_sentences": 12}
            if args.recipe == "signer"
            else {"vocab_size": 8, "train_sentences": 16}
        )
        with contextlib.redirect_stdout(sys.stderr):  # the corpus summary would break the table
            corpus = tiny_corpus(Path(scratch) / "corpus", **sizes)
        try:
            burners = [burner(args.max_seconds) for _ in range(args.load)]
            print(
                "\n| run | outcome | exit code | seconds | load average (1 min) |\n|---|---|---|---|---|", flush=True
            )
            for index in range(args.runs):
                out = Path(scratch) / f"run{index}"
                run = one_run(repo, args.recipe, corpus, out, args.port + index, args.timeout)
                run["load"] = load = os.getloadavg()[0]  # the busy loops and anything else on the machine
                results.append(run)
                print(
                    f"| {index + 1} | {run['outcome']} | {run['rc']} | {run['seconds']:.1f} | {load:.1f} |", flush=True
                )
        finally:
            for process in burners:
                process.kill()
                process.wait()
    counts = {kind: sum(r["outcome"] == kind for r in results) for kind in ("pass", "abort", "fail", "timeout")}
    median = statistics.median(r["seconds"] for r in results)
    loads = [r["load"] for r in results]
    print(
        "\n| recipe | busy loops | load average | runs | passed | aborted (SIGABRT) | other failures | timeouts "
        "| median seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.recipe} | {args.load} | {min(loads):.1f}-{max(loads):.1f} | {len(results)} | {counts['pass']} | "
        f"{counts['abort']} | {counts['fail']} | {counts['timeout']} | {median:.1f} |"
    )
    failed = next((r for r in results if r["outcome"] != "pass"), None)
    if failed is not None:
        print("\nfirst failure, end of its stderr:\n```\n" + failed["stderr"][-2500:] + "\n```")


if __name__ == "__main__":
    main()
