"""Dynamic time warping scores of generated poses against references.

- :func:`pt_dtw`, the Progressive Transformers form (for comparison with the papers): frames compared by the L1
  distance of their 150 values, both sequences cut at their counter's maximum (frames from it on dropped, as PT does),
  total alignment cost divided by the reference's length.
- :func:`dtw_mje`, DTW mean joint error: the alignment minimising the mean Euclidean distance of the 50 joints, and
  that mean distance averaged along the alignment path (in the data's units, e.g. shoulder widths).

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


def dtw_scores(references, hypotheses, hypothesis_counters=None) -> dict[str, float]:
    """Mean PT DTW and DTW-MJE over pairs of ``(T, 50, 3)`` poses.

    The PT score needs counters: a reference's is (t + 1) / T; a hypothesis uses ``hypothesis_counters`` (the model's
    own predicted counters) when given, else (t + 1) / T too.
    """
    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"need matching non-empty lists, got {len(references)} references, {len(hypotheses)} poses")
    pt, mje = [], []
    for index, (reference, hypothesis) in enumerate(zip(references, hypotheses)):
        hyp = with_counter(hypothesis)
        if hypothesis_counters is not None:
            hyp[:, -1] = np.asarray(hypothesis_counters[index], np.float64)[: len(hyp)]
        pt.append(pt_dtw(with_counter(reference), hyp))
        mje.append(dtw_mje(reference, hypothesis))
    return {"dtw": float(np.mean(pt)), "dtw_mje": float(np.mean(mje))}
