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
  distance, in shoulder widths and in millimetres, taking 40 cm shoulders).

    python benchmarks/letter_margins.py --reader models/reader6 --languages ase,gsg,sgg,tsm,gss,ukl --pairs 4

Saved: `benchmarks/results/legibility/letter_margins.md`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.provenance import header  # noqa: E402
from signllm_hf.data.corpora.fingerspelling import PoseClip, join_letters  # noqa: E402
from signllm_hf.data.corpora.letter_strings import LetterStrings, Variation  # noqa: E402
from signllm_hf.data.skeleton import LEFT_HAND, LEFT_HAND_ROOT, RIGHT_HAND, RIGHT_HAND_ROOT  # noqa: E402
from signllm_hf.evaluation.judges.modeling_letter_reader import SignLLMLetterReader  # noqa: E402

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
SHOULDER_WIDTH_MM = 400  # an adult's shoulder width, only to put the precision in words


def hand_shape(clip: PoseClip) -> np.ndarray:
    """(T, 21, 3): the hand that moves more, each joint relative to its wrist."""
    right = np.linalg.norm(np.diff(clip.pose[:, RIGHT_HAND_ROOT], axis=0), axis=-1).sum()
    left = np.linalg.norm(np.diff(clip.pose[:, LEFT_HAND_ROOT], axis=0), axis=-1).sum()
    hand, wrist = (RIGHT_HAND, RIGHT_HAND_ROOT) if right >= left else (LEFT_HAND, LEFT_HAND_ROOT)
    return clip.pose[:, hand] - clip.pose[:, [wrist]]


def shape_distance(first: PoseClip, second: PoseClip) -> float:
    frames = min(first.num_frames, second.num_frames)
    a, b = hand_shape(first)[:frames], hand_shape(second)[:frames]
    return float(np.linalg.norm(a - b, axis=-1).mean())


def blend(first: PoseClip, second: PoseClip, alpha: float) -> PoseClip:
    frames = min(first.num_frames, second.num_frames)
    pose = (1 - alpha) * first.pose[:frames] + alpha * second.pose[:frames]
    return PoseClip(pose.astype(np.float32), first.confidence[:frames], first.fps, source="blend")


def nearest_pairs(strings: LetterStrings, language: str, count: int) -> list[tuple[float, str, str]]:
    table = strings.lexicon.units[language]
    clips = {key: strings.letters.get(variants[0]) for key, variants in table.items()}
    keys = sorted(clips)
    pairs = [(shape_distance(clips[x], clips[y]), x, y) for i, x in enumerate(keys) for y in keys[i + 1 :]]
    return sorted(pairs)[:count]


def margins(strings: LetterStrings, reader, language: str, x: str, y: str, contexts: int, seed: int) -> dict:
    table = strings.lexicon.units[language]
    unit_x, clip_x, clip_y = table[x][0], strings.letters.get(table[x][0]), strings.letters.get(table[y][0])
    others = [key for key in sorted(table) if key not in (x, y)]
    rng = random.Random(f"{seed}-{language}-{x}-{y}")
    around = [(rng.choice(others), rng.choice(others)) for _ in range(contexts)]
    transition = Variation.none().transition_frames[0]
    poses, expected = [], []
    for alpha in ALPHAS:
        middle = blend(clip_x, clip_y, alpha)
        for before, after in around:
            clips = [strings.letters.get(table[before][0]), middle, strings.letters.get(table[after][0])]
            poses.append(join_letters(clips, strings.typical[language], transition)[0])
            expected.append((table[before][0].gloss, unit_x.gloss, table[after][0].gloss))
    reads = reader.read(poses, [language] * len(poses))
    right = [tuple(read) == want for read, want in zip(reads, expected)]
    per_alpha = [sum(right[i * contexts : (i + 1) * contexts]) for i in range(len(ALPHAS))]
    # The largest alpha up to which X is read in at least half of the contexts at every step.
    until = None
    for alpha, count in zip(ALPHAS, per_alpha):
        if 2 * count < contexts:
            break
        until = alpha
    return {"read": per_alpha[0], "until": until}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reader", required=True, help="letter reader folder (signllm train-letter-reader)")
    parser.add_argument("--languages", help="comma-separated sign languages (default: the reader's)")
    parser.add_argument("--pairs", type=int, default=4, help="the nearest pairs of each language")
    parser.add_argument("--contexts", type=int, default=8, help="strings P X N per pair and alpha")
    parser.add_argument("--lexicon", help="lexicon folder (default: the spoken-to-signed lexicon)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    reader = SignLLMLetterReader.from_pretrained(args.reader).eval()
    languages = args.languages.split(",") if args.languages else list(reader.config.languages)
    strings = LetterStrings(args.lexicon, languages=languages, fps=reader.config.fps)
    print(header())
    alphas = ", ".join(map(str, ALPHAS))
    print(f"\nreader {args.reader}; {args.contexts} contexts per pair and alpha; alphas {alphas}\n")
    print("| language | X / Y | hand-shape distance | X read (alpha 0) | X read until alpha | precision needed |")
    print("|---|---|---|---|---|---|")
    for language in strings.languages:
        for distance, x, y in nearest_pairs(strings, language, args.pairs):
            for first, second in ((x, y), (y, x)):
                found = margins(strings, reader, language, first, second, args.contexts, args.seed)
                if found["until"] is None:
                    until, precision = "never read", "-"
                else:
                    until = f"{found['until']:.1f}"
                    width = found["until"] * distance
                    precision = f"{width:.3f} ({width * SHOULDER_WIDTH_MM:.0f} mm)" if found["until"] < 1 else "-"
                print(
                    f"| {language} | {first} / {second} | {distance:.3f} | {found['read']}/{args.contexts} | {until} "
                    f"| {precision} |"
                )


if __name__ == "__main__":
    main()
