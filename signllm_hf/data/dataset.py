"""The canonical pose dataset: a ``datasets`` dataset with fixed columns, saved as parquet shards + ``stats.json``.

Columns (DESIGN section 3): ``id``, ``language`` (canonical ISO 639-3), ``text``, ``gloss``, ``prompt``, ``pose``
(float32 ``[T, 50, 3]``), ``confidence`` (float32 ``[T, 50]``), ``fps``. On disk::

    OUT_DIR/data/{split}-{i:05d}-of-{n:05d}.parquet   streamable, pushable to the Hub as is
    OUT_DIR/stats.json                                  per-channel mean/std (train split), sizes, scale, provenance
    OUT_DIR/README.md                                   a dataset card (signllm_hf.data.dataset_card)

Example:
    >>> import numpy as np, tempfile
    >>> from signllm_hf.data.dataset import pose_dataset_from_rows, save_pose_dataset, load_pose_dataset
    >>> rows = [{"id": "a", "language": "ASL", "text": "hi", "pose": np.zeros((4, 50, 3), np.float32)}]
    >>> out = save_pose_dataset({"train": pose_dataset_from_rows(rows)}, tempfile.mkdtemp() + "/corpus")
    >>> ds = load_pose_dataset(out, split="train")
    >>> ds[0]["language"], ds[0]["pose"].shape
    ('ase', (4, 50, 3))
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
from datasets import Array2D, Array3D, Dataset, DatasetDict, Features, Value, load_dataset
from datasets.exceptions import DatasetGenerationError

from .atomic import atomic_directory
from .dataset_card import dataset_card
from .languages import canonical_language
from .skeleton import FRAME_SIZE, NUM_DIMS, NUM_JOINTS, check_pose

POSE_FEATURES = Features(
    {
        "id": Value("string"),
        "language": Value("string"),
        "text": Value("string"),
        "gloss": Value("string"),
        "prompt": Value("string"),
        "pose": Array3D(shape=(None, NUM_JOINTS, NUM_DIMS), dtype="float32"),
        "confidence": Array2D(shape=(None, NUM_JOINTS), dtype="float32"),
        "fps": Value("float32"),
    }
)
STRING_COLUMNS = ("id", "language", "text", "gloss", "prompt")
SPLIT_ORDER = ("train", "dev", "validation", "test")
SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # no "-": shard names are "{split}-00000-of-00002.parquet"
SHARD_NAME = re.compile(r"^(?P<split>[A-Za-z0-9_]+)-\d{5}-of-\d{5}\.parquet$")
STD_FLOOR = 1e-3  # constant channels (a fixed torso) normalise to 0 instead of inf


@contextlib.contextmanager
def quiet_datasets() -> Iterator[None]:
    """Silence the ``datasets`` progress bars for a block (our builders show their own)."""
    was_disabled = datasets.is_progress_bar_enabled() is False
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _nested_list_column(arrays: list[np.ndarray], feature) -> pa.ExtensionArray:
    # Build the Arrow storage of an Array2D/Array3D column with a variable first dimension straight from one flat
    # buffer and offsets: about 3x faster than letting `datasets` encode a list of numpy arrays row by row.
    trailing = arrays[0].shape[1:]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    flat = pa.array(np.concatenate([a.reshape(-1) for a in arrays]).astype(np.float32, copy=False))
    level = flat
    size = 1
    for dim in reversed(trailing):
        count = len(flat) // (size * dim)
        level = pa.ListArray.from_arrays(pa.array(np.arange(count + 1, dtype=np.int64) * dim, pa.int64()), level)
        size *= dim
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    level = pa.ListArray.from_arrays(pa.array(offsets, pa.int64()), level)
    arrow_type = Features({"x": feature}).arrow_schema.field("x").type
    return pa.ExtensionArray.from_storage(arrow_type, level.cast(arrow_type.storage_type))


def canonical_row(row: Mapping, where: str) -> dict:
    """Validate one row and return it with every canonical column (defaults filled, language resolved).

    ``where`` names the row in error messages (a file and line, a dataset index).
    """
    for required in ("id", "language", "text", "pose"):
        if row.get(required) is None:
            raise ValueError(f"{where}: missing required field {required!r}")
    pose = check_pose(row["pose"], where)
    confidence = row.get("confidence")
    confidence = np.ones(pose.shape[:2], np.float32) if confidence is None else np.asarray(confidence, np.float32)
    if confidence.shape != pose.shape[:2] or not np.isfinite(confidence).all():
        raise ValueError(f"{where}: confidence must be finite with shape {pose.shape[:2]}, got {confidence.shape}")
    if confidence.min() < 0 or confidence.max() > 1:
        raise ValueError(f"{where}: confidence must lie in [0, 1], got [{confidence.min()}, {confidence.max()}]")
    fps = 25.0 if row.get("fps") is None else float(row["fps"])
    if not fps > 0:
        raise ValueError(f"{where}: fps must be positive, got {row.get('fps')}")
    return {
        "id": str(row["id"]),
        "language": canonical_language(row["language"]),
        "text": str(row["text"]),
        "gloss": str(row.get("gloss") or ""),
        "prompt": str(row.get("prompt") or ""),
        "pose": pose,
        "confidence": confidence,
        "fps": fps,
    }


def pose_dataset_from_rows(rows: Iterable[Mapping], source: str = "row") -> Dataset:
    """Build a canonical dataset from dicts with at least ``id``, ``language``, ``text`` and ``pose``.

    Missing ``gloss`` / ``prompt`` become ``""``, a missing ``confidence`` all ones, a missing ``fps`` 25. Every pose
    is validated (shape, NaN) and every language resolved to its canonical code; errors name the row.
    """
    columns: dict[str, list] = {name: [] for name in POSE_FEATURES}
    seen_ids: set[str] = set()
    for index, row in enumerate(rows):
        clean = canonical_row(row, f"{source} {index} (id {row.get('id')!r})")
        if clean["id"] in seen_ids:
            raise ValueError(f"{source} {index}: duplicate id {clean['id']!r}; every clip needs its own id")
        seen_ids.add(clean["id"])
        for name, value in clean.items():
            columns[name].append(value)
    if not columns["id"]:
        raise ValueError(f"no {source}s to build a dataset from")
    arrays = {name: pa.array(columns[name], pa.string()) for name in STRING_COLUMNS}
    arrays["pose"] = _nested_list_column(columns["pose"], POSE_FEATURES["pose"])
    arrays["confidence"] = _nested_list_column(columns["confidence"], POSE_FEATURES["confidence"])
    arrays["fps"] = pa.array(columns["fps"], pa.float32())
    table = pa.table([arrays[name] for name in POSE_FEATURES], schema=POSE_FEATURES.arrow_schema)
    return _numpy_poses(Dataset(table))


def pose_dataset_from_generator(generator, gen_kwargs: dict) -> Dataset:
    """A canonical dataset streamed from ``generator(**gen_kwargs)`` (rows as from :func:`canonical_row`) into an
    Arrow file of the ``datasets`` cache, so it never has to fit in memory.

    ``generator`` must be a module-level function and ``gen_kwargs`` hold only tuples, not lists (``datasets``
    shards list arguments); include something that changes with the source's content (file sizes and times), as
    ``datasets`` caches the result under a hash of the function and its arguments. An error raised by the generator
    reaches the caller as itself, not wrapped in ``DatasetGenerationError``.
    """
    try:
        with quiet_datasets():
            dataset = Dataset.from_generator(generator, features=POSE_FEATURES, gen_kwargs=gen_kwargs)
    except DatasetGenerationError as error:
        raise (error.__cause__ or error) from None
    return _numpy_poses(dataset)


def check_pose_columns(dataset: Dataset | DatasetDict, needed: Iterable[str] = ("id", "language", "text", "pose")):
    """Raise a clear error when a dataset lacks columns this library needs."""
    names = dataset.column_names
    names = next(iter(names.values())) if isinstance(names, dict) else names
    missing = [column for column in needed if column not in names]
    if missing:
        raise ValueError(
            f"the dataset lacks column(s) {missing}; it has {names}. Pose datasets need {list(POSE_FEATURES)} "
            "(see signllm_hf.data.dataset.POSE_FEATURES)"
        )


def compute_pose_stats(dataset: Dataset) -> dict:
    """Per-channel mean and std of the 150 pose values over the observed joints (confidence > 0) of every frame.

    Filled-in joints do not count; a channel never observed gets mean 0 and std 1, and every std is at least
    ``STD_FLOOR``, so ``(x - mean) / std`` is always finite.
    """
    total = np.zeros(FRAME_SIZE)
    total_sq = np.zeros(FRAME_SIZE)
    counts = np.zeros(FRAME_SIZE)
    frames = 0
    has_confidence = "confidence" in dataset.column_names
    columns = ["pose", "confidence"] if has_confidence else ["pose"]
    for batch in dataset.with_format("numpy", columns=columns).iter(batch_size=256):
        for index, pose in enumerate(batch["pose"]):
            flat = np.asarray(pose, dtype=np.float64).reshape(-1, FRAME_SIZE)
            seen = np.ones_like(flat)
            if has_confidence:
                seen = np.repeat(np.asarray(batch["confidence"][index]) > 0, NUM_DIMS, axis=1).astype(np.float64)
            total += (flat * seen).sum(axis=0)
            total_sq += (flat**2 * seen).sum(axis=0)
            counts += seen.sum(axis=0)
            frames += len(flat)
    observed = counts > 0
    mean = np.where(observed, total / np.maximum(counts, 1), 0.0)
    variance = np.where(observed, total_sq / np.maximum(counts, 1) - mean**2, 1.0)
    std = np.maximum(np.sqrt(np.maximum(variance, 0.0)), STD_FLOOR)
    return {"mean": mean.round(6).tolist(), "std": std.round(6).tolist(), "num_frames": frames}


def frame_counts(dataset: Dataset) -> np.ndarray:
    """Frames of every clip, read from the Arrow offsets of the ``pose`` column (no pose is materialised)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - only needed here

    column = dataset.data.column("pose")
    chunks = [chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk for chunk in column.chunks]
    lengths = np.concatenate([pc.list_value_length(chunk).to_numpy(zero_copy_only=False) for chunk in chunks])
    if dataset._indices is not None:  # a select()/shuffle() view: map through its indices
        lengths = lengths[dataset._indices.column(0).to_numpy()]
    return lengths.astype(np.int64)


def canonical_dataset(dataset: Dataset, source: str = "dataset") -> Dataset:
    """``dataset`` with exactly the canonical columns: optional ones filled (``gloss``/``prompt`` empty, all-ones
    ``confidence``, fps 25), languages resolved to their canonical codes, features cast to ``POSE_FEATURES``."""
    check_pose_columns(dataset)
    extra = [name for name in dataset.column_names if name not in POSE_FEATURES]
    missing = [name for name in POSE_FEATURES if name not in dataset.column_names]

    def fill(batch):
        size = len(batch["id"])
        batch["language"] = [canonical_language(code) for code in batch["language"]]
        if "gloss" in missing:
            batch["gloss"] = [""] * size
        if "prompt" in missing:
            batch["prompt"] = [""] * size
        if "fps" in missing:
            batch["fps"] = [25.0] * size
        if "confidence" in missing:
            batch["confidence"] = [np.ones((len(pose), NUM_JOINTS), np.float32) for pose in batch["pose"]]
        return batch

    with quiet_datasets():
        plain = dataset.with_format(None)
        if not missing and all(canonical_language(code) == code for code in plain.unique("language")):
            return plain.remove_columns(extra).cast(POSE_FEATURES) if extra else plain.cast(POSE_FEATURES)
        return plain.map(fill, batched=True, remove_columns=extra, features=POSE_FEATURES, desc=f"canonical {source}")


def save_pose_dataset(
    splits: Mapping[str, Dataset],
    out_dir: str | os.PathLike,
    *,
    extra_stats: Mapping | None = None,
    max_shard_frames: int = 200_000,
    overwrite: bool = False,
) -> Path:
    """Write splits as parquet shards + ``stats.json`` + ``README.md`` into ``out_dir`` (atomically).

    Statistics come from the ``train`` split (or the first split when there is none). Shards hold at most about
    ``max_shard_frames`` frames each, so a shard stays well under the Hub's file size sweet spot.
    """
    if not splits:
        raise ValueError("no splits to save")
    for name, split in splits.items():
        if not SPLIT_NAME.match(name):
            raise ValueError(f"split name {name!r} may only hold letters, digits and '_' (e.g. 'test_unseen')")
        check_pose_columns(split)
        if len(split) == 0:
            raise ValueError(f"split {name!r} is empty; drop it or add clips before saving")
    splits = {name: canonical_dataset(split, f"split {name!r}") for name, split in splits.items()}
    stats_split = splits.get("train") or next(iter(splits.values()))
    stats = {**compute_pose_stats(stats_split), "stats_split": "train" if "train" in splits else next(iter(splits))}
    stats["splits"] = {}
    with atomic_directory(out_dir, overwrite=overwrite) as tmp, quiet_datasets():
        (tmp / "data").mkdir()
        for name, split in splits.items():
            lengths = frame_counts(split)
            num_shards = max(1, math.ceil(lengths.sum() / max_shard_frames))
            for index in range(num_shards):
                shard = split.shard(num_shards=num_shards, index=index, contiguous=True)
                shard.to_parquet(str(tmp / "data" / f"{name}-{index:05d}-of-{num_shards:05d}.parquet"))
            stats["splits"][name] = {
                "clips": len(split),
                "frames": int(lengths.sum()),
                "languages": sorted(set(split["language"])),
                "shards": num_shards,
            }
        stats.update(dict(extra_stats or {}))
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(str(dataset_card(stats)), encoding="utf-8")
    return Path(out_dir)


def read_stats(path: str | os.PathLike) -> dict:
    """The ``stats.json`` of a saved dataset folder (or the file itself)."""
    path = Path(path)
    path = path / "stats.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no stats.json; is this a folder written by save_pose_dataset?")
    return json.loads(path.read_text(encoding="utf-8"))


def load_pose_dataset(path: str | os.PathLike, split: str | None = None, streaming: bool = False):
    """Load a folder written by :func:`save_pose_dataset`: a ``DatasetDict`` (or one split), numpy-formatted poses."""
    data_dir = Path(path) / "data"
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{path}: no data/ folder of parquet shards; is this a folder from save_pose_dataset?")
    names = sorted(
        {m["split"] for p in data_dir.glob("*.parquet") if (m := SHARD_NAME.match(p.name))}, key=_split_rank
    )
    if not names:
        raise FileNotFoundError(f"{data_dir}: no parquet shards")
    if split is not None and split not in names:
        raise ValueError(f"{path}: no split {split!r}; available: {names}")
    files = {name: str(data_dir / f"{name}-[0-9]*-of-*.parquet") for name in ([split] if split else names)}
    with quiet_datasets():
        loaded = load_dataset("parquet", data_files=files, streaming=streaming)
    loaded = loaded.with_format("numpy") if streaming else _numpy_poses(loaded)
    return loaded[split] if split else loaded


def _split_rank(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)


def _numpy_poses(dataset: Dataset | DatasetDict):
    names = dataset.column_names  # a DatasetDict's: {split: names}
    present = set().union(*names.values()) if isinstance(names, dict) else set(names)
    arrays = [name for name in ("pose", "confidence") if name in present]
    return dataset.with_format("numpy", columns=arrays, output_all_columns=True)


def add_column(dataset: Dataset, name: str, values: list) -> Dataset:
    """``dataset`` with one more column, its poses still numpy arrays.

    ``Dataset.add_column`` on a selected or shuffled dataset flattens its indices, which `datasets` cannot do on
    numpy-formatted Array3D columns: the column is added to the unformatted dataset, then the format restored.
    """
    return _numpy_poses(dataset.with_format(None).add_column(name, values))
