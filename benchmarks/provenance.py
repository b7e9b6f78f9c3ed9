"""What every saved benchmark table starts with, and the corpus subsets that let two measurements share their clips.

``header()`` is one Markdown paragraph: the command, the date, the machine (CPU model, cores, load), the versions
(Python, torch, transformers, datasets, the checkout's commit) and the threads, so a table in ``benchmarks/results/``
says where and when it was measured. ``subset_corpus()`` writes a corpus folder whose evaluation split is exactly the
chosen clips (the other splits are linked), so the trainer's evaluation and ``evaluate_model`` score the same sample.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def header(note: str = "") -> str:
    """One paragraph: command, UTC date, machine, versions, threads (and ``note``)."""
    import datasets  # noqa: PLC0415 - only for its version
    import transformers  # noqa: PLC0415

    command = " ".join(["python", str(Path(sys.argv[0]).resolve().relative_to(ROOT)), *sys.argv[1:]])
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"`{command}` on {now}. Machine: {_cpu_model()}, {os.cpu_count()} CPU core(s), {platform.system()} "
        f"{platform.release()}, load average {load} when this line was written. Versions: Python "
        f"{platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"datasets {datasets.__version__}, signllm-hf at {_commit()}. torch threads: {torch.get_num_threads()}."
    )
    return text + (f" {note}" if note else "") + "\n"


def subset_corpus(corpus: str, out: str | Path, split: str, clips: int | None, max_frames: int | None = None) -> Path:
    """A corpus folder at ``out`` whose ``split`` holds a seeded sample of ``clips`` clips (at most ``max_frames``
    long; None: all) of ``corpus``'s, and whose other splits and ``stats.json`` are links to ``corpus``'s."""
    from signllm_hf.data.corpora import load_corpus, select_clips  # noqa: PLC0415

    source, out = Path(corpus).resolve(), Path(out)
    if (out / "data" / f"{split}-00000-of-00001.parquet").is_file():
        return out
    (out / "data").mkdir(parents=True, exist_ok=True)
    for shard in (source / "data").glob("*.parquet"):
        if not shard.name.startswith(f"{split}-"):
            (out / "data" / shard.name).unlink(missing_ok=True)
            (out / "data" / shard.name).symlink_to(shard)
    for name in ("stats.json", "README.md"):
        if (source / name).is_file() and not (out / name).exists():
            (out / name).symlink_to(source / name)
    chosen = select_clips(load_corpus(str(source), split), None, max_frames, clips, name=split)
    chosen.with_format(None).to_parquet(str(out / "data" / f"{split}-00000-of-00001.parquet"))
    return out


def judge_ceiling(reference: dict) -> str:
    """The line that reports the back-translator's scores on the reference poses: the ceiling it allows."""
    names = {"bleu1": "BLEU-1", "bleu4": "BLEU-4", "rouge_l": "ROUGE-L", "chrf": "chrF"}
    scores = ", ".join(f"{label} {reference[key]:.1f}" for key, label in names.items() if key in reference)
    return f"\nBack-translation of the reference poses (the judge's ceiling): {scores}"


def save_table(lines: list[str], path: Path) -> str:
    """``lines`` joined, printed and written to ``path`` (a benchmark's saved output); returns the text."""
    text = "\n".join(lines) + "\n"
    print(text)
    path.write_text(text, encoding="utf-8")
    return text
