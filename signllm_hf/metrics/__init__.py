"""Evaluation metrics: DTW of poses, text scores of back-translations, and their local `evaluate` modules.

``evaluate.load("sacrebleu")`` needs the Hub; these modules ship with the package and load offline.

Example:
    >>> from signllm_hf.metrics import load_metric
    >>> load_metric("back_translation").compute(predictions=["hello there"], references=["hello there"])["bleu1"]
    100.0
"""

from pathlib import Path

from .dtw import clip_scores, dtw, dtw_mje, dtw_scores, pt_dtw
from .text_scores import text_scores
from .translation_scores import cider, translation_scores, word_errors

MODULES = ("pose_dtw", "back_translation", "cider")


def load_metric(name: str):
    """One of our `evaluate` modules (``"pose_dtw"``, ``"back_translation"``, ``"cider"``), loaded from the
    installed package."""
    if name not in MODULES:
        raise ValueError(f"unknown metric {name!r}; choose one of {MODULES}")
    import evaluate  # noqa: PLC0415 - evaluate is only needed here

    return evaluate.load(str(Path(__file__).parent / name))


__all__ = [
    "cider",
    "clip_scores",
    "dtw",
    "dtw_mje",
    "dtw_scores",
    "load_metric",
    "pt_dtw",
    "text_scores",
    "translation_scores",
    "word_errors",
]
