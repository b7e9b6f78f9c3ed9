"""signllm-hf: SignLLM (multilingual sign language production) as a Hugging Face transformers plugin.

Importing the package registers the ``signllm`` model type with ``AutoConfig`` and ``AutoModel`` and the
``text-to-pose`` pipeline.

The folders follow the data: ``conversion`` (OpenPose -> 3D) -> ``data`` (skeleton, formats, corpora) -> the model
(``configuration_/modeling_/tokenization_/pipeline_signllm.py``, the prompt stage) -> ``training`` ->
``evaluation`` (scores and the judges), with ``metrics`` beside them. Imports point one way, with no cycle:
``training`` uses ``evaluation`` to score, ``evaluation`` uses the models, the models use ``data``.

Example:
    >>> import signllm_hf
    >>> from transformers import AutoConfig
    >>> type(AutoConfig.for_model("signllm")).__name__
    'SignLLMConfig'
"""

from importlib.metadata import PackageNotFoundError, version

from transformers import AutoConfig, AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_signllm import SignLLMConfig
from .evaluation.judges import (
    SignLLMBackTranslator,
    SignLLMBackTranslatorConfig,
    SignLLMLetterReader,
    SignLLMLetterReaderConfig,
)
from .modeling_signllm import SignLLMForPoseGeneration, SignLLMGenerationOutput, SignLLMOutput, SignLLMPreTrainedModel
from .pipeline_signllm import TextToPosePipeline

try:
    __version__ = version("signllm-hf")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

AutoConfig.register("signllm", SignLLMConfig, exist_ok=True)
AutoModel.register(SignLLMConfig, SignLLMForPoseGeneration, exist_ok=True)
AutoConfig.register("signllm_back_translator", SignLLMBackTranslatorConfig, exist_ok=True)
AutoModel.register(SignLLMBackTranslatorConfig, SignLLMBackTranslator, exist_ok=True)
AutoConfig.register("signllm_letter_reader", SignLLMLetterReaderConfig, exist_ok=True)
AutoModel.register(SignLLMLetterReaderConfig, SignLLMLetterReader, exist_ok=True)
# save_pretrained also writes the two files next to the weights, so the Hub route (trust_remote_code) works.
SignLLMConfig.register_for_auto_class()
SignLLMForPoseGeneration.register_for_auto_class("AutoModel")
# `pt_model=AutoModel` (not our class): a pipeline saved for the Hub names its model class by a transformers name.
PIPELINE_REGISTRY.register_pipeline("text-to-pose", pipeline_class=TextToPosePipeline, pt_model=AutoModel, type="text")

# The training classes import transformers' Trainer (and with it accelerate): loaded on first use, so that
# `import signllm_hf` stays light for inference.
_LAZY = {"SignLLMTrainer": ".training.trainer", "SignLLMTrainingArguments": ".training.arguments"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module  # noqa: PLC0415

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SignLLMBackTranslator",
    "SignLLMBackTranslatorConfig",
    "SignLLMConfig",
    "SignLLMForPoseGeneration",
    "SignLLMGenerationOutput",
    "SignLLMLetterReader",
    "SignLLMLetterReaderConfig",
    "SignLLMOutput",
    "SignLLMPreTrainedModel",
    "SignLLMTrainer",
    "SignLLMTrainingArguments",
    "TextToPosePipeline",
    "__version__",
]
