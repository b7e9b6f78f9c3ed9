"""How good is a pose tokenizer? Reconstruction error, DTW-MJE, codebook use, and whether letters stay legible.

A tokenizer that makes letters illegible is useless to a signer built on its tokens, however small its average
error: :func:`pose_tokenizer_report` encodes and decodes reference clips and reports

- ``joint_error``: mean Euclidean joint error of the reconstruction, in the data's units, and
  ``joint_error_shoulder_widths``: the same per frame divided by the clip's mean shoulder width;
- ``hand_shape_error``: the mean error of both hands' joints relative to their wrist (the hand's shape), data units;
- ``dtw_mje``: DTW mean joint error (``signllm_hf.metrics``), for comparison with generated signing;
- ``codebook_usage`` (the fraction of each codebook's codes used on these clips, averaged) and ``perplexity``
  (exp(entropy) of the codes, averaged over codebooks);
- with a ``letter_reader`` (the fingerspelling judge): its CER on the reconstructions and, for calibration, on the
  references themselves (goal: reconstructions <= 0.05).

Example:
    >>> import numpy as np, torch
    >>> from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig
    >>> from signllm_hf.evaluation.pose_tokenizer import pose_tokenizer_report, reconstruct
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = SignLLMPoseVQ(SignLLMPoseVQConfig(hidden_size=16, code_dim=4, codebook_size=8, res_blocks=1))
    >>> rows = [{"pose": np.random.default_rng(i).normal(size=(9 + i, 50, 3)).astype("float32")} for i in range(3)]
    >>> [r.shape for r in reconstruct(model, [row["pose"] for row in rows])]
    [(9, 50, 3), (10, 50, 3), (11, 50, 3)]
    >>> report = pose_tokenizer_report(model, rows)
    >>> sorted(report)  # doctest: +NORMALIZE_WHITESPACE
    ['clips', 'codebook_usage', 'dtw_mje', 'frames', 'hand_shape_error', 'joint_error', 'joint_error_shoulder_widths',
     'perplexity', 'tokens_per_second']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.collator import pad_poses
from ..data.skeleton import HANDS_BY_SIDE, shoulder_width
from ..metrics.dtw import dtw_mje
from ..modeling_signllm_pose_vq import SignLLMPoseVQ
from .judges import SignLLMLetterReader
from .legibility import letter_error_rates


@torch.no_grad()
def reconstruct(tokenizer: SignLLMPoseVQ, clips: list, batch_size: int = 32) -> list[np.ndarray]:
    """Each clip (``(T, 50, 3)`` or ``(T, 150)``) encoded and decoded, ``(T, 50, 3)`` float32 in the data's units."""
    results = []
    for start in range(0, len(clips), batch_size):
        padded, mask = pad_poses(clips[start : start + batch_size])
        lengths = mask.sum(dim=1)
        decoded = tokenizer.decode(*tokenizer.encode(padded, mask)).cpu()  # (B, T' * d, P)
        results += [
            decoded[row, :length].reshape(length, -1, 3).numpy() for row, length in enumerate(lengths.tolist())
        ]
    return results


def _codebook_use(tokenizer: SignLLMPoseVQ, clips: list, batch_size: int) -> tuple[float, float, int]:
    """(usage, perplexity) of the codes of ``clips``, per codebook averaged, and the tokens a language model reads or
    writes for them (one per codebook per step: ``codebooks="parts"`` writes three per step)."""
    config = tokenizer.config
    counts = torch.zeros(config.num_codebooks, config.codebook_size)
    for flat in tokenizer.encode_clips(clips, batch_size=batch_size):
        ids = (
            torch.tensor(flat).reshape(-1, config.num_codebooks)
            - torch.arange(config.num_codebooks) * config.codebook_size
        )
        for codebook in range(config.num_codebooks):
            counts[codebook] += torch.bincount(ids[:, codebook], minlength=config.codebook_size).float()
    probabilities = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
    entropy = -(probabilities * probabilities.clamp_min(1e-12).log()).sum(dim=1)
    usage = (counts > 0).float().mean(dim=1)
    return float(usage.mean()), float(entropy.exp().mean()), int(counts.sum())


def _hand_shape_error(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    errors = []
    for hand, wrist in HANDS_BY_SIDE.values():
        wanted = reference[:, hand] - reference[:, wrist : wrist + 1]
        got = reconstruction[:, hand] - reconstruction[:, wrist : wrist + 1]
        errors.append(np.linalg.norm(wanted - got, axis=-1).mean())
    return float(np.mean(errors))


def pose_tokenizer_report(
    tokenizer: SignLLMPoseVQ,
    rows: list[dict],
    letter_reader: str | Path | SignLLMLetterReader | None = None,
    batch_size: int = 32,
) -> dict:
    """The scores of the module docstring for ``rows`` (dicts with ``pose``; with a ``letter_reader``, a reader
    folder or model, also ``language`` and ``gloss``, the units each clip spells)."""
    if not rows:
        raise ValueError("no clips to score the pose tokenizer on")
    tokenizer = tokenizer.eval()
    references = [np.asarray(row["pose"], np.float32).reshape(len(row["pose"]), -1, 3) for row in rows]
    reconstructions = reconstruct(tokenizer, references, batch_size)
    frame_errors = [np.linalg.norm(r - h, axis=-1).mean(axis=-1) for r, h in zip(references, reconstructions)]
    widths = [np.maximum(shoulder_width(r), 1e-6) for r in references]  # (T,) each
    usage, perplexity, tokens = _codebook_use(tokenizer, references, batch_size)
    frames = sum(len(r) for r in references)
    result = {
        "clips": len(rows),
        "frames": frames,
        "joint_error": float(np.concatenate(frame_errors).mean()),
        "joint_error_shoulder_widths": float(
            np.concatenate([e / w.mean() for e, w in zip(frame_errors, widths)]).mean()
        ),
        "hand_shape_error": float(np.mean([_hand_shape_error(r, h) for r, h in zip(references, reconstructions)])),
        "dtw_mje": float(np.mean([dtw_mje(r, h) for r, h in zip(references, reconstructions)])),
        "codebook_usage": usage,
        "perplexity": perplexity,
        "tokens_per_second": tokens / frames * tokenizer.config.fps,
    }
    if letter_reader is not None:
        reader = letter_reader
        if not isinstance(reader, SignLLMLetterReader):
            reader = SignLLMLetterReader.from_pretrained(str(letter_reader))
        reader = reader.eval()
        if abs(reader.config.fps - tokenizer.config.fps) > 1e-6:
            raise ValueError(
                f"the letter reader reads poses at {reader.config.fps:g} fps but the tokenizer was trained at "
                f"{tokenizer.config.fps:g}: use a reader of the tokenizer's frame rate"
            )
        unread = sorted({row["language"] for row in rows} - set(reader.config.languages))
        if unread:
            raise ValueError(f"the letter reader reads {reader.config.languages}, not {unread}")
        result["legibility"] = letter_error_rates(reader, reconstructions, rows)
        result["legibility_of_references"] = letter_error_rates(reader, references, rows)
    return result


def format_pose_tokenizer_report(result: dict) -> str:
    """The report as a Markdown table."""
    lines = ["| metric | value |", "|---|---|"]
    for name in ("clips", "frames", "tokens_per_second"):
        value = result[name]
        lines.append(f"| {name} | {value if isinstance(value, int) else f'{value:.2f}'} |")
    for name in ("joint_error", "joint_error_shoulder_widths", "hand_shape_error", "dtw_mje", "codebook_usage"):
        lines.append(f"| {name} | {result[name]:.4f} |")
    lines.append(f"| perplexity | {result['perplexity']:.1f} |")
    if "legibility" in result:
        read, references = result["legibility"], result["legibility_of_references"]
        lines.append(f"| letter CER, reconstructions (goal <= 0.05) | {read['cer']:.3f} |")
        lines.append(f"| letter CER, references (the reader's floor) | {references['cer']:.3f} |")
        for code, scores in read["per_language"].items():
            floor = references["per_language"][code]["cer"]
            lines.append(
                f"| letter CER ({code}, {scores['clips']} clips): reconstructions / references | "
                f"{scores['cer']:.3f} / {floor:.3f} |"
            )
    return "\n".join(lines)


__all__ = ["format_pose_tokenizer_report", "pose_tokenizer_report", "reconstruct"]
