"""Evaluation: scoring generated signing as the paper does (DTW, back-translation) and the judges that read poses.

- ``evaluate``: :func:`evaluate_model` (``signllm evaluate``), :func:`format_table`;
- ``judges``: models that read poses back (the back-translator);
- ``langgloss``: the Prompt2LangGloss prompt stage's scores (the paper's Table 8).

Evaluation uses the models, data and metrics; it never imports training (training imports it, to score).
"""

from .evaluate import evaluate_model, format_table, generate_split
from .judges import SignLLMBackTranslator, SignLLMBackTranslatorConfig
from .langgloss import langgloss_evaluation

__all__ = [
    "SignLLMBackTranslator",
    "SignLLMBackTranslatorConfig",
    "evaluate_model",
    "format_table",
    "generate_split",
    "langgloss_evaluation",
]
