"""Dynamic time warping scores of generated poses against references.

- :func:`pt_dtw`, the Progressive Transformers form (for comparison with the papers): frames compared by the L1
  distance of their 150 values, both sequences cut at their counter's maximum (frames from it on dropped, as PT does),
  total alignment cost divided by the reference's length.
- :func:`dtw_mje`, DTW mean joint error: frames compared by the mean Euclidean distance of their joints, the
  alignment of least total cost, and that cost divided by the path's length (the mean distance along it, in the
  data's units, e.g. shoulder widths).
- :func:`clip_scores` gives both and the relative length error for one generated clip; :func:`dtw_scores` their means
  over clips (what ``signllm evaluate``, the trainer's evaluation and the ``pose_dtw`` module report).

The dynamic programme runs one anti-diagonal at a time, vectorised.

Example:
    >>> import numpy as np
    >>> from signllm_hf.metrics.dtw import dtw
    >>> cost, steps = dtw(np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> float(cost), int(steps)
    (0.0, 2)
"""

from __future__ import annotations

import numpy as np


def dtw(cost: np.ndarray) -> tuple[float, int]:
    """Minimal accumulated cost of a monotone alignment through an ``(R, H)`` cost matrix, and its path length.

    Steps are (1, 0), (0, 1) or (1, 1); the path runs from (0, 0) to (R - 1, H - 1). Among equal-cost predecessors the
    diagonal is preferred, then the reference step.
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        raise ValueError(f"cannot align an empty sequence (cost matrix {cost.shape})")
    total = np.full((rows + 1, cols + 1), np.inf)
    steps = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    total[0, 0] = 0.0
    for diagonal in range(2, rows + cols + 1):  # cells (i, j) with i + j == diagonal, 1-based
        i = np.arange(max(1, diagonal - cols), min(rows, diagonal - 1) + 1)
        j = diagonal - i
        candidates = np.stack([total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]])  # diagonal first on ties
        choice = np.argmin(candidates, axis=0)
        previous_steps = np.stack([steps[i - 1, j - 1], steps[i - 1, j], steps[i, j - 1]])
        total[i, j] = cost[i - 1, j - 1] + candidates[choice, np.arange(len(i))]
        steps[i, j] = previous_steps[choice, np.arange(len(i))] + 1
    return float(total[rows, cols]), int(steps[rows, cols])


def cut_at_counter(frames: np.ndarray) -> np.ndarray:
    """Frames before the counter's maximum (at least one), counter channel removed: PT's evaluation cut."""
    end = max(int(np.argmax(frames[:, -1])), 1)
    return frames[:end, :-1]


def pt_dtw(reference: np.ndarray, hypothesis: np.ndarray) -> float:
    """Progressive Transformers' DTW score of two ``(T, 151)`` sequences (pose + counter)."""
    ref, hyp = cut_at_counter(np.asarray(reference, np.float64)), cut_at_counter(np.asarray(hypothesis, np.float64))
    cost = np.abs(ref[:, None, :] - hyp[None, :, :]).sum(axis=-1)  # L1 between frames
    total, _ = dtw(cost)
    return total / len(ref)


def dtw_mje(reference: np.ndarray, hypothesis: np.ndarray) -> float:
    """DTW mean joint error of two ``(T, 50, 3)`` sequences (or ``(T, 150)``)."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1, 3)
    hyp = np.asarray(hypothesis, np.float64).reshape(len(hypothesis), -1, 3)
    cost = np.linalg.norm(ref[:, None] - hyp[None, :], axis=-1).mean(axis=-1)  # (R, H) mean joint distance
    total, steps = dtw(cost)
    return total / steps


def with_counter(pose: np.ndarray) -> np.ndarray:
    """``(T, 50, 3)`` pose -> ``(T, 151)`` frames with the (t + 1) / T counter."""
    flat = np.asarray(pose, np.float64).reshape(len(pose), -1)
    counter = (np.arange(len(flat)) + 1) / len(flat)
    return np.concatenate([flat, counter[:, None]], axis=1)


def clip_scores(reference: np.ndarray, hypothesis: np.ndarray, hypothesis_counter=None) -> dict[str, float]:
    """PT DTW, DTW-MJE and relative length error |T_hyp - T_ref| / T_ref of one generated ``(T, J, 3)`` clip.

    The PT score needs counters: a reference's is (t + 1) / T; the hypothesis uses ``hypothesis_counter`` (the model's
    own predicted counter) when given, else (t + 1) / T too.
    """
    hyp = with_counter(hypothesis)
    if hypothesis_counter is not None:
        hyp[:, -1] = np.asarray(hypothesis_counter, np.float64)[: len(hyp)]
    return {
        "dtw": pt_dtw(with_counter(reference), hyp),
        "dtw_mje": dtw_mje(reference, hypothesis),
        "length_error": abs(len(hypothesis) - len(reference)) / len(reference),
    }


def dtw_scores(references, hypotheses, hypothesis_counters=None) -> dict[str, float]:
    """Means of :func:`clip_scores` over pairs of poses: ``dtw``, ``dtw_mje``, ``length_error``."""
    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"need matching non-empty lists, got {len(references)} references, {len(hypotheses)} poses")
    scores = [
        clip_scores(reference, hypothesis, None if hypothesis_counters is None else hypothesis_counters[index])
        for index, (reference, hypothesis) in enumerate(zip(references, hypotheses))
    ]
    return {name: float(np.mean([clip[name] for clip in scores])) for name in ("dtw", "dtw_mje", "length_error")}
