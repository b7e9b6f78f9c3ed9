"""Draw skeleton sequences: GIF (Pillow) or MP4 (imageio-ffmpeg), single or side by side.

Bones of the 50-joint tree are drawn in their group's colour (body blue, left hand red, right hand green); joints
with confidence 0 (filled in, not observed) are drawn in grey. Side-by-side panels share one view (same scale and
origin), so two sequences in the same coordinates can be compared directly; the shorter one holds its last frame.

Example:
    >>> import numpy as np
    >>> from signllm_hf.render import render_frames
    >>> frames = render_frames([np.random.default_rng(0).normal(size=(3, 50, 3))], size=64)
    >>> len(frames), frames[0].size
    (3, (64, 64))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .data.atomic import atomic_path
from .data.skeleton import BONES, JOINT_GROUPS, NUM_JOINTS, PoseClip, bone_group_color, check_pose

BACKGROUND = (255, 255, 255)
MISSING_COLOR = (170, 170, 170)
TITLE_HEIGHT = 16


@dataclass(frozen=True)
class View:
    """Maps pose (x, y) to pixels: ``u = (x - center_x) * scale + size / 2`` (y likewise, flipped when ``y_up``)."""

    center_x: float
    center_y: float
    scale: float
    size: int
    y_up: bool = False

    def project(self, points: np.ndarray) -> np.ndarray:
        """``(..., >=2)`` pose coordinates -> ``(..., 2)`` pixel coordinates."""
        u = (points[..., 0] - self.center_x) * self.scale + self.size / 2
        dy = points[..., 1] - self.center_y
        v = (-dy if self.y_up else dy) * self.scale + self.size / 2
        return np.stack([u, v], axis=-1)


def fit_view(poses: list[np.ndarray], size: int, margin: float = 0.08, y_up: bool = False) -> View:
    """A view that fits every frame of every sequence (robustly: 0.5-99.5 percentiles) into a ``size`` square."""
    points = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, NUM_JOINTS, 3)[..., :2] for p in poses])
    points = points.reshape(-1, 2)
    low = np.percentile(points, 0.5, axis=0)
    high = np.percentile(points, 99.5, axis=0)
    extent = max(float((high - low).max()), 1e-6)
    scale = size * (1 - 2 * margin) / extent
    center = (low + high) / 2
    return View(float(center[0]), float(center[1]), scale, size, y_up)


def draw_pose(pose: np.ndarray, view: View, confidence: np.ndarray | None = None, title: str | None = None):
    """One frame ``(50, 3)`` as a ``size x size`` RGB image."""
    image = Image.new("RGB", (view.size, view.size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    pixels = view.project(np.asarray(pose, dtype=np.float64))
    seen = np.ones(NUM_JOINTS, dtype=bool) if confidence is None else np.asarray(confidence) > 0
    line_width = max(1, view.size // 160)
    for parent, child, _ in BONES:
        color = bone_group_color(child) if seen[parent] and seen[child] else MISSING_COLOR
        # Body bones one pixel thicker than finger bones, so the arms read at small sizes.
        draw.line([tuple(pixels[parent]), tuple(pixels[child])], fill=color, width=line_width + (child < 8))
    radius = max(1.5, view.size / 110)
    for _, joints, color in JOINT_GROUPS:
        for joint in joints:
            u, v = pixels[joint]
            fill = color if seen[joint] else MISSING_COLOR
            draw.ellipse([u - radius, v - radius, u + radius, v + radius], fill=fill)
    if title:
        draw.text((4, 2), title, fill=(0, 0, 0))
    return image


def render_frames(
    poses: list[np.ndarray],
    confidences: list[np.ndarray | None] | None = None,
    titles: list[str] | None = None,
    size: int = 320,
    y_up: bool = False,
) -> list[Image.Image]:
    """Render one or more sequences ``(T_i, 50, 3)`` side by side (shared view) into a list of PIL frames."""
    if not poses:
        raise ValueError("nothing to render: `poses` is empty")
    poses = [check_pose(p, f"sequence {i}") for i, p in enumerate(poses)]
    confidences = confidences or [None] * len(poses)
    titles = titles or [None] * len(poses)
    view = fit_view(poses, size, y_up=y_up)
    length = max(len(p) for p in poses)
    frames = []
    for t in range(length):
        panels = []
        for pose, confidence, title in zip(poses, confidences, titles):
            index = min(t, len(pose) - 1)
            label = f"{title}  {index + 1}/{len(pose)}" if title else None
            panels.append(draw_pose(pose[index], view, None if confidence is None else confidence[index], label))
        frame = Image.new("RGB", (size * len(panels), size), BACKGROUND)
        for column, panel in enumerate(panels):
            frame.paste(panel, (column * size, 0))
        frames.append(frame)
    return frames


def save_animation(frames: list[Image.Image], path: str | os.PathLike, fps: float) -> Path:
    """Write frames as ``.gif`` (Pillow) or ``.mp4`` (needs ``imageio-ffmpeg``: ``pip install signllm-hf[viz]``)."""
    if not frames:
        raise ValueError("no frames to write")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"{path}: choose a .gif or .mp4 output")
    if suffix == ".gif":
        with atomic_path(path) as tmp:
            frames[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=max(20, int(round(1000 / fps))),
                loop=0,
            )
        return path
    try:
        import imageio.v2 as imageio  # noqa: PLC0415 - optional dependency
    except ImportError as error:
        raise ImportError("MP4 output needs imageio and imageio-ffmpeg: pip install 'signllm-hf[viz]'") from error
    with atomic_path(path) as tmp:
        writer = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=16)
        try:
            for frame in frames:
                writer.append_data(np.asarray(frame))
        finally:
            writer.close()
    return path


def render_clips(
    clips: list[PoseClip],
    out: str | os.PathLike,
    titles: list[str] | None = None,
    size: int = 320,
    fps: float | None = None,
    y_up: bool = False,
) -> Path:
    """Render clips side by side into ``out`` (.gif / .mp4) at ``fps`` (default: the first clip's)."""
    frames = render_frames([c.pose for c in clips], [c.confidence for c in clips], titles, size=size, y_up=y_up)
    return save_animation(frames, out, fps or clips[0].fps)


def load_clip(
    source: str | os.PathLike,
    index: int | None = None,
    clip_id: str | None = None,
    split: str | None = None,
    variant: str = "auto",
    scale: float | None = None,
    fps: float = 25.0,
) -> tuple[PoseClip, str]:
    """One clip and a title from a ``.pose`` file, a ``.skels`` file (line ``index``), a Prompt2Sign folder, or a
    dataset folder written by ``save_pose_dataset`` / a ``.parquet`` shard (row ``index`` or ``clip_id``).

    ``.skels`` lines are decoded as the reader does (``variant`` / ``scale`` as in ``read_prompt2sign``; ``fps`` is
    what the format cannot store)."""
    from .data.dataset import load_pose_dataset  # noqa: PLC0415 - keep `import signllm_hf.render` light
    from .data.pose_files import read_pose_file  # noqa: PLC0415
    from .data.prompt2sign import available_splits, read_skels_clip  # noqa: PLC0415

    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.suffix == ".pose":
        return read_pose_file(path), path.stem
    if path.is_dir() and not (path / "data").is_dir():
        names = available_splits(path)
        if not names:
            raise ValueError(f"{path}: neither a dataset folder (data/*.parquet) nor a Prompt2Sign folder (*.skels)")
        path = path / f"{split or names[0]}.skels"
    if path.suffix == ".skels":
        if clip_id is not None:
            files = path.with_suffix(".files")
            if not files.is_file():
                raise FileNotFoundError(f"{files}: missing; --id looks clip ids up there (or pass --index)")
            try:
                ids = [line.rstrip("\r") for line in files.read_text(encoding="utf-8-sig").split("\n")]
            except UnicodeDecodeError:
                raise ValueError(f"{files}: not UTF-8 text; save it as UTF-8 (or pass --index)") from None
            if clip_id not in ids:
                raise KeyError(f"{files}: no clip id {clip_id!r}")
            index = ids.index(clip_id)
        index = index or 0
        pose, confidence = read_skels_clip(path, index, variant=variant, scale=scale)
        return PoseClip(pose, confidence, fps, source=f"{path} line {index + 1}"), f"{path.stem} #{index}"
    if path.suffix == ".parquet":
        from datasets import load_dataset  # noqa: PLC0415

        dataset = load_dataset("parquet", data_files=str(path), split="train").with_format("numpy")
    else:
        loaded = load_pose_dataset(path, split=split)
        if split is None and clip_id is not None:  # an id names one clip in whichever split holds it
            dataset = next((s for s in loaded.values() if clip_id in s["id"]), next(iter(loaded.values())))
        else:
            dataset = loaded if split else next(iter(loaded.values()))
    if clip_id is not None:
        matches = [i for i, value in enumerate(dataset["id"]) if value == clip_id]
        if not matches:
            where = f"split {split!r}" if split else "any split"
            raise KeyError(f"{source}: no clip with id {clip_id!r} in {where}")
        index = matches[0]
    index = index or 0
    if not 0 <= index < len(dataset):
        raise IndexError(f"{source}: row {index} is out of range (the split has {len(dataset)} rows)")
    row = dataset[index]
    clip = PoseClip(row["pose"], row.get("confidence"), float(row.get("fps") or 25.0), source=f"{source} row {index}")
    return clip, str(row.get("text") or row.get("id") or index)
