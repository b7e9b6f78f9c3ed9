"""Is a letter reader fair to letters that look alike? Near-letter margins of the fingerspelling judge.

A reader that reads the corpus's references at CER 0 can still be lopsided: when two letters of a lexicon are
recorded with almost the same hand (DSGS's Ü and U differ by 0.045 shoulder widths of hand shape, about 2 cm), a
reader may read Ü only when a signer reproduces Ü's clip to a few millimetres, and U for anything else. It then
blames the signer for the reader's own bias. This module measures it: for a language's nearest letter pairs X / Y
(by the dominant hand's shape), X's lexicon clip is blended towards Y's, ``(1 - alpha) X + alpha Y``, inside strings
"P X N" (P, N other letters of the language), and the reader reads them. A fair reader reads X up to about halfway;
``read_until`` is the largest alpha up to which it reads X in at least half of the strings.

``signllm train-letter-reader`` reports the smallest ``read_until`` of every language with the reader's calibration
(goal >= 0.3); ``benchmarks/letter_margins.py`` prints the whole table, and where a signer puts those letters.

Example:
    >>> import numpy as np
    >>> from signllm_hf.data.corpora.fingerspelling import PoseClip
    >>> from signllm_hf.evaluation.letter_margins import blend
    >>> x = PoseClip(np.zeros((3, 50, 3), np.float32), np.ones((3, 50), np.float32), 25.0)
    >>> y = PoseClip(np.ones((4, 50, 3), np.float32), np.ones((4, 50), np.float32), 25.0)
    >>> middle = blend(x, y, 0.25)
    >>> middle.num_frames, float(middle.pose[0, 0, 0])
    (3, 0.25)
"""

from __future__ import annotations

import random

import numpy as np

from ..data.corpora.fingerspelling import PoseClip, join_letters
from ..data.corpora.letter_strings import LetterStrings, Variation
from ..data.skeleton import HANDS_BY_SIDE

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
FAIR_MARGIN = 0.3  # a reader should read every letter at least this far towards its nearest neighbour


def hand_shape(pose: np.ndarray, hand: tuple[slice, int]) -> np.ndarray:
    """(T, 21, 3): the hand's joints relative to its wrist."""
    joints, wrist = hand
    return pose[:, joints] - pose[:, [wrist]]


def signing_hand(strings: LetterStrings, language: str) -> tuple[slice, int]:
    """The joints and wrist of the hand the language's letters are signed with (the hand its reader reads)."""
    return HANDS_BY_SIDE[strings.dominant_side(language)]


def shape_distance(first: PoseClip, second: PoseClip, hand: tuple[slice, int]) -> float:
    """Mean distance between the two clips' shapes of ``hand``, frame by frame over the shorter clip, in the data's
    unit (shoulder widths)."""
    frames = min(first.num_frames, second.num_frames)
    a, b = hand_shape(first.pose[:frames], hand), hand_shape(second.pose[:frames], hand)
    return float(np.linalg.norm(a - b, axis=-1).mean())


def blend(first: PoseClip, second: PoseClip, alpha: float) -> PoseClip:
    """``(1 - alpha) first + alpha second`` over the shorter clip's frames, with ``first``'s confidences."""
    frames = min(first.num_frames, second.num_frames)
    pose = (1 - alpha) * first.pose[:frames] + alpha * second.pose[:frames]
    return PoseClip(pose.astype(np.float32), first.confidence[:frames], first.fps, source="blend")


def nearest_pairs(strings: LetterStrings, language: str, count: int) -> list[tuple[float, str, str]]:
    """The ``count`` closest pairs of the language's units by :func:`shape_distance`: ``(distance, x, y)``."""
    table = strings.lexicon.units[language]
    clips = {key: strings.letters.get(variants[0]) for key, variants in table.items()}
    keys, hand = sorted(clips), signing_hand(strings, language)
    pairs = [(shape_distance(clips[x], clips[y], hand), x, y) for i, x in enumerate(keys) for y in keys[i + 1 :]]
    return sorted(pairs)[:count]


def letter_contexts(strings: LetterStrings, language: str, x: str, y: str, count: int, seed: int = 0) -> list:
    """``count`` seeded (before, after) pairs of the language's other units, to put X between."""
    table = strings.lexicon.units[language]
    others = [key for key in sorted(table) if key not in (x, y)]
    if not others:
        raise ValueError(f"{language} has no unit besides {x!r} and {y!r} to put them between")
    rng = random.Random(f"{seed}-{language}-{x}-{y}")
    return [(rng.choice(others), rng.choice(others)) for _ in range(count)]


def letter_in_context(strings: LetterStrings, language: str, before: str, middle: PoseClip, after: str):
    """The pose of "before middle after", joined as the corpus builder joins letters."""
    table = strings.lexicon.units[language]
    clips = [strings.letters.get(table[before][0]), middle, strings.letters.get(table[after][0])]
    return join_letters(clips, strings.typical[language], Variation.none().transition_frames[0])[0]


def reading_margin(reader, strings: LetterStrings, language: str, x: str, y: str, contexts) -> dict:
    """How far the reader reads X as X when it is blended towards Y: ``read`` (strings read right at alpha 0, of
    ``len(contexts)``), ``read_until`` (the largest alpha up to which X is read in at least half of them, every
    alpha before it included; None if not even at 0) and ``readings`` (strings read right, per alpha of ``ALPHAS``).

    ``contexts``: (before, after) unit pairs, e.g. from :func:`letter_contexts`.
    """
    table = strings.lexicon.units[language]
    clip_x, clip_y = strings.letters.get(table[x][0]), strings.letters.get(table[y][0])
    want = [(table[before][0].gloss, table[x][0].gloss, table[after][0].gloss) for before, after in contexts]
    poses = [
        letter_in_context(strings, language, before, blend(clip_x, clip_y, alpha), after)
        for alpha in ALPHAS
        for before, after in contexts
    ]
    reads = reader.read(poses, [language] * len(poses))
    right = [tuple(read) == want[i % len(contexts)] for i, read in enumerate(reads)]
    readings = [sum(right[i * len(contexts) : (i + 1) * len(contexts)]) for i in range(len(ALPHAS))]
    until = None
    for alpha, count in zip(ALPHAS, readings):
        if 2 * count < len(contexts):
            break
        until = alpha
    return {"read": readings[0], "read_until": until, "readings": readings}


def near_letter_margins(reader, strings: LetterStrings, pairs: int = 2, contexts: int = 4, seed: int = 0) -> dict:
    """:func:`reading_margin` of both letters of each language's ``pairs`` nearest pairs: ``{"smallest": the
    smallest read_until (0 when a letter is not read even from its own clip), "lowest": "language X -> Y" where it
    is, "pairs": one dict per letter}``."""
    found = []
    for language in strings.languages:
        for distance, first, second in nearest_pairs(strings, language, pairs):
            for x, y in ((first, second), (second, first)):
                around = letter_contexts(strings, language, x, y, contexts, seed)
                margin = reading_margin(reader, strings, language, x, y, around)
                found.append({"language": language, "letter": x, "neighbour": y, "distance": distance, **margin})
    if not found:
        return {"smallest": float("nan"), "lowest": None, "pairs": []}
    lowest = min(found, key=lambda item: -1.0 if item["read_until"] is None else item["read_until"])
    where = f"{lowest['language']} {lowest['letter']} -> {lowest['neighbour']}"
    if lowest["read_until"] is None:
        where += " (not read even from its own clip)"
    return {"smallest": lowest["read_until"] or 0.0, "lowest": where, "pairs": found}


__all__ = [
    "ALPHAS",
    "FAIR_MARGIN",
    "blend",
    "hand_shape",
    "letter_contexts",
    "letter_in_context",
    "near_letter_margins",
    "nearest_pairs",
    "reading_margin",
    "shape_distance",
    "signing_hand",
]
