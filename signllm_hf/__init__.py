"""signllm-hf: SignLLM (multilingual sign language production) as a Hugging Face transformers plugin.

Importing the package registers the ``signllm`` model type with ``AutoConfig`` and ``AutoModel`` and the
``text-to-pose`` pipeline (:mod:`signllm_hf.registration`). The ``signllm`` command is the one exception: it
registers once its command line is parsed, so that ``signllm --help`` does not wait seconds for torch and
transformers. The classes below load on first use.

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

import sys
from importlib import import_module
from pathlib import Path

# Every public name and the module that defines it, imported on first use (PEP 562).
_EXPORTS = {
    "SignLLMBackTranslator": ".evaluation.judges",
    "SignLLMBackTranslatorConfig": ".evaluation.judges",
    "SignLLMConfig": ".configuration_signllm",
    "SignLLMForPoseGeneration": ".modeling_signllm",
    "SignLLMGenerationOutput": ".modeling_signllm",
    "SignLLMLetterReader": ".evaluation.judges",
    "SignLLMLetterReaderConfig": ".evaluation.judges",
    "SignLLMOutput": ".modeling_signllm",
    "SignLLMPoseVQ": ".modeling_signllm_pose_vq",
    "SignLLMPoseVQConfig": ".configuration_signllm_pose_vq",
    "SignLLMPoseVQOutput": ".modeling_signllm_pose_vq",
    "SignLLMPreTrainedModel": ".modeling_signllm",
    "SignLLMTrainer": ".training.trainer",
    "SignLLMTrainingArguments": ".training.arguments",
    "PoseToTextPipeline": ".pipeline_pose_to_text",
    "TextToPosePipeline": ".pipeline_signllm",
}
# The console script (pyproject.toml) as pip installs it: `signllm`, on Windows `signllm.exe`. Not `signllm.py`: a
# script of that name is someone's program, which expects the import to register.
COMMAND_FILES = {"signllm", "signllm.exe"}


def register() -> None:
    """Register the model types, the files saved for the Hub and the pipelines with transformers (once)."""
    import_module(".registration", __name__)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            return version("signllm-hf")
        except PackageNotFoundError:  # running from a source tree that was not installed
            return "0.0.0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _started_by_the_command() -> bool:
    """Whether this process is the ``signllm`` command, which calls :func:`register` after parsing its options."""
    argv = getattr(sys, "argv", None) or [""]
    return Path(argv[0] or "").name in COMMAND_FILES


if not _started_by_the_command():
    register()

__all__ = [*sorted(_EXPORTS), "__version__", "register"]
