"""Tiny language models, a tokenizer and a stand-in pose tokenizer for the pose-LM tests (all built offline).

``StandInPoseVQ`` implements the pose tokenizer's interface (``num_pose_tokens``, ``downsample``, ``encode`` /
``decode`` in the data's coordinates) with a fixed codebook of frame blocks, so tests know exactly which frames
each id stands for. It is registered with ``AutoModel`` like the real ``SignLLMPoseVQ``.
"""

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    BartConfig,
    BartForConditionalGeneration,
    LlamaConfig,
    LlamaForCausalLM,
    MBartConfig,
    MBartForConditionalGeneration,
    PreTrainedConfig,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
    T5Config,
    T5ForConditionalGeneration,
)

from signllm_hf.tokenization_signllm import train_text_tokenizer

TEXTS = ["hello world", "the sky is blue", "guten morgen", "good night"]


class StandInPoseVQConfig(PreTrainedConfig):
    model_type = "test_standin_pose_vq"
    codebook_size: int = 16
    downsample: int = 2
    fps: float = 25.0


class StandInPoseVQ(PreTrainedModel):
    """Code k is a fixed block of ``downsample`` frames; encoding picks the nearest block per chunk."""

    config_class = StandInPoseVQConfig

    def __init__(self, config):
        super().__init__(config)
        self.codebook = nn.Parameter(torch.zeros(config.codebook_size, config.downsample, 150))
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, StandInPoseVQ):
            generator = torch.Generator().manual_seed(0)
            values = torch.randn(self.config.codebook_size, self.config.downsample, 150, generator=generator)
            module.codebook.data.copy_(values)

    @property
    def num_pose_tokens(self) -> int:
        return self.config.codebook_size

    @property
    def downsample(self) -> int:
        return self.config.downsample

    def encode(self, poses, frame_mask):
        batch, frames, _ = poses.shape
        steps = frames // self.downsample
        chunks = poses[:, : steps * self.downsample].reshape(batch, steps, -1)  # (B, N, d*150)
        distances = torch.cdist(chunks, self.codebook.reshape(1, self.num_pose_tokens, -1).expand(batch, -1, -1))
        mask = frame_mask[:, : steps * self.downsample].reshape(batch, steps, -1).all(-1)
        return distances.argmin(-1), mask

    def decode(self, ids, mask):
        frames = self.codebook[ids] * mask[..., None, None]  # (B, N, d, 150)
        return frames.reshape(ids.shape[0], -1, 150)


AutoConfig.register(StandInPoseVQConfig.model_type, StandInPoseVQConfig, exist_ok=True)
AutoModel.register(StandInPoseVQConfig, StandInPoseVQ, exist_ok=True)


def pose_tokenizer(codebook_size: int = 16, downsample: int = 2) -> StandInPoseVQ:
    """The stand-in; switch to the real ``SignLLMPoseVQ`` with a tiny config when it exists."""
    return StandInPoseVQ(StandInPoseVQConfig(codebook_size=codebook_size, downsample=downsample)).eval()


def text_tokenizer():
    return train_text_tokenizer(TEXTS, vocab_size=300)


def tiny_lm(kind: str, vocab_size: int, seed: int = 0):
    """A tiny language model of ``kind`` (t5, bart, mbart, qwen2, llama), random weights from ``seed``."""
    torch.manual_seed(seed)
    if kind == "t5":
        config = T5Config(
            vocab_size=vocab_size,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=2,
            dropout_rate=0.0,
        )
        return T5ForConditionalGeneration(config)
    if kind in ("bart", "mbart"):
        config_class, model_class = (
            (BartConfig, BartForConditionalGeneration)
            if kind == "bart"
            else (MBartConfig, MBartForConditionalGeneration)
        )
        config = config_class(
            vocab_size=vocab_size,
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=256,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
            dropout=0.0,
            attention_dropout=0.0,
        )
        return model_class(config)
    config_class, model_class = (Qwen2Config, Qwen2ForCausalLM) if kind == "qwen2" else (LlamaConfig, LlamaForCausalLM)
    config = config_class(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    return model_class(config)
