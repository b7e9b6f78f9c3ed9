"""pose-format ``.pose`` files: export our 50-joint clips, import ours, MediaPipe Holistic and OpenPose files.

Export has two layouts (``layout=``):

- ``"holistic"`` (the default): the components of MediaPipe Holistic, so the sign.mt ecosystem reads our output as
  its own: pose-format's helpers (``normalize`` / ``pose_normalization_info``, ``reduce_holistic``,
  ``correct_wrists``, its visualiser) and spoken-to-signed's concatenation. ``POSE_LANDMARKS`` (33 points: our nose,
  shoulders, elbows and wrists), ``FACE_LANDMARKS`` (468 points, named "0".."467") and ``LEFT/RIGHT_HAND_LANDMARKS``
  (21 points each, the same order as ours). Points we do not have (the face, eyes, hips, legs) are written as 0 with
  confidence 0. The neck is not a MediaPipe landmark: it travels in one more component, ``SIGNLLM_NECK``, which also
  marks the file as ours, so reading it back is lossless (pose-format's helpers ignore it or carry it along).
- ``"signllm"``: one component, ``SIGNLLM_50``, with our joint names and the 49 bones as limbs (compact; for tools
  that only draw components).

pose-format stores pixel coordinates; both layouts map our units into a 512 x 512 frame with a fixed affine (128 px
per unit, neck at (256, 176)), and import inverts it exactly. A file of ours that another tool rewrote in other
coordinates (``Pose.normalize``) reads back through the same affine, so in that tool's units.

Foreign files are mapped onto the 50 joints: MediaPipe Holistic (``POSE_LANDMARKS`` + ``LEFT/RIGHT_HAND_LANDMARKS``:
neck = shoulder midpoint, hands 1:1), including the reduced Holistic that spoken-to-signed writes (``reduce_holistic``
drops the nose: it is then the centre of the face contour, about 0.02 shoulder widths from MediaPipe's nose on the
fingerspelling lexicon; with no face either it has confidence 0), and OpenPose (``pose_keypoints_2d`` BODY_25 or
COCO-18, whose first 8 joints are ours, + ``hand_left/right_keypoints_2d``). With ``normalize=True`` they are brought
to our corpus convention: origin at the clip's mean neck, one unit = the clip's median shoulder width.

Example:
    >>> import numpy as np, tempfile, os
    >>> from signllm_hf.data.pose_files import write_pose_file, read_pose_file
    >>> pose = np.random.default_rng(0).normal(size=(8, 50, 3)).astype(np.float32)
    >>> path = write_pose_file(os.path.join(tempfile.mkdtemp(), "clip.pose"), pose, fps=25)
    >>> clip = read_pose_file(path)
    >>> clip.pose.shape, clip.fps, bool(np.allclose(clip.pose, pose, atol=1e-5))
    ((8, 50, 3), 25.0, True)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from .atomic import atomic_path
from .skeleton import (
    BONES,
    HAND_POINT_NAMES,
    JOINT_NAMES,
    LEFT_HAND,
    NECK,
    NUM_JOINTS,
    RIGHT_HAND,
    PoseClip,
    bone_group_color,
    shoulder_width,
)

SIGNLLM_COMPONENT = "SIGNLLM_50"
NECK_COMPONENT = "SIGNLLM_NECK"
LAYOUTS = ("holistic", "signllm")
DEFAULT_LAYOUT = "holistic"
EXPORT_SIZE = 512
EXPORT_PIXELS_PER_UNIT = 128.0
EXPORT_ORIGIN = np.array([256.0, 176.0, 0.0], dtype=np.float64)

# MediaPipe Holistic's body landmarks, in its order, and the lines its drawing utilities connect.
MEDIAPIPE_BODY_POINTS = (
    "NOSE",
    "LEFT_EYE_INNER",
    "LEFT_EYE",
    "LEFT_EYE_OUTER",
    "RIGHT_EYE_INNER",
    "RIGHT_EYE",
    "RIGHT_EYE_OUTER",
    "LEFT_EAR",
    "RIGHT_EAR",
    "MOUTH_LEFT",
    "MOUTH_RIGHT",
    "LEFT_SHOULDER",
    "RIGHT_SHOULDER",
    "LEFT_ELBOW",
    "RIGHT_ELBOW",
    "LEFT_WRIST",
    "RIGHT_WRIST",
    "LEFT_PINKY",
    "RIGHT_PINKY",
    "LEFT_INDEX",
    "RIGHT_INDEX",
    "LEFT_THUMB",
    "RIGHT_THUMB",
    "LEFT_HIP",
    "RIGHT_HIP",
    "LEFT_KNEE",
    "RIGHT_KNEE",
    "LEFT_ANKLE",
    "RIGHT_ANKLE",
    "LEFT_HEEL",
    "RIGHT_HEEL",
    "LEFT_FOOT_INDEX",
    "RIGHT_FOOT_INDEX",
)
_BODY_LINES_PER_SIDE = (
    ("NOSE", "{s}_EYE_INNER"),
    ("{s}_EYE_INNER", "{s}_EYE"),
    ("{s}_EYE", "{s}_EYE_OUTER"),
    ("{s}_EYE_OUTER", "{s}_EAR"),
    ("{s}_SHOULDER", "{s}_ELBOW"),
    ("{s}_ELBOW", "{s}_WRIST"),
    ("{s}_WRIST", "{s}_PINKY"),
    ("{s}_WRIST", "{s}_INDEX"),
    ("{s}_WRIST", "{s}_THUMB"),
    ("{s}_PINKY", "{s}_INDEX"),
    ("{s}_SHOULDER", "{s}_HIP"),
    ("{s}_HIP", "{s}_KNEE"),
    ("{s}_KNEE", "{s}_ANKLE"),
    ("{s}_ANKLE", "{s}_HEEL"),
    ("{s}_HEEL", "{s}_FOOT_INDEX"),
    ("{s}_ANKLE", "{s}_FOOT_INDEX"),
)
_BODY_LINES = [(a.format(s=side), b.format(s=side)) for side in ("LEFT", "RIGHT") for a, b in _BODY_LINES_PER_SIDE]
_BODY_LINES += [("MOUTH_LEFT", "MOUTH_RIGHT"), ("LEFT_SHOULDER", "RIGHT_SHOULDER"), ("LEFT_HIP", "RIGHT_HIP")]
MEDIAPIPE_FACE_POINTS = 468
# Our body joints by MediaPipe name (the neck has none: it is the shoulder midpoint there).
_MEDIAPIPE_BODY = (
    "NOSE",
    None,
    "RIGHT_SHOULDER",
    "RIGHT_ELBOW",
    "RIGHT_WRIST",
    "LEFT_SHOULDER",
    "LEFT_ELBOW",
    "LEFT_WRIST",
)
_MEDIAPIPE_HANDS = ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS")  # our joints 8-28 and 29-49
_OPENPOSE_BODY = "pose_keypoints_2d"
_OPENPOSE_HANDS = ("hand_left_keypoints_2d", "hand_right_keypoints_2d")


def _check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"`layout` must be one of {LAYOUTS}, got {layout!r}")
    return layout


def _mediapipe_hand_names() -> list[str]:
    # MediaPipe names its hand points WRIST, THUMB_CMC, ..., INDEX_FINGER_MCP, ..., PINKY_TIP: same order as ours.
    renamed = {"index": "index_finger", "middle": "middle_finger", "ring": "ring_finger"}
    names = []
    for name in HAND_POINT_NAMES:
        finger, _, part = name.partition("_")
        names.append((f"{renamed.get(finger, finger)}_{part}" if part else name).upper())
    return names


def skeleton_header() -> PoseHeader:
    """A pose-format header with our 50-joint component, its bones as limbs and one colour per limb."""
    limbs = [(parent, child) for parent, child, _ in BONES]
    colors = [bone_group_color(child) for _, child in limbs]
    component = PoseHeaderComponent(
        name=SIGNLLM_COMPONENT, points=list(JOINT_NAMES), limbs=limbs, colors=colors, point_format="XYZC"
    )
    dimensions = PoseHeaderDimensions(width=EXPORT_SIZE, height=EXPORT_SIZE, depth=EXPORT_SIZE)
    return PoseHeader(version=0.2, dimensions=dimensions, components=[component])


def holistic_header() -> PoseHeader:
    """A pose-format header with MediaPipe Holistic's components (body, face, hands) and ``SIGNLLM_NECK``."""
    body_limbs = [(MEDIAPIPE_BODY_POINTS.index(a), MEDIAPIPE_BODY_POINTS.index(b)) for a, b in _BODY_LINES]
    hand_bones = [(parent - LEFT_HAND.start, child - LEFT_HAND.start) for parent, child, _ in BONES[8:28]]
    components = [
        PoseHeaderComponent("POSE_LANDMARKS", list(MEDIAPIPE_BODY_POINTS), body_limbs, [(70, 130, 220)], "XYZC"),
        PoseHeaderComponent(
            "FACE_LANDMARKS", [str(i) for i in range(MEDIAPIPE_FACE_POINTS)], [], [(128, 0, 0)], "XYZC"
        ),
    ]
    for name, hand in zip(_MEDIAPIPE_HANDS, (LEFT_HAND, RIGHT_HAND)):
        colors = [bone_group_color(hand.start + child) for _, child in hand_bones]
        components.append(PoseHeaderComponent(name, _mediapipe_hand_names(), hand_bones, colors, "XYZC"))
    components.append(PoseHeaderComponent(NECK_COMPONENT, ["NECK"], [], [bone_group_color(NECK)], "XYZC"))
    dimensions = PoseHeaderDimensions(width=EXPORT_SIZE, height=EXPORT_SIZE, depth=EXPORT_SIZE)
    return PoseHeader(version=0.2, dimensions=dimensions, components=components)


@functools.cache
def _holistic_points() -> tuple[np.ndarray, np.ndarray, int]:
    """Our joints and the Holistic header's point indices they are written to, and the header's point count."""
    header = holistic_header()
    ours, theirs = [], []
    for joint, name in enumerate(_MEDIAPIPE_BODY):
        ours.append(joint)
        theirs.append(
            header.get_point_index(NECK_COMPONENT, "NECK")
            if name is None
            else header.get_point_index("POSE_LANDMARKS", name)
        )
    for component, hand in zip(_MEDIAPIPE_HANDS, (LEFT_HAND, RIGHT_HAND)):
        start = header.get_point_index(component, "WRIST")
        ours.extend(range(hand.start, hand.stop))
        theirs.extend(range(start, start + 21))
    return np.array(ours), np.array(theirs), header.total_points()


def to_pose_format(
    pose: np.ndarray, fps: float, confidence: np.ndarray | None = None, layout: str = DEFAULT_LAYOUT
) -> Pose:
    """A pose-format ``Pose`` of one clip ``(T, 50, 3)`` in our units, in ``layout`` (see the module docstring)."""
    _check_layout(layout)
    clip = PoseClip(pose, confidence, fps, source="pose to export")
    pixels = (clip.pose.astype(np.float64) * EXPORT_PIXELS_PER_UNIT + EXPORT_ORIGIN).astype(np.float32)
    if layout == "signllm":
        body = NumPyPoseBody(fps=clip.fps, data=pixels[:, None], confidence=clip.confidence[:, None])
        return Pose(skeleton_header(), body)
    ours, theirs, total = _holistic_points()
    data = np.zeros((clip.num_frames, 1, total, 3), dtype=np.float32)  # (T, people=1, points, XYZ)
    conf = np.zeros((clip.num_frames, 1, total), dtype=np.float32)  # the face, eyes, hips, legs stay 0
    data[:, 0, theirs], conf[:, 0, theirs] = pixels[:, ours], clip.confidence[:, ours]
    return Pose(holistic_header(), NumPyPoseBody(fps=clip.fps, data=data, confidence=conf))


def write_pose_file(
    path: str | os.PathLike,
    pose: np.ndarray,
    fps: float,
    confidence: np.ndarray | None = None,
    layout: str = DEFAULT_LAYOUT,
) -> Path:
    """Write one clip as a ``.pose`` file (atomically) in ``layout`` (``"holistic"`` or ``"signllm"``); its path."""
    pose_object = to_pose_format(pose, fps, confidence, layout)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pose_object.write(handle)
    return Path(path)


def _component_names(header: PoseHeader) -> list[str]:
    return [component.name for component in header.components]


def _point(header: PoseHeader, component: str, name: str) -> int | None:
    """The index of a point, or None when the file lacks it (a reduced layout) or the whole component."""
    for candidate in header.components:
        if candidate.name == component:
            return header.get_point_index(component, name) if name in candidate.points else None
    return None


def normalize_to_shoulders(pose: np.ndarray, confidence: np.ndarray, source: str = "clip") -> np.ndarray:
    """Move the clip's mean neck to the origin and scale its median shoulder width to 1 (our corpus convention)."""
    body_seen = (confidence[:, [1, 2, 5]] > 0).all(axis=1)
    frames = body_seen if body_seen.any() else np.ones(len(pose), dtype=bool)
    origin = pose[frames, 1].mean(axis=0)
    width = float(np.median(shoulder_width(pose[frames])))
    if not np.isfinite(width) or width <= 1e-8:
        raise ValueError(
            f"{source}: cannot normalise to shoulder units, the shoulders are never visible (shoulder width 0); "
            "read it with normalize=False to keep its own coordinates"
        )
    return ((pose - origin) / width).astype(np.float32)


def _face_centre(data: np.ndarray, confidence: np.ndarray, header: PoseHeader) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the confidence-weighted centre of the face landmarks and their mean confidence (0: no face)."""
    face = next((c for c in header.components if c.name == "FACE_LANDMARKS"), None)
    if face is None:
        return np.zeros(data.shape[:1] + (3,)), np.zeros(data.shape[:1])
    start = header.get_point_index("FACE_LANDMARKS", face.points[0])
    points, weights = data[:, start : start + len(face.points)], confidence[:, start : start + len(face.points)]
    total = weights.sum(axis=1)
    centre = (points * weights[..., None]).sum(axis=1) / np.maximum(total, 1e-8)[:, None]
    return centre, np.where(total > 0, weights.mean(axis=1), 0.0)


def _from_mediapipe(
    data: np.ndarray, confidence: np.ndarray, header: PoseHeader
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our joints from a (full or reduced) Holistic file: pose, confidence and which joints the file has."""
    pose = np.zeros((data.shape[0], NUM_JOINTS, 3), dtype=np.float64)
    conf = np.zeros((data.shape[0], NUM_JOINTS), dtype=np.float64)
    present = np.zeros(NUM_JOINTS, dtype=bool)
    for joint, name in enumerate(_MEDIAPIPE_BODY):
        index = None if name is None else _point(header, "POSE_LANDMARKS", name)
        if index is not None:
            pose[:, joint], conf[:, joint], present[joint] = data[:, index], confidence[:, index], True
    if not present[0]:  # reduce_holistic drops the nose: the face contour's centre stands in for it
        pose[:, 0], conf[:, 0] = _face_centre(data, confidence, header)
        present[0] = bool((conf[:, 0] > 0).any())
    neck = _point(header, NECK_COMPONENT, "NECK")
    if neck is not None:  # ours: the neck was written as it was
        pose[:, NECK], conf[:, NECK], present[NECK] = data[:, neck], confidence[:, neck], True
    else:
        pose[:, NECK] = (pose[:, 2] + pose[:, 5]) / 2  # neck = shoulder midpoint
        conf[:, NECK] = np.minimum(conf[:, 2], conf[:, 5])
        present[NECK] = present[2] and present[5]
    for component, hand in zip(_MEDIAPIPE_HANDS, (LEFT_HAND, RIGHT_HAND)):
        indices = [_point(header, component, name) for name in _mediapipe_hand_names()]
        for joint, index in zip(range(hand.start, hand.stop), indices):
            if index is not None:
                pose[:, joint], conf[:, joint], present[joint] = data[:, index], confidence[:, index], True
    return pose, conf, present


def _from_openpose(data: np.ndarray, confidence: np.ndarray, header: PoseHeader) -> tuple[np.ndarray, np.ndarray]:
    pose = np.zeros((data.shape[0], NUM_JOINTS, 3), dtype=np.float32)
    conf = np.zeros((data.shape[0], NUM_JOINTS), dtype=np.float32)
    starts, offset = {}, 0
    for component in header.components:
        starts[component.name] = offset
        offset += len(component.points)
    body = starts[_OPENPOSE_BODY]
    pose[:, :8], conf[:, :8] = data[:, body : body + 8], confidence[:, body : body + 8]
    for target, component in zip((8, 29), _OPENPOSE_HANDS):
        if component in starts:
            start = starts[component]
            pose[:, target : target + 21] = data[:, start : start + 21]
            conf[:, target : target + 21] = confidence[:, start : start + 21]
    return pose, conf


def from_pose_format(pose_object: Pose, person: int = 0, normalize: bool = True, source: str = ".pose") -> PoseClip:
    """Map a pose-format ``Pose`` onto our 50 joints (see the module docstring for the supported layouts).

    Files of ours (either layout) come back in our units whatever ``normalize`` says; foreign files are brought to
    shoulder units with ``normalize``."""
    header, body = pose_object.header, pose_object.body
    names = _component_names(header)
    if body.data.shape[1] <= person:
        raise ValueError(f"{source}: asked for person {person}, the file has {body.data.shape[1]}")
    data = np.ma.getdata(body.data[:, person]).astype(np.float64)
    confidence = np.asarray(body.confidence[:, person], dtype=np.float64)
    confidence = np.where(np.ma.getmaskarray(body.data[:, person]).any(axis=-1), 0.0, confidence)
    if data.shape[-1] == 2:  # 2D formats (OpenPose): depth unknown
        data = np.concatenate([data, np.zeros(data.shape[:-1] + (1,))], axis=-1)
    data = np.where(np.isfinite(data), data, 0.0)
    confidence = np.clip(np.where(np.isfinite(confidence), confidence, 0.0), 0.0, 1.0)

    if SIGNLLM_COMPONENT in names:
        start = sum(len(c.points) for c in header.components[: names.index(SIGNLLM_COMPONENT)])
        pose = (data[:, start : start + NUM_JOINTS] - EXPORT_ORIGIN) / EXPORT_PIXELS_PER_UNIT
        conf = confidence[:, start : start + NUM_JOINTS]
        return PoseClip(pose, conf, float(body.fps), source=source)
    if "POSE_LANDMARKS" in names:
        pose, conf, present = _from_mediapipe(data, confidence, header)
        if NECK_COMPONENT in names:  # ours in the Holistic layout: undo the export affine, nothing else
            pose = np.where(present[:, None], (pose - EXPORT_ORIGIN) / EXPORT_PIXELS_PER_UNIT, 0.0)
            return PoseClip(pose, conf, float(body.fps), source=source)
    elif _OPENPOSE_BODY in names:
        pose, conf = _from_openpose(data, confidence, header)
    else:
        raise ValueError(
            f"{source}: unsupported pose layout with components {names}; expected {SIGNLLM_COMPONENT}, MediaPipe "
            f"Holistic (POSE_LANDMARKS + LEFT/RIGHT_HAND_LANDMARKS) or OpenPose ({_OPENPOSE_BODY} + hands)"
        )
    pose = pose * (conf[..., None] > 0)  # missing joints: 0 placeholder with confidence 0, never NaN
    if normalize:
        pose = normalize_to_shoulders(pose, conf, source) * (conf[..., None] > 0)
    return PoseClip(pose, conf, float(body.fps), source=source)


def read_pose_file(path: str | os.PathLike, person: int = 0, normalize: bool = True) -> PoseClip:
    """Read a ``.pose`` file onto our 50 joints (ours losslessly; MediaPipe / OpenPose mapped, see module doc)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .pose file")
    try:
        pose_object = Pose.read(path.read_bytes())
    except Exception as error:  # pose-format raises assorted errors on truncated or foreign files
        raise ValueError(f"{path}: not a readable pose-format file ({error})") from error
    return from_pose_format(pose_object, person=person, normalize=normalize, source=str(path))
