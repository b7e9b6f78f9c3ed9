"""Judges: models that read poses back, so that generated signing can be scored against what it should say.

- the back-translator (poses -> text, BART-style), the judge of the paper's back-translation metric;
- the letter reader (poses -> fingerspelled letters, CTC), the legibility judge.
"""

from .configuration_back_translator import SignLLMBackTranslatorConfig
from .configuration_letter_reader import SignLLMLetterReaderConfig
from .modeling_back_translator import BackTranslatorOutput, SignLLMBackTranslator
from .modeling_letter_reader import LetterReaderOutput, SignLLMLetterReader

__all__ = [
    "BackTranslatorOutput",
    "LetterReaderOutput",
    "SignLLMBackTranslator",
    "SignLLMBackTranslatorConfig",
    "SignLLMLetterReader",
    "SignLLMLetterReaderConfig",
]
