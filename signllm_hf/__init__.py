"""signllm-hf: SignLLM (multilingual sign language production) as a Hugging Face transformers plugin.

Importing the package registers the ``signllm`` model type with ``AutoConfig`` and ``AutoModel`` and the
``text-to-pose`` pipeline.

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
from .modeling_signllm import SignLLMForPoseGeneration, SignLLMGenerationOutput, SignLLMOutput, SignLLMPreTrainedModel
from .pipeline_signllm import TextToPosePipeline

try:
    __version__ = version("signllm-hf")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

AutoConfig.register("signllm", SignLLMConfig, exist_ok=True)
AutoModel.register(SignLLMConfig, SignLLMForPoseGeneration, exist_ok=True)
# save_pretrained also writes the two files next to the weights, so the Hub route (trust_remote_code) works.
SignLLMConfig.register_for_auto_class()
SignLLMForPoseGeneration.register_for_auto_class("AutoModel")
# `pt_model=AutoModel` (not our class): a pipeline saved for the Hub names its model class by a transformers name.
PIPELINE_REGISTRY.register_pipeline("text-to-pose", pipeline_class=TextToPosePipeline, pt_model=AutoModel, type="text")

__all__ = [
    "SignLLMConfig",
    "SignLLMForPoseGeneration",
    "SignLLMGenerationOutput",
    "SignLLMOutput",
    "SignLLMPreTrainedModel",
    "TextToPosePipeline",
    "__version__",
]
