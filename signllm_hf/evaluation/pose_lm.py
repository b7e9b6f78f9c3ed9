"""Scores of a language model with pose tokens (``signllm_hf.modeling_signllm_pose_lm``) on corpus clips.

- pose -> text (translation, the subject of arXiv 2511.08535): BLEU@1/@4, ROUGE-L, CIDEr and WER with its
  substitutions, insertions and deletions (``signllm_hf.metrics.translation_scores``), from pose tokens or, with a
  projector, from continuous features;
- text -> pose (signing): the LM writes pose ids, the pose tokenizer turns them into frames, scored as the
  continuous model is (``signllm_hf.metrics.dtw.dtw_scores``) and, with a letter reader, read back
  (``signllm_hf.evaluation.legibility.legibility``: CER, calibration, motion ratios).

The clips' pose codes are computed once per pose tokenizer and clip set (:func:`corpus_codes`) and cached on disk
(``$SIGNLLM_CACHE``, default ``~/.cache/signllm``, under ``pose_codes/``), keyed by the tokenizer's weights and the
clips' ids and poses: a second run on the same corpus does not encode again.

Example:
    >>> from signllm_hf.evaluation.pose_lm import format_pose_lm_report
    >>> print(format_pose_lm_report({"pose_to_text": {"bleu1": 50.0, "bleu4": 10.0, "rouge_l": 40.0, "cider": 1.2,
    ...     "wer": 0.5, "substitutions": 0.3, "insertions": 0.1, "deletions": 0.1, "cer": 0.25, "clips": 4}}))
    | direction | clips | bleu1 | bleu4 | rouge_l | cider | wer | substitutions | insertions | deletions | cer |
    |---|---|---|---|---|---|---|---|---|---|---|
    | pose_to_text | 4 | 50.00 | 10.00 | 40.00 | 1.20 | 0.50 | 0.30 | 0.10 | 0.10 | 0.25 |
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from ..data.collator import pad_poses
from ..data.corpora import load_corpus, select_clips
from ..metrics.dtw import dtw_scores
from ..metrics.translation_scores import translation_scores
from ..modeling_signllm_pose_lm import (
    PoseTokenizerAdapter,
    decode_pose_codes,
    encode_pose_codes,
    generate_pose_codes,
    generate_text_from_codes,
)
from ..modeling_signllm_pose_projector import generate_text_from_features
from .judges import SignLLMLetterReader
from .legibility import legibility

TRANSLATION_COLUMNS = ("bleu1", "bleu4", "rouge_l", "cider", "wer", "substitutions", "insertions", "deletions")
SIGNING_COLUMNS = ("dtw", "dtw_mje", "length_error")


def _cache_root() -> Path:
    return Path(os.environ.get("SIGNLLM_CACHE") or Path.home() / ".cache" / "signllm") / "pose_codes"


def _fingerprint(pose_tokenizer, rows: list[dict]) -> str:
    """A key of the tokenizer's weights and the clips (ids and poses)."""
    digest = hashlib.sha1()
    module = PoseTokenizerAdapter.wrap(pose_tokenizer).module
    if isinstance(module, torch.nn.Module):
        for name, value in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(value.detach().cpu().contiguous().float().numpy().tobytes())
    else:  # pragma: no cover - a tokenizer that is not a module: no cache key from its weights
        digest.update(repr(module).encode())
    for row in rows:
        digest.update(str(row.get("id")).encode())
        digest.update(np.ascontiguousarray(row["pose"], dtype=np.float32).tobytes())
    return digest.hexdigest()


def corpus_codes(pose_tokenizer, rows: list[dict], batch_size: int = 32, cache: bool = True) -> list[list[int]]:
    """The pose codes of each row's ``pose`` (one list per row), from the disk cache when this tokenizer already
    encoded these clips (see the module docstring)."""
    if not rows:
        return []
    path = _cache_root() / f"{_fingerprint(pose_tokenizer, rows)}.json" if cache else None
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    codes = []
    for start in range(0, len(rows), batch_size):
        batch = [np.asarray(row["pose"], dtype=np.float32) for row in rows[start : start + batch_size]]
        codes.extend(encode_pose_codes(pose_tokenizer, batch))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(codes), encoding="utf-8")
        temporary.replace(path)  # atomic: another process may write the same key
    return codes


@torch.no_grad()
def translate_rows(
    model,
    tokenizer,
    rows: list[dict],
    *,
    pose_tokenizer=None,
    projector=None,
    codes: list[list[int]] | None = None,
    batch_size: int = 16,
    max_new_tokens: int = 64,
) -> list[str]:
    """Pose -> text for each row (``pose``, ``language``): through the projector when given, else pose codes
    (``codes``, or encoded with ``pose_tokenizer``)."""
    texts = []
    if projector is None and codes is None:
        codes = corpus_codes(pose_tokenizer, rows)
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        languages = [row["language"] for row in batch]
        if projector is not None:
            poses, mask = pad_poses([row["pose"] for row in batch])  # (B, T, 150), (B, T)
            texts += generate_text_from_features(model, tokenizer, projector, poses, mask, languages, max_new_tokens)
        else:
            texts += generate_text_from_codes(
                model, tokenizer, codes[start : start + batch_size], languages, max_new_tokens
            )
    return texts


@torch.no_grad()
def sign_rows(
    model, tokenizer, pose_tokenizer, rows: list[dict], *, max_pose_tokens: int = 250, batch_size: int = 16
) -> tuple[list[np.ndarray], list[list[int]]]:
    """Text -> pose for each row (``text``, ``language``): the generated poses ``(T, 50, 3)`` and their codes."""
    poses, all_codes = [], []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        codes = generate_pose_codes(
            model, tokenizer, [row["text"] for row in batch], [row["language"] for row in batch], max_pose_tokens
        )
        frames, lengths = decode_pose_codes(pose_tokenizer, codes)  # (B, T, 150), (B,)
        poses += [frames[i, : max(int(n), 1)].numpy().reshape(-1, 50, 3) for i, n in enumerate(lengths)]
        all_codes += codes
    return poses, all_codes


def pose_lm_report(
    model,
    tokenizer,
    rows: list[dict],
    *,
    directions=("pose_to_text", "text_to_pose"),
    pose_tokenizer=None,
    projector=None,
    letter_reader=None,
    max_pose_tokens: int = 250,
    batch_size: int = 16,
    examples: int = 5,
) -> dict:
    """Scores of the LM on ``rows`` in each of ``directions`` (see the module docstring). ``letter_reader`` is a
    folder or a loaded ``SignLLMLetterReader``; text -> pose needs the ``pose_tokenizer``."""
    model.eval()
    result = {}
    references = [row["text"] for row in rows]
    if "pose_to_text" in directions:
        texts = translate_rows(
            model, tokenizer, rows, pose_tokenizer=pose_tokenizer, projector=projector, batch_size=batch_size
        )
        result["pose_to_text"] = translation_scores(texts, references) | {
            "clips": len(rows),
            "input": "features" if projector is not None else "pose tokens",
            "examples": [{"text": r, "translation": t} for r, t in list(zip(references, texts))[:examples]],
        }
    if "text_to_pose" in directions:
        if pose_tokenizer is None:
            raise ValueError("text -> pose is scored through the pose tokenizer: pass pose_tokenizer=")
        poses, codes = sign_rows(
            model, tokenizer, pose_tokenizer, rows, max_pose_tokens=max_pose_tokens, batch_size=batch_size
        )
        signing = dtw_scores([np.asarray(row["pose"]) for row in rows], poses) | {"clips": len(rows)}
        signing["pose_tokens"] = float(np.mean([len(c) for c in codes]))
        if letter_reader is not None:
            reader = letter_reader
            if not isinstance(reader, SignLLMLetterReader):
                reader = SignLLMLetterReader.from_pretrained(str(letter_reader)).eval()
            signing["legibility"] = legibility(reader, poses, rows)
        result["text_to_pose"] = signing
    return result


def corpus_rows(corpus: str, split: str, languages=None, limit: int | None = None, seed: int = 0) -> list[dict]:
    """The clips of a corpus split (a seeded sample of ``limit`` of them) as dicts."""
    data = select_clips(load_corpus(corpus, split), languages, max_clips=limit, seed=seed, name=split)
    if len(data) == 0:
        raise ValueError(f"{corpus}/{split}: no clip for the languages {languages}")
    return list(data.with_format("numpy"))


def translate_corpus(
    model_dir: str, corpus: str, split: str = "test", limit: int | None = None, features=None, batch_size: int = 16
) -> dict:
    """Translate a corpus split's clips (a seeded sample of ``limit``) with ``pipeline("pose-to-text", model_dir)``:
    ``{"clips": [{"id", "language", "text", "translation"}], "scores": translation_scores}``."""
    from transformers import pipeline  # noqa: PLC0415 - the task is registered by importing signllm_hf

    options = {} if features is None else {"features": features}
    reader = pipeline("pose-to-text", model=str(model_dir), **options)
    rows = corpus_rows(corpus, split, sorted(reader.vocabulary.languages), limit)
    results = reader([{"pose": row["pose"], "language": row["language"]} for row in rows], batch_size=batch_size)
    results = results if isinstance(results, list) else [results]
    clips = [
        {"id": str(row["id"]), "language": row["language"], "text": row["text"], "translation": result["text"]}
        for row, result in zip(rows, results)
    ]
    scores = translation_scores([c["translation"] for c in clips], [c["text"] for c in clips])
    return {"clips": clips, "scores": scores | {"clips": len(clips)}}


def format_pose_lm_report(result: dict) -> str:
    """Markdown rows of :func:`pose_lm_report`: one table per direction scored."""
    tables = []
    for direction, columns in (("pose_to_text", TRANSLATION_COLUMNS), ("text_to_pose", SIGNING_COLUMNS)):
        if direction not in result:
            continue
        scores = result[direction]
        names, values = list(columns), [scores[name] for name in columns]
        cer = scores.get("cer", scores.get("legibility", {}).get("cer"))  # of the translations, or of the signing
        if cer is not None:
            names, values = [*names, "cer"], [*values, cer]
        tables.append(
            "\n".join(
                [
                    "| direction | clips | " + " | ".join(names) + " |",
                    "|---" * (len(names) + 2) + "|",
                    f"| {direction} | {scores['clips']} | " + " | ".join(f"{v:.2f}" for v in values) + " |",
                ]
            )
        )
    return "\n\n".join(tables)


__all__ = [
    "corpus_codes",
    "corpus_rows",
    "format_pose_lm_report",
    "pose_lm_report",
    "sign_rows",
    "translate_corpus",
    "translate_rows",
]
