"""Legibility of generated fingerspelling: what makes a signer spell? One table, the same training time per row.

Each configuration trains the quickstart's signer (recipes/configs/tiny_cpu.yaml: Base's layout at width 128, bytes
as tokens) for `--minutes` of training time on a fingerspelling corpus, then signs the corpus's test-split words
(never seen in training) and `--random-strings` random letter strings per language (not words at all), and a letter
reader (the fingerspelling judge, `signllm train-letter-reader`) reads them back:

    attention            today's signer: Progressive Transformers' alignment by cross-attention, the corpus's words
    attention+strings    the same, trained on random letter strings and training-split words spelled on the fly
    duration             a monotonic alignment: token durations predicted, the decoder told which letter it signs
    duration+strings     both
    duration+position    duration alignment, and the decoder reads no previous frame (only the letter being signed,
                         its phase and the position): nothing to drift on at generation time
    duration+position+strings   the same on the letter-string stream
    attention+hand       today's signer with a loss on the hands' shapes (joints relative to the wrist), which
                         the per-channel frame loss barely sees
    duration+hand        duration alignment with the hand-shape loss
    parallel+hand        duration alignment, every frame written in one pass (`--decoding parallel`: no previous
                         frame read, each frame attends to the whole clip), with the hand-shape loss
    parallel+hand+strings    the same on the letter-string stream
    parallel+hand5       parallel decoding with the hand-shape loss weighted 5
    parallel+hand+strings+lr2x   parallel + hand + strings with twice the learning rate (1e-3)
    parallel+hand+strings+lr4x   the same with four times the learning rate (2e-3)
    quickstart+velocity  the quickstart's signer before the language priority (parallel+hand+strings+lr2x) with a
                         loss on every joint's motion from frame to frame (`--velocity_loss_weight 1`), against
                         averaged, slow hands
    quickstart+velocity0.3   the same, weighted 0.3
    quickstart+priority  that signer drawing each batch's language by its running loss (`--language_priority 1`:
                         hard alphabets get more of the steps; the quickstart's signer since)
    quickstart+priority2 the same with the loss squared (`--language_priority 2`)

Columns: CER and WER of the test words and of the random strings (the reader's calibration on the references is
printed above the table), DTW of the test words, and the motion ratios (generated / reference hand speed and
hand-shape variance: well below 1 is averaged motion).

    signllm corpus fingerspelling corpora/fs3 --languages ase,gsg,tsm
    signllm train-letter-reader models/reader --languages ase,gsg,tsm --corpus corpora/fs3 --seconds 600
    python benchmarks/legibility.py --corpus corpora/fs3 --reader models/reader --minutes 6 --parallel 2 \\
        --out benchmarks/results/legibility_fs3

`--parallel 2` trains two configurations at once with one thread each (on 2 cores about as fast per run as one at
a time with two threads, for a model this small). The trained models land in sub-folders of --out (not kept in
git); the table and legibility.json next to them. The machine must be otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARALLEL = ["--alignment", "duration", "--decoder_input", "position", "--decoding", "parallel"]
BEFORE_PRIORITY = [*PARALLEL, "--hand_loss_weight", "1.0", "--letter_strings", "true", "--learning_rate", "0.001"]
CONFIGURATIONS = {
    "attention": [],
    "attention+strings": ["--letter_strings", "true"],
    "duration": ["--alignment", "duration"],
    "duration+strings": ["--alignment", "duration", "--letter_strings", "true"],
    "duration+position": ["--alignment", "duration", "--decoder_input", "position"],
    "duration+position+strings": [
        "--alignment",
        "duration",
        "--decoder_input",
        "position",
        "--letter_strings",
        "true",
    ],
    "attention+hand": ["--hand_loss_weight", "1.0"],
    "duration+hand": ["--alignment", "duration", "--hand_loss_weight", "1.0"],
    "parallel+hand": [*PARALLEL, "--hand_loss_weight", "1.0"],
    "parallel+hand+strings": [*PARALLEL, "--hand_loss_weight", "1.0", "--letter_strings", "true"],
    "parallel+hand5": [*PARALLEL, "--hand_loss_weight", "5.0"],
    "parallel+hand+strings+lr2x": BEFORE_PRIORITY,
    "parallel+hand+strings+lr4x": [
        *PARALLEL,
        *("--hand_loss_weight", "1.0", "--letter_strings", "true", "--learning_rate", "0.002"),
    ],
    "quickstart+velocity": [*BEFORE_PRIORITY, "--velocity_loss_weight", "1.0"],
    "quickstart+velocity0.3": [*BEFORE_PRIORITY, "--velocity_loss_weight", "0.3"],
    "quickstart+priority": [*BEFORE_PRIORITY, "--language_priority", "1.0"],
    "quickstart+priority2": [*BEFORE_PRIORITY, "--language_priority", "2.0"],
}


def train(name: str, args) -> None:
    out = Path(args.out) / name
    if (out / "config.json").is_file() and not args.rerun:
        return
    flags = {
        "config": ROOT / "recipes/configs/tiny_cpu.yaml",
        "dataset": args.corpus,
        "output_dir": out,
        "max_steps": args.steps or 1_000_000,
        "train_seconds": args.minutes * 60 if not args.steps else 1e9,
        "eval_strategy": "no",
        "save_strategy": "no",
        "eval_split": "none",
        "lr_scheduler_type": "constant_with_warmup",
        "warmup_steps": 50,
        "disable_tqdm": "true",
        "seed": args.seed,
    }
    options = [item for name, value in flags.items() for item in (f"--{name}", str(value))]
    command = [sys.executable, "-m", "signllm_hf.cli", "train", *options, *CONFIGURATIONS[name]]
    environment = os.environ | {"OMP_NUM_THREADS": str(args.threads)}
    with open(Path(args.out) / f"{name}.log", "w", encoding="utf-8") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=ROOT)


def evaluate(name: str, args) -> dict:
    from signllm_hf.evaluation import evaluate_model  # noqa: PLC0415

    out = Path(args.out) / name
    scores = evaluate_model(
        str(out), args.corpus, split="test", letter_reader=args.reader, random_strings=args.random_strings
    )
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"name": name, "steps": metrics["steps"], "scores": scores}


def table(results: list[dict]) -> str:
    lines = [
        "| configuration | steps | CER words | WER words | CER random strings | WER random strings | DTW words | "
        "hand speed ratio | hand-shape variance ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        words, strings = result["scores"]["legibility"], result["scores"]["random_strings"]
        lines.append(
            f"| {result['name']} | {result['steps']} | {words['cer']:.3f} | {words['wer']:.3f} | {strings['cer']:.3f}"
            f" | {strings['wer']:.3f} | {result['scores']['dtw']:.3f} | {words['speed_ratio']:.2f} | "
            f"{words['hand_shape_variance_ratio']:.2f} |"
        )
    languages = sorted(results[0]["scores"]["legibility"]["per_language"])
    lines += ["", "CER per language (test words / random strings):", ""]
    lines.append("| configuration | " + " | ".join(languages) + " |")
    lines.append("|---|" + "---|" * len(languages))
    for result in results:
        words = result["scores"]["legibility"]["per_language"]
        strings = result["scores"]["random_strings"]["per_language"]
        cells = [f"{words[c]['cer']:.3f} / {strings[c]['cer']:.3f}" for c in languages]
        lines.append(f"| {result['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", required=True, help="a fingerspelling corpus folder (signllm corpus fingerspelling)"
    )
    parser.add_argument("--reader", required=True, help="a letter reader folder (signllm train-letter-reader)")
    parser.add_argument("--minutes", type=float, default=6.0, help="training time of each configuration")
    parser.add_argument(
        "--steps", type=int, default=None, help="train each configuration this many steps instead (a busy machine)"
    )
    parser.add_argument("--random-strings", type=int, default=30, help="random letter strings per language")
    parser.add_argument("--only", help="comma-separated configurations to run")
    parser.add_argument("--parallel", type=int, default=1, help="configurations trained at once")
    parser.add_argument("--threads", type=int, default=None, help="threads per run (default: 2 / --parallel)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rerun", action="store_true", help="retrain configurations already trained")
    parser.add_argument("--out", default="benchmarks/results/legibility")
    args = parser.parse_args()
    args.threads = args.threads or max(1, 2 // args.parallel)
    names = args.only.split(",") if args.only else list(CONFIGURATIONS)
    unknown = sorted(set(names) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGURATIONS)}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    started = time.time()
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda name: train(name, args), names))
    results = [evaluate(name, args) for name in names]
    calibration = results[0]["scores"]["legibility"]["calibration"]
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min"
    header = (
        f"# Legibility ({time.strftime('%Y-%m-%d')}, {platform.node() or 'this machine'}, {os.cpu_count()} cores, "
        f"python {platform.python_version()})\n\n`{' '.join(['python', *sys.argv])}`\n\n"
        f"Reader calibration on the test references (CER): references {calibration['references']:.3f}, still pose "
        f"{calibration['still_pose']:.3f}, another word's clip {calibration['another_word']:.3f}. Training time per "
        f"row: {budget} ({args.parallel} at a time, {args.threads} thread(s) each); this invocation took "
        f"{(time.time() - started) / 60:.1f} min (models trained by an earlier one are reused, only scored).\n\n"
    )
    text = header + table(results) + "\n"
    print(text)
    (Path(args.out) / "legibility.md").write_text(text, encoding="utf-8")
    (Path(args.out) / "legibility.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
