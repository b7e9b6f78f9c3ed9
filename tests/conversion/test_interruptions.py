"""SIGKILL at any moment of ``signllm convert openpose``, then a rerun: the output of a run that was never killed.

Every file is written under a temporary name and renamed (``signllm_hf.data.atomic``), clips are stored in atomic
parts (``conversion/store.py``), and a rerun removes what a killed writer left; these tests check the whole of it on
a real process and a real SIGKILL.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from signllm_hf.cli import main
from signllm_hf.conversion.pipeline import load_converted, read_sentence_table

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

TEXT_FILES = ("skels", "text", "gloss", "files")


def _input(how2sign_dir, root, copies: int = 2, frames: int = 40):
    """The three How2Sign clips, ``copies`` times each under its own id, cut to ``frames`` frames; a text table."""
    sentences = read_sentence_table(how2sign_dir / "clips.tsv")
    lines = []
    for copy in range(copies):
        for clip in sorted((how2sign_dir / "json").iterdir()):
            target = root / f"{clip.name}-{copy}"
            target.mkdir(parents=True)
            for path in sorted(clip.glob("*_keypoints.json"))[:frames]:
                shutil.copyfile(path, target / path.name)
            lines.append(f"{target.name}\t{sentences[clip.name]}\n")
    (root.parent / "clips.tsv").write_text("".join(lines), encoding="utf-8")
    return root


def _arguments(root, out):
    return ["convert", "openpose", str(root), str(out), "--text", str(root.parent / "clips.tsv"), "--quiet"]


def _start(root, out):
    # `python -m signllm_hf.cli` runs what the `signllm` console script runs.
    command = [sys.executable, "-m", "signllm_hf.cli", *_arguments(root, out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(path, process):
    while not path.exists() and process.poll() is None:
        time.sleep(0.005)


def _assert_same_output(out, reference):
    assert not sorted(p.name for p in out.rglob(".*")), "hidden temporaries left"
    for name in TEXT_FILES:
        assert (out / f"train.{name}").read_bytes() == (reference / f"train.{name}").read_bytes(), name
    shards = sorted(p.name for p in (reference / "dataset" / "data").iterdir())
    assert sorted(p.name for p in (out / "dataset" / "data").iterdir()) == shards
    resumed, straight = load_converted(out, split="train"), load_converted(reference, split="train")
    for column in ("id", "language", "text", "gloss", "prompt", "fps"):
        assert resumed[column] == straight[column], column
    for column in ("pose", "confidence"):
        for a, b in zip(resumed[column], straight[column]):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def converted(how2sign_dir, tmp_path_factory):
    """Six clips of 40 frames, and their conversion by a run that was never interrupted."""
    root = _input(how2sign_dir, tmp_path_factory.mktemp("interruptions") / "json")
    assert main(_arguments(root, root.parent / "reference")) == 0
    return root, root.parent / "reference"


def test_sigkill_during_the_lift_then_a_rerun(converted):
    root, reference = converted
    out = root.parent / "killed_in_lift"
    process = _start(root, out)
    try:
        _wait_for(out / "keypoints2d.h5", process)  # the extract stage is done: the lift has begun
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL and not (out / "poses3d.h5").exists()
    assert main(_arguments(root, out)) == 0
    _assert_same_output(out, reference)


# What a run has made so far, in order, each kept to the end: OUT_DIR once its imports are done (then it extracts),
# keypoints2d.h5 (lifts), poses3d.h5 (builds the rows, writes the .skels files), train.skels (writes the parquet
# dataset), dataset/ (writes summary.json). Each comes with a span of about the next step's length on an idle machine
# (seconds): a kill at a random moment of the span lands in that step or just after it, however busy the machine. A
# delay counted from the start would not: the same run takes 3 s on an idle machine and 20 s on a busy one.
MILESTONES = {"": 0.3, "keypoints2d.h5": 2.0, "poses3d.h5": 0.15, "train.skels": 0.05, "dataset": 0.01}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_reruns(converted):
    root, reference = converted
    rng = random.Random(11)
    for attempt, (milestone, span) in enumerate(MILESTONES.items()):
        out = root.parent / f"killed_{attempt}"
        process = _start(root, out)
        try:
            _wait_for(out / milestone, process)
            time.sleep(rng.uniform(0, span))
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait()
        assert main(_arguments(root, out)) == 0
        _assert_same_output(out, reference)
