"""Back-translation: a pose -> text model, the judge of the paper's main metric.

[`SignLLMBackTranslator`] projects each normalised pose frame into the input embeddings of a BART encoder-decoder
built from a config (no download): the encoder reads frames, the decoder writes text, and transformers' own
``generate`` decodes (beam search included). It is trained through the library's scaffold
(``signllm_hf.training.back_translator``) on the same corpus as the pose generator; generated poses are then
translated back and scored against the input text (``signllm_hf.metrics.text_scores``).

Example:
    >>> import torch
    >>> from signllm_hf.evaluation.judges import SignLLMBackTranslator, SignLLMBackTranslatorConfig
    >>> config = SignLLMBackTranslatorConfig(vocab_size=40, d_model=32, ffn_dim=64, encoder_layers=1, decoder_layers=1,
    ...                                      attention_heads=2)
    >>> model = SignLLMBackTranslator(config)
    >>> poses = torch.randn(2, 12, 150)
    >>> loss = model(poses=poses, frame_mask=torch.ones(2, 12), labels=torch.tensor([[5, 6, 2], [7, 2, -100]])).loss
    >>> tokens = model.generate(poses=poses, frame_mask=torch.ones(2, 12), max_new_tokens=4)
    >>> tokens.shape[0], bool(loss > 0)
    (2, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import BartForConditionalGeneration, PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_back_translator import SignLLMBackTranslatorConfig


@dataclass
class BackTranslatorOutput(ModelOutput):
    """``loss`` () with labels; ``logits`` (B, L, vocab)."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None


class SignLLMBackTranslator(PreTrainedModel):
    config: SignLLMBackTranslatorConfig
    config_class = SignLLMBackTranslatorConfig
    main_input_name = "poses"
    accepts_loss_kwargs = False

    def __init__(self, config: SignLLMBackTranslatorConfig):
        super().__init__(config)
        self.embed_frames = nn.Linear(config.pose_dim, config.d_model)
        self.bart = BartForConditionalGeneration(config.bart_config())
        self.register_buffer("pose_mean", torch.zeros(config.pose_dim), persistent=False)
        self.register_buffer("pose_std", torch.ones(config.pose_dim), persistent=False)
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, SignLLMBackTranslator):  # statistics live in the config (see SignLLM's model)
            config = module.config
            if config.pose_mean is not None:
                module.pose_mean.copy_(torch.tensor(config.pose_mean))
            if config.pose_std is not None:
                module.pose_std.copy_(torch.tensor(config.pose_std).clamp_min(1e-6))

    def _embed(self, poses: torch.Tensor, frame_mask: torch.Tensor | None):
        if poses.ndim == 4:  # (B, T, 50, 3)
            poses = poses.flatten(2)
        if poses.shape[1] > self.config.max_frames:
            raise ValueError(f"{poses.shape[1]} frames is more than this model's max_frames={self.config.max_frames}")
        if frame_mask is None:
            frame_mask = torch.ones(poses.shape[:2], device=poses.device)
        normalised = (poses.to(self.embed_frames.weight.dtype) - self.pose_mean) / self.pose_std
        return self.embed_frames(normalised), frame_mask.long()

    def forward(self, poses, frame_mask=None, labels=None, **kwargs) -> BackTranslatorOutput:
        """``poses`` (B, T, 150) in the data's coordinates, ``frame_mask`` (B, T), ``labels`` (B, L) token ids with
        -100 on padding; returns the cross-entropy loss (with labels) and the logits."""
        embeds, mask = self._embed(poses, frame_mask)
        out = self.bart(inputs_embeds=embeds, attention_mask=mask, labels=labels)
        return BackTranslatorOutput(out.loss, out.logits)

    @torch.no_grad()
    def generate(self, poses, frame_mask=None, **generate_kwargs) -> torch.LongTensor:
        """Token ids of the translation of each pose sequence (BART's ``generate``: beams, lengths and all)."""
        generate_kwargs.setdefault("max_new_tokens", self.config.max_text_length)
        embeds, mask = self._embed(poses, frame_mask)
        return self.bart.generate(inputs_embeds=embeds, attention_mask=mask, **generate_kwargs)

    def translate(self, poses: list, tokenizer, batch_size: int = 16, num_beams: int = 4) -> list[str]:
        """Text for each pose sequence (list of (T, 50, 3) arrays), in batches."""
        texts = []
        device = self.embed_frames.weight.device
        for start in range(0, len(poses), batch_size):
            chunk = [
                torch.as_tensor(p, dtype=torch.float32).reshape(len(p), -1) for p in poses[start : start + batch_size]
            ]
            longest = max(len(p) for p in chunk)
            padded = torch.zeros(len(chunk), longest, self.config.pose_dim)
            mask = torch.zeros(len(chunk), longest)
            for row, pose in enumerate(chunk):
                padded[row, : len(pose)], mask[row, : len(pose)] = pose, 1
            tokens = self.generate(padded.to(device), mask.to(device), num_beams=num_beams)
            texts += tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return [text.strip() for text in texts]
