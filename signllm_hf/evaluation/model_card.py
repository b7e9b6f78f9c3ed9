"""Model cards (``README.md``) for every model this library saves, and pushing a model folder to the Hub.

A card is built from the files of the saved folder, so it is the same whoever saved it (the training scaffold, the
prompt stage, ``signllm evaluate``): ``config.json`` (which model, its sign languages), ``metrics.json`` (the training
run's numbers), ``scores.json`` (the evaluation table, written by ``signllm evaluate``) and the corpus it was trained
on (its dataset card's name, provenance and license; never a local path). The YAML front matter is what the Hub
indexes:

- ``library_name: signllm-hf``, tags ``transformers``, ``signllm``, ``sign-language``, ...;
- ``pipeline_tag``: an official Hub task. ``text-to-pose`` is not one (the Hub's task list, huggingface.js
  ``@huggingface/tasks``, has no pose task, and huggingface_hub does not check the value), so the signer is
  ``text-to-3d`` (text in, 3D skeletal poses out) and carries our own ``text-to-pose`` tag; the prompt stage is
  ``translation``, the pose LM ``any-to-any``, the judges and the pose tokenizer ``other``;
- ``language``: the sign languages' ISO 639-3 codes (the card's text names them);
- ``license`` (the library's Apache-2.0 unless told otherwise), ``datasets`` when the corpus is a Hub dataset, and
  ``training_data``: the corpus summary, kept so that a later rewrite of the card (after evaluation) still has it.

The paper is SignLLM (Fang et al., 2024, arXiv 2405.10718); the card links and cites it.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from signllm_hf.evaluation.model_card import model_card
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text(json.dumps({"model_type": "signllm", "languages": ["ase", "gsg"]}))
    >>> card = model_card(folder)
    >>> card.data.library_name, card.data.pipeline_tag, card.data.language
    ('signllm-hf', 'text-to-3d', ['ase', 'gsg'])
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, ModelCardData

from ..data.dataset import read_stats
from ..data.dataset_card import PAPER_URL, language_rows, without_local_paths
from ..modeling_prompt_stage import STAGE1_FOLDER
from .tables import format_table

logger = logging.getLogger(__name__)
LIBRARY_NAME = "signllm-hf"
LICENSE = "apache-2.0"
CARD_FILE = "README.md"
METRICS_FILE = "metrics.json"
SCORES_FILE = "scores.json"
# What stays on this machine when a folder is pushed: Trainer checkpoints, logs, a staged run's first stage.
UPLOAD_IGNORE = ["checkpoint-*", "runs/*", "stage1/*", ".*", "*/.*"]
CITATION = """@article{fang2024signllm,
  title   = {SignLLM: Sign Language Production Large Language Models},
  author  = {Fang, Sen and Chen, Chen and Wang, Lei and Zheng, Ce and Sui, Chunyu and Tian, Yapeng},
  journal = {arXiv preprint arXiv:2405.10718},
  year    = {2024}
}"""
_COMMON_TAGS = ["transformers", "signllm", "sign-language"]
# kind -> (pipeline tag, extra tags, what it is)
KINDS = {
    "signer": (
        "text-to-3d",
        ["text-to-pose", "sign-language-production"],
        "a SignLLM sign language production model: text (or LangGloss) in, a sequence of 3D skeletal poses out "
        "(50 joints: upper body and both hands, x, y, z)",
    ),
    "prompt-stage": (
        "translation",
        ["prompt2langgloss"],
        "the prompt stage of a Prompt2LangGloss checkpoint: a prompt or a text in, its LangGloss (language-tagged "
        "glosses such as `<ASL_sky>`) out, for the pose model in the parent folder",
    ),
    "back-translator": (
        "other",
        ["pose-to-text", "back-translation"],
        "a back-translator: poses in, text out; it scores generated signing by translating it back",
    ),
    "letter-reader": (
        "other",
        ["pose-to-text", "fingerspelling"],
        "a fingerspelling letter reader (CTC over each language's letters): it scores the legibility of signing",
    ),
    "pose-tokenizer": (
        "other",
        ["pose-tokenizer", "vq-vae"],
        "a pose tokenizer (temporal convolutional VQ-VAE): poses to discrete ids and back",
    ),
    "pose-lm": (
        "any-to-any",
        ["text-to-pose", "pose-to-text"],
        "a language model taught pose tokens: it writes poses from text and reads text from poses",
    ),
    "model": ("other", [], "a model of the signllm-hf library"),
}
_MODEL_TYPES = {
    "signllm": "signer",
    "signllm_back_translator": "back-translator",
    "signllm_letter_reader": "letter-reader",
    "signllm_pose_vq": "pose-tokenizer",
}


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def model_kind(folder: str | os.PathLike, config: dict | None = None) -> str:
    """Which of :data:`KINDS` the saved model in ``folder`` is."""
    folder = Path(folder)
    config = config if config is not None else _read_json(folder / "config.json") or {}
    if config.get("pose_vocabulary"):
        return "pose-lm"
    if folder.name == STAGE1_FOLDER and config.get("model_type") == "encoder-decoder":
        return "prompt-stage"
    return _MODEL_TYPES.get(config.get("model_type", ""), "model")


def training_data_summary(dataset: str | os.PathLike | None) -> dict | None:
    """What a card says about the corpus ``dataset`` (a local folder or a Hub dataset id), without local paths."""
    if dataset is None:
        return None
    path = Path(dataset)
    if not path.exists():
        if str(dataset).count("/") == 1 and not os.path.isabs(str(dataset)):  # a Hub id, e.g. "org/corpus"
            return {"name": str(dataset), "hub_id": str(dataset)}
        return {"name": path.name}
    if not (path / "stats.json").is_file():
        if list(path.glob("*.skels")):
            return {"name": path.name, "source": "Prompt2Sign / Progressive Transformers text files (.skels)"}
        return {"name": path.name}
    stats = read_stats(path)
    summary = {
        "name": stats.get("name") or path.name,
        "description": without_local_paths(stats.get("description") or ""),
        "source": without_local_paths(str(stats.get("source") or "")),
        "license": stats.get("license") or "unknown",
        "clips": {split: info["clips"] for split, info in stats.get("splits", {}).items()},
        "languages": sorted({code for info in stats.get("splits", {}).values() for code in info["languages"]}),
    }
    return {key: value for key, value in summary.items() if value}


def _previous_training_data(folder: Path) -> dict | None:
    """The corpus summary of the card already in ``folder`` (or, for a prompt stage, in its parent)."""
    for candidate in (folder / CARD_FILE, folder.parent / CARD_FILE if folder.name == STAGE1_FOLDER else None):
        if candidate is not None and candidate.is_file():
            data = ModelCard.load(candidate).data.to_dict()
            if data.get("library_name") == LIBRARY_NAME and data.get("training_data"):
                return data["training_data"]
    return None


def _languages(folder: Path, config: dict, kind: str, data: dict | None) -> list[str]:
    codes = config.get("languages") or list((config.get("pose_vocabulary") or {}).get("languages") or [])
    if not codes and kind == "prompt-stage":
        codes = (_read_json(folder.parent / "config.json") or {}).get("languages") or []
    return sorted(codes or (data or {}).get("languages") or [])


def _scalar_rows(values: dict, prefix: str = "") -> list[tuple[str, str]]:
    """``(name, value)`` of the scalar entries of ``values`` (one level of nesting, as ``outer.inner``)."""
    rows = []
    for name, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            rows.append((f"{prefix}{name}", f"{value:.4f}" if isinstance(value, float) else str(value)))
        elif isinstance(value, str) and len(value) <= 80 and not os.path.isabs(value):
            rows.append((f"{prefix}{name}", value))
        elif isinstance(value, dict) and not prefix:
            rows.extend(_scalar_rows(value, prefix=f"{name}."))
    return rows


def _usage(kind: str, repo: str, config: dict) -> str:
    if kind == "signer":
        language = (config.get("languages") or ["ase"])[0]
        text = "How do I sign 'the sky is blue'?" if config.get("mode") == "prompt2langgloss" else "the sky is blue"
        return (
            "```python\nimport signllm_hf  # pip install signllm-hf: registers the model and the text-to-pose task\n"
            "from transformers import pipeline\n\n"
            f'signer = pipeline("text-to-pose", model="{repo}")\n'
            f'result = signer("{text}", language="{language}")\n'
            'result["pose"]  # (frames, 50, 3): nose, neck, arms, then the left and right hands\n```\n\n'
            f'From the command line: `signllm generate {repo} "{text}" --language {language} --out sky.pose` '
            "(a MediaPipe-Holistic `.pose` file that pose-format and sign.mt tools open).\n"
        )
    if kind == "prompt-stage":
        return (
            "```python\nfrom signllm_hf.modeling_prompt_stage import PromptToLangGloss\n\n"
            f'stage = PromptToLangGloss.from_pretrained("{repo}")  # the parent folder: both stages\n```\n'
        )
    return f'Load it with `signllm_hf` installed: `AutoModel.from_pretrained("{repo}")` after `import signllm_hf`.\n'


def model_card(
    folder: str | os.PathLike,
    *,
    dataset: str | os.PathLike | None = None,
    repo_id: str | None = None,
    license: str | None = None,
) -> ModelCard:
    """The card of the model saved in ``folder``; ``dataset`` is the corpus it was trained on (the summary of the
    card already there is kept when None); ``repo_id`` goes into the usage example."""
    folder = Path(folder)
    config = _read_json(folder / "config.json")
    if config is None:
        raise FileNotFoundError(f"{folder}: no config.json; save the model (save_pretrained) before its card")
    kind = model_kind(folder, config)
    pipeline_tag, tags, what = KINDS[kind]
    metrics = _read_json(folder / METRICS_FILE) or {}
    scores = _read_json(folder / SCORES_FILE)
    data = training_data_summary(dataset) if dataset is not None else _previous_training_data(folder)
    codes = _languages(folder, config, kind, data)
    name = metrics.get("model") or (scores or {}).get("paper_name") or f"signllm-hf {kind}"
    license_id = license or LICENSE
    card_data = ModelCardData(
        library_name=LIBRARY_NAME,
        pipeline_tag=pipeline_tag,
        license=license_id,
        language=codes or None,
        tags=[LIBRARY_NAME, *_COMMON_TAGS, *tags],
        datasets=[data["hub_id"]] if data and data.get("hub_id") else None,
        metrics=["bleu", "rouge", "chrf", "wer"] if scores and "back_translation" in scores else None,
        model_name=name,
        training_data=data,
    )
    repo = repo_id or "<this repository or folder>"
    parts = [
        f"# {name}\n",
        f"This is {what}. It was trained with signllm-hf, an implementation of SignLLM ([Fang et al., 2024]"
        f"({PAPER_URL})) as a Hugging Face transformers plugin.\n",
    ]
    if kind == "signer" and config.get("mode") == "prompt2langgloss":
        parts.append(
            "It is a two-stage Prompt2LangGloss checkpoint: the prompt stage (prompt or text -> LangGloss) is in "
            f"`{STAGE1_FOLDER}/`, the pose model (LangGloss -> poses) in this folder; the pipeline chains them.\n"
        )
    if codes:
        rows = "\n".join(f"| {code} | {language} |" for code, language in language_rows(codes))
        parts.append(f"## Sign languages\n\n| ISO 639-3 | language |\n|---|---|\n{rows}\n")
    parts.append(f"## Use\n\n{_usage(kind, repo, config)}")
    parts.append("## Training data\n\n" + _data_text(data))
    rows = _scalar_rows({key: value for key, value in metrics.items() if key != "model"})
    if rows:
        table = "\n".join(f"| {key} | {value} |" for key, value in rows)
        parts.append(f"## Training\n\nThe run's `metrics.json`:\n\n| metric | value |\n|---|---|\n{table}\n")
    if scores is not None:
        parts.append(_scores_text(scores))
    parts.append(
        f"## License\n\n`{license_id}`"
        + (f"; the training data's license is `{data['license']}`." if data and data.get("license") else ".")
        + "\n"
    )
    parts.append(f"## Citation\n\nSignLLM: {PAPER_URL}\n\n```bibtex\n{CITATION}\n```\n")
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(parts))


def _data_text(data: dict | None) -> str:
    if not data:
        return "Not recorded.\n"
    lines = [f"**{data['name']}**" + (f": {data['description']}" if data.get("description") else "")]
    if data.get("hub_id"):
        lines.append(f"Hub dataset: [{data['hub_id']}](https://huggingface.co/datasets/{data['hub_id']}).")
    if data.get("source"):
        lines.append(f"Source: {data['source']}.")
    if data.get("clips"):
        lines.append("Clips: " + ", ".join(f"{split} {count}" for split, count in data["clips"].items()) + ".")
    if data.get("license"):
        lines.append(f"License: `{data['license']}`.")
    return "\n\n".join(lines) + "\n"


def _scores_text(scores: dict) -> str:
    where = f"the `{scores.get('split', '?')}` split of {Path(str(scores.get('dataset', '?'))).name}"
    if "dtw" in scores:
        table = format_table(scores)
    else:
        table = "| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in _scalar_rows(scores))
    return f"## Evaluation\n\nScored by `signllm evaluate` on {where}:\n\n{table}\n"


def _writable(folder: Path) -> bool:
    # A folder of the Hub cache links its files into blobs: writing through them would change the cache.
    card = folder / CARD_FILE
    return os.access(folder, os.W_OK) and not card.is_symlink()


def write_model_card(folder: str | os.PathLike, **options) -> Path | None:
    """Write (or rewrite) ``folder/README.md`` with :func:`model_card` (``options`` are its keywords); returns its
    path, or None (with a warning) when the folder cannot take it (read-only, or a Hub cache snapshot)."""
    folder = Path(folder)
    if not _writable(folder):
        logger.warning("%s: read-only or a Hub cache snapshot; its model card is left as it is", folder)
        return None
    path = folder / CARD_FILE
    model_card(folder, **options).save(path)
    return path


def write_scores(folder: str | os.PathLike, scores: dict) -> Path | None:
    """``folder/scores.json`` (an evaluation's result) and the card with its table; None when not writable."""
    folder = Path(folder)
    if not _writable(folder) or (folder / SCORES_FILE).is_symlink():
        logger.warning("%s: read-only or a Hub cache snapshot; scores.json and the card are not written", folder)
        return None
    path = folder / SCORES_FILE
    # The folder travels to the Hub: name the model and the corpus, not where they are on this machine.
    shared = scores | {key: Path(str(scores[key])).name for key in ("model", "dataset") if key in scores}
    path.write_text(json.dumps(shared, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_model_card(folder)
    return path


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload signllm-hf model",
    license: str | None = None,
) -> str:
    """Upload a saved model folder (its card refreshed with ``repo_id``, a Prompt2LangGloss model's prompt stage in
    its sub-folder, metrics and scores) to the Hub repository ``repo_id``; returns the commit's URL.

    ``PreTrainedModel.push_to_hub`` uploads what ``save_pretrained`` writes, with a generic card; this uploads the
    folder as training and evaluation left it, without Trainer checkpoints and logs (:data:`UPLOAD_IGNORE`)."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no saved model (config.json) to push")
    api = HfApi(library_name=LIBRARY_NAME, token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True, token=token).repo_id
    write_model_card(folder, repo_id=repo_id, license=license)
    if (folder / STAGE1_FOLDER / "config.json").is_file():
        write_model_card(folder / STAGE1_FOLDER, repo_id=repo_id, license=license)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        commit_message=commit_message,
        ignore_patterns=UPLOAD_IGNORE,
        revision=revision,
        token=token,
    )
    return str(getattr(commit, "commit_url", commit))


__all__ = [
    "KINDS",
    "LIBRARY_NAME",
    "SCORES_FILE",
    "model_card",
    "model_kind",
    "push_to_hub",
    "training_data_summary",
    "write_model_card",
    "write_scores",
]
