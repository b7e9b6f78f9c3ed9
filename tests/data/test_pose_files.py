import numpy as np
import pytest
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from signllm_hf.data import BONES, JOINT_NAMES, read_pose_file, write_pose_file
from signllm_hf.data.pose_files import NECK_COMPONENT, SIGNLLM_COMPONENT, from_pose_format
from tests.conftest import random_pose


def test_export_header_and_lossless_round_trip(tmp_path):
    pose = random_pose(12)
    confidence = np.ones((12, 50), np.float32)
    confidence[3, 20] = 0.0
    path = write_pose_file(tmp_path / "out" / "clip.pose", pose, fps=30, confidence=confidence, layout="signllm")
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


HOLISTIC = ["POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS", NECK_COMPONENT]


def _point(pose_object, component, name):
    return np.ma.getdata(pose_object.body.data[:, 0, pose_object.header.get_point_index(component, name)])


def test_holistic_export_opens_in_pose_format_helpers(tmp_path):
    from pose_format.utils.generic import (
        correct_wrists,
        detect_known_pose_format,
        pose_normalization_info,
        reduce_holistic,
    )

    pose = random_pose(9, seed=3)
    confidence = np.ones((9, 50), np.float32)
    confidence[2, 40] = 0.0
    path = write_pose_file(tmp_path / "clip.pose", pose, fps=25, confidence=confidence)  # the default layout
    raw = Pose.read(path.read_bytes())
    assert [c.name for c in raw.header.components] == HOLISTIC and detect_known_pose_format(raw) == "holistic"
    assert raw.body.data.shape == (9, 1, 33 + 468 + 21 + 21 + 1, 3)
    assert raw.body.confidence[:, 0, 33:501].max() == 0  # no face: confidence 0
    hips = [raw.header.get_point_index("POSE_LANDMARKS", f"{side}_HIP") for side in ("LEFT", "RIGHT")]
    assert raw.body.confidence[:, 0, hips].max() == 0
    np.testing.assert_allclose(
        _point(raw, "POSE_LANDMARKS", "RIGHT_WRIST"), pose[:, 4] * 128 + (256, 176, 0), atol=1e-4
    )
    np.testing.assert_allclose(
        _point(raw, "LEFT_HAND_LANDMARKS", "PINKY_TIP"), pose[:, 28] * 128 + (256, 176, 0), atol=1e-4
    )
    assert raw.body.confidence[2, 0, raw.header.get_point_index("RIGHT_HAND_LANDMARKS", "MIDDLE_FINGER_DIP")] == 0

    clip = read_pose_file(path)  # ours: lossless, the neck included, whatever `normalize` says
    np.testing.assert_allclose(clip.pose, pose, atol=1e-5)
    np.testing.assert_array_equal(clip.confidence, confidence)

    # pose-format's normalisation: the shoulders' midpoint to the origin, their mean distance to 1.
    normalized = raw.copy().normalize(pose_normalization_info(raw.header))
    left, right = (
        _point(normalized, "POSE_LANDMARKS", "LEFT_SHOULDER"),
        _point(normalized, "POSE_LANDMARKS", "RIGHT_SHOULDER"),
    )
    assert np.linalg.norm(left - right, axis=-1).mean() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(((left + right) / 2).mean(axis=0), 0, atol=1e-5)
    scale = 1 / np.linalg.norm(pose[:, 2] - pose[:, 5], axis=-1).mean()  # in our units
    hand = _point(normalized, "RIGHT_HAND_LANDMARKS", "WRIST") - _point(normalized, "POSE_LANDMARKS", "RIGHT_WRIST")
    np.testing.assert_allclose(hand, (pose[:, 29] - pose[:, 4]) * scale, atol=1e-4)

    # correct_wrists: the body wrists take the hands' wrists where those are seen.
    corrected = correct_wrists(raw)
    np.testing.assert_allclose(
        _point(corrected, "POSE_LANDMARKS", "LEFT_WRIST"), _point(raw, "LEFT_HAND_LANDMARKS", "WRIST")
    )
    with open(tmp_path / "corrected.pose", "wb") as handle:
        corrected.write(handle)
    back = read_pose_file(tmp_path / "corrected.pose")
    np.testing.assert_allclose(back.pose[:, [4, 7]], pose[:, [29, 8]], atol=1e-5)
    np.testing.assert_allclose(np.delete(back.pose, [4, 7], axis=1), np.delete(pose, [4, 7], axis=1), atol=1e-5)

    # reduce_holistic keeps 8 body points (no nose), 128 face contour points, the hands and our neck.
    reduced = reduce_holistic(raw)
    assert [len(c.points) for c in reduced.header.components] == [8, 128, 21, 21, 1]
    with open(tmp_path / "reduced.pose", "wb") as handle:
        reduced.write(handle)
    back = read_pose_file(tmp_path / "reduced.pose")
    assert (back.confidence[:, 0] == 0).all() and (back.pose[:, 0] == 0).all()  # no nose and no face to stand in
    np.testing.assert_allclose(back.pose[:, 1:], pose[:, 1:], atol=1e-5)


def test_signllm_layout_is_still_an_option_and_layouts_are_checked(tmp_path):
    pose = random_pose(4)
    path = write_pose_file(tmp_path / "a.pose", pose, fps=25, layout="signllm")
    assert [c.name for c in Pose.read(path.read_bytes()).header.components] == [SIGNLLM_COMPONENT]
    assert path.stat().st_size < write_pose_file(tmp_path / "b.pose", pose, fps=25).stat().st_size
    with pytest.raises(ValueError, match=r"`layout` must be one of \('holistic', 'signllm'\), got 'openpose'"):
        write_pose_file(tmp_path / "c.pose", pose, fps=25, layout="openpose")


def test_reduced_holistic_from_spoken_to_signed_is_read_and_rendered(tmp_path, lexicon_dir, capsys):
    from spoken_to_signed.gloss_to_pose.lookup.fingerspelling_lookup import FingerspellingPoseLookup

    from signllm_hf.cli import main

    # spoken-to-signed's own route for a word: its lexicon's letters, reduced, normalised, joined, wrists corrected.
    result = FingerspellingPoseLookup().lookup("hi", "hi", "en", "ase")
    path = tmp_path / "hi.pose"
    with open(path, "wb") as handle:
        result.pose.write(handle)
    raw = Pose.read(path.read_bytes())
    body = next(c for c in raw.header.components if c.name == "POSE_LANDMARKS")
    assert "NOSE" not in body.points and len(body.points) == 8

    clip = read_pose_file(path, normalize=False)
    data = np.ma.getdata(raw.body.data[:, 0])
    index = raw.header.get_point_index
    shoulders = (
        data[:, index("POSE_LANDMARKS", "LEFT_SHOULDER")] + data[:, index("POSE_LANDMARKS", "RIGHT_SHOULDER")]
    ) / 2
    np.testing.assert_allclose(clip.pose[:, 1], shoulders, atol=1e-3)  # neck = shoulder midpoint
    seen = clip.confidence[:, 29] > 0  # ASL fingerspells with the right hand; the resting left one is hidden
    assert seen.mean() > 0.5
    np.testing.assert_allclose(clip.pose[seen, 29], data[seen, index("RIGHT_HAND_LANDMARKS", "WRIST")], atol=1e-3)
    face = [i for i, c in enumerate(raw.header.components) if c.name == "FACE_LANDMARKS"]
    assert face and (clip.confidence[:, 0] > 0).all()  # the nose stands in from the face contour's centre

    normalised = read_pose_file(path)
    width = np.linalg.norm(normalised.pose[:, 2] - normalised.pose[:, 5], axis=-1)
    assert np.median(width) == pytest.approx(1.0)
    nose = normalised.pose[:, 0]
    assert (np.abs(nose[:, 0]) < 0.3).all() and (nose[:, 1] < -0.3).all()  # centred, above the neck (y down)

    assert main(["render", str(path), "--out", str(tmp_path / "hi.gif"), "--size", "64"]) == 0
    from PIL import Image

    with Image.open(tmp_path / "hi.gif") as gif:
        assert gif.n_frames == clip.num_frames
    assert main(["render", str(path), "--out", str(tmp_path / "hi-ours.pose")]) == 0
    assert "wrote" in capsys.readouterr().out
    np.testing.assert_allclose(read_pose_file(tmp_path / "hi-ours.pose").pose, normalised.pose, atol=1e-5)
