"""Operations on pose sequences along time: resampling, gap filling, eased transitions, concatenation.

All functions take ``pose`` arrays shaped ``(T, J, D)`` (frames, joints, coordinates) and, where it matters, a
``confidence`` array ``(T, J)`` in [0, 1]; they never modify their inputs.

Example:
    >>> import numpy as np
    >>> from signllm_hf.data.motion import resample, join_with_transitions
    >>> clip = np.zeros((50, 2, 3), dtype=np.float32)
    >>> resample(clip, src_fps=50, dst_fps=25).shape
    (25, 2, 3)
    >>> join_with_transitions([clip[:10], clip[:10] + 1], transition_frames=4).shape
    (24, 2, 3)
"""

from __future__ import annotations

import numpy as np


def resample(values: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linear resampling along the first axis from ``src_fps`` to ``dst_fps`` (any trailing shape).

    The clip keeps its duration: ``T`` frames become ``round((T - 1) * dst / src) + 1``.
    """
    if src_fps <= 0 or dst_fps <= 0:
        raise ValueError(f"frame rates must be positive, got src_fps={src_fps}, dst_fps={dst_fps}")
    num_frames = values.shape[0]
    if num_frames < 2 or abs(src_fps - dst_fps) < 1e-6:
        return values.copy()
    new_count = max(1, int(round((num_frames - 1) * dst_fps / src_fps)) + 1)
    positions = np.arange(new_count) * (src_fps / dst_fps)
    positions = np.clip(positions, 0, num_frames - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, num_frames - 1)
    weight = (positions - lower).reshape((-1,) + (1,) * (values.ndim - 1))
    return (values[lower] * (1 - weight) + values[upper] * weight).astype(values.dtype)


def fill_missing(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill invalid entries by linear interpolation over time between the nearest valid frames.

    ``values``: ``(T, J, D)``; ``valid``: ``(T, J)`` booleans. Before the first (after the last) valid frame the
    first (last) valid value is held. Returns ``(filled, ever_valid)``; joints never valid (``ever_valid[j]`` False)
    are left as they were, for the caller to decide.
    """
    num_frames, num_joints = valid.shape
    filled = values.copy()
    ever_valid = valid.any(axis=0)
    frames = np.arange(num_frames)
    for joint in np.flatnonzero(ever_valid & ~valid.all(axis=0)):
        known = np.flatnonzero(valid[:, joint])
        for dim in range(values.shape[2]):
            filled[:, joint, dim] = np.interp(frames, known, values[known, joint, dim])
    return filled, ever_valid


def ease(num_frames: int) -> np.ndarray:
    """Cosine ease-in-out weights for the ``num_frames`` frames strictly between two poses, in (0, 1)."""
    steps = np.arange(1, num_frames + 1) / (num_frames + 1)
    return 0.5 - 0.5 * np.cos(np.pi * steps)


def transition(start: np.ndarray, end: np.ndarray, num_frames: int) -> np.ndarray:
    """``num_frames`` frames moving smoothly from pose ``start`` to pose ``end`` (both excluded): ``(n, J, D)``."""
    weights = ease(num_frames).reshape((-1,) + (1,) * start.ndim)
    return (start[None] * (1 - weights) + end[None] * weights).astype(start.dtype)


def join_with_transitions(segments: list[np.ndarray], transition_frames: int) -> np.ndarray:
    """Concatenate segments ``(T_i, J, D)`` with an eased transition of ``transition_frames`` between each pair."""
    if not segments:
        raise ValueError("nothing to join: `segments` is empty")
    if transition_frames < 0:
        raise ValueError(f"`transition_frames` must be >= 0, got {transition_frames}")
    pieces = [segments[0]]
    for previous, current in zip(segments[:-1], segments[1:]):
        if transition_frames:
            pieces.append(transition(previous[-1], current[0], transition_frames))
        pieces.append(current)
    return np.concatenate(pieces, axis=0)


def counter_channel(num_frames: int, convention: str = "end") -> np.ndarray:
    """The progress counter of a ``num_frames`` clip.

    ``"end"`` (ours, = Prompt2Sign's i/T for i = 1..T): ``(t + 1) / T``, ending exactly at 1.
    ``"start"`` (Progressive Transformers' data): ``t / T``, starting at 0 and ending at ``(T - 1) / T``.
    """
    steps = np.arange(num_frames, dtype=np.float64)
    if convention == "end":
        return (steps + 1) / num_frames
    if convention == "start":
        return steps / num_frames
    raise ValueError(f"counter convention must be 'end' or 'start', got {convention!r}")
