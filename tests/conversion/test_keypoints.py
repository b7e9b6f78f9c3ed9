import json

import numpy as np
import pytest

from signllm_hf.conversion.keypoints import (
    SkippedClip,
    find_clips,
    read_clip,
    read_openpose_folder,
)
from signllm_hf.data import write_pose_file
from tests.conftest import known_motion, projected, write_openpose_clip

HOW2SIGN_FRAMES = {
    "_2FBDaOPYig_2-3-rgb_front": 157,
    "_2FBDaOPYig_2-5-rgb_front": 210,
    "_2FBDaOPYig_3-3-rgb_front": 109,
}


def test_how2sign_folders(how2sign_dir):
    sources = find_clips(how2sign_dir / "json")
    assert sorted(sources) == sorted(HOW2SIGN_FRAMES)
    for clip_id, source in sources.items():
        clip = read_clip(source)
        assert clip.keypoints.shape == (HOW2SIGN_FRAMES[clip_id], 50, 3) and clip.layout == "BODY_25"
        first = json.loads(sorted(source.glob("*.json"))[0].read_text())["people"][0]
        np.testing.assert_allclose(clip.keypoints[0, :8].reshape(-1), first["pose_keypoints_2d"][:24], rtol=1e-6)
        np.testing.assert_allclose(clip.keypoints[0, 29:].reshape(-1), first["hand_right_keypoints_2d"], rtol=1e-6)


def test_coco18_bodies_and_the_most_confident_person(tmp_path):
    keypoints = projected(known_motion(1)[0][:6])
    folder = write_openpose_clip(tmp_path / "coco", keypoints, body_values=54)
    clip = read_openpose_folder(folder)
    assert clip.layout == "COCO_18"
    np.testing.assert_allclose(clip.keypoints, keypoints, rtol=1e-6)
    # A second, fainter person in frame 0 (a bystander): the signer is kept.
    path = sorted(folder.glob("*.json"))[0]
    data = json.loads(path.read_text())
    bystander = json.loads(json.dumps(data["people"][0]))
    bystander["pose_keypoints_2d"] = [v * 0.5 for v in bystander["pose_keypoints_2d"]]
    data["people"].insert(0, bystander)
    path.write_text(json.dumps(data))
    np.testing.assert_allclose(read_openpose_folder(folder).keypoints[0], keypoints[0], rtol=1e-6)


def test_gaps_and_empty_frames_become_missing_frames(tmp_path):
    keypoints = projected(known_motion(1)[0][:8])
    folder = write_openpose_clip(tmp_path / "gaps", keypoints)
    sorted(folder.glob("*.json"))[3].unlink()  # frame 3 never written
    sorted(folder.glob("*.json"))[5].write_text(json.dumps({"people": []}))  # frame 6: no person
    clip = read_openpose_folder(folder)
    assert clip.keypoints.shape == (8, 50, 3) and clip.missing_frames == 2
    assert (clip.keypoints[[3, 6], :, 2] == 0).all() and (clip.keypoints[[2, 4], :, 2] > 0).all()


def test_pose_format_input(tmp_path):
    pose = known_motion(1)[0][:10]
    path = write_pose_file(tmp_path / "clip.pose", pose, fps=25)
    clip = read_clip(path)
    assert clip.keypoints.shape == (10, 50, 3) and clip.layout == "pose-format"
    np.testing.assert_allclose(clip.keypoints[..., :2], pose[..., :2], atol=1e-5)  # our own files: our units


def _make_bad(folder, mutate):
    write_openpose_clip(folder, projected(known_motion(1)[0][:6]))
    mutate(sorted(folder.glob("*.json")))
    return folder


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda files: files[2].write_text("{not json"), r"_000000000002_keypoints\.json: malformed JSON"),
        (lambda files: [f.write_text(json.dumps({"people": []})) for f in files], r"6 of 6 frames have no person"),
        (
            lambda files: files[1].write_text(
                json.dumps(
                    {
                        "people": [
                            {
                                "pose_keypoints_2d": [1.0] * 75,
                                "hand_left_keypoints_2d": [1.0] * 60,
                                "hand_right_keypoints_2d": [1.0] * 63,
                            }
                        ]
                    }
                )
            ),
            r"hand_left_keypoints_2d has 60 values, expected 63",
        ),
        (
            lambda files: files[1].write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 75}]})),
            r"no hand_left_keypoints_2d \(run OpenPose with --hand\)",
        ),
        (
            lambda files: files[4].write_text(
                json.dumps(
                    {
                        "people": [
                            {
                                "pose_keypoints_2d": [float("nan")] * 75,
                                "hand_left_keypoints_2d": [1.0] * 63,
                                "hand_right_keypoints_2d": [1.0] * 63,
                            }
                        ]
                    }
                )
            ),
            r"pose_keypoints_2d contains NaN",
        ),
        (
            lambda files: files[0].write_text(
                json.dumps(
                    {
                        "people": [
                            {
                                "pose_keypoints_2d": [1.0] * 51,
                                "hand_left_keypoints_2d": [1.0] * 63,
                                "hand_right_keypoints_2d": [1.0] * 63,
                            }
                        ]
                    }
                )
            ),
            r"pose_keypoints_2d has 51 values, expected 75 or 54",
        ),
        (lambda files: [f.unlink() for f in files[1:]], r"1 frame; a clip needs at least 2 frames"),
        (lambda files: [f.unlink() for f in files], r"no \*_keypoints\.json files \(an empty clip folder\)"),
        (lambda files: files[0].write_text(json.dumps([1, 2])), r"no 'people' list"),
        (
            lambda files: files[3].write_text("[" * 100_000 + "]" * 100_000),
            r"_000000000003_keypoints\.json: JSON nested too deeply to read",
        ),
    ],
)
def test_bad_clips_are_skipped_with_a_reason(tmp_path, mutate, reason):
    folder = _make_bad(tmp_path / "clip", mutate)
    with pytest.raises(SkippedClip, match=reason):
        read_clip(folder)


def test_find_clips_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        find_clips(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no clip folders"):
        find_clips(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a.pose").write_bytes(b"")
    with pytest.raises(ValueError, match="two inputs share the clip id 'a'"):
        find_clips(tmp_path)


def test_dwpose_json(tmp_path):
    # DWPose (controlnet_aux) writes coordinates as x / W, y / H with the canvas size, and null for missing hands.
    keypoints = projected(known_motion(1)[0][:4])
    folder = tmp_path / "dw"
    folder.mkdir()
    width, height = 1280.0, 720.0
    for t, frame in enumerate(keypoints):
        body = np.zeros((18, 3))
        body[:8] = frame[:8] / [width, height, 1]
        person = {
            "pose_keypoints_2d": body.reshape(-1).tolist(),
            "hand_left_keypoints_2d": None,
            "hand_right_keypoints_2d": (frame[29:] / [width, height, 1]).reshape(-1).tolist(),
        }
        data = {"people": [person], "canvas_width": width, "canvas_height": height}
        (folder / f"{t:04d}_keypoints.json").write_text(json.dumps(data))
    clip = read_openpose_folder(folder)
    assert clip.layout == "COCO_18"
    np.testing.assert_allclose(clip.keypoints[:, :8], keypoints[:, :8], rtol=1e-6)
    assert (clip.keypoints[:, 8:29] == 0).all()  # the null hand: missing
    np.testing.assert_allclose(clip.keypoints[:, 29:], keypoints[:, 29:], rtol=1e-6)


def test_frame_file_names(tmp_path):
    folder = write_openpose_clip(tmp_path / "clip", projected(known_motion(1)[0][:5]))
    (folder / "._clip_000000000000_keypoints.json").write_bytes(b"\x00\x05macOS metadata")
    assert read_openpose_folder(folder).keypoints.shape[0] == 5
    (folder / "clip_000000999999_keypoints.json").write_text((folder / "clip_000000000000_keypoints.json").read_text())
    with pytest.raises(SkippedClip, match=r"frame numbers span 0\.\.999999 but there are only 6 files"):
        read_openpose_folder(folder)
    (folder / "clip_000000999999_keypoints.json").unlink()
    (folder / "clip_2_keypoints.json").write_text((folder / "clip_000000000000_keypoints.json").read_text())
    with pytest.raises(SkippedClip, match="frame 2 appears twice"):
        read_openpose_folder(folder)


def test_degenerate_clips_are_skipped(tmp_path):
    keypoints = projected(known_motion(1)[0][:6])
    no_shoulders = keypoints.copy()
    no_shoulders[:, [2, 5], 2] = 0
    with pytest.raises(SkippedClip, match="the shoulders are never both detected"):
        read_openpose_folder(write_openpose_clip(tmp_path / "a", no_shoulders))
    faint = keypoints.copy()
    faint[..., 2] = 0.1
    with pytest.raises(SkippedClip, match="no frame has a mean upper-body confidence of 0.3"):
        read_openpose_folder(write_openpose_clip(tmp_path / "b", faint))
    still = keypoints.copy()
    still[..., :2] = 100.0
    with pytest.raises(SkippedClip, match="every detected keypoint is at the same place"):
        read_openpose_folder(write_openpose_clip(tmp_path / "c", still))
