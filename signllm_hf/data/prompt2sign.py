"""Read and write the parallel text files of Progressive Transformers and the Prompt2Sign tool.

A split is four parallel files, one clip per line::

    {split}.skels   frames concatenated; each frame = 150 joint values (50 x xyz) then one counter value
    {split}.text    the spoken-language sentence
    {split}.gloss   the gloss sequence (optional)
    {split}.files   the clip ids (optional; ids default to "{split}/{line}")

Two variants exist (DESIGN section 3), told apart by their counter:

=========================  ===========  ==============  ========================================
variant                    coordinates  counter         missing values
=========================  ===========  ==============  ========================================
``progressive_transformers``  value / 3    t / T, t = 0..T-1  written as they are
``prompt2sign``             value / 9    i / T, i = 1..T    0 and NaN written as ``0.01600``
=========================  ===========  ==============  ========================================

Readers undo the scale, so the ``pose`` column is in the lifting tool's own units; a joint written as the
``0.01600`` triple gets confidence 0 and is filled by interpolation over time. Our writer defaults to the
Progressive Transformers variant with 6 decimals (its t/T counter is what PT-style training code expects); the
model's own counter convention (``(t + 1) / T``) lives in the collator, not in these files.

Example (on PHOENIX14T, ``read_prompt2sign(folder, language="gsg")`` gives train clips of 86, 126, 168, 185, 71
frames):
    >>> import numpy as np, tempfile
    >>> from signllm_hf.data import pose_dataset_from_rows, read_prompt2sign, write_prompt2sign
    >>> pose = np.random.default_rng(0).normal(size=(5, 50, 3)).astype(np.float32)
    >>> clips = pose_dataset_from_rows([{"id": "dev/1", "language": "DGS", "text": "guten morgen", "pose": pose}])
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_prompt2sign(clips, folder, "dev")
    >>> back = read_prompt2sign(folder, "dev", language="gsg")
    >>> back[0]["text"], back[0]["pose"].shape, bool(np.allclose(back[0]["pose"], pose, atol=1e-5))
    ('guten morgen', (5, 50, 3), True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict

from .atomic import atomic_paths
from .dataset import check_pose_columns, pose_dataset_from_rows
from .languages import canonical_language
from .motion import counter_channel, fill_missing
from .prompts import make_prompt
from .skeleton import FRAME_SIZE, NUM_DIMS, NUM_JOINTS

VARIANTS = {
    # name: (coordinate scale, counter convention of motion.counter_channel)
    "progressive_transformers": (3.0, "start"),
    "prompt2sign": (9.0, "end"),
}
PROMPT2SIGN_MISSING = 0.016  # what the Prompt2Sign tool writes for 0 and NaN
VALUES_PER_FRAME = FRAME_SIZE + 1


@dataclass(frozen=True)
class SkelsFormat:
    """How a ``.skels`` file is written: coordinate ``scale`` (file = value / scale) and the counter convention."""

    variant: str
    scale: float
    counter: str  # "start" (t / T) or "end" ((t + 1) / T)

    @classmethod
    def from_variant(cls, variant: str, scale: float | None = None) -> SkelsFormat:
        if variant not in VARIANTS:
            raise ValueError(f"unknown .skels variant {variant!r}; choose one of {sorted(VARIANTS)}")
        default_scale, counter = VARIANTS[variant]
        return cls(variant, float(scale if scale is not None else default_scale), counter)


def parse_skels_line(line: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One ``.skels`` line -> ``(frames (T, 150) float64 in file units, counter (T,))``; errors name ``where``."""
    try:
        values = np.array(line.split(), dtype=np.float64)
    except ValueError as error:
        bad = next(token for token in line.split() if not _is_float(token))
        raise ValueError(f"{where}: {bad!r} is not a number ({error}); .skels lines hold only numbers") from None
    if values.size == 0:
        raise ValueError(f"{where}: the line is empty; every clip needs at least one frame")
    if values.size % VALUES_PER_FRAME:
        raise ValueError(
            f"{where}: {values.size} values is not a multiple of {VALUES_PER_FRAME} (150 joint values + 1 counter "
            f"per frame); the line may be truncated or use another skeleton ({values.size / VALUES_PER_FRAME:.2f} "
            "frames)"
        )
    frames = values.reshape(-1, VALUES_PER_FRAME)
    nan = np.argwhere(~np.isfinite(frames))
    if len(nan):
        frame, column = nan[0]
        raise ValueError(
            f"{where}: NaN/inf at frame {frame}, value {column} (of {VALUES_PER_FRAME}); fix the converter that wrote "
            f"it or replace missing values (the Prompt2Sign tool writes {PROMPT2SIGN_MISSING:.5f})"
        )
    return frames[:, :FRAME_SIZE], frames[:, FRAME_SIZE]


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def detect_counter(first_counters: list[float], lengths: list[int], path: str) -> str:
    """``"start"`` when every clip's counter starts at 0, ``"end"`` when it starts at 1/T (5-decimal rounding)."""
    starts_at_zero = [abs(c) < 1e-9 for c in first_counters]
    starts_at_step = [abs(c - 1.0 / n) < 2e-5 for c, n in zip(first_counters, lengths)]
    if all(starts_at_zero):
        return "start"
    if all(starts_at_step):
        return "end"
    line = next(i for i, (z, s) in enumerate(zip(starts_at_zero, starts_at_step)) if not (z or s))
    raise ValueError(
        f"{path}: cannot tell the counter convention: line {line + 1} starts its counter at {first_counters[line]} "
        f"(expected 0 for Progressive Transformers or 1/T={1 / lengths[line]:.5f} for Prompt2Sign). Pass "
        "variant='progressive_transformers' or 'prompt2sign' (and scale=...) explicitly"
    )


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _split_files(directory: Path, split: str) -> dict[str, Path]:
    return {ext: directory / f"{split}.{ext}" for ext in ("skels", "text", "gloss", "files")}


def available_splits(directory: str | os.PathLike) -> list[str]:
    """Splits that have a ``.skels`` file in ``directory`` (train, dev, test first)."""
    names = sorted(p.name[: -len(".skels")] for p in Path(directory).glob("*.skels"))
    order = {name: i for i, name in enumerate(("train", "dev", "test"))}
    return sorted(names, key=lambda n: (order.get(n, 3), n))


def read_prompt2sign(
    directory: str | os.PathLike,
    split: str | None = None,
    *,
    language: str,
    variant: str = "auto",
    scale: float | None = None,
    fps: float = 25.0,
    prompt_seed: int | None = 0,
) -> Dataset | DatasetDict:
    """Read ``{split}.skels/.text/.gloss/.files`` into the canonical dataset (all splits as a ``DatasetDict`` when
    ``split`` is None).

    ``variant``: ``"auto"`` (from the counter, see the module docstring), ``"progressive_transformers"`` or
    ``"prompt2sign"``; ``scale`` overrides the variant's coordinate scale. ``language`` is the sign language of every
    clip (any alias). Prompts are made from the templates with ``prompt_seed`` (None leaves them empty).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    if split is None:
        names = available_splits(directory)
        if not names:
            raise FileNotFoundError(f"{directory}: no *.skels files; expected train.skels, dev.skels, ...")
        return DatasetDict(
            {
                name: read_prompt2sign(
                    directory, name, language=language, variant=variant, scale=scale, fps=fps, prompt_seed=prompt_seed
                )
                for name in names
            }
        )
    code = canonical_language(language)
    paths = _split_files(directory, split)
    for ext in ("skels", "text"):
        if not paths[ext].is_file():
            raise FileNotFoundError(
                f"{paths[ext]}: missing; a {split!r} split needs {split}.skels and {split}.text "
                f"({split}.gloss and {split}.files are optional)"
            )
    lines = {ext: _read_lines(p) for ext, p in paths.items() if p.is_file()}
    counts = {ext: len(v) for ext, v in lines.items()}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{paths[ext].name}: {n} lines" for ext, n in counts.items())
        raise ValueError(f"{directory}: the {split!r} files must have one line per clip, but {detail}")

    parsed = [parse_skels_line(line, f"{paths['skels']} line {i + 1}") for i, line in enumerate(lines["skels"])]
    if variant == "auto":
        counter = detect_counter([c[0] for _, c in parsed], [len(c) for _, c in parsed], str(paths["skels"]))
        variant = "progressive_transformers" if counter == "start" else "prompt2sign"
    layout = SkelsFormat.from_variant(variant, scale)

    rows = []
    for index, (values, _) in enumerate(parsed):
        pose = values.reshape(-1, NUM_JOINTS, NUM_DIMS)
        confidence = np.ones(pose.shape[:2], dtype=np.float32)
        if layout.variant == "prompt2sign":
            missing = np.all(np.abs(pose - PROMPT2SIGN_MISSING) < 5e-7, axis=-1)
            if missing.any():
                confidence[missing] = 0.0
                pose, ever = fill_missing(pose, ~missing)
                pose[:, ~ever] = 0.0  # never seen in this clip: a neutral placeholder, confidence stays 0
        text = lines["text"][index].strip()
        clip_id = lines["files"][index].strip() if "files" in lines else f"{split}/{index}"
        rows.append(
            {
                "id": clip_id,
                "language": code,
                "text": text,
                "gloss": lines["gloss"][index].strip() if "gloss" in lines else "",
                "prompt": make_prompt(text, code, seed=prompt_seed, key=clip_id)
                if prompt_seed is not None and text
                else "",
                "pose": (pose * layout.scale).astype(np.float32),
                "confidence": confidence,
                "fps": fps,
            }
        )
    return pose_dataset_from_rows(rows, source=f"{paths['skels']} line")


def _format_frame_values(values: np.ndarray, decimals: int, missing: np.ndarray | None) -> list[str]:
    # values: (T, 150) in file units; missing: (T, 50) joints to write as the Prompt2Sign 0.01600 marker.
    text = np.char.mod(f"%.{decimals}f", values)
    if missing is not None and missing.any():
        text = text.reshape(-1, NUM_JOINTS, NUM_DIMS)
        text[missing] = f"{PROMPT2SIGN_MISSING:.5f}"
        text = text.reshape(-1, FRAME_SIZE)
    return text


def write_prompt2sign(
    dataset: Dataset,
    directory: str | os.PathLike,
    split: str = "train",
    *,
    variant: str = "progressive_transformers",
    scale: float | None = None,
    decimals: int = 6,
) -> dict[str, Path]:
    """Write ``dataset`` as ``{split}.skels/.text/.gloss/.files`` in ``directory`` (all four atomically).

    Coordinates are divided by the variant's scale (or ``scale``) and written with ``decimals`` decimals, the counter
    follows the variant. In the ``prompt2sign`` variant, joints with confidence 0 are written as the ``0.01600``
    triple that tool uses for missing values. Returns the paths written.
    """
    check_pose_columns(dataset)
    if len(dataset) == 0:
        raise ValueError(f"the dataset is empty; nothing to write for split {split!r}")
    layout = SkelsFormat.from_variant(variant, scale)
    directory = Path(directory)
    paths = _split_files(directory, split)
    data = dataset.with_format("numpy", columns=["pose", "confidence"], output_all_columns=True)
    has_confidence = "confidence" in dataset.column_names
    has_gloss = "gloss" in dataset.column_names
    for column in ("id", "text", "gloss"):
        if column in dataset.column_names:
            for row_id, value in zip(dataset["id"], dataset[column]):
                if "\n" in (value or "") or "\r" in (value or ""):
                    raise ValueError(
                        f"clip {row_id!r}: its {column} contains a line break, which the format cannot hold"
                    )
    with atomic_paths([paths[e] for e in ("skels", "text", "gloss", "files")]) as tmp:
        tmp_paths = dict(zip(("skels", "text", "gloss", "files"), tmp))
        with (
            open(tmp_paths["skels"], "w", encoding="utf-8") as skels,
            open(tmp_paths["text"], "w", encoding="utf-8") as text_file,
            open(tmp_paths["gloss"], "w", encoding="utf-8") as gloss_file,
            open(tmp_paths["files"], "w", encoding="utf-8") as files_file,
        ):
            for row in data:
                pose = np.asarray(row["pose"], dtype=np.float64).reshape(-1, FRAME_SIZE) / layout.scale
                counter = counter_channel(len(pose), layout.counter)
                missing = None
                if layout.variant == "prompt2sign" and has_confidence:
                    missing = np.asarray(row["confidence"]) <= 0
                cells = _format_frame_values(pose, decimals, missing)
                counter_text = np.char.mod(f"%.{decimals}f", counter)[:, None]
                frames = np.concatenate([cells, counter_text], axis=1)
                skels.write(" ".join(frames.reshape(-1).tolist()) + "\n")
                text_file.write(row["text"] + "\n")
                gloss_file.write((row["gloss"] if has_gloss else "") + "\n")
                files_file.write(row["id"] + "\n")
    return paths
