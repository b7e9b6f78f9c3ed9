"""Legibility: can a reader of fingerspelled letters read the signing back? CER, WER, calibration, motion ratios.

- :func:`letter_error_rates`: the letter reader's units against the units each clip should spell: CER (unit edit
  distance / reference units, with substitutions, deletions and insertions) and WER (words read wrongly), overall and
  per language.
- :func:`calibrate`: the reader on the corpus's reference poses (should read near 0), on a still mean pose and on
  another word's real clip (both should read near 1). Without that, a CER means nothing: report them together.
- :func:`motion_ratios`: generated against reference motion of the same texts: the mean speed of the signing hand
  and the variance of its shape over time. 1.0 is right; well below 1 is averaged, mushy motion (regression to the
  mean), which DTW forgives and a reader does not.

Example:
    >>> import numpy as np
    >>> from signllm_hf.evaluation.legibility import unit_error_rates, motion_ratios
    >>> unit_error_rates([("H", "I"), ("O", "K")], [("H", "I"), ("O",)])["cer"]  # one deletion in four units
    0.25
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=(40, 50, 3))
    >>> ratios = motion_ratios([reference * 0.5], [reference], ["right"])
    >>> round(ratios["speed_ratio"], 2), round(ratios["hand_shape_variance_ratio"], 2)
    (0.5, 0.25)
"""

from __future__ import annotations

import jiwer
import numpy as np

from ..data.languages import canonical_language
from ..data.skeleton import HANDS_BY_SIDE


def units_of(row: dict) -> tuple[str, ...]:
    """The units a clip spells: its gloss (the fingerspelling corpus writes one gloss per unit: ``S C H U L E``)."""
    gloss = (row.get("gloss") or "").split()
    if not gloss:
        raise ValueError(f"clip {row.get('id')!r} has no gloss: legibility needs the units each clip spells")
    return tuple(gloss)


def unit_error_rates(references: list[tuple[str, ...]], hypotheses: list[tuple[str, ...]]) -> dict:
    """CER (units) with its substitutions, deletions and insertions, and WER (clips whose units are not all right)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} readings")
    # jiwer counts edits between word sequences: each unit is one word here (some units are several letters).
    measures = jiwer.process_words([" ".join(r) for r in references], [" ".join(h) for h in hypotheses])
    total = sum(len(r) for r in references)
    return {
        "cer": measures.wer,
        "substitutions": measures.substitutions / total,
        "deletions": measures.deletions / total,
        "insertions": measures.insertions / total,
        "wer": float(np.mean([tuple(r) != tuple(h) for r, h in zip(references, hypotheses)])),
        "clips": len(references),
    }


def letter_error_rates(reader, poses: list, rows: list[dict]) -> dict:
    """The reader's error rates on ``poses`` (one per row), against each row's units; overall and per language."""
    languages = [row["language"] for row in rows]
    references = [units_of(row) for row in rows]
    readings = reader.read(poses, languages)
    result = unit_error_rates(references, readings)
    result["per_language"] = {}
    for code in sorted(set(languages)):
        chosen = [i for i, language in enumerate(languages) if language == code]
        result["per_language"][code] = unit_error_rates([references[i] for i in chosen], [readings[i] for i in chosen])
    result["examples"] = [
        {"language": code, "reference": "".join(ref), "read": "".join(read)}
        for code, ref, read in list(zip(languages, references, readings))[:10]
    ]
    return result


def calibrate(reader, rows) -> dict:
    """CER of the reader on reference poses (goal near 0), a still mean pose (near 1), another word's clip (near 1).

    ``rows``: clips with ``language``, ``gloss`` (the units) and ``pose``. The still pose is the mean pose of the
    clip held for its length; another word's clip is the next clip of the same language (cyclically) that spells
    other units, else one of another language. A value that cannot be measured (no clip, no other word) is NaN.
    """
    rows = [row for row in rows if (row.get("gloss") or "").strip()]
    nan = float("nan")
    if not rows:
        return {"references": nan, "still_pose": nan, "another_word": nan, "clips": 0}
    poses = [np.asarray(row["pose"], dtype=np.float32) for row in rows]
    units = [units_of(row) for row in rows]
    still = [np.repeat(pose.mean(axis=0, keepdims=True), len(pose), axis=0) for pose in poses]
    others = []
    for index, row in enumerate(rows):
        order = [*range(index + 1, len(rows)), *range(index)]  # the next clips first, cyclically
        candidates = [j for j in order if units[j] != units[index]]
        same = [j for j in candidates if rows[j]["language"] == row["language"]]
        others.append((same or candidates or [None])[0])
    result = {
        "references": letter_error_rates(reader, poses, rows)["cer"],
        "still_pose": letter_error_rates(reader, still, rows)["cer"],
        "another_word": nan,
        "clips": len(rows),
    }
    if all(j is not None for j in others):
        result["another_word"] = letter_error_rates(reader, [poses[j] for j in others], rows)["cer"]
    return result


def _hand_motion(pose: np.ndarray, side: str) -> tuple[float, float]:
    """Mean speed of the signing hand (its wrist and fingers, per frame) and the variance of its shape over time."""
    hand, wrist = HANDS_BY_SIDE[side]
    joints = pose[:, list(range(hand.start, hand.stop)) + [wrist]]  # (T, 22, 3)
    speed = float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean()) if len(pose) > 1 else 0.0
    shape = pose[:, hand] - pose[:, wrist : wrist + 1]  # (T, 21, 3)
    return speed, float(shape.var(axis=0).sum())


def motion_ratios(generated: list, references: list, sides: list[str]) -> dict:
    """Generated / reference mean hand speed and hand-shape variance, each summed over the clips first (so that
    long clips count by their length); 1.0 is right, well below 1 is averaged motion."""
    if not len(generated) == len(references) == len(sides):
        raise ValueError(f"{len(generated)} generated, {len(references)} references and {len(sides)} sides")
    as_pose = lambda frames: np.asarray(frames, dtype=np.float64).reshape(len(frames), -1, 3)  # noqa: E731
    pairs = [
        (_hand_motion(as_pose(g), s), _hand_motion(as_pose(r), s)) for g, r, s in zip(generated, references, sides)
    ]
    generated_speed, generated_variance = (sum(g[i] for g, _ in pairs) for i in range(2))
    reference_speed, reference_variance = (sum(r[i] for _, r in pairs) for i in range(2))
    return {
        "speed_ratio": generated_speed / max(reference_speed, 1e-12),
        "hand_shape_variance_ratio": generated_variance / max(reference_variance, 1e-12),
    }


def legibility(reader, generated: list, rows: list[dict]) -> dict:
    """Everything above for generated poses of ``rows`` (one per row): error rates, calibration, motion ratios."""
    references = [np.asarray(row["pose"], dtype=np.float32) for row in rows]
    sides = [reader.config.side(canonical_language(row["language"])) for row in rows]
    result = letter_error_rates(reader, generated, rows)
    result["calibration"] = calibrate(reader, rows)
    result |= motion_ratios(generated, references, sides)
    return result
