"""Judges: models that read poses back, so that generated signing can be scored against what it should say.

- the back-translator (poses -> text, BART-style), the judge of the paper's back-translation metric.
"""

from .configuration_back_translator import SignLLMBackTranslatorConfig
from .modeling_back_translator import BackTranslatorOutput, SignLLMBackTranslator

__all__ = ["BackTranslatorOutput", "SignLLMBackTranslator", "SignLLMBackTranslatorConfig"]
