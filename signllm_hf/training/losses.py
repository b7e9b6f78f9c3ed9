"""SignLLM's training losses, per clip so that PLC can read them.

The RL loss (the paper's Eq. 3), per clip i with valid length T_i::

    r_i,t = -e_i,t                         per-frame reward: minus the frame's (channel-weighted) squared error
    G_i   = sum_t gamma^t r_i,t / T_i      the return, normalised by the clip's length
    loss  = -sum_i w_i T_i G_i / sum_i T_i the frame-weighted mean of importance-weighted returns

With gamma = 1 and w = 1 it is exactly the masked MSE; what it adds is a reward per clip, which feeds PLC
(``signllm_hf.training.plc``). The MSE and L1 modes weight their per-clip losses by the same importance weights w_i
when PLC corrects for its sampling. Future-prediction errors are added in every mode.

Example:
    >>> from signllm_hf.training.losses import rl_loss
    >>> import torch
    >>> errors = torch.tensor([[0.2, 0.4, 0.0], [0.1, 0.1, 0.1]]); mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    >>> round(float(rl_loss(errors, mask, discount=1.0)), 4), round(float(errors.sum() / mask.sum()), 4)
    (0.18, 0.18)
"""

from __future__ import annotations

import torch


def returns(frame_errors: torch.Tensor, frame_mask: torch.Tensor, discount: float) -> torch.Tensor:
    """Per-clip returns G_i = sum_t gamma^t r_i,t / T_i with r = -error: ``(B, T), (B, T) -> (B,)``."""
    mask = frame_mask.to(frame_errors.dtype)
    steps = torch.arange(frame_errors.shape[1], device=frame_errors.device, dtype=frame_errors.dtype)
    discounts = discount**steps
    return -(frame_errors * mask * discounts).sum(dim=1) / mask.sum(dim=1).clamp_min(1)


def rl_loss(frame_errors, frame_mask, discount: float = 1.0, weights: torch.Tensor | None = None) -> torch.Tensor:
    """-sum_i w_i T_i G_i / sum_i T_i (equal to the masked MSE when gamma = 1 and w = 1)."""
    lengths = frame_mask.to(frame_errors.dtype).sum(dim=1)
    weights = torch.ones_like(lengths) if weights is None else weights.to(lengths.dtype)
    return -(weights * lengths * returns(frame_errors, frame_mask, discount)).sum() / lengths.sum().clamp_min(1)


def weighted_mean_loss(frame_errors, frame_mask, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Frame-weighted mean of per-clip mean errors, each clip weighted by w_i (the masked mean when w = 1)."""
    return rl_loss(frame_errors, frame_mask, 1.0, weights)
