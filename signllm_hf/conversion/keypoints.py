"""Read 2D keypoints of a clip from pose estimator output, onto our 50 joints as (T, 50, 3) = x, y, confidence.

Inputs:
- an OpenPose folder: one JSON file per frame, ``<clip>_<frame>_keypoints.json``, with ``pose_keypoints_2d``
  (BODY_25, or COCO-18 as written by OpenPose's COCO model and DWPose, whose first 8 joints are ours too) and
  ``hand_left_keypoints_2d`` / ``hand_right_keypoints_2d`` (21 points each);
- a pose-format ``.pose`` file (MediaPipe Holistic, OpenPose or ours), mapped by ``signllm_hf.data.pose_files``.

Bad input raises :class:`SkippedClip` with a reason that names the file and the value, so a converter can skip the
clip, report it and go on. Detection gaps are not errors: a frame with no person, or a frame number missing from the
sequence, becomes a frame with confidence 0 (filled in later by interpolation), unless more than
``max_missing_fraction`` of the clip is missing.

Example:
    >>> import json, pathlib, tempfile, numpy as np
    >>> from signllm_hf.conversion.keypoints import read_openpose_folder
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "clip"
    >>> folder.mkdir()
    >>> points = lambda n: np.c_[np.random.default_rng(n).uniform(0, 640, (n, 2)), np.ones(n)].ravel().tolist()
    >>> person = {"pose_keypoints_2d": points(25), "hand_left_keypoints_2d": points(21),
    ...           "hand_right_keypoints_2d": points(21)}
    >>> for frame in range(3):
    ...     _ = (folder / f"clip_{frame:012d}_keypoints.json").write_text(json.dumps({"people": [person]}))
    >>> read_openpose_folder(folder).keypoints.shape
    (3, 50, 3)
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.skeleton import NUM_JOINTS

FRAME_FILE = re.compile(r"(?:^|_)(\d+)_keypoints\.json$")  # <clip>_<frame>_keypoints.json or <frame>_keypoints.json
BODY_LAYOUTS = {75: "BODY_25", 54: "COCO_18"}  # values in pose_keypoints_2d -> layout; both start with our 8 joints
HAND_VALUES = 21 * 3
MAX_MISSING_FRACTION = 0.5
PRUNE_THRESHOLD = 0.3  # the lifting treats frames whose mean upper-body confidence is lower as missing


class SkippedClip(Exception):  # noqa: N818 - it is a signal that a clip was skipped, with its reason
    """A clip that cannot be converted; ``str(error)`` is the reason shown in the summary."""


@dataclass
class ClipKeypoints:
    """2D keypoints of one clip: ``keypoints`` (T, 50, 3) float32 = x, y, confidence; where they came from."""

    keypoints: np.ndarray
    layout: str
    source: str
    missing_frames: int = 0


def frame_files(folder: Path) -> list[tuple[int, Path]]:
    """``(frame number, path)`` of the OpenPose files of a clip folder, in frame order (hidden files ignored)."""
    frames = []
    for path in folder.iterdir():
        match = FRAME_FILE.search(path.name)
        if match and not path.name.startswith("."):
            frames.append((int(match.group(1)), path))
    frames.sort()
    for (number, first), (again, second) in zip(frames, frames[1:]):
        if number == again:
            raise SkippedClip(f"{folder.name}: frame {number} appears twice ({first.name}, {second.name})")
    return frames


def _values(person: dict, key: str, path: Path, expected: tuple[int, ...]) -> np.ndarray:
    if key not in person:
        hint = " (run OpenPose with --hand)" if key.startswith("hand") else ""
        raise SkippedClip(f"{path.name}: no {key}{hint}")
    values = person[key]
    if values is None and key.startswith("hand"):  # DWPose writes null for a hand it did not detect
        return np.zeros((HAND_VALUES // 3, 3))
    if not isinstance(values, list) or len(values) not in expected:
        size = len(values) if isinstance(values, list) else type(values).__name__
        wanted = " or ".join(str(n) for n in expected)
        raise SkippedClip(f"{path.name}: {key} has {size} values, expected {wanted}")
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1, 3)
    except (TypeError, ValueError):
        raise SkippedClip(f"{path.name}: {key} holds values that are not numbers") from None
    if not np.isfinite(array).all():
        raise SkippedClip(f"{path.name}: {key} contains NaN/inf")
    return array


def _person_keypoints(person: dict, path: Path) -> tuple[np.ndarray, str]:
    body = _values(person, "pose_keypoints_2d", path, tuple(BODY_LAYOUTS))
    left = _values(person, "hand_left_keypoints_2d", path, (HAND_VALUES,))
    right = _values(person, "hand_right_keypoints_2d", path, (HAND_VALUES,))
    return np.concatenate([body[:8], left, right]), BODY_LAYOUTS[body.size]


def read_openpose_frame(path: Path) -> tuple[np.ndarray | None, str | None]:
    """One frame: ``(keypoints (50, 3), layout)``, or ``(None, None)`` when no person was detected.

    With several people, the one with the highest mean confidence over the 8 upper-body joints is the signer.
    Coordinates normalised to the canvas (DWPose writes x / W and y / H with ``canvas_width`` / ``canvas_height``)
    are scaled back to pixels, so the aspect ratio is right.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SkippedClip(f"{path.name}: malformed JSON ({error})") from None
    except RecursionError:  # e.g. [[[[...]]]] thousands deep: Python's parser gives up, OpenPose never writes that
        raise SkippedClip(f"{path.name}: JSON nested too deeply to read; is this OpenPose output?") from None
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise SkippedClip(f"{path.name}: no 'people' list; is this OpenPose output?")
    candidates = [_person_keypoints(person, path) for person in people if isinstance(person, dict)]
    if not candidates:
        return None, None
    keypoints, layout = max(candidates, key=lambda candidate: candidate[0][:8, 2].mean())
    width, height = data.get("canvas_width"), data.get("canvas_height")
    if isinstance(width, int | float) and isinstance(height, int | float) and keypoints[:, :2].max() <= 1.0 + 1e-6:
        keypoints = keypoints * np.array([width, height, 1.0])
    return keypoints, layout


def read_openpose_folder(
    folder: str | os.PathLike, max_missing_fraction: float = MAX_MISSING_FRACTION
) -> ClipKeypoints:
    """All frames of an OpenPose clip folder. Gaps in the frame numbers and frames without a person become frames
    with confidence 0; the clip is skipped when that is more than ``max_missing_fraction`` of it."""
    folder = Path(folder)
    files = frame_files(folder)
    if not files:
        raise SkippedClip(f"{folder.name}: no *_keypoints.json files (an empty clip folder)")
    first = files[0][0]
    count = files[-1][0] - first + 1
    if count > 2 * len(files) + 100:  # a stray file numbered far away would allocate a huge clip
        raise SkippedClip(
            f"{folder.name}: frame numbers span {first}..{files[-1][0]} but there are only {len(files)} files"
        )
    keypoints = np.zeros((count, NUM_JOINTS, 3), dtype=np.float32)
    layouts, present = set(), 0
    for number, path in files:
        frame, layout = read_openpose_frame(path)
        if frame is not None:
            keypoints[number - first] = frame
            layouts.add(layout)
            present += 1
    if len(layouts) > 1:
        raise SkippedClip(f"{folder.name}: frames mix body layouts {sorted(layouts)}")
    return _checked(
        ClipKeypoints(keypoints, layouts.pop() if layouts else "BODY_25", str(folder), count - present),
        folder.name,
        max_missing_fraction,
    )


def read_pose_format_file(
    path: str | os.PathLike, max_missing_fraction: float = MAX_MISSING_FRACTION
) -> ClipKeypoints:
    """A ``.pose`` file's x, y and confidence on our 50 joints (its own pixel coordinates, not normalised)."""
    from ..data.pose_files import read_pose_file  # noqa: PLC0415 - pose-format is only needed for .pose inputs

    path = Path(path)
    try:
        clip = read_pose_file(path, normalize=False)
    except (ValueError, FileNotFoundError) as error:
        raise SkippedClip(str(error)) from None
    keypoints = np.concatenate([clip.pose[..., :2], clip.confidence[..., None]], axis=-1).astype(np.float32)
    missing = int((clip.confidence[:, :8].max(axis=1) <= 0).sum())
    return _checked(ClipKeypoints(keypoints, "pose-format", str(path), missing), path.name, max_missing_fraction)


def _checked(clip: ClipKeypoints, name: str, max_missing_fraction: float) -> ClipKeypoints:
    frames = len(clip.keypoints)
    if frames < 2:
        raise SkippedClip(f"{name}: {frames} frame; a clip needs at least 2 frames to be lifted")
    if clip.missing_frames > max_missing_fraction * frames:
        raise SkippedClip(
            f"{name}: {clip.missing_frames} of {frames} frames have no person (more than "
            f"{math.floor(100 * max_missing_fraction)}%)"
        )
    confidence = clip.keypoints[..., 2]
    if not (confidence[:, :8].mean(axis=1) >= PRUNE_THRESHOLD).any():
        raise SkippedClip(f"{name}: no frame has a mean upper-body confidence of {PRUNE_THRESHOLD} or more")
    if not (confidence[:, [2, 5]] > 0).all(axis=1).any():
        raise SkippedClip(f"{name}: the shoulders are never both detected; the pose cannot be put in shoulder units")
    seen = clip.keypoints[confidence > 0][:, :2]
    if seen.std(axis=0).max() < 1e-6:
        raise SkippedClip(f"{name}: every detected keypoint is at the same place")
    return clip


def clip_id_problem(clip_id: str) -> str | None:
    """Why ``clip_id`` (a folder or file name) cannot be a clip id, or None when it can.

    Ids are stored as UTF-8 in HDF5 and written one per line in ``.files``: a name whose bytes are not UTF-8 (read
    by Python with surrogate escapes) or that holds a line break cannot be either.

    Example:
        >>> from signllm_hf.conversion.keypoints import clip_id_problem
        >>> clip_id_problem("clip_01"), clip_id_problem("clip\\udcff")
        (None, 'the name is not valid UTF-8; rename it (e.g. convmv -f latin1 -t utf8)')
    """
    try:
        clip_id.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid UTF-8; rename it (e.g. convmv -f latin1 -t utf8)"
    if any(character in clip_id for character in "\n\r"):
        return "the name holds a line break, which a .files line cannot; rename it"
    return None


def printable(text: str) -> str:
    """``text`` with the bytes of a non-UTF-8 file name shown as ``\\xff`` escapes, so it can be printed and stored.

    Example:
        >>> from signllm_hf.conversion.keypoints import printable
        >>> print(printable("clip\\udcff"), printable("Übung"))
        clip\\xff Übung
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte (e.g. from JSON's "\\ud800")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def find_clips(input_dir: str | os.PathLike) -> dict[str, Path]:
    """Clip id -> source: every sub-folder holding ``*_keypoints.json`` files (or none: an empty clip folder is
    reported, not ignored) and every ``.pose`` file, directly under ``input_dir``."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"{input_dir}: no such folder")
    clips = {}
    for entry in sorted(input_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() or entry.suffix == ".pose":
            clip_id = entry.name if entry.is_dir() else entry.stem
            if clip_id in clips:
                raise ValueError(f"{input_dir}: two inputs share the clip id {clip_id!r} ({clips[clip_id]}, {entry})")
            clips[clip_id] = entry
    if not clips:
        raise FileNotFoundError(f"{input_dir}: no clip folders of OpenPose JSON and no .pose files")
    return clips


def read_clip(source: Path, max_missing_fraction: float = MAX_MISSING_FRACTION) -> ClipKeypoints:
    """An OpenPose folder or a ``.pose`` file."""
    if source.is_dir():
        return read_openpose_folder(source, max_missing_fraction)
    return read_pose_format_file(source, max_missing_fraction)
