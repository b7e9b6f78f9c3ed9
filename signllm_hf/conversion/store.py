"""Per-clip HDF5 stores that survive interruptions: written in atomic parts, merged into one file at the end.

A store is one HDF5 file (``keypoints2d.h5``, ``poses3d.h5``) with a group per field (``keypoints``, or ``pose`` and
``confidence``) and in it one dataset per clip, named by the URL-quoted clip id; the clip's metadata (split,
language, text, ...) are attributes of its first field's dataset. While a stage runs, each batch of clips is written
to its own part file under ``.<name>.parts/`` (temporary name, then rename), so an interrupted run loses at most the
batch in flight and never leaves a half-written file; :meth:`ClipStore.merge` folds the parts into the main file,
again through a temporary file.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from signllm_hf.conversion.store import ClipStore
    >>> store = ClipStore(pathlib.Path(tempfile.mkdtemp()) / "poses3d.h5", fields=("pose",))
    >>> store.write_part({"a/1": ({"pose": np.zeros((4, 50, 3))}, {"split": "dev"})})
    >>> store.merge()
    >>> sorted(store.done_ids()), store.read("a/1")[1]["split"]
    (['a/1'], 'dev')
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import h5py
import numpy as np

from ..data.atomic import atomic_path, remove_stale_temporaries

PART_TEMPORARY = re.compile(r"\.(part-\d+\.h5)\.")  # what atomic_path names a part while writing it


def _key(clip_id: str) -> str:
    return quote(clip_id, safe="")  # HDF5 names may not contain "/" (it would nest groups)


class ClipStore:
    """Clips of one stage: ``fields`` name the arrays each clip has (the first carries the attributes)."""

    def __init__(self, path: str | os.PathLike, fields: tuple[str, ...]):
        self.path = Path(path)
        self.fields = fields
        self.parts_dir = self.path.parent / f".{self.path.name}.parts"

    def _files(self) -> list[Path]:
        parts = sorted(self.parts_dir.glob("part-*.h5")) if self.parts_dir.is_dir() else []
        return ([self.path] if self.path.is_file() else []) + parts

    def done_ids(self) -> set[str]:
        """Clips already stored, in the main file or in parts of an interrupted run."""
        return set(self.metadata())

    def write_part(self, clips: dict[str, tuple[dict[str, np.ndarray], dict]]) -> None:
        """Store ``{clip id: (arrays by field, attributes)}`` as one new part, atomically."""
        if not clips:
            return
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        existing = {int(p.stem.split("-")[1]) for p in self.parts_dir.glob("part-*.h5")}
        number = next(n for n in itertools.count() if n not in existing)
        try:
            with atomic_path(self.parts_dir / f"part-{number:06d}.h5") as tmp, h5py.File(tmp, "w") as handle:
                for clip_id, (arrays, attributes) in clips.items():
                    for field in self.fields:
                        dataset = handle.require_group(field).create_dataset(_key(clip_id), data=arrays[field])
                        if field == self.fields[0]:
                            dataset.attrs["id"] = clip_id
                            for name, value in attributes.items():
                                dataset.attrs[name] = value
        except BaseException:
            self._drop_empty_parts_dir()  # the first part failed: leave no empty folder behind
            raise

    def merge(self) -> None:
        """Fold every part into the main file (rewritten through a temporary file), then drop the parts.

        Temporaries of part writes killed in an earlier run (SIGKILL) are removed first; a parts folder holding
        nothing else goes too."""
        remove_stale_temporaries(self.path)
        if self.parts_dir.is_dir():
            for name in {m[1] for m in map(PART_TEMPORARY.match, os.listdir(self.parts_dir)) if m}:
                remove_stale_temporaries(self.parts_dir / name)
        parts = self._files()[1:] if self.path.is_file() else self._files()
        if not parts:
            self._drop_empty_parts_dir()
            return
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w") as target:
            for source_path in self._files():
                with h5py.File(source_path, "r") as source:
                    for field in self.fields:
                        group = target.require_group(field)
                        for name in source[field]:
                            if name not in group:  # a clip stored twice (a re-run part) keeps its first copy
                                source.copy(source[field][name], group, name=name)
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def _drop_empty_parts_dir(self) -> None:
        if self.parts_dir.is_dir() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()

    def read(self, clip_id: str) -> tuple[dict[str, np.ndarray], dict]:
        """``(arrays by field, attributes)`` of one clip."""
        clips = self.read_many([clip_id])
        if clip_id not in clips:
            raise KeyError(f"{self.path}: no clip {clip_id!r}")
        return clips[clip_id]

    def read_many(self, clip_ids) -> dict[str, tuple[dict[str, np.ndarray], dict]]:
        """Several clips, each file opened once; ids not stored are left out."""
        wanted = {_key(clip_id): clip_id for clip_id in clip_ids}
        clips = {}
        for path in self._files():
            with h5py.File(path, "r") as handle:
                group = handle[self.fields[0]]
                for name in [n for n in wanted if n in group and wanted[n] not in clips]:
                    clips[wanted[name]] = self._clip(handle, name)
        return clips

    def metadata(self) -> dict[str, tuple[int, dict]]:
        """Clip id -> (frames, attributes), without reading any array."""
        result = {}
        for path in self._files():
            with h5py.File(path, "r") as handle:
                for dataset in handle[self.fields[0]].values():
                    attributes = {key: _plain(value) for key, value in dataset.attrs.items()}
                    result.setdefault(attributes["id"], (dataset.shape[0], attributes))
        return result

    def items(self) -> Iterator[tuple[str, dict[str, np.ndarray], dict]]:
        """Every stored clip as ``(id, arrays, attributes)``, main file first, in name order."""
        seen = set()
        for path in self._files():
            with h5py.File(path, "r") as handle:
                for name in sorted(handle[self.fields[0]]):
                    if name not in seen:
                        seen.add(name)
                        arrays, attributes = self._clip(handle, name)
                        yield attributes["id"], arrays, attributes

    def _clip(self, handle: h5py.File, name: str) -> tuple[dict[str, np.ndarray], dict]:
        arrays = {field: handle[field][name][()] for field in self.fields}
        attributes = {key: _plain(value) for key, value in handle[self.fields[0]][name].attrs.items()}
        return arrays, attributes


def _plain(value):
    # h5py hands back numpy scalars and bytes; callers want str / float / int.
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value
