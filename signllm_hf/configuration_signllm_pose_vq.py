"""Configuration of the pose tokenizer: a temporal-convolution VQ-VAE that turns pose frames into ids and back.

Example:
    >>> from signllm_hf import SignLLMPoseVQConfig
    >>> config = SignLLMPoseVQConfig()
    >>> config.codebook_size, config.downsample, config.num_codebooks, config.pose_vocab_size
    (1024, 4, 1, 1024)
    >>> parts = SignLLMPoseVQConfig(codebooks="parts", quantizer="fsq", codebook_size=256)
    >>> parts.num_codebooks, parts.fsq_levels, parts.pose_vocab_size  # body, left hand, right hand
    (3, [8, 8, 4], 768)
"""

from __future__ import annotations

import math

from transformers import PreTrainedConfig

try:
    from signllm_hf.data.skeleton import FRAME_SIZE as POSE_DIM
except ImportError:  # pragma: no cover - the Hub route (trust_remote_code) without the package
    POSE_DIM = 150  # 50 joints x (x, y, z)

QUANTIZERS = ("vq", "fsq")
CODEBOOKS = ("joint", "parts")
RECONSTRUCTION_LOSSES = ("l1", "smooth_l1", "mse")
# Finite scalar quantisation levels per codebook size (powers of two, so the sizes match the VQ's exactly); the FSQ
# paper (Mentzer et al. 2023, arXiv 2309.15505, Table 1) uses similar levels of 4-8 per dimension.
FSQ_LEVELS = {
    64: [4, 4, 4],
    128: [8, 4, 4],
    256: [8, 8, 4],
    512: [8, 8, 8],
    1024: [8, 8, 4, 4],
    2048: [8, 8, 8, 4],
    4096: [8, 8, 8, 8],
    8192: [8, 8, 8, 4, 4],
    16384: [8, 8, 8, 8, 4],
}


class SignLLMPoseVQConfig(PreTrainedConfig):
    r"""Configuration of [`SignLLMPoseVQ`], the pose tokenizer of the discrete path (MotionGPT / SOKE style).

    Pose format:
        pose_dim: values per frame (150: 50 joints x xyz, in the data's coordinates).
        hand_relative: the model reads and writes each hand's joints relative to its body wrist (an invertible,
            linear change of coordinates). Normalised per channel in absolute coordinates, a finger joint is mostly
            arm motion, and the reconstruction loss would barely see the hand's shape that carries a letter; relative
            to the wrist, the loss sees the shape itself (the hand-shape loss of the continuous model, built in).
        pose_mean, pose_std: per-channel statistics of the model's input features (the poses, hand-relative when
            ``hand_relative``), so that the model works on normalised values; ``with_data_statistics`` sets them.
        fps: frame rate of the training data.
    Network:
        hidden_size: channels of the temporal convolutions; code_dim: size of a latent vector (one per token);
        res_blocks: residual blocks per stage (dilations 1, 3, 9, ...); kernel_size; dropout.
        downsample: frames per token, a power of two (each factor of two is one stride-2 stage of the encoder and
            one nearest-neighbour upsampling stage of the decoder).
    Quantiser (``vector-quantize-pytorch``):
        quantizer: ``"vq"`` (nearest code, codebook learnt by exponential moving averages, dead codes reset) or
            ``"fsq"`` (finite scalar quantisation: no codebook to learn, none can die).
        codebook_size: codes per codebook. codebooks: ``"joint"`` (one codebook for the whole frame) or ``"parts"``
            (as SOKE: body, left hand and right hand each have an encoder and a codebook; the decoder reads all
            three, so every time step is three tokens).
        vq_decay: EMA decay of the codebook; threshold_ema_dead_code: a code whose EMA usage falls below this many
            vectors per batch is replaced by a vector of the batch (0: never); kmeans_init: the codebook starts as
            k-means centres of the first batch. fsq_levels: quantisation levels per latent dimension (default: from
            ``FSQ_LEVELS`` for ``codebook_size``; their product is the codebook size).
    Loss:
        reconstruction_loss: ``"l1"``, ``"smooth_l1"`` or ``"mse"`` on normalised features; velocity_loss_weight:
        the same loss on frame-to-frame differences (sharp motion, no jitter); commitment_weight: pull of the encoder
        towards its codes (VQ only).
    """

    model_type = "signllm_pose_vq"

    # pose format
    pose_dim: int = POSE_DIM
    hand_relative: bool = True
    pose_mean: list[float] | None = None
    pose_std: list[float] | None = None
    fps: float = 25.0
    # network
    hidden_size: int = 256
    code_dim: int = 64
    res_blocks: int = 2
    kernel_size: int = 3
    downsample: int = 4
    dropout: float = 0.0
    initializer_range: float = 0.02
    # quantiser
    quantizer: str = "vq"
    codebook_size: int = 1024
    codebooks: str = "joint"
    vq_decay: float = 0.99
    threshold_ema_dead_code: float = 2.0
    kmeans_init: bool = True
    fsq_levels: list[int] | None = None
    # loss
    reconstruction_loss: str = "smooth_l1"
    velocity_loss_weight: float = 0.5
    commitment_weight: float = 0.02

    def __post_init__(self, **kwargs):
        if self.quantizer == "fsq" and self.fsq_levels is None:
            if self.codebook_size not in FSQ_LEVELS:
                raise ValueError(
                    f"`quantizer='fsq'` has no default levels for `codebook_size={self.codebook_size}`; pass "
                    f"`fsq_levels` (their product is the codebook size) or a size of {sorted(FSQ_LEVELS)}"
                )
            self.fsq_levels = list(FSQ_LEVELS[self.codebook_size])
        self._validate()
        super().__post_init__(**kwargs)

    def _validate(self) -> None:
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(message)

        check(self.quantizer in QUANTIZERS, f"`quantizer` must be one of {QUANTIZERS}, got {self.quantizer!r}")
        check(self.codebooks in CODEBOOKS, f"`codebooks` must be one of {CODEBOOKS}, got {self.codebooks!r}")
        check(
            self.reconstruction_loss in RECONSTRUCTION_LOSSES,
            f"`reconstruction_loss` must be one of {RECONSTRUCTION_LOSSES}, got {self.reconstruction_loss!r}",
        )
        for name in ("hidden_size", "code_dim", "kernel_size", "codebook_size", "downsample", "pose_dim"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"`{name}` must be a positive whole number, got {value!r}")
        check(self.res_blocks >= 0, f"`res_blocks` must be >= 0, got {self.res_blocks}")
        check(self.kernel_size % 2 == 1, f"`kernel_size` must be odd (a centred window), got {self.kernel_size}")
        check(
            self.downsample & (self.downsample - 1) == 0,
            f"`downsample` must be a power of two (1, 2, 4, 8, ...: one stride-2 stage each), got {self.downsample}",
        )
        check(0 <= self.dropout < 1, f"`dropout` must be in [0, 1), got {self.dropout}")
        check(0 < self.vq_decay < 1, f"`vq_decay` must be in (0, 1), got {self.vq_decay}")
        check(
            self.threshold_ema_dead_code >= 0,
            f"`threshold_ema_dead_code` must be >= 0, got {self.threshold_ema_dead_code}",
        )
        for name in ("velocity_loss_weight", "commitment_weight"):
            check(getattr(self, name) >= 0, f"`{name}` must be >= 0, got {getattr(self, name)}")
        check(self.fps > 0, f"`fps` must be > 0, got {self.fps}")
        check(
            self.pose_dim == POSE_DIM or (not self.hand_relative and self.codebooks == "joint"),
            f"`hand_relative` and `codebooks='parts'` need the 50-joint skeleton (pose_dim {POSE_DIM}), "
            f"got pose_dim {self.pose_dim}",
        )
        if self.quantizer == "fsq":
            levels = self.fsq_levels or []
            check(
                len(levels) > 0 and all(isinstance(v, int) and v >= 3 for v in levels),
                f"`fsq_levels` must be whole numbers >= 3, got {levels}",
            )
            check(
                math.prod(levels) == self.codebook_size,
                f"`fsq_levels` {levels} make {math.prod(levels)} codes but `codebook_size` is {self.codebook_size}; "
                f"pass codebook_size={math.prod(levels)}",
            )
        for name in ("pose_mean", "pose_std"):
            values = getattr(self, name)
            check(
                values is None or len(values) == self.pose_dim,
                f"`{name}` must hold {self.pose_dim} values (one per pose channel), got {len(values or [])}",
            )
            check(values is None or all(math.isfinite(v) for v in values), f"`{name}` contains NaN/inf")
        check(self.pose_std is None or min(self.pose_std) > 0, "`pose_std` values must be > 0")

    @property
    def num_codebooks(self) -> int:
        """Codebooks, i.e. tokens per time step: 1 (``"joint"``) or 3 (``"parts"``: body, left hand, right hand)."""
        return 1 if self.codebooks == "joint" else 3

    @property
    def pose_vocab_size(self) -> int:
        """Distinct ids of the flat token sequences (``encode_flat``): ``codebook_size x num_codebooks``."""
        return self.codebook_size * self.num_codebooks

    @property
    def stages(self) -> int:
        """Stride-2 stages of the encoder (log2 of ``downsample``)."""
        return self.downsample.bit_length() - 1

    def with_data_statistics(self, mean, std) -> SignLLMPoseVQConfig:
        """Record the per-channel mean and std of the model's input features (see ``pose_features``)."""
        self.pose_mean = [float(v) for v in mean]
        self.pose_std = [max(float(v), 1e-3) for v in std]
        self._validate()
        return self


__all__ = ["FSQ_LEVELS", "SignLLMPoseVQConfig"]
