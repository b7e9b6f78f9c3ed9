"""The one definition of the SignLLM / Prompt2Sign skeleton: 50 joints, 49 bones, 25 shared bone lengths.

Joint order (Prompt2Sign, DESIGN section 3)::

    0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist   (OpenPose BODY_25 indices 0-7)
    8-28  left hand, OpenPose / MediaPipe hand order (wrist, thumb x4, index x4, middle x4, ring x4, pinky x4),
          rooted at joint 7 (left wrist)
    29-49 right hand, same order, rooted at joint 4 (right wrist)

"Left" and "right" are the signer's. A frame is 50 x (x, y, z) = 150 floats; the model appends a counter channel.

Coordinates of the corpora this library builds (fingerspelling, synthetic) follow the image convention of the pose
estimators: x to the viewer's right, y down, z away from the camera, origin at the neck, one unit = the signer's
shoulder width. Files read from elsewhere keep their own coordinates (the Progressive Transformers PHOENIX14T files,
for instance, are neck-centred with a shoulder width of 1 after undoing their scale, but mirrored in x).

The bone list is the tree of the Prompt2Sign lifting tool: root = nose, each bone (parent, child, length id), parents
listed before children; left and right limbs share a length id, so a skeleton has 25 length parameters.

Example:
    >>> from signllm_hf.data.skeleton import ANCESTORS, BONES, JOINT_NAMES, NUM_JOINTS, joint_index
    >>> NUM_JOINTS, len(BONES), JOINT_NAMES[joint_index("right_wrist")]
    (50, 49, 'right_wrist')
    >>> int(ANCESTORS[joint_index("right_hand_pinky_tip")].sum())  # bones from the nose to the pinky tip
    9
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_JOINTS = 50
NUM_DIMS = 3
FRAME_SIZE = NUM_JOINTS * NUM_DIMS  # 150 values per frame, before the counter channel
NUM_BONE_LENGTHS = 25

BODY_JOINT_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
# OpenPose and MediaPipe share this 21-point hand order.
HAND_POINT_NAMES = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_mcp",
    "index_pip",
    "index_dip",
    "index_tip",
    "middle_mcp",
    "middle_pip",
    "middle_dip",
    "middle_tip",
    "ring_mcp",
    "ring_pip",
    "ring_dip",
    "ring_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)
JOINT_NAMES = (
    BODY_JOINT_NAMES
    + tuple(f"left_hand_{name}" for name in HAND_POINT_NAMES)
    + tuple(f"right_hand_{name}" for name in HAND_POINT_NAMES)
)

BODY = slice(0, 8)
LEFT_HAND = slice(8, 29)
RIGHT_HAND = slice(29, 50)
LEFT_HAND_ROOT, RIGHT_HAND_ROOT = 7, 4  # the body wrists the hands hang from
NECK = 1
# Each side's hand joints and the body wrist they hang from (a signing hand is read relative to its wrist).
HANDS_BY_SIDE = {"right": (RIGHT_HAND, RIGHT_HAND_ROOT), "left": (LEFT_HAND, LEFT_HAND_ROOT)}


def _hand_bones(offset: int, body_wrist: int) -> list[tuple[int, int, int]]:
    # wrist -> hand wrist shares length id 4 on both sides; palm bones 5, 9, 13, 17, 21; finger bones follow each.
    bones = [(body_wrist, offset, 4)]
    for finger in range(5):
        base = offset + 1 + 4 * finger
        length_id = 5 + 4 * finger
        bones.append((offset, base, length_id))
        bones.extend((base + k, base + k + 1, length_id + k + 1) for k in range(3))
    return bones


BONES: tuple[tuple[int, int, int], ...] = tuple(
    [
        (0, 1, 0),  # nose -> neck
        (1, 2, 1),  # neck -> right shoulder
        (2, 3, 2),  # right upper arm
        (3, 4, 3),  # right forearm
        (1, 5, 1),  # neck -> left shoulder
        (5, 6, 2),  # left upper arm
        (6, 7, 3),  # left forearm
    ]
    + _hand_bones(8, LEFT_HAND_ROOT)
    + _hand_bones(29, RIGHT_HAND_ROOT)
)

# PARENTS[j] is the parent joint of j (-1 for the root, the nose).
PARENTS = np.full(NUM_JOINTS, -1, dtype=np.int64)
BONE_LENGTH_IDS = np.zeros(len(BONES), dtype=np.int64)
for _k, (_parent, _child, _length_id) in enumerate(BONES):
    PARENTS[_child] = _parent
    BONE_LENGTH_IDS[_k] = _length_id
BONE_PARENTS = np.array([b[0] for b in BONES], dtype=np.int64)
BONE_CHILDREN = np.array([b[1] for b in BONES], dtype=np.int64)


def _ancestor_matrix() -> np.ndarray:
    # ANCESTORS[j, k] = 1 when bone k lies on the path from the root to joint j. A joint's position is the root's
    # plus the offsets of those bones, so forward kinematics of every joint of every frame is one matrix product.
    matrix = np.zeros((NUM_JOINTS, len(BONES)), dtype=np.float32)
    bone_ending_at = {child: k for k, (_, child, _) in enumerate(BONES)}
    for joint in range(NUM_JOINTS):
        node = joint
        while PARENTS[node] >= 0:
            matrix[joint, bone_ending_at[node]] = 1.0
            node = PARENTS[node]
    return matrix


ANCESTORS = _ancestor_matrix()

# Signer's left <-> right: a permutation of joints (apply to a pose and negate x to mirror a signer).
MIRROR_PERMUTATION = np.array(
    [0, 1, 5, 6, 7, 2, 3, 4] + list(range(29, 50)) + list(range(8, 29)),
    dtype=np.int64,
)

# Drawing groups for renderers and .pose headers: (name, joints, RGB colour).
JOINT_GROUPS = (
    ("body", tuple(range(0, 8)), (70, 130, 220)),
    ("left_hand", tuple(range(8, 29)), (230, 90, 60)),
    ("right_hand", tuple(range(29, 50)), (60, 180, 90)),
)


def joint_index(name: str) -> int:
    """Index of a joint by name (e.g. ``"left_hand_index_tip"``); raises ``KeyError`` listing close names."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        close = [n for n in JOINT_NAMES if name.split("_")[-1] in n][:5]
        raise KeyError(f"unknown joint {name!r}; joints are named like {close or JOINT_NAMES[:4]}") from None


def bone_group_color(child: int) -> tuple[int, int, int]:
    """RGB colour of the bone that ends at joint ``child`` (its group's colour)."""
    for _, joints, color in JOINT_GROUPS:
        if child in joints:
            return color
    raise IndexError(f"joint {child} is outside the {NUM_JOINTS}-joint skeleton")


def bone_lengths(pose: np.ndarray) -> np.ndarray:
    """Euclidean length of each of the 49 bones: ``(..., 50, D) -> (..., 49)``."""
    return np.linalg.norm(pose[..., BONE_CHILDREN, :] - pose[..., BONE_PARENTS, :], axis=-1)


def shoulder_width(pose: np.ndarray) -> np.ndarray:
    """Distance between the two shoulders: ``(..., 50, D) -> (...)``."""
    return np.linalg.norm(pose[..., 2, :] - pose[..., 5, :], axis=-1)


def mirror(pose: np.ndarray) -> np.ndarray:
    """Swap the signer's left and right (joint permutation + negated x): ``(..., 50, D) -> (..., 50, D)``."""
    mirrored = pose[..., MIRROR_PERMUTATION, :].copy()
    mirrored[..., 0] = -mirrored[..., 0]
    return mirrored


def check_pose(pose: np.ndarray, source: str) -> np.ndarray:
    """Validate one clip ``(T, 50, 3)`` (or flat ``(T, 150)``) and return it as float32 ``(T, 50, 3)``.

    ``source`` names where the clip came from (a file and line, a dataset row) for the error message.
    """
    pose = np.asarray(pose, dtype=np.float32)
    if pose.ndim == 2 and pose.shape[1] == FRAME_SIZE:
        pose = pose.reshape(-1, NUM_JOINTS, NUM_DIMS)
    if pose.ndim != 3 or pose.shape[1:] != (NUM_JOINTS, NUM_DIMS):
        raise ValueError(f"{source}: expected a pose of shape (frames, {NUM_JOINTS}, {NUM_DIMS}), got {pose.shape}")
    if pose.shape[0] == 0:
        raise ValueError(f"{source}: the clip has no frames")
    bad = ~np.isfinite(pose)
    if bad.any():
        frame, joint, _ = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: {int(bad.sum())} NaN/inf values, first at frame {frame} joint {joint} ({JOINT_NAMES[joint]}); "
            "mark missing joints with confidence 0 and a finite placeholder (or interpolate) instead of NaN"
        )
    return pose


@dataclass
class PoseClip:
    """One clip on the 50-joint skeleton: ``pose`` (T, 50, 3) float32, ``confidence`` (T, 50) in [0, 1], ``fps``."""

    pose: np.ndarray
    confidence: np.ndarray
    fps: float
    source: str = "pose clip"

    def __post_init__(self) -> None:
        self.pose = check_pose(self.pose, self.source)
        if self.confidence is None:
            self.confidence = np.ones(self.pose.shape[:2], dtype=np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        if self.confidence.shape != self.pose.shape[:2]:
            raise ValueError(f"{self.source}: confidence shape {self.confidence.shape} != {self.pose.shape[:2]}")
        if not np.isfinite(self.confidence).all():
            raise ValueError(f"{self.source}: confidence contains NaN/inf")
        if not self.fps or self.fps <= 0:
            raise ValueError(f"{self.source}: fps must be positive, got {self.fps}")
        self.fps = float(self.fps)

    @property
    def num_frames(self) -> int:
        return self.pose.shape[0]
