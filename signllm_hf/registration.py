"""Importing this module registers the library with transformers: the model types with ``AutoConfig`` and
``AutoModel``, the files ``save_pretrained`` copies beside the weights (the Hub's ``trust_remote_code`` route), and
the ``text-to-pose`` and ``pose-to-text`` pipelines.

``import signllm_hf`` imports it (see :func:`signllm_hf.register`); it is a module of its own because it imports
torch and transformers (seconds), which the ``signllm`` command defers until its command line is parsed.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_signllm import SignLLMConfig
from .configuration_signllm_pose_vq import SignLLMPoseVQConfig
from .evaluation.judges import (
    SignLLMBackTranslator,
    SignLLMBackTranslatorConfig,
    SignLLMLetterReader,
    SignLLMLetterReaderConfig,
)
from .modeling_signllm import SignLLMForPoseGeneration
from .modeling_signllm_pose_vq import SignLLMPoseVQ
from .pipeline_pose_to_text import PoseToTextPipeline
from .pipeline_signllm import TextToPosePipeline

AutoConfig.register("signllm", SignLLMConfig, exist_ok=True)
AutoModel.register(SignLLMConfig, SignLLMForPoseGeneration, exist_ok=True)
AutoConfig.register("signllm_back_translator", SignLLMBackTranslatorConfig, exist_ok=True)
AutoModel.register(SignLLMBackTranslatorConfig, SignLLMBackTranslator, exist_ok=True)
AutoConfig.register("signllm_letter_reader", SignLLMLetterReaderConfig, exist_ok=True)
AutoModel.register(SignLLMLetterReaderConfig, SignLLMLetterReader, exist_ok=True)
AutoConfig.register("signllm_pose_vq", SignLLMPoseVQConfig, exist_ok=True)
AutoModel.register(SignLLMPoseVQConfig, SignLLMPoseVQ, exist_ok=True)
# save_pretrained also writes the two files next to the weights, so the Hub route (trust_remote_code) works; the
# text-to-pose pipeline's file joins them through TextToPosePipeline.save_pretrained / save_remote_pipeline.
SignLLMConfig.register_for_auto_class()
SignLLMForPoseGeneration.register_for_auto_class("AutoModel")
SignLLMPoseVQConfig.register_for_auto_class()
SignLLMPoseVQ.register_for_auto_class("AutoModel")
# `pt_model=AutoModel` (not our class): a pipeline saved for the Hub names its model class by a transformers name.
# A language model with pose tokens (modeling_signllm_pose_lm) needs its head: the LM classes are tried first (they
# refuse a SignLLM config at once), then AutoModel.
LM_CLASSES = (AutoModelForSeq2SeqLM, AutoModelForCausalLM)
PIPELINE_REGISTRY.register_pipeline(
    "text-to-pose", pipeline_class=TextToPosePipeline, pt_model=(*LM_CLASSES, AutoModel), type="text"
)
PIPELINE_REGISTRY.register_pipeline(
    "pose-to-text", pipeline_class=PoseToTextPipeline, pt_model=LM_CLASSES, type="multimodal"
)
