"""Evaluate a SignLLM model the way the paper does: DTW against the references, and back-translation scores.

    signllm evaluate MODEL_DIR DATASET --split test --back-translator BT_DIR --out results.json

For every clip of the split (in the model's languages) the model generates poses from the clip's text; they are
compared with the clip's poses by DTW (Progressive Transformers' form and DTW-MJE) and, with a back-translator,
translated back to text and scored against the input text (BLEU-1..4, ROUGE-L, chrF, WER). The back-translation of
the reference poses is scored too: it is the ceiling the back-translator allows. The tables printed are
those of ``signllm_hf.evaluation.tables``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from ..data.corpora import load_corpus
from ..metrics.dtw import dtw_scores
from ..metrics.text_scores import text_scores
from ..modeling_prompt_stage import PromptToLangGloss
from ..modeling_signllm import SignLLMForPoseGeneration
from .judges import SignLLMBackTranslator, SignLLMLetterReader
from .langgloss import langgloss_evaluation
from .legibility import legibility
from .model_card import write_scores
from .tables import format_legibility, format_table

logger = logging.getLogger(__name__)


def generate_split(model, tokenizer, rows, batch_size: int = 16, max_frames: int | None = None, texts=None):
    """Generated poses and counters for every row (batched per language, in row order), from each row's text or
    from ``texts`` (one per row: e.g. the LangGloss a Prompt2LangGloss model's prompt stage wrote)."""
    texts = [row["text"] for row in rows] if texts is None else list(texts)
    poses, counters = [None] * len(rows), [None] * len(rows)
    by_language: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_language.setdefault(row["language"], []).append(index)
    for language, indices in by_language.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            encoded = tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=model.config.max_text_length,
                return_tensors="pt",
            )
            device = next(model.parameters()).device
            out = model.generate(
                encoded["input_ids"].to(device),
                encoded["attention_mask"].to(device),
                language=language,
                max_frames=max_frames,
            )
            for slot, index in enumerate(chunk):
                length = max(int(out.lengths[slot]), 1)
                poses[index] = out.poses[slot, :length].cpu().numpy()
                counters[index] = out.counters[slot, :length].cpu().numpy()
    return poses, counters


def evaluate_model(
    model_dir: str,
    dataset: str,
    split: str = "test",
    back_translator: str | None = None,
    skels_language: str | None = None,
    max_clips: int | None = None,
    batch_size: int = 16,
    max_frames: int | None = None,
    output: str | None = None,
    prompts: bool = False,
    dtype: str = "float32",
    letter_reader: str | None = None,
    random_strings: int = 0,
    update_card: bool = True,
) -> dict:
    """Scores of ``model_dir`` on ``dataset``'s ``split``; written to ``output`` as JSON when given and, with
    ``update_card``, to ``model_dir/scores.json`` with the model card's evaluation table (unless the folder is
    read-only or a Hub cache snapshot).

    ``dtype`` is the pose model's precision while it generates (``"float16"`` is about twice as fast for Base on a
    CPU; scoring it here shows what that costs in quality).

    A Prompt2LangGloss model is scored end to end: its prompt stage writes the LangGloss of each clip's text (with
    ``prompts``, of the text wrapped in a held-out prompt template), its pose model signs that. The result then adds
    ``langgloss``: the prompt stage's scores (the paper's Table 8, see ``langgloss_evaluation``). ``max_clips``
    scores a seeded random sample of the split (the same clips on every call), so every language is represented.

    With a ``letter_reader`` (a fingerspelling judge, ``signllm train-letter-reader``), the result adds
    ``legibility``: the letter error rates of the generated poses (CER, WER; per language), the reader's calibration
    on the references, and the motion ratios (see ``signllm_hf.evaluation.legibility``); with ``random_strings`` N,
    also ``random_strings``: the same for N random letter strings per language (not words, never seen as such).
    """
    if random_strings and not letter_reader:
        raise ValueError("random letter strings are scored by reading them back: pass a letter reader too")
    for folder, what in ((model_dir, "model"), (back_translator, "back-translator"), (letter_reader, "letter reader")):
        if folder is not None and not (Path(folder) / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder}: no {what} folder there (config.json + weights, as save_pretrained writes them; "
                f"download a Hub model first, e.g. `hf download ID --local-dir DIR`)"
            )
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"`dtype` must be 'float32', 'float16' or 'bfloat16', got {dtype!r}")
    model = SignLLMForPoseGeneration.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    data = load_corpus(dataset, split, skels_language)
    kept = [i for i, code in enumerate(data["language"]) if code in model.config.languages]
    if not kept:
        raise ValueError(f"{dataset}/{split} has no clip in the model's languages {model.config.languages}")
    if len(kept) < len(data):
        logger.warning("%d clip(s) in languages the model lacks are left out", len(data) - len(kept))
    if max_clips is not None and len(kept) > max_clips:  # a seeded sample: a split's first clips may be one language
        kept = sorted(np.random.default_rng(0).choice(kept, size=max_clips, replace=False).tolist())
    rows = [data[i] for i in kept]
    inputs, langgloss_result = None, None
    if model.config.mode == "prompt2langgloss":
        stage = PromptToLangGloss.from_pretrained(model_dir)
        rows = [row for row in rows if (row.get("text") or "").strip()]  # stage 1 reads the text
        if not rows:
            raise ValueError(f"{dataset}/{split}: no clip with a text for the prompt stage to read")
        text_rows = [{key: row[key] for key in ("id", "language", "text", "gloss") if key in row} for row in rows]
        langgloss_result = langgloss_evaluation(stage, text_rows)
        examples = langgloss_result["examples"]
        key = "from_prompt" if prompts else "from_text"
        inputs = [example[key] for example in langgloss_result.pop("all")]
        # Stage 1 found nothing to sign: the pipeline refuses these; here stage 2 gets an empty input and the clip is
        # scored as it comes out, counted so the table says how often it happened.
        langgloss_result["empty"] = sum(not sequence for sequence in inputs)
        if langgloss_result["empty"]:
            logger.warning("stage 1 wrote no LangGloss for %d of %d clips", langgloss_result["empty"], len(inputs))
        langgloss_result["examples"] = examples
    with torch.no_grad():
        poses, counters = generate_split(model, tokenizer, rows, batch_size, max_frames, texts=inputs)
    references = [np.asarray(row["pose"]) for row in rows]
    result = {
        "model": str(model_dir),
        "paper_name": model.paper_name(),
        "dataset": str(dataset),
        "split": split,
        "dtype": dtype,
        "clips": len(rows),
    } | dtw_scores(references, poses, counters)
    if langgloss_result is not None:
        result["input"] = "prompts (held-out templates)" if prompts else "text"
        result["langgloss"] = langgloss_result
    result["per_language"] = {}
    for code in sorted({row["language"] for row in rows}):
        chosen = [i for i, row in enumerate(rows) if row["language"] == code]
        scores = dtw_scores([references[i] for i in chosen], [poses[i] for i in chosen], [counters[i] for i in chosen])
        result["per_language"][code] = scores | {"clips": len(chosen)}
    if back_translator:
        judge = SignLLMBackTranslator.from_pretrained(back_translator).eval()
        judge_tokenizer = AutoTokenizer.from_pretrained(back_translator)
        texts = [row["text"] for row in rows]
        limit = judge.config.max_frames
        longer = sum(len(pose) > limit for pose in [*poses, *references])
        if longer:  # the judge reads at most `limit` frames: it sees the start of longer clips
            logger.warning("%d clip(s) longer than the back-translator's max_frames=%d are cut to it", longer, limit)
            poses, references = [pose[:limit] for pose in poses], [pose[:limit] for pose in references]
        translated = judge.translate(poses, judge_tokenizer)
        result["back_translation"] = text_scores(translated, texts)
        result["back_translation_of_references"] = text_scores(judge.translate(references, judge_tokenizer), texts)
        result["examples"] = [{"text": t, "back_translation": b} for t, b in list(zip(texts, translated))[:10]]
    if letter_reader:
        result |= _legibility(model, tokenizer, letter_reader, rows, poses, random_strings, batch_size, max_frames)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if update_card:
        write_scores(model_dir, result)
    return result


def _legibility(model, tokenizer, reader_dir, rows, poses, random_strings, batch_size, max_frames) -> dict:
    """Legibility of the split's generated poses, and of ``random_strings`` random strings per language."""
    reader = SignLLMLetterReader.from_pretrained(reader_dir).eval()
    unread = sorted({row["language"] for row in rows} - set(reader.config.languages))
    if unread:
        raise ValueError(f"{reader_dir} reads {reader.config.languages}, not {unread}: train a reader with them")
    if abs(reader.config.fps - model.config.fps) > 1e-6:
        raise ValueError(
            f"{reader_dir} reads poses at {reader.config.fps:g} fps but the model signs at {model.config.fps:g}: "
            "train a reader at the model's frame rate"
        )
    result = {"legibility": legibility(reader, poses, rows)}
    if random_strings:
        from ..data.corpora.letter_strings import LetterStrings  # noqa: PLC0415 - needs the lexicon extra

        languages = sorted({row["language"] for row in rows})
        strings = LetterStrings(languages=languages, fps=model.config.fps).evaluation_rows(random_strings)
        generated, _ = generate_split(model, tokenizer, strings, batch_size, max_frames)
        result["random_strings"] = legibility(reader, generated, strings)
    return result


__all__ = ["evaluate_model", "format_legibility", "format_table", "generate_split"]
