"""How long `signllm corpus fingerspelling` takes, and what it cuts out of the lexicon's clips.

Builds the fingerspelling corpus of every language of the lexicon (as the README's `signllm corpus fingerspelling
corpora/fingerspelling` does) three times into a temporary folder, timed, then runs that command once, timed, and
lists the lexicon clips that hold more than one sign: for each, the frames kept, and how far the farthest observed
joint gets from the neck (in shoulder widths, the clip's own units) in the part kept and in the part cut, which is
where tracking glitches show.

    python benchmarks/corpus_build.py --out benchmarks/results/corpus_build.md

Needs the `lexicon` extra (the spoken-to-signed package). The machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import header, save_table  # noqa: E402
from signllm_hf.data.corpora.fingerspelling import (  # noqa: E402
    FingerspellingLexicon,
    _segment,
    active_span,
    build_fingerspelling_corpus,
    sign_spans,
)
from signllm_hf.data.pose_files import read_pose_file  # noqa: E402


def farthest_from_neck(pose: np.ndarray, confidence: np.ndarray) -> float:
    """The largest distance of an observed joint from the frame's neck (joint 1), 0 for no frames."""
    if len(pose) == 0:
        return 0.0
    distance = np.linalg.norm(pose - pose[:, 1:2], axis=-1)
    seen = (confidence > 0) & (confidence[:, 1:2] > 0)
    return float(distance[seen].max()) if seen.any() else 0.0


def multi_sign_clips(lexicon: FingerspellingLexicon) -> list[str]:
    """One table row per lexicon clip that holds several signs (the corpus keeps the first)."""
    rows = []
    for language, table in sorted(lexicon.units.items()):
        for gloss, variants in sorted(table.items()):
            for unit in variants:
                clip = _segment(read_pose_file(unit.path), unit)
                signs = sign_spans(clip)
                if len(signs) < 2:
                    continue
                start, end = active_span(clip)
                kept = farthest_from_neck(clip.pose[start:end], clip.confidence[start:end])
                cut = farthest_from_neck(clip.pose[end:], clip.confidence[end:])
                rows.append(
                    f"| {language} | {gloss} | {unit.path.name} | {len(signs)} | {clip.num_frames} | {start}-{end} | "
                    f"{kept:.2f} | {cut:.2f} |"
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed builds of the whole corpus")
    parser.add_argument("--out", default="benchmarks/results/corpus_build.md")
    args = parser.parse_args()
    logging.getLogger("signllm_hf").setLevel(logging.ERROR)  # the cut clips are listed below, once
    lexicon = FingerspellingLexicon.load()
    seconds, stats = [], {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            stats = build_fingerspelling_corpus(Path(out) / "corpus", progress=False)
            seconds.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as out:  # the command as a user runs it: imports and all
        started = time.perf_counter()
        command = ["signllm", "corpus", "fingerspelling", str(Path(out) / "corpus"), "--quiet"]
        subprocess.run(command, check=True, capture_output=True)
        command_seconds = time.perf_counter() - started
    clips = sum(split["clips"] for split in stats["splits"].values())
    timings = ", ".join(f"{s:.1f}" for s in seconds)
    lines = [
        "# Building the fingerspelling corpus",
        "",
        header(),
        f"`build_fingerspelling_corpus` (what `signllm corpus fingerspelling DIR` runs) for all "
        f"{len(lexicon.languages)} languages of the lexicon: {timings} s over {args.repeats} builds, median "
        f"{statistics.median(seconds):.1f} s, {clips} clips. The whole command, `signllm corpus fingerspelling DIR "
        f"--quiet`, its imports included: {command_seconds:.1f} s.",
        "",
        "Lexicon clips that hold more than one sign (the corpus keeps the first, from `active_span`). Farthest joint: "
        "the largest distance of an observed joint from the neck, in shoulder widths of the clip's own scale, in the "
        "frames kept and in the frames cut (an arm's reach is about 1.5).",
        "",
        "| language | letter | file | signs | frames | kept | farthest joint, kept | farthest joint, cut |",
        "|---|---|---|---|---|---|---|---|",
        *multi_sign_clips(lexicon),
    ]
    save_table(lines, Path(args.out))


if __name__ == "__main__":
    main()
