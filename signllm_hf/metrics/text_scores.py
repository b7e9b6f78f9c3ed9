"""Scores of back-translated text against the input text: BLEU-1..4, ROUGE-L, chrF, WER.

BLEU-n is sacrebleu's corpus BLEU with n-grams up to n (cumulative, as sign language production papers report it),
ROUGE-L the mean F-measure of rouge-score, chrF sacrebleu's, WER jiwer's; all in percent except WER (a rate).

Example:
    >>> from signllm_hf.metrics.text_scores import text_scores
    >>> scores = text_scores(["the sky is blue"], ["the sky is blue"])
    >>> scores["bleu4"], scores["rouge_l"], scores["wer"]
    (100.0, 100.0, 0.0)
"""

from __future__ import annotations

import jiwer
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF


class _WhitespaceTokenizer:
    """rouge-score's tokenizer interface, splitting on spaces only (LangGloss tokens are whole words)."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def text_scores(predictions: list[str], references: list[str], tokenize: str = "13a") -> dict[str, float]:
    """Corpus scores of ``predictions`` against ``references`` (one reference each).

    ``tokenize="13a"`` is sacrebleu's standard for text; ``"none"`` scores space-separated tokens as they are (BLEU
    and ROUGE-L over whole LangGloss tokens such as ``<ASL_sky>``, which punctuation rules would split apart).
    """
    if tokenize not in ("13a", "none"):
        raise ValueError(f"`tokenize` must be '13a' or 'none', got {tokenize!r}")
    if len(predictions) != len(references) or not references:
        raise ValueError(
            f"need matching non-empty lists, got {len(predictions)} predictions, {len(references)} references"
        )
    predictions = [p.strip() for p in predictions]
    references = [r.strip() for r in references]
    scores = {}
    for order in (1, 2, 3, 4):
        bleu = BLEU(max_ngram_order=order, effective_order=True, tokenize=tokenize)
        scores[f"bleu{order}"] = round(bleu.corpus_score(predictions, [references]).score, 4)
    tokenizer = _WhitespaceTokenizer() if tokenize == "none" else None
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=tokenizer)
    rouge = [scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)]
    scores["rouge_l"] = round(100 * sum(rouge) / len(rouge), 4)
    scores["chrf"] = round(CHRF().corpus_score(predictions, [references]).score, 4)
    # jiwer refuses empty strings; an empty prediction is all deletions, an empty reference all insertions.
    safe_predictions = [p or "<empty>" for p in predictions]
    safe_references = [r or "<empty>" for r in references]
    scores["wer"] = round(jiwer.wer(safe_references, safe_predictions), 4)
    return scores
