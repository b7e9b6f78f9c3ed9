"""Continuous pose features for a language model with pose tokens: an MLP projector from frames into the LM's input
embeddings, the "direct alignment and fusion" combination of arXiv 2511.08535 (pose -> text without a pose
tokenizer): ``inputs_embeds`` = the language tag's and ``<pose_start>``'s embeddings, the projected frames, then
``<pose_end>``'s. The pose vocabulary itself is :mod:`signllm_hf.modeling_signllm_pose_lm`'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from .modeling_signllm_pose_lm import (
    PROJECTOR_DIR,
    PoseVocabulary,
    _eos,
    _generate_text,
    _source,
    _text_ids,
    pad_batch,
)


class PoseFeatureProjector(nn.Module):
    """An MLP from pose frames to LM input embeddings: ``frames_per_step`` frames (normalised by the data's
    ``mean`` / ``std``) are stacked into one vector and mapped to one embedding (``(B, T, 150) -> (B, ceil(T /
    frames_per_step), hidden)``).

    >>> projector = PoseFeatureProjector(lm_hidden_size=16, frames_per_step=4, hidden_size=32)
    >>> embeds, mask = projector(torch.zeros(2, 10, 150), torch.tensor([[True] * 10, [True] * 5 + [False] * 5]))
    >>> tuple(embeds.shape), mask.tolist()
    ((2, 3, 16), [[True, True, True], [True, True, False]])
    """

    def __init__(self, lm_hidden_size: int, pose_dim: int = 150, frames_per_step: int = 4, hidden_size: int = 512):
        super().__init__()
        self.settings = {
            "lm_hidden_size": lm_hidden_size,
            "pose_dim": pose_dim,
            "frames_per_step": frames_per_step,
            "hidden_size": hidden_size,
        }
        self.frames_per_step = frames_per_step
        self.register_buffer("mean", torch.zeros(pose_dim))
        self.register_buffer("std", torch.ones(pose_dim))
        self.mlp = nn.Sequential(
            nn.Linear(pose_dim * frames_per_step, hidden_size), nn.GELU(), nn.Linear(hidden_size, lm_hidden_size)
        )

    def set_statistics(self, mean, std) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(-1))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32).reshape(-1).clamp_min(1e-3))

    def forward(self, poses: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames = poses.shape[:2]
        steps = math.ceil(frames / self.frames_per_step)
        pad = steps * self.frames_per_step - frames
        x = (poses.reshape(batch, frames, -1) - self.mean) / self.std * frame_mask[..., None]  # (B, T, 150)
        x = nn.functional.pad(x, (0, 0, 0, pad)).reshape(batch, steps, -1)  # (B, N, 150 * frames_per_step)
        mask = nn.functional.pad(frame_mask.bool(), (0, pad)).reshape(batch, steps, -1).any(dim=-1)  # (B, N)
        return self.mlp(x.to(self.mlp[0].weight.dtype)), mask

    def save_pretrained(self, folder) -> None:
        from safetensors.torch import save_file  # noqa: PLC0415

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.settings, indent=2) + "\n", encoding="utf-8")
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(folder / "model.safetensors"))

    @classmethod
    def from_pretrained(cls, folder) -> PoseFeatureProjector:
        from safetensors.torch import load_file  # noqa: PLC0415

        folder = Path(folder)
        projector = cls(**json.loads((folder / "config.json").read_text(encoding="utf-8")))
        projector.load_state_dict(load_file(str(folder / "model.safetensors")))
        return projector.eval()


def fuse_pose_features(
    model,
    tokenizer,
    projector: PoseFeatureProjector,
    poses: torch.Tensor,
    frame_mask: torch.Tensor,
    languages: list[str],
    texts: list[str] | None = None,
) -> dict[str, torch.Tensor]:
    """``inputs_embeds`` (and ``attention_mask``; ``labels`` with ``texts``) of pose -> text from continuous
    features: ``<tag> <pose_start>`` embeddings, the projected frames, ``<pose_end>`` (seq2seq: then eos).
    Decoder-only rows hold the source, then the text when given (labels -100 on the source); without texts
    (generation) they are padded on the left."""
    vocab = PoseVocabulary.from_config(model.config)
    encoder_decoder = bool(model.config.is_encoder_decoder)
    embed = model.get_input_embeddings()
    device = embed.weight.device
    projected, step_mask = projector(poses.to(device), frame_mask.to(device))  # (B, N, H), (B, N)
    rows, labels = [], []
    for row, language in enumerate(languages):
        head = [vocab.language_id(language), vocab.start_id]
        head = head if encoder_decoder else _source(tokenizer, head, False)  # bos first, as task_example
        tail = [vocab.end_id] + (_eos(tokenizer) if encoder_decoder else [])
        target = [] if encoder_decoder or texts is None else _text_ids(tokenizer, texts[row]) + _eos(tokenizer)
        parts = [
            embed(torch.tensor(head, device=device)),
            projected[row, step_mask[row]],
            embed(torch.tensor(tail + target, device=device, dtype=torch.long)),
        ]
        rows.append(torch.cat(parts))
        source_length = len(rows[-1]) - len(target)
        labels.append([-100] * source_length + target)
    longest = max(len(r) for r in rows)
    left = not encoder_decoder and texts is None
    embeds = torch.zeros(len(rows), longest, rows[0].shape[-1], device=device, dtype=rows[0].dtype)
    mask = torch.zeros(len(rows), longest, dtype=torch.long, device=device)
    for row, values in enumerate(rows):
        span = slice(longest - len(values), longest) if left else slice(0, len(values))
        embeds[row, span], mask[row, span] = values, 1
    result = {"inputs_embeds": embeds, "attention_mask": mask}
    if texts is not None:
        if encoder_decoder:
            label_ids = [_text_ids(tokenizer, text) + _eos(tokenizer) for text in texts]
            result["labels"] = pad_batch(label_ids, -100)[0].to(device)
        else:
            result["labels"] = pad_batch(labels, -100)[0].to(device)
    return result


@torch.no_grad()
def generate_text_from_features(
    model,
    tokenizer,
    projector: PoseFeatureProjector,
    poses: torch.Tensor,
    frame_mask: torch.Tensor,
    languages: list[str],
    max_new_tokens: int = 64,
    num_beams: int = 1,
) -> list[str]:
    """Continuous poses ``(B, T, 150)`` -> text, through the projector into ``inputs_embeds``."""
    inputs = fuse_pose_features(model, tokenizer, projector, poses, frame_mask, languages)
    vocab = PoseVocabulary.from_config(model.config)
    return _generate_text(model, tokenizer, vocab, inputs, max_new_tokens, num_beams)


def load_projector(folder) -> PoseFeatureProjector | None:
    """The projector of a pose LM folder, or None when it has none."""
    path = Path(folder) / PROJECTOR_DIR
    return PoseFeatureProjector.from_pretrained(path) if (path / "config.json").is_file() else None


__all__ = ["PoseFeatureProjector", "fuse_pose_features", "generate_text_from_features", "load_projector"]
