"""How far apart are a lexicon's letters, and how precisely must a signer sign them for a letter reader to tell them
apart?

A signer is judged by a letter reader (`signllm train-letter-reader`). When two letters of a lexicon are recorded
with almost the same hand, a signer has to reproduce the small difference between their clips, or the reader reads
the other letter: that sets the precision a language's spelling needs, whatever the model. For each language this
script finds the pairs of units whose dominant hands are closest in shape, then, for each pair X / Y:

- **distance**: the mean distance between the two clips' hand shapes (every joint of the dominant hand relative to
  its wrist, frame by frame over the shorter clip), in shoulder widths (the data's unit);
- **X read**: how many of `--contexts` strings "P X N" (P and N other letters of the language, drawn with a fixed
  seed) the reader reads right when X is its own lexicon clip: the reader's own ceiling on this letter;
- **X read until**: X's clip is blended towards Y's, ``(1 - alpha) X + alpha Y``; the largest alpha at which the
  reader still reads X in at least half of the contexts, and the precision that asks of a signer (alpha times the
  distance, in shoulder widths and in millimetres, taking 40 cm shoulders);
- **signer's X at alpha** (with ``--signer MODEL``): where the signer's own X sits on the same line, when it signs
  the same strings: its frames are aligned to the reference by DTW, and its aligned hand shapes are projected on the
  line from X's clip (alpha 0) to Y's (alpha 1), by least squares over all of X's frames and the contexts. A signer
  whose X sits below the reader's "read until" is read as X.

    python benchmarks/letter_margins.py --reader models/reader6 --languages ase,gsg,sgg,tsm,gss,ukl --pairs 4 \
        --signer models/fs6

The reader's side is the library's (``signllm_hf.evaluation.letter_margins``, which `signllm train-letter-reader`
summarises as its ``near letters`` line); the signer's side, which needs a model and an alignment, is this script's.

Saved: `benchmarks/results/legibility/letter_margins.md`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.provenance import header  # noqa: E402
from signllm_hf.data.corpora.letter_strings import LetterStrings, Variation, written_form  # noqa: E402
from signllm_hf.data.skeleton import NECK  # noqa: E402
from signllm_hf.evaluation.judges.modeling_letter_reader import SignLLMLetterReader  # noqa: E402
from signllm_hf.evaluation.letter_margins import (  # noqa: E402
    ALPHAS,
    hand_shape,
    letter_contexts,
    letter_in_context,
    nearest_pairs,
    reading_margin,
    signing_hand,
)

SHOULDER_WIDTH_MM = 400  # an adult's shoulder width, only to put the precision in words


def alignment(reference: np.ndarray, hypothesis: np.ndarray) -> list[tuple[int, int]]:
    """The DTW path between two (T, D) feature sequences: pairs (reference frame, hypothesis frame)."""
    cost = np.linalg.norm(reference[:, None] - hypothesis[None], axis=-1)
    total = np.full((len(reference) + 1, len(hypothesis) + 1), np.inf)
    total[0, 0] = 0
    for i in range(1, len(reference) + 1):
        for j in range(1, len(hypothesis) + 1):
            total[i, j] = cost[i - 1, j - 1] + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
    i, j, path = len(reference), len(hypothesis), []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        step = int(np.argmin([total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]]))
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return path[::-1]


def letter_features(pose: np.ndarray, hand: tuple[slice, int]) -> np.ndarray:
    """(T, 66): the hand's shape and where its wrist is relative to the neck, what tells letters apart."""
    return np.concatenate([hand_shape(pose, hand).reshape(len(pose), -1), pose[:, hand[1]] - pose[:, NECK]], 1)


def signed_alpha(strings, signer, language, around, x, y) -> float:
    """Position of the signer's X on the line from X's clip (0) to Y's (1), least squares over frames and contexts."""
    table = strings.lexicon.units[language]
    clip_x, clip_y = strings.letters.get(table[x][0]), strings.letters.get(table[y][0])
    frames, hand = min(clip_x.num_frames, clip_y.num_frames), signing_hand(strings, language)
    direction = hand_shape(clip_y.pose[:frames], hand) - hand_shape(clip_x.pose[:frames], hand)
    spoken = strings.lexicon.spoken[language]
    projected, squared = 0.0, 0.0  # least squares over all frames: frames where X and Y agree weigh nothing
    for before, after in around:
        reference = letter_in_context(strings, language, before, clip_x, after)
        torch.manual_seed(0)
        text = written_form([table[before][0].gloss, table[x][0].gloss, table[after][0].gloss], spoken)
        signed = np.asarray(signer(text, language=language)["pose"])
        path = alignment(letter_features(reference, hand), letter_features(signed, hand))
        start = strings.letters.get(table[before][0]).num_frames + Variation.none().transition_frames[0]
        for frame in range(frames):
            aligned = [j for i, j in path if i == start + frame]
            shape = hand_shape(signed[aligned], hand).mean(0) - hand_shape(clip_x.pose[frame : frame + 1], hand)[0]
            projected += float((shape * direction[frame]).sum())
            squared += float((direction[frame] ** 2).sum())
    return projected / squared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reader", required=True, help="letter reader folder (signllm train-letter-reader)")
    parser.add_argument("--languages", help="comma-separated sign languages (default: the reader's)")
    parser.add_argument("--pairs", type=int, default=4, help="the nearest pairs of each language")
    parser.add_argument("--contexts", type=int, default=8, help="strings P X N per pair and alpha")
    parser.add_argument("--lexicon", help="lexicon folder (default: the spoken-to-signed lexicon)")
    parser.add_argument("--signer", help="a text-to-pose model folder: where it signs each letter X")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    reader = SignLLMLetterReader.from_pretrained(args.reader).eval()
    languages = args.languages.split(",") if args.languages else list(reader.config.languages)
    strings = LetterStrings(args.lexicon, languages=languages, fps=reader.config.fps)
    signer = None
    if args.signer:
        from transformers import pipeline  # noqa: PLC0415

        import signllm_hf  # noqa: F401, PLC0415 - registers the pipeline

        signer = pipeline("text-to-pose", model=args.signer, device="cpu")
    print(header())
    alphas = ", ".join(map(str, ALPHAS))
    print(
        f"\nreader {args.reader}, signer {args.signer}; {args.contexts} contexts per pair and alpha; alphas {alphas}\n"
    )
    columns = "X read (alpha 0) | X read until alpha | precision needed | signer's X at alpha"
    print(f"| language | X / Y | hand-shape distance | {columns} |")
    print("|---|---|---|---|---|---|---|")
    for language in strings.languages:
        for distance, x, y in nearest_pairs(strings, language, args.pairs):
            for first, second in ((x, y), (y, x)):
                around = letter_contexts(strings, language, first, second, args.contexts, args.seed)
                found = reading_margin(reader, strings, language, first, second, around)
                signed_at = signed_alpha(strings, signer, language, around, first, second) if signer else None
                if found["read_until"] is None:
                    until, precision = "never read", "-"
                else:
                    until = f"{found['read_until']:.1f}"
                    width = found["read_until"] * distance
                    precision = f"{width:.3f} ({width * SHOULDER_WIDTH_MM:.0f} mm)" if found["read_until"] < 1 else "-"
                signed = "-" if signed_at is None else f"{signed_at:.2f}"
                print(
                    f"| {language} | {first} / {second} | {distance:.3f} | {found['read']}/{args.contexts} | {until} "
                    f"| {precision} | {signed} |"
                )


if __name__ == "__main__":
    main()
