import numpy as np
import pytest
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from signllm_hf.data import BONES, JOINT_NAMES, read_pose_file, write_pose_file
from signllm_hf.data.pose_files import SIGNLLM_COMPONENT, from_pose_format
from tests.conftest import random_pose


def test_export_header_and_lossless_round_trip(tmp_path):
    pose = random_pose(12)
    confidence = np.ones((12, 50), np.float32)
    confidence[3, 20] = 0.0
    path = write_pose_file(tmp_path / "out" / "clip.pose", pose, fps=30, confidence=confidence)
    raw = Pose.read(path.read_bytes())
    component = raw.header.components[0]
    assert component.name == SIGNLLM_COMPONENT and component.points == list(JOINT_NAMES)
    assert component.limbs == [(p, c) for p, c, _ in BONES] and len(component.colors) == 49
    assert raw.body.data.shape == (12, 1, 50, 3) and raw.body.fps == 30
    clip = read_pose_file(path)
    np.testing.assert_allclose(clip.pose, pose, atol=1e-5)
    assert clip.confidence[3, 20] == 0 and clip.confidence.sum() == 12 * 50 - 1 and clip.fps == 30


def _openpose_pose(frames=5):
    body = PoseHeaderComponent("pose_keypoints_2d", [f"b{i}" for i in range(25)], [(0, 1)], [(0, 0, 0)], "XYC")
    left = PoseHeaderComponent("hand_left_keypoints_2d", [f"l{i}" for i in range(21)], [(0, 1)], [(0, 0, 0)], "XYC")
    right = PoseHeaderComponent("hand_right_keypoints_2d", [f"r{i}" for i in range(21)], [(0, 1)], [(0, 0, 0)], "XYC")
    header = PoseHeader(0.2, PoseHeaderDimensions(640, 480, 0), [body, left, right])
    data = np.random.default_rng(1).uniform(100, 400, size=(frames, 1, 67, 2)).astype(np.float32)
    data[:, 0, 2], data[:, 0, 5] = (200, 300), (300, 300)  # shoulders 100 px apart
    data[:, 0, 1] = (250, 300)
    confidence = np.ones((frames, 1, 67), np.float32)
    confidence[:, 0, 7] = 0  # left wrist never detected
    return Pose(header, NumPyPoseBody(25, data, confidence)), data


def test_openpose_layout_is_mapped_and_normalised():
    pose_object, data = _openpose_pose()
    clip = from_pose_format(pose_object)
    np.testing.assert_allclose(clip.pose[:, 1], 0, atol=1e-6)  # neck at the origin
    np.testing.assert_allclose(np.linalg.norm(clip.pose[:, 2] - clip.pose[:, 5], axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(clip.pose[0, 29, :2], (data[0, 0, 46] - (250, 300)) / 100, rtol=1e-5)  # right hand
    assert (clip.pose[:, :, 2] == 0).all() and (clip.confidence[:, 7] == 0).all() and (clip.pose[:, 7] == 0).all()
    raw = from_pose_format(pose_object, normalize=False)
    np.testing.assert_allclose(raw.pose[:, 8, :2], data[:, 0, 25])


def test_mediapipe_lexicon_file(lexicon_dir):
    path = next(iter(sorted((lexicon_dir / "ase").glob("*.pose"))))
    raw = Pose.read(path.read_bytes())
    index = raw.header.get_point_index
    clip = read_pose_file(path, normalize=False)
    data = np.ma.getdata(raw.body.data[:, 0])
    shoulders = (
        data[:, index("POSE_LANDMARKS", "LEFT_SHOULDER")] + data[:, index("POSE_LANDMARKS", "RIGHT_SHOULDER")]
    ) / 2
    np.testing.assert_allclose(clip.pose[:, 1], shoulders, atol=1e-3)  # neck = shoulder midpoint
    seen = clip.confidence[:, 29] > 0
    np.testing.assert_allclose(clip.pose[seen, 29], data[seen, index("RIGHT_HAND_LANDMARKS", "WRIST")], atol=1e-3)
    np.testing.assert_allclose(clip.pose[seen, 49], data[seen, index("RIGHT_HAND_LANDMARKS", "PINKY_TIP")], atol=1e-3)
    normalised = read_pose_file(path)
    assert np.isfinite(normalised.pose).all()
    assert np.median(np.linalg.norm(normalised.pose[:, 2] - normalised.pose[:, 5], axis=-1)) == pytest.approx(1.0)


def test_unsupported_and_broken_files(tmp_path):
    face = PoseHeaderComponent("FACE", ["a", "b"], [(0, 1)], [(0, 0, 0)], "XYC")
    body = NumPyPoseBody(25, np.zeros((2, 1, 2, 2), np.float32), np.ones((2, 1, 2), np.float32))
    pose_object = Pose(PoseHeader(0.2, PoseHeaderDimensions(1, 1, 0), [face]), body)
    with pytest.raises(ValueError, match=r"unsupported pose layout with components \['FACE'\]"):
        from_pose_format(pose_object)
    (tmp_path / "broken.pose").write_bytes(b"not a pose file")
    with pytest.raises(ValueError, match="broken.pose: not a readable pose-format file"):
        read_pose_file(tmp_path / "broken.pose")
    with pytest.raises(FileNotFoundError, match="no such .pose file"):
        read_pose_file(tmp_path / "missing.pose")


def test_normalising_without_shoulders_names_the_file():
    pose_object, _ = _openpose_pose()
    pose_object.body.confidence[:, 0, [2, 5]] = 0  # shoulders never detected
    with pytest.raises(ValueError, match=r"clip.pose: cannot normalise.*normalize=False"):
        from_pose_format(pose_object, source="clip.pose")
    assert from_pose_format(pose_object, normalize=False, source="clip.pose").num_frames == 5
