"""Scores of pose -> text translation as 2511.08535 reports them: BLEU@1/@4, ROUGE-L, CIDEr, and WER with its
substitutions, insertions and deletions apart.

CIDEr is pycocoevalcap's (``Cider``: CIDEr-D, n-grams 1-4, Gaussian length penalty sigma 6, scores x 10), on
lowercased, whitespace-split text (the COCO PTB tokenizer needs Java). Its idf comes from the references scored
together, so it is a corpus score: a single pair scores 0. WER counts come from jiwer's alignment; each rate is the
count divided by the number of reference words (so ``wer = substitutions + insertions + deletions``). CER is jiwer's
character error rate on lowercased text: for fingerspelled words, whose every word is new, it shows how many letters
a translation gets right where word scores are all 0.

Example:
    >>> from signllm_hf.metrics.translation_scores import cider, word_errors
    >>> cider(["a b", "c d"], ["a b", "c d"])  # unigrams and bigrams match, no 3-/4-grams: 10 * 2 / 4
    5.0
    >>> word_errors(["the sky is very blue"], ["the sky is blue"])
    {'wer': 0.25, 'substitutions': 0.0, 'insertions': 0.25, 'deletions': 0.0, 'hits': 4, 'reference_words': 4}
"""

from __future__ import annotations

import jiwer

from .text_scores import text_scores


def _check(predictions: list[str], references: list[str]) -> None:
    if len(predictions) != len(references) or not references:
        raise ValueError(
            f"need matching non-empty lists, got {len(predictions)} predictions, {len(references)} references"
        )


def cider(predictions: list[str], references: list[str] | list[list[str]]) -> float:
    """pycocoevalcap's corpus CIDEr(-D) of ``predictions`` against one reference (or a list of them) each."""
    from pycocoevalcap.cider.cider import Cider  # noqa: PLC0415 - an optional-looking import kept local

    _check(predictions, references)
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    normal = lambda text: " ".join(text.lower().split()) or "<empty>"  # noqa: E731 - Cider needs a word
    gts = {i: [normal(r) for r in rows] for i, rows in enumerate(refs)}
    res = {i: [normal(p)] for i, p in enumerate(predictions)}
    score, _ = Cider().compute_score(gts, res)
    return round(float(score), 4)


def word_errors(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Corpus WER and its parts as rates of the reference words, with the hit and reference word counts."""
    _check(predictions, references)
    # jiwer refuses empty strings; an empty prediction is all deletions, an empty reference all insertions.
    out = jiwer.process_words(
        [r.strip() or "<empty>" for r in references], [p.strip() or "<empty>" for p in predictions]
    )
    words = out.hits + out.substitutions + out.deletions
    return {
        "wer": round((out.substitutions + out.insertions + out.deletions) / words, 4),
        "substitutions": round(out.substitutions / words, 4),
        "insertions": round(out.insertions / words, 4),
        "deletions": round(out.deletions / words, 4),
        "hits": out.hits,
        "reference_words": words,
    }


def translation_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """BLEU@1, BLEU@4, ROUGE-L (percent, from ``text_scores``), CIDEr, WER with S/I/D rates, and CER."""
    base = text_scores(predictions, references)
    errors = word_errors(predictions, references)
    letters = jiwer.cer([r.strip().lower() or "<empty>" for r in references], [p.strip().lower() for p in predictions])
    return {
        "bleu1": base["bleu1"],
        "bleu4": base["bleu4"],
        "rouge_l": base["rouge_l"],
        "cider": cider(predictions, references),
        **{k: errors[k] for k in ("wer", "substitutions", "insertions", "deletions")},
        "cer": round(float(letters), 4),
    }
