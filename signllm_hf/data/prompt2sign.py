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
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict

from .atomic import atomic_paths
from .dataset import canonical_row, check_pose_columns, pose_dataset_from_generator
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
FLOAT32_MAX = float(np.finfo(np.float32).max)  # poses are stored as float32
# Characters no .skels number has. Python's float() also takes "1_0" (as 10) and non-ASCII digits; the letters are
# those of nan / inf / infinity, which parse so that they can be reported as such.
_NOT_A_NUMBER = re.compile(r"[^0-9eE+\-.\snNaAiIfFtTyY]")


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
    """One ``.skels`` line -> ``(frames (T, 150) float64 in file units, counter (T,))``; errors name ``where``.

    Values are plain decimals (``-0.125``, ``1e-05``) that fit a float32; ``nan`` / ``inf`` are recognised only to
    say so. Python's ``float`` is stricter than no check but looser than the format: it reads ``1_0`` as 10.

    Example:
        >>> from signllm_hf.data.prompt2sign import parse_skels_line
        >>> parse_skels_line("1_0 " + "0 " * 150, "dev.skels line 3")
        Traceback (most recent call last):
        ...
        ValueError: dev.skels line 3: '1_0' is not a number; .skels lines hold only numbers separated by spaces
    """
    tokens = line.split()
    try:
        if _NOT_A_NUMBER.search(line):
            raise ValueError  # a character no number has; the token holding it is named below
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(token for token in tokens if not _is_number(token))
        hint = " (this line separates values with commas)" if "," in bad else ""
        raise ValueError(
            f"{where}: {_excerpt(bad)} is not a number; .skels lines hold only numbers separated by spaces{hint}"
        ) from None
    if values.size == 0:
        raise ValueError(f"{where}: the line is empty; every clip needs at least one frame")
    if values.size % VALUES_PER_FRAME:
        raise ValueError(
            f"{where}: {values.size} values is not a multiple of {VALUES_PER_FRAME} (150 joint values + 1 counter "
            f"per frame); the line may be truncated or use another skeleton ({values.size / VALUES_PER_FRAME:.2f} "
            "frames)"
        )
    frames = values.reshape(-1, VALUES_PER_FRAME)
    bad = np.argwhere(~(np.abs(frames) <= FLOAT32_MAX))  # NaN, inf, or a finite value float32 cannot hold
    if len(bad):
        frame, column = bad[0]
        token = tokens[frame * VALUES_PER_FRAME + column]
        if token.lstrip("+-").lower() not in ("nan", "inf", "infinity"):  # e.g. 1e300, or 1e400 (inf once read)
            raise ValueError(
                f"{where}: {_excerpt(token)} at frame {frame}, value {column} (of {VALUES_PER_FRAME}) is out of "
                f"range; pose values must fit a float32 (|x| <= {FLOAT32_MAX:.4g}). Fix the converter that wrote it"
            )
        raise ValueError(
            f"{where}: NaN/inf at frame {frame}, value {column} (of {VALUES_PER_FRAME}); fix the converter that wrote "
            f"it or replace missing values (the Prompt2Sign tool writes {PROMPT2SIGN_MISSING:.5f})"
        )
    return frames[:, :FRAME_SIZE], frames[:, FRAME_SIZE]


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return not _NOT_A_NUMBER.search(token)


def _excerpt(text: str, limit: int = 80) -> str:
    # A bad token can be a whole 100 KB line (commas instead of spaces): quote its start, once.
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _not_utf8(path: Path, error: UnicodeDecodeError, kind: str) -> ValueError:
    byte = error.object[error.start : error.start + 1].hex()
    return ValueError(
        f"{path}: not UTF-8 text (it holds the byte 0x{byte}); {kind}. Is it the right file? If so, re-save it "
        "as UTF-8"
    )


def detect_counter(first_counters: list[float], lengths: list[int], path: str) -> str:
    """``"start"`` when clips count from 0 (t / T), ``"end"`` when they count from 1/T (i / T).

    Each clip's first counter is matched to whichever of 0 and 1/T it is closer to; it must lie within a quarter step
    of it (rounding to a few decimals stays far inside that), and every clip must agree.
    """
    votes = []
    for line, (first, length) in enumerate(zip(first_counters, lengths)):
        step = 1.0 / length
        if abs(first) <= step / 4:
            votes.append("start")
        elif abs(first - step) <= step / 4:
            votes.append("end")
        else:
            raise ValueError(
                f"{path}: cannot tell the counter convention: line {line + 1} starts its counter at {first} "
                f"(expected 0 for Progressive Transformers or 1/T={step:.5f} for Prompt2Sign). Pass "
                "variant='progressive_transformers' or 'prompt2sign' (and scale=...) explicitly"
            )
    if len(set(votes)) > 1:
        line = votes.index("end" if votes[0] == "start" else "start")
        raise ValueError(
            f"{path}: line 1 counts like {votes[0]!r} but line {line + 1} like {votes[line]!r}; the file mixes "
            "variants. Pass variant=... explicitly"
        )
    return votes[0] if votes else "start"


def decode_frames(
    values: np.ndarray, layout: SkelsFormat, where: str = "the .skels values"
) -> tuple[np.ndarray, np.ndarray]:
    """File values (T, 150) -> ``(pose (T, 50, 3) float32 in the tool's units, confidence (T, 50))``.

    In the Prompt2Sign variant a joint written as three ``0.01600`` stood for a missing (NaN) joint: it gets
    confidence 0 and is filled by interpolation over time (a joint never seen in the clip is set to 0). A single
    ``0.01600`` is read as a value: with 5 decimals, genuine coordinates round to it about once per clip, while a
    missing joint always marks all three.
    """
    pose = values.reshape(-1, NUM_JOINTS, NUM_DIMS)
    confidence = np.ones(pose.shape[:2], dtype=np.float32)
    if layout.variant == "prompt2sign":
        missing = np.all(np.abs(pose - PROMPT2SIGN_MISSING) < 5e-7, axis=-1)
        if missing.any():
            confidence[missing] = 0.0
            pose, ever = fill_missing(pose, ~missing)
            pose[:, ~ever] = 0.0
    scaled = pose * layout.scale
    too_large = np.argwhere(np.abs(scaled) > FLOAT32_MAX)  # each value fits a float32, but not times the scale
    if len(too_large):
        frame, joint, axis = too_large[0]
        raise ValueError(
            f"{where}: {pose[frame, joint, axis]:.6g} at frame {frame}, value {3 * joint + axis} times the scale "
            f"{layout.scale:g} is out of range (float32 holds |x| <= {FLOAT32_MAX:.4g}); fix the converter that wrote "
            "it, or pass the scale it used"
        )
    return scaled.astype(np.float32), confidence


def _read_text_lines(path: Path, expected: int) -> list[str]:
    # UTF-8 (a BOM is tolerated), \r\n or \n; blank lines after the last clip are dropped.
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error, f"{path.suffix} files hold one line of text per clip") from None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":  # the final newline ends the last line; it does not start another
        lines.pop()
    while len(lines) > expected and not lines[-1].strip():
        lines.pop()
    return lines


def _skels_summary(path: Path) -> tuple[list[int], list[float]]:
    """First pass over a ``.skels`` file: frames and first counter of every clip, every line validated."""
    lengths, first_counters = [], []
    blank_at = None
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    blank_at = blank_at or number
                    continue
                if blank_at is not None:
                    raise ValueError(f"{path} line {blank_at}: the line is empty; every clip needs at least one frame")
                _, counter = parse_skels_line(line, f"{path} line {number}")
                lengths.append(len(counter))
                first_counters.append(float(counter[0]))
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error, ".skels files hold numbers as plain text") from None
    if not lengths:
        raise ValueError(f"{path}: no clips (the file is empty)")
    return lengths, first_counters


def read_skels_clip(path: str | os.PathLike, index: int = 0, variant: str = "auto", scale: float | None = None):
    """One clip (line ``index``, from 0) of a ``.skels`` file as ``(pose (T, 50, 3), confidence (T, 50))``, its
    variant detected from that line's counter unless given."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            line = next((text for number, text in enumerate(handle) if number == index), None)
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error, ".skels files hold numbers as plain text") from None
    if line is None:
        raise IndexError(f"{path}: has no line {index + 1} (index {index})")
    where = f"{path} line {index + 1}"
    values, counter = parse_skels_line(line, where)
    if variant == "auto":
        counter_kind = detect_counter([float(counter[0])], [len(counter)], where)
        variant = "progressive_transformers" if counter_kind == "start" else "prompt2sign"
    return decode_frames(values, SkelsFormat.from_variant(variant, scale), where)


def _split_files(directory: Path, split: str) -> dict[str, Path]:
    return {ext: directory / f"{split}.{ext}" for ext in ("skels", "text", "gloss", "files")}


def available_splits(directory: str | os.PathLike) -> list[str]:
    """Splits that have a ``.skels`` file in ``directory`` (train, dev, test first; hidden files ignored)."""
    names = sorted(p.name[: -len(".skels")] for p in Path(directory).glob("*.skels") if not p.name.startswith("."))
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

    The file is streamed into an Arrow dataset in the ``datasets`` cache (memory-mapped), so files of any size read
    in bounded memory; a changed file is never served from a stale cache.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    if split is None:
        names = available_splits(directory)
        if not names:
            raise FileNotFoundError(f"{directory}: no *.skels files; expected train.skels, dev.skels, ...")
        options = {"language": language, "variant": variant, "scale": scale, "fps": fps, "prompt_seed": prompt_seed}
        return DatasetDict({name: read_prompt2sign(directory, name, **options) for name in names})
    code = canonical_language(language)
    paths = _split_files(directory, split)
    for ext in ("skels", "text"):
        if not paths[ext].is_file():
            raise FileNotFoundError(
                f"{paths[ext]}: missing; a {split!r} split needs {split}.skels and {split}.text "
                f"({split}.gloss and {split}.files are optional)"
            )
    lengths, first_counters = _skels_summary(paths["skels"])
    lines = {ext: _read_text_lines(p, len(lengths)) for ext, p in paths.items() if ext != "skels" and p.is_file()}
    counts = {"skels": len(lengths)} | {ext: len(v) for ext, v in lines.items()}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{paths[ext].name}: {n} lines" for ext, n in counts.items())
        raise ValueError(f"{directory}: the {split!r} files must have one line per clip, but {detail}")
    if variant == "auto":
        counter = detect_counter(first_counters, lengths, str(paths["skels"]))
        variant = "progressive_transformers" if counter == "start" else "prompt2sign"
    layout = SkelsFormat.from_variant(variant, scale)
    ids = (
        [line.strip() for line in lines["files"]]
        if "files" in lines
        else [f"{split}/{i}" for i in range(len(lengths))]
    )
    duplicates = sorted(clip_id for clip_id, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"{paths['files']}: duplicate clip ids {duplicates[:5]}; every line needs its own id")
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths.values() if p.is_file())
    # Tuples, not lists: `from_generator` splits list arguments into shards.
    generator_options = {
        "skels_path": str(paths["skels"]),
        "texts": tuple(t.strip() for t in lines["text"]),
        "glosses": tuple(g.strip() for g in lines["gloss"]) if "gloss" in lines else ("",) * len(ids),
        "ids": tuple(ids),
        "layout": (layout.variant, layout.scale, layout.counter),
        "language": code,
        "fps": fps,
        "prompt_seed": prompt_seed,
        "stamp": stamp,  # part of the cache key: an edited file is read again
    }
    return pose_dataset_from_generator(_generate_rows, generator_options)


def _generate_rows(skels_path, texts, glosses, ids, layout, language, fps, prompt_seed, stamp):
    layout = SkelsFormat(*layout)
    with open(skels_path, encoding="utf-8-sig") as handle:
        clips = (line for line in handle if line.strip())
        for index, line in enumerate(clips):
            where = f"{skels_path} line {index + 1}"
            values, _ = parse_skels_line(line, where)
            pose, confidence = decode_frames(values, layout, where)
            text = texts[index]
            prompt = (
                make_prompt(text, language, seed=prompt_seed, key=ids[index])
                if prompt_seed is not None and text
                else ""
            )
            row = {"id": ids[index], "language": language, "text": text, "gloss": glosses[index], "prompt": prompt}
            yield canonical_row(row | {"pose": pose, "confidence": confidence, "fps": fps}, where)


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
    mark_missing: bool = True,
) -> dict[str, Path]:
    """Write ``dataset`` as ``{split}.skels/.text/.gloss/.files`` in ``directory`` (all four atomically).

    Coordinates are divided by the variant's scale (or ``scale``) and written with ``decimals`` decimals, the counter
    follows the variant. In the ``prompt2sign`` variant, joints with confidence 0 are written as the ``0.01600``
    triple that tool uses for missing values, unless ``mark_missing=False`` (poses whose every joint holds a real
    value, as lifted ones do). Returns the paths written.
    """
    check_pose_columns(dataset)
    if len(dataset) == 0:
        raise ValueError(f"the dataset is empty; nothing to write for split {split!r}")
    layout = SkelsFormat.from_variant(variant, scale)
    directory = Path(directory)
    paths = _split_files(directory, split)
    has_confidence = "confidence" in dataset.column_names
    has_gloss = "gloss" in dataset.column_names
    arrays = ["pose", "confidence"] if has_confidence else ["pose"]
    data = dataset.with_format("numpy", columns=arrays, output_all_columns=True)
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
                if layout.variant == "prompt2sign" and has_confidence and mark_missing:
                    missing = np.asarray(row["confidence"]) <= 0
                cells = _format_frame_values(pose, decimals, missing)
                counter_text = np.char.mod(f"%.{decimals}f", counter)[:, None]
                frames = np.concatenate([cells, counter_text], axis=1)
                skels.write(" ".join(frames.reshape(-1).tolist()) + "\n")
                text_file.write(row["text"] + "\n")
                gloss_file.write((row["gloss"] if has_gloss else "") + "\n")
                files_file.write(row["id"] + "\n")
    return paths
