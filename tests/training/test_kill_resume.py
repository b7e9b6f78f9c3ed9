"""`signllm train` killed (SIGKILL) at random moments and resumed with `--resume_from_checkpoint true` ends with the
weights of a run that was never interrupted; a checkpoint cut while it was written never stops the resume.

Slow (30 s on the idle 2-core box, 3.5 minutes with a load average of 8):
`pytest -m slow tests/training/test_kill_resume.py`.
"""

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from signllm_hf.training.checkpoints import checkpoint_problems
from tests.training.helpers import tiny_cli, tiny_corpus

ROOT = Path(__file__).resolve().parents[2]
MAX_STEPS, SAVE_STEPS, KILLS = 40, 2, 4


def _launch(corpus: Path, out: Path, log: Path, resume: bool) -> subprocess.Popen:
    flags = tiny_cli(max_steps=MAX_STEPS, save_strategy="steps", save_steps=SAVE_STEPS, eval_split="none")
    command = [sys.executable, "-m", "signllm_hf.cli", "train", "--dataset", str(corpus), "--output_dir", str(out)]
    command += [*flags, *(["--resume_from_checkpoint", "true"] if resume else [])]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)


def _checkpoint_times(process: subprocess.Popen, out: Path) -> list[float]:
    """When each checkpoint folder of a running process appeared, in step order (until the process ends)."""
    seen = {}
    while process.poll() is None:
        for folder in out.glob("checkpoint-*"):
            seen.setdefault(int(folder.name.split("-")[1]), time.monotonic())
        time.sleep(0.005)
    return [seen[step] for step in sorted(seen)]


def _wait_for(process: subprocess.Popen, folder: Path, log: Path, timeout: float = 120) -> None:
    """Until ``folder`` appears (the Trainer has begun writing that checkpoint)."""
    deadline = time.monotonic() + timeout
    while not folder.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended ({process.returncode}) before {folder.name}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {folder.name} after {timeout} s")
        time.sleep(0.005)


@pytest.mark.slow
def test_killed_at_random_moments_and_resumed_ends_with_the_uninterrupted_weights(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus", vocab_size=10, train_sentences=12)
    straight = _launch(corpus, tmp_path / "straight", tmp_path / "straight.log", resume=False)
    times = _checkpoint_times(straight, tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, (tmp_path / "straight.log").read_text()[-2000:]
    interval = statistics.median(later - earlier for earlier, later in zip(times, times[1:]))  # save to save

    rng = random.Random(11)
    # Each kill lands after the run has begun writing checkpoint-<target>, up to 0.9 save intervals later: inside
    # that checkpoint's writing or in the steps that follow it, well before the run's end.
    targets = sorted(rng.sample(range(2 * SAVE_STEPS, MAX_STEPS - 2 * SAVE_STEPS, SAVE_STEPS), KILLS))
    out, cut = tmp_path / "killed", []
    for attempt, target in enumerate(targets):
        log = tmp_path / f"attempt{attempt}.log"
        process = _launch(corpus, out, log, resume=attempt > 0)
        _wait_for(process, out / f"checkpoint-{target}", log)
        time.sleep(rng.uniform(0.0, 0.9) * interval)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
        assert not (out / "model.safetensors").exists()  # killed before the end
        cut += [target] if checkpoint_problems(out / f"checkpoint-{target}", extra_files=("plc_state.npz",)) else []
    log = tmp_path / "last.log"
    last = _launch(corpus, out, log, resume=True)
    assert last.wait(timeout=300) == 0, log.read_text()[-2000:]
    print(f"save interval {interval:.3f} s; killed after checkpoints {targets} began; cut short: {cut}")  # with -s

    reference, resumed = load_file(tmp_path / "straight" / "model.safetensors"), load_file(out / "model.safetensors")
    assert resumed.keys() == reference.keys()
    for name, value in reference.items():
        assert (resumed[name] - value).abs().max() <= 1e-6, name
    for step in range(SAVE_STEPS, MAX_STEPS + 1, SAVE_STEPS):  # every checkpoint whole in the end
        assert checkpoint_problems(out / f"checkpoint-{step}", extra_files=("plc_state.npz",)) == [], step
