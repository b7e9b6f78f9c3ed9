"""pose-format ``.pose`` files: export our 50-joint clips, import ours, MediaPipe Holistic and OpenPose files.

Export writes one component, ``SIGNLLM_50``, with our joint names, the 49 bones as limbs and a colour per limb, so
tools of the sign.mt ecosystem (pose-format's visualiser, pose viewers) can draw our output. pose-format stores pixel
coordinates; we map our units into a 512 x 512 frame with a fixed affine (128 px per unit, neck at (256, 176)), and
import inverts it exactly, so export -> import is lossless.

Foreign files are mapped onto the 50 joints: MediaPipe Holistic (``POSE_LANDMARKS`` + ``LEFT/RIGHT_HAND_LANDMARKS``:
neck = shoulder midpoint, hands 1:1) and OpenPose (``pose_keypoints_2d`` BODY_25 or COCO-18, whose first 8 joints are
ours, + ``hand_left/right_keypoints_2d``). With ``normalize=True`` they are brought to our corpus convention: origin at
the clip's mean neck, one unit = the clip's median shoulder width.

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

import os
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from .atomic import atomic_path
from .skeleton import BONES, HAND_POINT_NAMES, JOINT_NAMES, NUM_JOINTS, PoseClip, bone_group_color, shoulder_width

SIGNLLM_COMPONENT = "SIGNLLM_50"
EXPORT_SIZE = 512
EXPORT_PIXELS_PER_UNIT = 128.0
EXPORT_ORIGIN = np.array([256.0, 176.0, 0.0], dtype=np.float64)

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
_MEDIAPIPE_HANDS = ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS")
_OPENPOSE_BODY = "pose_keypoints_2d"
_OPENPOSE_HANDS = ("hand_left_keypoints_2d", "hand_right_keypoints_2d")


def skeleton_header() -> PoseHeader:
    """A pose-format header with our 50-joint component, its bones as limbs and one colour per limb."""
    limbs = [(parent, child) for parent, child, _ in BONES]
    colors = [bone_group_color(child) for _, child in limbs]
    component = PoseHeaderComponent(
        name=SIGNLLM_COMPONENT, points=list(JOINT_NAMES), limbs=limbs, colors=colors, point_format="XYZC"
    )
    dimensions = PoseHeaderDimensions(width=EXPORT_SIZE, height=EXPORT_SIZE, depth=EXPORT_SIZE)
    return PoseHeader(version=0.2, dimensions=dimensions, components=[component])


def to_pose_format(pose: np.ndarray, fps: float, confidence: np.ndarray | None = None) -> Pose:
    """A pose-format ``Pose`` of one clip ``(T, 50, 3)`` in our units (see module docstring for the pixel mapping)."""
    clip = PoseClip(pose, confidence, fps, source="pose to export")
    pixels = clip.pose.astype(np.float64) * EXPORT_PIXELS_PER_UNIT + EXPORT_ORIGIN
    data = pixels.astype(np.float32)[:, None]  # (T, people=1, 50, 3)
    body = NumPyPoseBody(fps=clip.fps, data=data, confidence=clip.confidence[:, None])
    return Pose(skeleton_header(), body)


def write_pose_file(
    path: str | os.PathLike, pose: np.ndarray, fps: float, confidence: np.ndarray | None = None
) -> Path:
    """Write one clip as a ``.pose`` file (atomically) and return its path."""
    pose_object = to_pose_format(pose, fps, confidence)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pose_object.write(handle)
    return Path(path)


def _component_names(header: PoseHeader) -> list[str]:
    return [component.name for component in header.components]


def _points(data: np.ndarray, confidence: np.ndarray, header: PoseHeader, component: str, names) -> tuple:
    indices = [header.get_point_index(component, name) for name in names]
    return data[:, indices], confidence[:, indices]


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


def _from_mediapipe(data: np.ndarray, confidence: np.ndarray, header: PoseHeader) -> tuple[np.ndarray, np.ndarray]:
    pose = np.zeros((data.shape[0], NUM_JOINTS, 3), dtype=np.float32)
    conf = np.zeros((data.shape[0], NUM_JOINTS), dtype=np.float32)
    for joint, name in enumerate(_MEDIAPIPE_BODY):
        if name is not None:
            index = header.get_point_index("POSE_LANDMARKS", name)
            pose[:, joint], conf[:, joint] = data[:, index], confidence[:, index]
    pose[:, 1] = (pose[:, 2] + pose[:, 5]) / 2  # neck = shoulder midpoint
    conf[:, 1] = np.minimum(conf[:, 2], conf[:, 5])
    for offset, component in zip((8, 29), _MEDIAPIPE_HANDS):
        hand, hand_conf = _points(data, confidence, header, component, [n.upper() for n in _mediapipe_hand_names()])
        pose[:, offset : offset + 21], conf[:, offset : offset + 21] = hand, hand_conf
    return pose, conf


def _mediapipe_hand_names() -> list[str]:
    # MediaPipe names its hand points WRIST, THUMB_CMC, ..., INDEX_FINGER_MCP, ..., PINKY_TIP: same order as ours.
    renamed = {"index": "index_finger", "middle": "middle_finger", "ring": "ring_finger"}
    names = []
    for name in HAND_POINT_NAMES:
        finger, _, part = name.partition("_")
        names.append(f"{renamed.get(finger, finger)}_{part}" if part else name)
    return names


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
    """Map a pose-format ``Pose`` onto our 50 joints (see the module docstring for the supported layouts)."""
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
    if "POSE_LANDMARKS" in names and all(c in names for c in _MEDIAPIPE_HANDS):
        pose, conf = _from_mediapipe(data, confidence, header)
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
