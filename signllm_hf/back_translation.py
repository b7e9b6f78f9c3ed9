"""Back-translation: a pose -> text model, the judge of the paper's main metric.

[`SignLLMBackTranslator`] projects each normalised pose frame into the input embeddings of a BART encoder-decoder
built from a config (no download): the encoder reads frames, the decoder writes text, and transformers' own
``generate`` decodes (beam search included). It is trained with the same tooling (the Trainer, our collator) on the
same corpus as the pose generator; generated poses are then translated back and scored against the input text
(``signllm_hf.metrics.text_scores``).

Example:
    >>> import torch
    >>> from signllm_hf.back_translation import SignLLMBackTranslator, SignLLMBackTranslatorConfig
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

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import BartConfig, BartForConditionalGeneration, PreTrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

POSE_DIM = 150


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
    pose_dim: int = POSE_DIM
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


@dataclass
class BackTranslationCollator:
    """Rows with ``pose`` (T, 50, 3) and ``text`` -> ``poses`` (B, T, 150), ``frame_mask``, ``labels`` (-100 pad)."""

    tokenizer: object
    max_text_length: int = 64

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        poses = [torch.as_tensor(row["pose"], dtype=torch.float32).reshape(len(row["pose"]), -1) for row in rows]
        longest = max(len(p) for p in poses)
        batch = torch.zeros(len(rows), longest, poses[0].shape[1])
        mask = torch.zeros(len(rows), longest)
        for index, pose in enumerate(poses):
            batch[index, : len(pose)], mask[index, : len(pose)] = pose, 1
        encoded = self.tokenizer([row["text"] for row in rows], padding=True, truncation=True,
                                 max_length=self.max_text_length, return_tensors="pt")  # fmt: skip
        labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        return {"poses": batch, "frame_mask": mask, "labels": labels}


def train_back_translator(
    dataset: str,
    output_dir: str,
    *,
    languages: list[str] | None = None,
    max_steps: int = 3000,
    seconds: float | None = None,
    batch_size: int = 16,
    learning_rate: float = 5e-4,
    d_model: int = 256,
    layers: int = 3,
    vocab_size: int = 4000,
    max_frames: int = 400,
    eval_split: str | None = "dev",
    max_eval_clips: int = 64,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train a back-translator on a corpus folder's train split and save it (with its tokenizer) in ``output_dir``.

    Returns its scores on the reference poses of ``eval_split`` (the ceiling of back-translation there).
    """
    from transformers import Trainer, TrainingArguments  # noqa: PLC0415

    from .data.dataset import compute_pose_stats, frame_counts, load_pose_dataset  # noqa: PLC0415
    from .data.languages import canonical_language  # noqa: PLC0415
    from .metrics.text_scores import text_scores  # noqa: PLC0415
    from .tokenization_signllm import train_text_tokenizer  # noqa: PLC0415
    from .training import StopAfter  # noqa: PLC0415

    splits = load_pose_dataset(dataset)
    wanted = {canonical_language(code) for code in languages} if languages else None

    def prepared(split):
        data = splits[split]
        keep = [i for i, (code, n) in enumerate(zip(data["language"], frame_counts(data)))
                if (wanted is None or code in wanted) and n <= max_frames]  # fmt: skip
        return data.select(keep)

    train = prepared("train")
    if len(train) == 0:
        raise ValueError(f"{dataset}: no training clip for the chosen languages")
    tokenizer = train_text_tokenizer(train["text"], vocab_size=vocab_size)
    stats = compute_pose_stats(train)
    config = SignLLMBackTranslatorConfig(vocab_size=len(tokenizer), d_model=d_model, encoder_layers=layers,
                                         decoder_layers=layers, ffn_dim=4 * d_model, max_frames=max_frames,
                                         pose_mean=stats["mean"], pose_std=stats["std"])  # fmt: skip
    torch.manual_seed(seed)
    model = SignLLMBackTranslator(config)
    args = TrainingArguments(output_dir=output_dir, max_steps=max_steps, per_device_train_batch_size=batch_size,
                             learning_rate=learning_rate, warmup_steps=min(100, max(1, max_steps // 20)),
                             lr_scheduler_type="constant_with_warmup",
                             logging_steps=max(max_steps // 20, 1), save_strategy="no", report_to=[],
                             remove_unused_columns=False, disable_tqdm=not progress or seconds is not None, seed=seed,
                             use_cpu=not torch.cuda.is_available())  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=BackTranslationCollator(tokenizer),
                      callbacks=[StopAfter(seconds, progress=progress)])  # fmt: skip
    trainer.train()
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)
    metrics = {"steps": trainer.state.global_step}
    if eval_split and eval_split in splits:
        evaluation = prepared(eval_split)
        evaluation = evaluation.select(range(min(max_eval_clips, len(evaluation))))
        translations = model.eval().translate(list(evaluation["pose"]), tokenizer)
        metrics |= {f"{eval_split}_{k}": v for k, v in text_scores(translations, list(evaluation["text"])).items()}
    (Path(output_dir) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
