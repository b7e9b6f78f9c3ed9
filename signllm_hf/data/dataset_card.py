"""Dataset cards (``README.md``) for the pose datasets this library writes, from their ``stats.json``.

The YAML front matter is what the Hub indexes: ``license``, ``language`` (the sign languages' ISO 639-3 codes),
``size_categories``, ``task_categories`` (official Hub tasks: ``text-to-3d``, the closest to text -> 3D skeletal poses,
and ``translation``), ``tags``, ``pretty_name``, and the ``configs`` block that names the splits for
``load_dataset(folder)``. The text says where the clips come from without any local path: a builder records its
provenance in words (``"the spoken-to-signed package's fingerspelling lexicon (version 0.4.0)"``), and a path that
still slips into ``source`` is cut to its last part.

Example:
    >>> from signllm_hf.data.dataset_card import size_category, without_local_paths
    >>> size_category(12), size_category(5_000)
    ('n<1K', '1K<n<10K')
    >>> without_local_paths("keypoints from /home/me/corpora/how2sign (OpenPose)")
    'keypoints from how2sign (OpenPose)'
"""

from __future__ import annotations

import re

from huggingface_hub import DatasetCard, DatasetCardData

from .languages import UnknownLanguageError, get_language

PAPER_URL = "https://arxiv.org/abs/2405.10718"  # SignLLM (Fang et al., 2024)
DATASET_TAGS = ("sign-language", "sign-language-production", "pose", "skeleton", "signllm-hf")
DATASET_TASKS = ("text-to-3d", "translation")
# Hub size buckets (the `size_categories` values the Hub's dataset search filters on).
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
# An absolute POSIX or Windows path (two or more parts): replaced by its last part.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:/|[A-Za-z]:[\\/])(?:[^\s/\\()]+[/\\])+([^\s/\\()]+)")


def size_category(clips: int) -> str:
    """The Hub's size bucket of a dataset of ``clips`` rows."""
    for limit, name in _SIZES:
        if clips < limit:
            return name
    return "n>1M"


def without_local_paths(text: str) -> str:
    """``text`` with every absolute path replaced by its last part (a folder or file name)."""
    return _ABSOLUTE_PATH.sub(r"\1", text)


def language_rows(codes) -> list[tuple[str, str]]:
    """``(code, English name)`` of each sign language code (the code itself when the registry does not know it)."""
    rows = []
    for code in codes:
        try:
            rows.append((code, get_language(code).name))
        except UnknownLanguageError:
            rows.append((code, code))
    return rows


def dataset_card(stats: dict) -> DatasetCard:
    """The card of a dataset folder from its ``stats.json`` content (``splits``, and what the builder added:
    ``name``, ``description``, ``source``, ``license``)."""
    splits = stats["splits"]
    codes = sorted({code for info in splits.values() for code in info["languages"]})
    clips = sum(info["clips"] for info in splits.values())
    license_id = stats.get("license") or "unknown"
    data = DatasetCardData(
        license=license_id,
        language=codes,
        size_categories=[size_category(clips)],
        task_categories=list(DATASET_TASKS),
        tags=list(DATASET_TAGS),
        pretty_name=stats.get("name") or "signllm pose dataset",
        # Names the splits for `load_dataset(OUT_DIR)` and the Hub; without it the `datasets` file-name convention
        # would rename a "dev" shard to "validation".
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in splits],
            }
        ],
    )
    sizes = "\n".join(
        f"| {split} | {info['clips']} | {info['frames']} | {', '.join(info['languages'])} |"
        for split, info in splits.items()
    )
    languages = "\n".join(f"| {code} | {name} |" for code, name in language_rows(codes))
    source = without_local_paths(str(stats.get("source") or "not recorded"))
    text = (
        f"---\n{data.to_yaml()}\n---\n\n"
        f"# {data.pretty_name}\n\n{without_local_paths(stats.get('description', ''))}\n\n"
        "Built with signllm-hf, for sign language production in the manner of SignLLM "
        f"([Fang et al., 2024]({PAPER_URL})). Columns: `id`, `language` "
        "(ISO 639-3), `text`, `gloss`, `prompt`, `pose` (float32 [T, 50, 3], Prompt2Sign joint order), "
        "`confidence` ([T, 50]), `fps`.\n\n"
        f"| split | clips | frames | languages |\n|---|---|---|---|\n{sizes}\n\n"
        f"## Sign languages\n\n| code | language |\n|---|---|\n{languages}\n\n"
        "## Provenance and license\n\n"
        f"Source: {source}.\n\nLicense: `{license_id}`"
        + (" (the license of the source data applies)." if license_id in ("unknown", "other") else ".")
        + "\n\n## Use\n\n"
        'Load it with `datasets.load_dataset("<this folder or repository>")` (add `streaming=True` to stream) or '
        "`signllm_hf.data.load_pose_dataset`. `stats.json` holds per-channel statistics of the train split.\n"
    )
    return DatasetCard(text)


__all__ = [
    "PAPER_URL",
    "DATASET_TAGS",
    "DATASET_TASKS",
    "dataset_card",
    "language_rows",
    "size_category",
    "without_local_paths",
]
