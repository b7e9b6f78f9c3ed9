"""The pose tokenizer: a temporal-convolution VQ-VAE that turns pose frames into discrete ids and ids back into frames.

The discrete path (MotionGPT, SOKE, arXiv 2511.08535) lets any language model read and write signing as tokens. A
1D-convolution encoder halves the frame rate ``log2(downsample)`` times (residual blocks with dilations 1, 3, 9 in
between, as T2M-GPT's), a quantiser from ``vector-quantize-pytorch`` snaps every latent vector to a code (VQ with
EMA codebook updates and dead-code reset, or FSQ), and a mirrored decoder (nearest-neighbour upsampling + residual
blocks) writes the frames back. With ``codebooks="parts"`` the body and each hand have their own encoder and codebook
(as SOKE), and the decoder reads the three codes of a step together.

Shapes: B batch, T frames, P = pose_dim (150), d = downsample, T' = ceil(T / d) tokens per clip, C = num_codebooks.

Ids: :meth:`SignLLMPoseVQ.encode` gives ``(B, T')`` ids in ``[0, codebook_size)`` with one codebook and ``(B, T', 3)``
(body, left hand, right hand) with parts. Language models want one flat sequence of ints: :meth:`encode_flat` gives
``(B, T' * C)``, the C codes of each step in turn, codebook c's ids shifted by ``c * codebook_size``, so every id is in
``[0, config.pose_vocab_size)``; :meth:`decode_flat` reads them back. A clip of T frames is ``ceil(T / d)`` steps; its
last, partial window is padded with its last frame, so decoding gives ``T' * d`` frames: cut them to T.

Padding: a batch's frame mask must mark a prefix of each row. Every layer zeroes the hidden states past a clip's last
token window, as the convolutions' own zero padding does at a sequence's end: a clip encodes and decodes the same
alone or in a batch of any length.

Example:
    >>> import torch
    >>> from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig
    >>> config = SignLLMPoseVQConfig(hidden_size=32, code_dim=8, codebook_size=16, res_blocks=1)
    >>> model = SignLLMPoseVQ(config).eval()
    >>> poses = torch.randn(2, 30, 150)
    >>> ids, token_mask = model.encode(poses)
    >>> ids.shape, token_mask.shape, bool(ids.max() < 16)  # ceil(30 / 4) = 8 tokens
    (torch.Size([2, 8]), torch.Size([2, 8]), True)
    >>> model.decode(ids, token_mask).shape  # 8 tokens x 4 frames; cut to the clip's 30
    torch.Size([2, 32, 150])
    >>> out = model(poses)
    >>> out.reconstruction.shape, sorted(k for k in out.keys() if k.endswith("_loss"))
    (torch.Size([2, 30, 150]), ['commitment_loss', 'reconstruction_loss', 'velocity_loss'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_signllm_pose_vq import SignLLMPoseVQConfig

try:
    from vector_quantize_pytorch import FSQ, VectorQuantize
except ImportError as error:  # pragma: no cover - a core dependency; a clear message if it is missing
    raise ImportError("the pose tokenizer needs `pip install vector-quantize-pytorch`") from error

try:
    from signllm_hf.data.skeleton import LEFT_HAND, LEFT_HAND_ROOT, RIGHT_HAND, RIGHT_HAND_ROOT
except ImportError:  # pragma: no cover - the Hub route (trust_remote_code) without the package
    LEFT_HAND, RIGHT_HAND, LEFT_HAND_ROOT, RIGHT_HAND_ROOT = slice(8, 29), slice(29, 50), 7, 4

# Channels of each part (codebooks="parts"): body joints 0-7, left hand 8-28, right hand 29-49 (x, y, z each).
PART_NAMES = ("body", "left_hand", "right_hand")
PART_CHANNELS = (
    slice(0, 3 * LEFT_HAND.start),
    slice(3 * LEFT_HAND.start, 3 * LEFT_HAND.stop),
    slice(3 * RIGHT_HAND.start, 3 * RIGHT_HAND.stop),
)


@dataclass
class SignLLMPoseVQOutput(ModelOutput):
    """Output of [`SignLLMPoseVQ.forward`].

    Args:
        loss (`torch.FloatTensor` of shape `()`): ``reconstruction_loss + velocity_loss_weight * velocity_loss +
            commitment_weight * commitment_loss``.
        reconstruction_loss (`torch.FloatTensor` of shape `()`): the config's ``reconstruction_loss`` on the
            normalised features of real frames.
        velocity_loss (`torch.FloatTensor` of shape `()`): the same on frame-to-frame differences.
        commitment_loss (`torch.FloatTensor` of shape `()`): distance of the encoder's latents to their codes
            (VQ; 0 with FSQ), averaged over codebooks.
        reconstruction (`torch.FloatTensor` of shape `(B, T, P)`): the decoded poses in the data's coordinates.
        ids (`torch.LongTensor` of shape `(B, T')`, or `(B, T', 3)` with parts): the codes of each step.
        token_mask (`torch.BoolTensor` of shape `(B, T')`): the steps inside each clip.
        perplexity (`torch.FloatTensor` of shape `()`): exp(entropy) of the codes used in the batch, averaged over
            codebooks: how many codes the batch effectively uses.
    """

    loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    velocity_loss: torch.FloatTensor | None = None
    commitment_loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    ids: torch.LongTensor | None = None
    token_mask: torch.BoolTensor | None = None
    perplexity: torch.FloatTensor | None = None


def pose_features(poses: torch.Tensor, hand_relative: bool) -> torch.Tensor:
    """Data coordinates ``(..., 150)`` -> the model's features: with ``hand_relative``, each hand's joints relative
    to its body wrist (the hand's shape), everything else unchanged."""
    if not hand_relative:
        return poses
    joints = poses.unflatten(-1, (-1, 3)).clone()  # (..., 50, 3)
    joints[..., LEFT_HAND, :] -= joints[..., LEFT_HAND_ROOT : LEFT_HAND_ROOT + 1, :]
    joints[..., RIGHT_HAND, :] -= joints[..., RIGHT_HAND_ROOT : RIGHT_HAND_ROOT + 1, :]
    return joints.flatten(-2)


def features_to_poses(features: torch.Tensor, hand_relative: bool) -> torch.Tensor:
    """The inverse of :func:`pose_features`."""
    if not hand_relative:
        return features
    joints = features.unflatten(-1, (-1, 3)).clone()
    joints[..., LEFT_HAND, :] += joints[..., LEFT_HAND_ROOT : LEFT_HAND_ROOT + 1, :]
    joints[..., RIGHT_HAND, :] += joints[..., RIGHT_HAND_ROOT : RIGHT_HAND_ROOT + 1, :]
    return joints.flatten(-2)


def perplexity(ids: torch.Tensor, mask: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp(entropy) of the codes of ``ids`` ``(B, T')`` where ``mask`` is set: 1 for one code, ``codebook_size`` for
    all used equally."""
    counts = torch.bincount(ids[mask].flatten(), minlength=codebook_size).float()
    probabilities = counts / counts.sum().clamp_min(1)
    return torch.exp(-(probabilities * torch.log(probabilities.clamp_min(1e-10))).sum())


class SignLLMPoseVQResBlock(nn.Module):
    """Pre-activation residual block: ReLU, dilated convolution, ReLU, 1x1 convolution, added to the input."""

    def __init__(self, width: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2))
        self.project = nn.Conv1d(width, width, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, D, T), (B, 1, T)
        update = self.project(F.relu(self.conv(F.relu(hidden) * mask)))
        return (hidden + self.dropout(update)) * mask


class SignLLMPoseVQResStack(nn.Module):
    def __init__(self, config: SignLLMPoseVQConfig):
        super().__init__()
        width, kernel = config.hidden_size, config.kernel_size
        self.blocks = nn.ModuleList(
            SignLLMPoseVQResBlock(width, kernel, 3**depth, config.dropout) for depth in range(config.res_blocks)
        )

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            hidden = block(hidden, mask)
        return hidden


class SignLLMPoseVQEncoder(nn.Module):
    """``(B, T, in)`` normalised features -> ``(B, T / d, code_dim)`` latents: a convolution, then per stage a
    stride-2 convolution and residual blocks, then a convolution to the code size."""

    def __init__(self, config: SignLLMPoseVQConfig, in_channels: int):
        super().__init__()
        width = config.hidden_size
        self.conv_in = nn.Conv1d(in_channels, width, 3, padding=1)
        self.downs = nn.ModuleList(nn.Conv1d(width, width, 4, stride=2, padding=1) for _ in range(config.stages))
        self.stacks = nn.ModuleList(SignLLMPoseVQResStack(config) for _ in range(max(config.stages, 1)))
        self.conv_out = nn.Conv1d(width, config.code_dim, 3, padding=1)

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        mask = frame_mask[:, None, :].to(features.dtype)  # (B, 1, T)
        hidden = F.relu(self.conv_in(features.transpose(1, 2) * mask)) * mask  # (B, D, T)
        for index, stack in enumerate(self.stacks):
            if index < len(self.downs):  # halve the frames, and so the mask
                mask = mask[..., ::2]
                hidden = self.downs[index](hidden) * mask
            hidden = stack(hidden, mask)
        return (self.conv_out(hidden) * mask).transpose(1, 2)  # (B, T', code_dim)


class SignLLMPoseVQDecoder(nn.Module):
    """``(B, T', in)`` quantised latents -> ``(B, T' * d, out)`` normalised features: the encoder mirrored, with
    nearest-neighbour upsampling and a convolution per stage."""

    def __init__(self, config: SignLLMPoseVQConfig, in_channels: int, out_channels: int):
        super().__init__()
        width = config.hidden_size
        self.conv_in = nn.Conv1d(in_channels, width, 3, padding=1)
        self.stacks = nn.ModuleList(SignLLMPoseVQResStack(config) for _ in range(max(config.stages, 1)))
        self.ups = nn.ModuleList(nn.Conv1d(width, width, 3, padding=1) for _ in range(config.stages))
        self.conv_mid = nn.Conv1d(width, width, 3, padding=1)
        self.conv_out = nn.Conv1d(width, out_channels, 3, padding=1)

    def forward(self, latents: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        mask = token_mask[:, None, :].to(latents.dtype)  # (B, 1, T')
        hidden = F.relu(self.conv_in(latents.transpose(1, 2) * mask)) * mask  # (B, D, T')
        for index, stack in enumerate(self.stacks):
            hidden = stack(hidden, mask)
            if index < len(self.ups):  # double the frames, and so the mask
                mask = mask.repeat_interleave(2, dim=-1)
                hidden = self.ups[index](F.interpolate(hidden, scale_factor=2.0, mode="nearest")) * mask
        hidden = F.relu(self.conv_mid(hidden)) * mask
        return self.conv_out(hidden).transpose(1, 2)  # (B, T, out)


def build_quantizer(config: SignLLMPoseVQConfig) -> nn.Module:
    if config.quantizer == "fsq":
        # FSQ computes its size with .item() while it is built, which the meta device of from_pretrained refuses:
        # it is built on the CPU (its projections' weights are then loaded; its derived buffers are not saved).
        with torch.device("cpu"):
            return FSQ(levels=list(config.fsq_levels), dim=config.code_dim)
    return VectorQuantize(
        dim=config.code_dim,
        codebook_size=config.codebook_size,
        decay=config.vq_decay,
        kmeans_init=config.kmeans_init,
        threshold_ema_dead_code=config.threshold_ema_dead_code,
        commitment_weight=1.0,  # weighted in our loss, so that the output reports the raw distance
    )


class SignLLMPoseVQPreTrainedModel(PreTrainedModel):
    config: SignLLMPoseVQConfig
    config_class = SignLLMPoseVQConfig
    base_model_prefix = "pose_vq"
    main_input_name = "poses"
    accepts_loss_kwargs = False  # forward returns a per-batch mean; Trainer must scale it for accumulation

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, nn.Conv1d):
            # PyTorch's own (Kaiming-uniform) initialisation: the encoder and decoder have no normalisation layers,
            # and the library's normal(0, 0.02) would shrink the signal about 2.5x at each of their plain convolutions.
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            bound = 1 / math.sqrt(module.in_channels * module.kernel_size[0])
            init.uniform_(module.bias, -bound, bound)
            return
        super()._init_weights(module)
        if isinstance(module, FSQ):  # derived buffers (not saved): rebuilt, as from_pretrained made them on meta
            levels = torch.tensor(self.config.fsq_levels, dtype=torch.int32)
            module._levels.copy_(levels)
            module._basis.copy_(torch.cumprod(torch.cat([levels.new_ones(1), levels[:-1]]), dim=0, dtype=torch.int32))
            module.implicit_codebook.copy_(module._indices_to_codes(torch.arange(module.codebook_size)))
        elif isinstance(module, VectorQuantize):
            module.zero.zero_()
        elif isinstance(module, SignLLMPoseVQ):  # statistics live in the config (see SignLLM's model)
            config = module.config
            mean = torch.zeros(config.pose_dim) if config.pose_mean is None else torch.tensor(config.pose_mean)
            std = torch.ones(config.pose_dim) if config.pose_std is None else torch.tensor(config.pose_std)
            module.pose_mean.copy_(mean)
            module.pose_std.copy_(std.clamp_min(1e-6))


class SignLLMPoseVQ(SignLLMPoseVQPreTrainedModel):
    """Pose frames <-> discrete ids (see the module docstring for shapes and the id layout).

    Poses go in and come out in the data's coordinates; the model normalises them with the config's ``pose_mean`` /
    ``pose_std`` (buffers filled from the config) and works on features in which the hands are relative to their
    wrists (``hand_relative``).
    """

    def __init__(self, config: SignLLMPoseVQConfig):
        super().__init__(config)
        parts = [slice(0, config.pose_dim)] if config.codebooks == "joint" else list(PART_CHANNELS)
        self.parts = parts
        self.encoders = nn.ModuleList(SignLLMPoseVQEncoder(config, p.stop - p.start) for p in parts)
        self.quantizers = nn.ModuleList(build_quantizer(config) for _ in parts)
        self.decoder = SignLLMPoseVQDecoder(config, config.code_dim * len(parts), config.pose_dim)
        self.register_buffer("pose_mean", torch.zeros(config.pose_dim), persistent=False)
        self.register_buffer("pose_std", torch.ones(config.pose_dim), persistent=False)
        self.post_init()

    # -- normalisation -----------------------------------------------------------------------------------------

    def normalize(self, poses: torch.Tensor) -> torch.Tensor:
        """Data coordinates ``(..., P)`` -> normalised features (float32)."""
        return (pose_features(poses.float(), self.config.hand_relative) - self.pose_mean) / self.pose_std

    def denormalize(self, features: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(..., P)`` -> data coordinates (float32)."""
        return features_to_poses(features.float() * self.pose_std + self.pose_mean, self.config.hand_relative)

    # -- inputs ------------------------------------------------------------------------------------------------

    def _prepare(self, poses: torch.Tensor, frame_mask: torch.Tensor | None):
        """Checked inputs -> (features (B, T' * d, P) with each clip's last window filled with its last frame,
        lengths (B,), token_mask (B, T'))."""
        if poses.ndim == 4 and poses.shape[-2:] == (self.config.pose_dim // 3, 3):  # (B, T, 50, 3)
            poses = poses.flatten(2)
        if poses.ndim != 3 or poses.shape[-1] != self.config.pose_dim:
            raise ValueError(
                f"`poses` must be (batch, frames, {self.config.pose_dim}) (or (batch, frames, "
                f"{self.config.pose_dim // 3}, 3)) in the data's coordinates, got {tuple(poses.shape)}"
            )
        batch, frames = poses.shape[:2]
        device = poses.device
        if frame_mask is None:
            frame_mask = torch.ones(batch, frames, dtype=torch.bool, device=device)
        if frame_mask.shape != (batch, frames):
            raise ValueError(
                f"`frame_mask` must be (batch, frames) = {(batch, frames)}, got {tuple(frame_mask.shape)}"
            )
        frame_mask = frame_mask.bool()
        lengths = frame_mask.sum(dim=1)  # (B,)
        positions = torch.arange(frames, device=device)
        if not torch.equal(frame_mask, positions[None] < lengths[:, None]):
            raise ValueError("`frame_mask` must mark a prefix of each row (real frames first, then padding)")
        shortest = int(lengths.min()) if batch else 0
        if shortest < self.config.downsample:
            raise ValueError(
                f"a clip of {shortest} frame(s) is too short: the pose tokenizer needs at least downsample="
                f"{self.config.downsample} frames (one token) per clip"
            )
        if not torch.isfinite(poses[frame_mask]).all():
            raise ValueError("`poses` contains NaN/inf in real frames")
        steps = -(-frames // self.config.downsample)
        padded = torch.arange(steps * self.config.downsample, device=device)
        # Each clip's frames, its last one repeated to the end (only its last partial window keeps them, see the mask)
        source = torch.minimum(padded[None], (lengths - 1)[:, None])  # (B, T' * d)
        filled = poses.gather(1, source[..., None].expand(-1, -1, poses.shape[-1]))
        token_mask = torch.arange(steps, device=device)[None] * self.config.downsample < lengths[:, None]
        return self.normalize(filled), lengths, token_mask

    def _check_ids(self, ids: torch.Tensor, token_mask: torch.Tensor | None):
        codebooks = self.config.num_codebooks
        expected = 2 if codebooks == 1 else 3
        if ids.ndim != expected or (codebooks > 1 and ids.shape[-1] != codebooks):
            shape = "(batch, steps)" if codebooks == 1 else f"(batch, steps, {codebooks})"
            raise ValueError(f"`ids` must be {shape} for codebooks={self.config.codebooks!r}, got {tuple(ids.shape)}")
        if ids.is_floating_point():
            raise ValueError(f"`ids` must be integers, got {ids.dtype}")
        if token_mask is None:
            token_mask = torch.ones(ids.shape[:2], dtype=torch.bool, device=ids.device)
        token_mask = token_mask.bool()
        if token_mask.shape != ids.shape[:2]:
            raise ValueError(f"`token_mask` must be {tuple(ids.shape[:2])}, got {tuple(token_mask.shape)}")
        real = ids[token_mask]
        if real.numel() and (int(real.min()) < 0 or int(real.max()) >= self.config.codebook_size):
            raise ValueError(
                f"ids must be in [0, codebook_size={self.config.codebook_size}), got "
                f"[{int(real.min())}, {int(real.max())}] (flat ids from encode_flat go through decode_flat)"
            )
        return ids.masked_fill(~token_mask.reshape(*token_mask.shape, *([1] * (ids.ndim - 2))), 0), token_mask

    # -- the network -------------------------------------------------------------------------------------------

    def _quantize(self, features: torch.Tensor, frame_mask: torch.Tensor, token_mask: torch.Tensor):
        """Normalised features -> quantised latents (B, T', C * code_dim), ids (B, T', C), commitment loss ()."""
        latents, ids, commitments = [], [], []
        for part, encoder, quantizer in zip(self.parts, self.encoders, self.quantizers):
            latent = encoder(features[..., part], frame_mask)  # (B, T', code_dim)
            if isinstance(quantizer, FSQ):
                quantized, codes = quantizer(latent)
                commitment = latent.new_zeros(())
            else:
                quantized, codes, commitment = quantizer(latent, mask=token_mask)
            latents.append(quantized * token_mask[..., None])
            ids.append(codes.long())
            commitments.append(commitment.reshape(-1).mean())
        return torch.cat(latents, dim=-1), torch.stack(ids, dim=-1), torch.stack(commitments).mean()

    def _latents_from_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T', C) ids -> (B, T', C * code_dim) quantised latents."""
        latents = []
        for index, quantizer in enumerate(self.quantizers):
            if isinstance(quantizer, FSQ):
                latents.append(quantizer.indices_to_codes(ids[..., index]))
            else:
                latents.append(quantizer.get_output_from_indices(ids[..., index]))
        return torch.cat(latents, dim=-1)

    def forward(self, poses: torch.Tensor, frame_mask: torch.Tensor | None = None, **kwargs) -> SignLLMPoseVQOutput:
        """Encode, quantise and decode ``poses`` (B, T, P) in the data's coordinates; ``frame_mask`` (B, T) marks
        the real frames (a prefix of each row; None: all). Training updates the VQ codebook (EMA, dead codes)."""
        features, lengths, token_mask = self._prepare(poses, frame_mask)
        steps_mask = token_mask.repeat_interleave(self.config.downsample, dim=1)  # (B, T' * d)
        latents, ids, commitment = self._quantize(features, steps_mask, token_mask)
        predicted = self.decoder(latents, token_mask)  # (B, T' * d, P) normalised
        frames = poses.shape[1]
        real = (torch.arange(predicted.shape[1], device=poses.device)[None] < lengths[:, None]).float()
        reconstruction_loss = self._masked_loss(predicted, features, real)
        moving = real[:, 1:] * real[:, :-1]  # both frames real
        velocity_loss = self._masked_loss(predicted.diff(dim=1), features.diff(dim=1), moving)
        config = self.config
        loss = (
            reconstruction_loss + config.velocity_loss_weight * velocity_loss + config.commitment_weight * commitment
        )
        code_ids = ids if config.num_codebooks > 1 else ids[..., 0]
        usage = torch.stack(
            [perplexity(ids[..., c], token_mask, config.codebook_size) for c in range(config.num_codebooks)]
        ).mean()
        reconstruction = self.denormalize(predicted[:, :frames]) * real[:, :frames, None]
        return SignLLMPoseVQOutput(
            loss=loss,
            reconstruction_loss=reconstruction_loss,
            velocity_loss=velocity_loss,
            commitment_loss=commitment,
            reconstruction=reconstruction,
            ids=code_ids,
            token_mask=token_mask,
            perplexity=usage,
        )

    def _masked_loss(self, predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        kind = self.config.reconstruction_loss
        if kind == "l1":
            error = (predicted - target).abs()
        elif kind == "mse":
            error = (predicted - target) ** 2
        else:
            error = F.smooth_l1_loss(predicted, target, reduction="none")
        return (error.mean(dim=-1) * mask).sum() / mask.sum().clamp_min(1)

    # -- ids ---------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, poses: torch.Tensor, frame_mask: torch.Tensor | None = None):
        """Poses ``(B, T, P)`` (or ``(B, T, 50, 3)``) in the data's coordinates -> ``(ids, token_mask)``.

        ``ids``: ``(B, T')`` LongTensor in ``[0, codebook_size)`` (``(B, T', 3)`` with ``codebooks="parts"``: body,
        left hand, right hand), ``T' = ceil(T / downsample)``, 0 on padding; ``token_mask``: ``(B, T')`` bool, the
        steps of each clip (``ceil(length / downsample)``). Runs in eval mode (the codebook is not updated); a clip
        shorter than ``downsample`` frames is an error.
        """
        was_training = self.training
        self.eval()
        try:
            features, _, token_mask = self._prepare(poses.to(self.pose_mean.device), frame_mask)
            steps_mask = token_mask.repeat_interleave(self.config.downsample, dim=1)
            _, ids, _ = self._quantize(features, steps_mask, token_mask)
        finally:
            self.train(was_training)
        ids = ids.masked_fill(~token_mask[..., None], 0)
        return (ids if self.config.num_codebooks > 1 else ids[..., 0]), token_mask

    @torch.no_grad()
    def decode(self, ids: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Ids as :meth:`encode` gives them -> poses ``(B, T' * downsample, P)`` in the data's coordinates (zero
        after each clip's last step). ``token_mask`` ``(B, T')`` marks the real steps (None: all)."""
        ids, token_mask = self._check_ids(ids.to(self.pose_mean.device), token_mask)
        ids = ids if ids.ndim == 3 else ids[..., None]  # (B, T', C)
        was_training = self.training
        self.eval()
        try:
            latents = self._latents_from_ids(ids) * token_mask[..., None]
            features = self.decoder(latents, token_mask)
        finally:
            self.train(was_training)
        frames_mask = token_mask.repeat_interleave(self.config.downsample, dim=1)
        return self.denormalize(features) * frames_mask[..., None]

    def flatten_ids(self, ids: torch.Tensor, token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T')`` or ``(B, T', C)`` ids -> ``(B, T' * C)`` flat ids in ``[0, pose_vocab_size)`` (codebook c
        shifted by ``c * codebook_size``; 0 on padding) and their mask."""
        codebooks = self.config.num_codebooks
        ids = ids if ids.ndim == 3 else ids[..., None]
        offsets = torch.arange(codebooks, device=ids.device) * self.config.codebook_size
        flat = (ids + offsets).flatten(1)
        mask = token_mask.repeat_interleave(codebooks, dim=1)
        return flat.masked_fill(~mask, 0), mask

    def unflatten_ids(self, flat: torch.Tensor, mask: torch.Tensor | None = None):
        """The inverse of :meth:`flatten_ids`: ``(B, T' * C)`` flat ids -> ids as :meth:`encode` gives them and the
        ``(B, T')`` token mask. A length that is no multiple of C, or an id of the wrong codebook, is an error."""
        codebooks, size = self.config.num_codebooks, self.config.codebook_size
        if flat.ndim == 1:
            flat = flat[None]
            mask = None if mask is None else mask[None]
        if flat.ndim != 2 or flat.shape[1] % codebooks:
            raise ValueError(
                f"flat ids must be (batch, steps x {codebooks}), one id per codebook per step, got {tuple(flat.shape)}"
            )
        mask = torch.ones_like(flat, dtype=torch.bool) if mask is None else mask.bool()
        if mask.shape != flat.shape:
            raise ValueError(f"the mask of flat ids must be {tuple(flat.shape)}, got {tuple(mask.shape)}")
        ids = flat.unflatten(1, (-1, codebooks))  # (B, T', C)
        token_mask = mask.unflatten(1, (-1, codebooks)).all(dim=-1)
        offsets = torch.arange(codebooks, device=flat.device) * size
        local = ids - offsets
        wrong = token_mask[..., None] & ((local < 0) | (local >= size))
        if wrong.any():
            batch, step, codebook = (int(v) for v in wrong.nonzero()[0])
            raise ValueError(
                f"flat id {int(ids[batch, step, codebook])} at row {batch}, step {step} is not a code of codebook "
                f"{codebook} ({PART_NAMES[codebook] if codebooks > 1 else 'joint'}: ids {codebook * size}.."
                f"{(codebook + 1) * size - 1}); flat ids hold the codebooks' codes in turn"
            )
        local = local.masked_fill(~token_mask[..., None], 0)
        return (local if codebooks > 1 else local[..., 0]), token_mask

    def encode_flat(self, poses: torch.Tensor, frame_mask: torch.Tensor | None = None):
        """Poses -> ``(flat_ids (B, T' * C), mask (B, T' * C))``: one sequence of ints in
        ``[0, config.pose_vocab_size)`` per clip, for a language model (0 on padding)."""
        return self.flatten_ids(*self.encode(poses, frame_mask))

    def decode_flat(self, flat_ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Flat ids ``(B, T' * C)`` (or one sequence ``(T' * C,)``) -> poses ``(B, T' * downsample, P)``."""
        return self.decode(*self.unflatten_ids(flat_ids, mask))

    def encode_clips(self, clips: list, batch_size: int = 32) -> list[list[int]]:
        """Flat ids of each clip (``(T, 50, 3)`` or ``(T, 150)`` arrays), without padding: ``ceil(T / downsample) x
        num_codebooks`` ints in ``[0, pose_vocab_size)`` each."""
        results = []
        for start in range(0, len(clips), batch_size):
            chunk = [
                torch.as_tensor(c, dtype=torch.float32).reshape(len(c), -1) for c in clips[start : start + batch_size]
            ]
            padded = nn.utils.rnn.pad_sequence(chunk, batch_first=True)
            mask = torch.arange(padded.shape[1])[None] < torch.tensor([len(c) for c in chunk])[:, None]
            flat, flat_mask = self.encode_flat(padded, mask)
            results += [row[row_mask].tolist() for row, row_mask in zip(flat.cpu(), flat_mask.cpu())]
        return results


__all__ = [
    "SignLLMPoseVQ",
    "SignLLMPoseVQOutput",
    "SignLLMPoseVQPreTrainedModel",
    "features_to_poses",
    "pose_features",
]
