import importlib.util

import numpy as np
import pytest
from PIL import Image

from signllm_hf.data import pose_dataset_from_rows, save_pose_dataset, write_pose_file, write_prompt2sign
from signllm_hf.data.corpora.synthetic import rest_pose
from signllm_hf.data.skeleton import JOINT_GROUPS, PoseClip
from signllm_hf.render import (
    BACKGROUND,
    MISSING_COLOR,
    draw_pose,
    fit_view,
    load_clip,
    render_clips,
    render_frames,
    save_animation,
)
from tests.conftest import pose_rows

BODY, LEFT, RIGHT = (color for _, _, color in JOINT_GROUPS)


def _pixel(image, point):
    return image.getpixel((int(round(point[0])), int(round(point[1]))))


def test_joints_are_drawn_where_the_pose_says():
    pose = rest_pose()
    view = fit_view([pose[None]], size=200)
    image = draw_pose(pose, view)
    pixels = view.project(pose)
    assert _pixel(image, pixels[3]) == BODY  # right elbow (the wrist hides under the hand's own wrist point)
    assert _pixel(image, pixels[49]) == RIGHT  # right pinky tip
    assert _pixel(image, pixels[28]) == LEFT  # left pinky tip
    assert _pixel(image, (2, 2)) == BACKGROUND
    drawn = np.any(np.asarray(image) != BACKGROUND, axis=-1)
    assert 0.005 < drawn.mean() < 0.3
    # Move the pose: the drawing moves with it, in the same view.
    shifted = draw_pose(pose + np.array([0.3, 0.0, 0.0]), view)
    assert _pixel(shifted, view.project(pose[3] + np.array([0.3, 0, 0]))) == BODY
    assert _pixel(shifted, pixels[3]) != BODY


def test_unobserved_joints_are_grey_and_y_up_flips():
    pose = rest_pose()
    confidence = np.ones(50)
    confidence[49] = 0
    view = fit_view([pose[None]], size=200)
    assert _pixel(draw_pose(pose, view, confidence), view.project(pose)[49]) == MISSING_COLOR
    up = fit_view([pose[None]], size=200, y_up=True)
    assert up.project(pose)[0, 1] > up.project(pose)[1, 1]  # nose below the neck when y points up


def test_side_by_side_shares_one_view_and_holds_the_shorter_clip():
    a = np.repeat(rest_pose()[None], 3, axis=0)
    b = np.repeat((rest_pose() + np.array([0.5, 0, 0]))[None], 5, axis=0)
    frames = render_frames([a, b], size=100)
    assert len(frames) == 5 and frames[0].size == (200, 100)
    left, right = np.asarray(frames[4])[:, :100], np.asarray(frames[4])[:, 100:]
    assert not np.array_equal(left, right)  # the shifted pose is drawn shifted: one view for both panels
    np.testing.assert_array_equal(np.asarray(frames[2])[:, :100], left)  # clip a holds its last frame


def test_gif_has_every_frame_at_the_clip_rate(tmp_path):
    clip = PoseClip(pose_rows([7])[0]["pose"], None, 25.0)
    path = render_clips([clip], tmp_path / "clip.gif", size=96)
    with Image.open(path) as gif:
        assert gif.n_frames == 7 and gif.size == (96, 96) and gif.info["duration"] == 40


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="MP4 needs signllm-hf[viz]")
def test_mp4_output(tmp_path):
    import imageio.v2 as imageio

    clip = PoseClip(pose_rows([9])[0]["pose"], None, 25.0)
    path = render_clips([clip, clip], tmp_path / "clip.mp4", size=96)
    reader = imageio.get_reader(path)
    assert reader.count_frames() == 9 and reader.get_data(0).shape[:2] == (96, 192)
    reader.close()


def test_load_clip_from_every_source(tmp_path):
    rows = pose_rows([4, 6])
    dataset = pose_dataset_from_rows(rows)
    save_pose_dataset({"train": dataset}, tmp_path / "ds")
    write_prompt2sign(dataset, tmp_path / "p2s", "dev")
    write_pose_file(tmp_path / "clip.pose", rows[1]["pose"], 30)

    clip, title = load_clip(tmp_path / "ds", clip_id="clip-1")
    np.testing.assert_array_equal(clip.pose, rows[1]["pose"])
    assert title == "sentence number 1"
    clip, _ = load_clip(tmp_path / "ds" / "data" / "train-00000-of-00001.parquet", index=1)
    np.testing.assert_array_equal(clip.pose, rows[1]["pose"])
    clip, _ = load_clip(tmp_path / "p2s" / "dev.skels", index=1)
    np.testing.assert_allclose(clip.pose, rows[1]["pose"], atol=1e-5)  # decoded like the reader: scale undone
    clip, _ = load_clip(tmp_path / "p2s", clip_id="clip-0")
    assert clip.num_frames == 4
    clip, _ = load_clip(tmp_path / "clip.pose")
    assert clip.fps == 30 and clip.num_frames == 6

    with pytest.raises(IndexError, match="row 5 is out of range"):
        load_clip(tmp_path / "ds", index=5)
    with pytest.raises(KeyError, match="no clip with id 'nope'"):
        load_clip(tmp_path / "ds", clip_id="nope")
    with pytest.raises(IndexError, match="has no line 3"):
        load_clip(tmp_path / "p2s" / "dev.skels", index=2)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_clip(tmp_path / "missing.gif")
    with pytest.raises(ValueError, match="choose a .gif or .mp4"):
        render_clips([clip], tmp_path / "x.png")
    with pytest.raises(ValueError, match="no frames"):
        save_animation([], tmp_path / "x.gif", fps=25)


def test_render_names_a_garbage_skels_file_and_what_to_do(tmp_path, capsys):
    from signllm_hf.cli import main

    (tmp_path / "clip.skels").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert main(["render", str(tmp_path / "clip.skels"), "--out", str(tmp_path / "x.gif")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"signllm: error: {tmp_path / 'clip.skels'}: not UTF-8 text (it holds the byte 0x89)")
    assert "re-save it as UTF-8" in error and not (tmp_path / "x.gif").exists()
    write_prompt2sign(pose_dataset_from_rows(pose_rows([3])), tmp_path, "dev")
    (tmp_path / "dev.files").write_bytes("übung\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"dev\.files: not UTF-8 text; save it as UTF-8 \(or pass --index\)"):
        load_clip(tmp_path / "dev.skels", clip_id="übung")
