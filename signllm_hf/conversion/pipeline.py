"""The Prompt2Sign tool as three resumable stages: keypoints -> HDF5, 2D -> 3D, 3D -> .skels and parquet.

    OUT_DIR/keypoints2d.h5   stage 1 (extract): raw 2D keypoints + confidence per clip, with the clip's split,
                             language, text, gloss and fps as attributes
    OUT_DIR/poses3d.h5       stage 2 (lift): 3D poses per clip, in our corpus convention (neck at the origin, one
                             unit = the shoulder width, x right, y down, z away from the camera), + confidence
    OUT_DIR/{split}.skels    stage 3 (export): .skels/.text/.gloss/.files per split, and the canonical parquet
    OUT_DIR/dataset/         dataset of the data layer (every split stored so far)
    OUT_DIR/summary.json     per stage: clips converted, skipped and why, time

Every stage skips clips already done, so an interrupted run continues where it stopped; results are written in
atomic parts (see ``store.py``) and lifting batches are a fixed function of the whole clip set, so a resumed run
gives the same output as an uninterrupted one. A run killed outright (SIGKILL) leaves hidden temporaries, which the
next run removes (``data/atomic.py``). A clip that cannot be read, or whose name cannot be an id (bytes that are not
UTF-8, a line break), is skipped with its reason; the other clips convert. Several runs with different ``--split``
can share one OUT_DIR.

Example (two tiny clips of random OpenPose keypoints; ``signllm convert openpose IN OUT`` does the same):
    >>> import json, pathlib, tempfile, numpy as np
    >>> from signllm_hf.conversion.pipeline import ConversionOptions, convert_openpose, load_converted
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for clip in ("clip_a", "clip_b"):
    ...     (root / "in" / clip).mkdir(parents=True)
    ...     for frame in range(6):
    ...         values = lambda n: np.c_[rng.uniform(0, 500, (n, 2)), np.ones(n)].ravel().tolist()
    ...         person = {"pose_keypoints_2d": values(25), "hand_left_keypoints_2d": values(21),
    ...                   "hand_right_keypoints_2d": values(21)}
    ...         path = root / "in" / clip / f"{clip}_{frame:012d}_keypoints.json"
    ...         _ = path.write_text(json.dumps({"people": [person]}))
    >>> reports = convert_openpose(root / "in", root / "out", ConversionOptions(language="DGS", progress=False))
    >>> [(r.stage, r.converted) for r in reports]
    [('extract', 2), ('lift', 2), ('export', 2)]
    >>> load_converted(root / "out", split="train")[0]["pose"].shape
    (6, 50, 3)
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data.atomic import atomic_path
from ..data.dataset import (
    SPLIT_NAME,
    canonical_row,
    load_pose_dataset,
    pose_dataset_from_generator,
    read_stats,
    save_pose_dataset,
)
from ..data.languages import canonical_language
from ..data.prompt2sign import write_prompt2sign
from ..data.prompts import make_prompt
from ..data.skeleton import shoulder_width
from .keypoints import MAX_MISSING_FRACTION, SkippedClip, clip_id_problem, find_clips, printable, read_clip
from .lifting import LiftingBatch, prepare_keypoints, solve_adam, solve_reference
from .store import ClipStore

# Table columns, best first: How2Sign's csv has VIDEO_NAME before SENTENCE_NAME, and the sentence is the clip.
ID_COLUMNS = ("id", "clip", "clip_id", "sentence_name", "name", "file", "files", "video_name")
TEXT_COLUMNS = ("text", "sentence", "translation")
GLOSS_COLUMNS = ("gloss", "glosses", "orth")


@dataclass
class ConversionOptions:
    """What the stages need besides the folders. ``text_path`` / ``gloss_path``: tables of clip id and sentence."""

    language: str = "ase"
    split: str = "train"
    fps: float = 25.0
    text_path: str | None = None
    gloss_path: str | None = None
    max_missing_fraction: float = MAX_MISSING_FRACTION
    solver: str = "adam"
    tolerance: float = 1e-2  # Adam's stopping rule: relative improvement per 10 steps
    batch_frames: int = 16384  # padded frames per lifting batch (clips x longest clip)
    max_batch_clips: int = 64
    skels_variant: str = "progressive_transformers"
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.language = canonical_language(self.language)
        if self.fps <= 0:
            raise ValueError(f"`fps` must be positive, got {self.fps}")
        if self.solver not in ("adam", "reference"):
            raise ValueError(f"`solver` must be 'adam' or 'reference', got {self.solver!r}")
        if not 0 <= self.max_missing_fraction <= 1:
            raise ValueError(f"`max_missing_fraction` must lie in [0, 1], got {self.max_missing_fraction}")
        if not SPLIT_NAME.match(self.split):
            raise ValueError(f"`split` may only hold letters, digits and '_', got {self.split!r}")


@dataclass
class StageReport:
    """What a stage did: clips converted, skipped (id -> reason), warnings, and how long it took."""

    stage: str
    converted: int = 0
    already_done: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clips_per_second(self) -> float:
        return self.converted / self.seconds if self.seconds > 0 else 0.0


def read_sentence_table(path: str | os.PathLike, kind: str = "text") -> dict[str, str]:
    """Clip id -> sentence (``kind="text"``) or gloss sequence (``"gloss"``) from a ``.tsv`` / ``.csv`` table.

    Either two columns (id, value), or a header: the id column is the first of ``ID_COLUMNS`` present
    (``SENTENCE_NAME`` before ``VIDEO_NAME``), the value column the first of ``TEXT_COLUMNS`` / ``GLOSS_COLUMNS``.
    Quoted fields are fine; whitespace inside a value is collapsed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} table")
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
            handle.seek(0)
            # How2Sign's ".csv" files are tab-separated: trust the header line, not the extension.
            delimiter = "\t" if "\t" in first_line else ","
            reader = csv.reader(handle, delimiter=delimiter)
            rows = [row for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise ValueError(
            f"{path}: {_not_utf8(path)}; save the {kind} table as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None
    except csv.Error as error:  # a field over csv's size limit (a binary file), NUL before Python 3.11
        raise ValueError(f"{path} line {reader.line_num}: cannot read it as a table ({error})") from None
    if not rows:
        raise ValueError(f"{path}: the table is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    id_column, value_column = 0, 1
    has_header = any(name in ID_COLUMNS for name in header)
    if has_header:
        wanted = TEXT_COLUMNS if kind == "text" else GLOSS_COLUMNS
        id_column = next(header.index(name) for name in ID_COLUMNS if name in header)
        value_column = next((header.index(name) for name in wanted if name in header), None)
        if value_column is None:
            raise ValueError(f"{path}: the header {rows[0]} names no {kind} column (one of {wanted})")
        rows = rows[1:]
    table = {}
    for number, row in enumerate(rows, start=2 if has_header else 1):
        if len(row) <= max(id_column, value_column):
            value = "sentence" if kind == "text" else "gloss sequence"
            raise ValueError(f"{path} line {number}: expected an id and a {value}, separated by a tab or a comma")
        clip_id, value = row[id_column].strip(), " ".join(row[value_column].split())
        if clip_id in table and table[clip_id] != value:
            plural = "sentences" if kind == "text" else "glosses"
            raise ValueError(f"{path} line {number}: clip {clip_id!r} has two different {plural}")
        table[clip_id] = value
    return table


def _not_utf8(path: Path) -> str:
    # Where the first byte that is not UTF-8 is (the decoder's own offset counts from its buffer, not the file).
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return f"not UTF-8 text (line {line} has the byte 0x{data[error.start]:02x}, e.g. a latin-1 accent)"
    return "not UTF-8 text"


def _changed_options(stored: dict[str, tuple[int, dict]], expected: dict, stage: str) -> list[str]:
    # Clips done by an earlier run keep what they were made with; say so when this run asks for something else.
    warnings = []
    for name, value in expected.items():
        differing = [clip for clip, (_, attributes) in stored.items() if attributes.get(name) != value]
        if differing:
            warnings.append(
                f"{len(differing)} clip(s) done earlier have {name}={stored[differing[0]][1].get(name)!r}, not "
                f"{value!r} ({differing[0]}, ...); they are kept. Delete the {stage} output to redo them"
            )
    return warnings


# ---------------------------------------------------------------------------------------------------------------
# Stage 1: keypoints -> keypoints2d.h5


def keypoint_store(out_dir: Path) -> ClipStore:
    return ClipStore(out_dir / "keypoints2d.h5", fields=("keypoints",))


def pose_store(out_dir: Path) -> ClipStore:
    return ClipStore(out_dir / "poses3d.h5", fields=("pose", "confidence"))


def extract_keypoints(input_dir: str | os.PathLike, out_dir: str | os.PathLike, options: ConversionOptions):
    """Read every clip of ``input_dir`` (OpenPose folders, ``.pose`` files) into ``keypoints2d.h5``."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    report = StageReport("extract")
    sources = find_clips(input_dir)
    texts = read_sentence_table(options.text_path) if options.text_path else None
    glosses = read_sentence_table(options.gloss_path, kind="gloss") if options.gloss_path else {}
    if texts is not None:
        unmatched = sorted(set(texts) - set(sources))
        if unmatched:
            report.warnings.append(
                f"{len(unmatched)} id(s) of {printable(options.text_path)} have no clip: {unmatched[:5]}"
            )
    store = keypoint_store(out_dir)
    stored = {clip: meta for clip, meta in store.metadata().items() if clip in sources}
    report.warnings += _changed_options(
        stored, {"split": options.split, "language": options.language, "fps": options.fps}, "extract"
    )
    pending = [clip_id for clip_id in sources if clip_id not in stored]
    report.already_done = len(stored)
    batch: dict[str, tuple] = {}
    for clip_id in tqdm(pending, desc="extract keypoints", unit="clip", disable=not options.progress):
        # Reasons may quote file names whose bytes are not UTF-8: `printable` keeps summary.json writable.
        if problem := clip_id_problem(clip_id):
            report.skipped[printable(clip_id)] = f"{printable(sources[clip_id].name)}: {problem}"
            continue
        if texts is not None and clip_id not in texts:
            report.skipped[clip_id] = f"no sentence for this clip in {printable(Path(options.text_path).name)}"
            continue
        try:
            clip = read_clip(sources[clip_id], options.max_missing_fraction)
        except SkippedClip as reason:
            report.skipped[clip_id] = printable(str(reason))
            continue
        attributes = {
            "split": options.split,
            "language": options.language,
            "text": texts.get(clip_id, "") if texts is not None else "",
            "gloss": glosses.get(clip_id, ""),
            "fps": options.fps,
            "layout": clip.layout,
            "source": clip.source,
            "missing_frames": clip.missing_frames,
        }
        batch[clip_id] = ({"keypoints": clip.keypoints}, attributes)
        report.converted += 1
        if len(batch) >= 64:
            store.write_part(batch)
            batch = {}
    store.write_part(batch)
    store.merge()
    report.seconds = time.perf_counter() - started
    return report


# ---------------------------------------------------------------------------------------------------------------
# Stage 2: keypoints2d.h5 -> poses3d.h5


def plan_batches(lengths: dict[str, int], batch_frames: int, max_batch_clips: int) -> list[list[str]]:
    """Clips grouped into lifting batches: sorted by (length, id), cut when padded size or count would overflow.

    A pure function of the whole clip set, so a resumed run rebuilds exactly the batches of an uninterrupted one.
    """
    batches: list[list[str]] = [[]]
    for clip_id in sorted(lengths, key=lambda c: (lengths[c], c)):
        current = batches[-1]
        longest = max([lengths[c] for c in current] + [lengths[clip_id]])
        if current and ((len(current) + 1) * longest > batch_frames or len(current) >= max_batch_clips):
            batches.append([clip_id])
        else:
            current.append(clip_id)
    return [b for b in batches if b]


def to_corpus_units(pose: np.ndarray) -> np.ndarray:
    """A lifted clip in the convention of our corpora: neck (mean over the clip) at the origin, median shoulder width
    1, z away from the camera.

    Algorithm 1 starts every bone with non-negative depth from its parent; orthographic 2D cannot tell in front from
    behind, and the objective does not change when all depths flip. We take the start's choice to mean "towards the
    camera", so hands come out in front of the body, as a signer facing the camera holds them (and as in the
    synthetic corpus): z is negated.
    """
    width = float(np.median(shoulder_width(pose)))
    centred = (pose - pose[:, 1].mean(axis=0)) / max(width, 1e-6)
    return (centred * np.array([1.0, 1.0, -1.0])).astype(np.float32)


def lift_keypoints(out_dir: str | os.PathLike, options: ConversionOptions) -> StageReport:
    """Lift every clip of ``keypoints2d.h5`` not yet in ``poses3d.h5``, batch by batch (reading only that batch)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    report = StageReport("lift")
    source = keypoint_store(out_dir)
    if not source.path.is_file():
        raise FileNotFoundError(f"{source.path}: missing; run the extract stage first (signllm convert extract)")
    lengths = {clip_id: frames for clip_id, (frames, _) in source.metadata().items()}
    target = pose_store(out_dir)
    stored = {clip: meta for clip, meta in target.metadata().items() if clip in lengths}
    report.warnings += _changed_options(stored, {"solver": options.solver}, "lift")
    report.already_done = len(stored)
    batches = plan_batches(lengths, options.batch_frames, options.max_batch_clips)
    todo = [batch for batch in batches if not set(batch) <= set(stored)]
    bar = tqdm(total=sum(len(b) for b in todo), desc="lift to 3D", unit="clip", disable=not options.progress)
    for batch_ids in todo:
        clips = source.read_many(batch_ids)
        prepared = {}
        for clip_id in batch_ids:
            try:
                prepared[clip_id] = prepare_keypoints(clips[clip_id][0]["keypoints"])
            except ValueError as reason:  # a clip the extract stage let through but lifting cannot use
                report.skipped[clip_id] = str(reason)
        ready = [clip_id for clip_id in batch_ids if clip_id in prepared]
        if ready:
            batch = LiftingBatch.from_clips([prepared[clip_id] for clip_id in ready], seed=options.seed)
            if options.solver == "adam":
                result = solve_adam(batch, tolerance=options.tolerance)
            else:
                result = solve_reference(batch)
            positions = result.positions()
            part = {}
            for index, clip_id in enumerate(ready):
                if clip_id in stored:
                    continue
                pose = to_corpus_units(positions[index, : lengths[clip_id]])
                terms = {f"objective_{k}": float(v[index]) for k, v in result.objectives.items()}
                attributes = clips[clip_id][1] | terms | {"solver": options.solver}
                part[clip_id] = ({"pose": pose, "confidence": prepared[clip_id].weights}, attributes)
            target.write_part(part)
            report.converted += len(part)
        bar.update(len(batch_ids))
    bar.close()
    target.merge()
    report.seconds = time.perf_counter() - started
    return report


# ---------------------------------------------------------------------------------------------------------------
# Stage 3: poses3d.h5 -> .skels / .text / .gloss / .files and the parquet dataset


def _export_rows(store_path, split, texts, glosses, seed, stamp):
    # Streamed into the datasets cache by `pose_dataset_from_generator`; `stamp` ties the cache to the file.
    store = ClipStore(store_path, fields=("pose", "confidence"))
    texts, glosses = dict(texts), dict(glosses)
    for clip_id, arrays, attributes in store.items():
        if attributes["split"] != split:
            continue
        text = texts.get(clip_id, attributes.get("text", ""))
        row = {
            "id": clip_id,
            "language": attributes["language"],
            "text": text,
            "gloss": glosses.get(clip_id, attributes.get("gloss", "")),
            "prompt": make_prompt(text, attributes["language"], seed=seed, key=clip_id) if text else "",
            "pose": arrays["pose"],
            "confidence": arrays["confidence"],
            "fps": attributes["fps"],
        }
        yield canonical_row(row, f"{store_path} clip {clip_id}")


def export_dataset(out_dir: str | os.PathLike, options: ConversionOptions) -> StageReport:
    """Write every split of ``poses3d.h5`` as Prompt2Sign text files and as the canonical parquet dataset.

    ``--text`` / ``--gloss`` tables given here replace the stored sentences of the clips they name; other clips keep
    what the extract stage stored. Clips without any sentence are exported with an empty text and a warning.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    report = StageReport("export")
    store = pose_store(out_dir)
    if not store.path.is_file():
        raise FileNotFoundError(f"{store.path}: missing; run the lift stage first (signllm convert lift)")
    dataset_dir = out_dir / "dataset"
    if (dataset_dir / "stats.json").is_file() and read_stats(dataset_dir).get("builder") != "convert":
        raise FileExistsError(
            f"{dataset_dir} holds a dataset this tool did not write; move it or choose another OUT_DIR"
        )
    texts = read_sentence_table(options.text_path) if options.text_path else {}
    glosses = read_sentence_table(options.gloss_path, kind="gloss") if options.gloss_path else {}
    metadata = store.metadata()
    if not metadata:
        raise ValueError(f"{store.path}: no clip to export")
    for clip_id, (_, attributes) in sorted(metadata.items()):
        if not texts.get(clip_id, attributes.get("text")):
            report.warnings.append(f"{clip_id}: no sentence (pass --text clips.tsv)")
    stamp = (str(store.path), store.path.stat().st_size, store.path.stat().st_mtime_ns)
    splits = {}
    for split in sorted({attributes["split"] for _, attributes in metadata.values()}):
        arguments = {
            "store_path": str(store.path),
            "split": split,
            "texts": tuple(sorted(texts.items())),
            "glosses": tuple(sorted(glosses.items())),
            "seed": options.seed,
            "stamp": stamp,
        }
        splits[split] = pose_dataset_from_generator(_export_rows, arguments)
        # Lifted poses hold a real value in every joint: no Prompt2Sign "missing" markers.
        write_prompt2sign(splits[split], out_dir, split, variant=options.skels_variant, mark_missing=False)
        report.converted += len(splits[split])
    extra = {
        "name": f"signllm conversion of {out_dir.name}",
        "description": "OpenPose / pose-format keypoints lifted to 3D with signllm_hf.conversion.",
        "source": f"keypoints converted by signllm_hf.conversion into {out_dir.name}",
        "license": "unknown",  # the source videos' terms apply
        "builder": "convert",
        "solver": options.solver,
        "scale": 1.0,
        "coordinates": "neck origin, shoulder width 1, x right, y down, z away from the camera",
    }
    save_pose_dataset(splits, dataset_dir, extra_stats=extra, overwrite=True)
    report.seconds = time.perf_counter() - started
    return report


# ---------------------------------------------------------------------------------------------------------------
# All stages, and the summary


def write_summary(out_dir: Path, reports: list[StageReport]) -> dict:
    """Merge stage reports into ``summary.json`` (other stages' entries are kept, each with its time) and return it."""
    path = out_dir / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for report in reports:
        entry = asdict(report) | {"clips_per_second": round(report.clips_per_second, 2)}
        entry["seconds"] = round(report.seconds, 2)
        entry["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        summary[report.stage] = entry
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def convert_openpose(
    input_dir: str | os.PathLike, out_dir: str | os.PathLike, options: ConversionOptions
) -> list[StageReport]:
    """All three stages; returns their reports, also merged into ``OUT_DIR/summary.json`` (written even when a stage
    stops with an error, for the stages that finished)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[StageReport] = []
    try:
        reports.append(extract_keypoints(input_dir, out_dir, options))
        if not keypoint_store(out_dir).path.is_file():  # every clip was skipped: nothing to lift
            reports[0].warnings.append("no clip could be extracted; the lift and export stages did not run")
            return reports
        reports.append(lift_keypoints(out_dir, options))
        if pose_store(out_dir).path.is_file():
            reports.append(export_dataset(out_dir, options))
        return reports
    finally:
        write_summary(out_dir, reports)


def load_converted(out_dir: str | os.PathLike, split: str | None = None):
    """The parquet dataset written by the export stage."""
    return load_pose_dataset(Path(out_dir) / "dataset", split=split)
