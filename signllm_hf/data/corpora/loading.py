"""Corpus loading in one place: a corpus folder (ours, or Prompt2Sign ``.skels`` files) to its splits, and the
selection every model's training and the evaluation apply (languages, clip length, a seeded sample).

Example:
    >>> from signllm_hf.data import pose_dataset_from_rows, save_pose_dataset
    >>> from signllm_hf.data.corpora import load_corpus, select_clips
    >>> import numpy as np, tempfile
    >>> rows = [{"id": f"c{i}", "language": code, "text": "hi", "pose": np.zeros((5 + i, 50, 3), "float32"),
    ...          "fps": 25.0} for i, code in enumerate(["ase", "gsg", "ase"])]
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_pose_dataset({"train": pose_dataset_from_rows(rows)}, folder)
    >>> train = load_corpus(folder, "train")
    >>> len(select_clips(train, languages=["ASL"])), len(select_clips(train, max_frames=6))
    (2, 2)
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..dataset import frame_counts, load_pose_dataset
from ..languages import canonical_language
from ..prompt2sign import read_prompt2sign

logger = logging.getLogger(__name__)


def load_corpus(dataset: str, split: str | None = None, skels_language: str | None = None):
    """A split of a corpus folder, or every split (a ``DatasetDict``) when ``split`` is None.

    The folder is one written by this library (``data/`` parquet shards + ``stats.json``) or a Prompt2Sign /
    Progressive Transformers folder of ``{split}.skels`` files, whose clips are all in ``skels_language``.
    """
    folder = Path(dataset)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such corpus folder")
    if (folder / "data").is_dir():
        return load_pose_dataset(folder, split=split)
    if skels_language is None:
        raise ValueError(
            f"{folder} holds .skels files: pass --skels_language (the sign language of its clips, e.g. gsg)"
        )
    return read_prompt2sign(folder, split, language=skels_language)


def select_clips(
    dataset,
    languages: list[str] | None = None,
    max_frames: int | None = None,
    max_clips: int | None = None,
    seed: int = 0,
    name: str = "dataset",
):
    """The clips of ``dataset`` in ``languages`` (codes or aliases; None: all), at most ``max_frames`` long, and
    at most ``max_clips`` of them (a seeded random sample, so every language is represented)."""
    keep = list(range(len(dataset)))
    if languages:
        wanted = {canonical_language(code) for code in languages}
        keep = [i for i, code in zip(keep, dataset["language"]) if code in wanted]
    if max_frames is not None:
        lengths = frame_counts(dataset)
        longer = [i for i in keep if lengths[i] > max_frames]
        if longer:
            logger.warning("%s: %d clip(s) longer than max_frames=%d left out", name, len(longer), max_frames)
            keep = [i for i in keep if lengths[i] <= max_frames]
    if len(keep) < len(dataset):
        dataset = dataset.select(keep)
    if max_clips is not None and len(dataset) > max_clips:
        dataset = dataset.shuffle(seed=seed).select(range(max_clips))
    return dataset
