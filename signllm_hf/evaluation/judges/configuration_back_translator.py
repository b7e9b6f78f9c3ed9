"""Configuration of the back-translator (poses -> text), the judge of the paper's main metric.

Example:
    >>> from signllm_hf.evaluation.judges import SignLLMBackTranslatorConfig
    >>> config = SignLLMBackTranslatorConfig(vocab_size=40, d_model=32, attention_heads=2)
    >>> config.bart_config().d_model, config.pose_dim
    (32, 150)
"""

from __future__ import annotations

from transformers import BartConfig, PreTrainedConfig

from ...data.skeleton import FRAME_SIZE


class SignLLMBackTranslatorConfig(PreTrainedConfig):
    """Sizes of the pose -> text model, its tokenizer's special ids and the pose statistics it normalises with."""

    model_type = "signllm_back_translator"

    vocab_size: int = 8000
    pad_token_id: int = 0
    bos_token_id: int = 1
    eos_token_id: int = 2
    d_model: int = 256
    encoder_layers: int = 3
    decoder_layers: int = 3
    attention_heads: int = 4
    ffn_dim: int = 1024
    dropout: float = 0.1
    max_frames: int = 1024
    max_text_length: int = 64
    pose_dim: int = FRAME_SIZE
    pose_mean: list[float] | None = None
    pose_std: list[float] | None = None
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs):
        for name in ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "ffn_dim", "max_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if self.d_model % self.attention_heads:
            raise ValueError(f"`d_model` ({self.d_model}) must be a multiple of `attention_heads`")
        super().__post_init__(**kwargs)

    def bart_config(self) -> BartConfig:
        return BartConfig(
            vocab_size=self.vocab_size,
            d_model=self.d_model,
            encoder_layers=self.encoder_layers,
            decoder_layers=self.decoder_layers,
            encoder_attention_heads=self.attention_heads,
            decoder_attention_heads=self.attention_heads,
            encoder_ffn_dim=self.ffn_dim,
            decoder_ffn_dim=self.ffn_dim,
            dropout=self.dropout,
            max_position_embeddings=max(self.max_frames, self.max_text_length) + 2,
            pad_token_id=self.pad_token_id,
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            decoder_start_token_id=self.bos_token_id,
            forced_eos_token_id=self.eos_token_id,
        )
