"""SignLLM configuration: sizes, Progressive Transformers options, generation defaults, languages, data statistics.

This file and ``modeling_signllm.py`` are self-contained (only relative imports between them), so a saved model
loads with ``trust_remote_code=True`` where signllm-hf is not installed.

Example:
    >>> from signllm_hf import SignLLMConfig
    >>> config = SignLLMConfig.from_preset("base", languages=["ASL", "GSL"])
    >>> config.d_model, config.encoder_layers, config.attention_heads, config.languages
    (512, 2, 4, ['ase', 'gsg'])
    >>> config.output_size  # 150 pose values + the counter
    151
"""

from __future__ import annotations

import logging
import math
import operator
import re
from dataclasses import field

from transformers import PreTrainedConfig

try:  # the registry resolves "GSL" -> "gsg"; without the package (the Hub route) codes are taken as written
    from signllm_hf.data.languages import canonical_language as _registry_language
    from signllm_hf.data.skeleton import FRAME_SIZE as POSE_DIM
except ImportError:  # pragma: no cover - exercised by the trust_remote_code test in a bare environment
    _registry_language = None
    POSE_DIM = 150  # signllm_hf.data.skeleton.FRAME_SIZE: 50 joints x (x, y, z)


def model_language(code: str) -> str:
    """The one rule for a model's languages, used by the config and the model alike: the registry's code for a
    code, alias or name; a well-formed ISO 639-3 code it does not know (registered at run time when the model was
    made, or unknown here) is kept as written, so that a saved model stays loadable and usable everywhere."""
    if _registry_language is None:
        return code.strip().lower()
    try:
        return _registry_language(code)
    except ValueError:
        if re.fullmatch(r"[a-z]{3}", code.strip()):
            logger.warning("sign language %r is not in this installation's registry; keeping it as written", code)
            return code.strip()
        raise


logger = logging.getLogger(__name__)
# The paper's Setup: Base = 2 + 2 layers, 4 heads, width 512 / FFN 2048; Large and Super scale the widths 2x and 4x.
PRESETS = {
    "base": {"d_model": 512, "ffn_dim": 2048, "encoder_layers": 2, "decoder_layers": 2, "attention_heads": 4},
    "large": {"d_model": 1024, "ffn_dim": 4096, "encoder_layers": 2, "decoder_layers": 2, "attention_heads": 4},
    "super": {"d_model": 2048, "ffn_dim": 8192, "encoder_layers": 2, "decoder_layers": 2, "attention_heads": 4},
}
MODES = ("mlsf", "prompt2langgloss")
STOP_RULES = ("counter", "length", "threshold")
DECODER_INPUTS = ("frame", "pose", "counter", "position")
ALIGNMENTS = ("attention", "duration")
DECODINGS = ("autoregressive", "parallel")


class SignLLMConfig(PreTrainedConfig):
    r"""Configuration of [`SignLLMForPoseGeneration`].

    Text encoder:
        vocab_size, pad_token_id, bos_token_id, eos_token_id: the text tokenizer's vocabulary and special ids.
        max_text_length: longest token sequence the encoder reads; longer inputs are truncated with a warning.
        text_encoder: the config (a dict, as ``AutoConfig.to_dict()``) of a pretrained transformers encoder used
            instead of the encoder trained from scratch; ``freeze_text_encoder`` keeps its weights fixed.
    Transformer:
        d_model, encoder_layers, decoder_layers, attention_heads, ffn_dim, dropout, attention_dropout, activation,
        layer_norm_eps, initializer_range.
    Pose format:
        pose_dim: values per frame (150); the model adds the counter channel when ``use_counter``.
        fps: frame rate of the training data (returned with generated poses).
        pose_mean, pose_std: per-channel statistics of the data (``stats.json``); the model works on normalised
            values and maps its outputs back to the data's coordinates.
    Progressive Transformers options:
        future_prediction: besides the next frame, predict this many further frames (a training signal only).
        gaussian_noise: std of the noise added to the decoder's input frames in training (in normalised units).
        decoder_input: what the decoder reads at each step, besides the step's position. ``"frame"`` (Progressive
            Transformers' default): the previous frame, pose and counter. ``"counter"`` (PT's *just counter*,
            ``just_counter=True`` is accepted for it): only the previous counter value, so poses cannot drift.
            ``"pose"``: the previous pose without the counter. ``"position"``: nothing; every step is a query by
            its position alone. In teacher forcing the counter's first step is 1/T, which hands the model the clip's
            length; without the counter in its input (``"pose"``, ``"position"``) the model must learn the length,
            and the timing of the signs, from the text. On the fingerspelling corpus ``"position"`` is what makes
            generated lengths follow the words (``benchmarks/ablation.py``).
        counter_loss_weight: weight of the counter channel in the loss, relative to one pose channel (1 = the
            counter is one channel among 151, as in Progressive Transformers; larger values sharpen the stop).
    Alignment of text and frames:
        alignment: ``"attention"`` (Progressive Transformers): the decoder finds, by cross-attention alone, which
            part of the text each frame signs. ``"duration"``: a monotonic alignment made explicit, as in
            FastSpeech-style speech synthesis: each group predicts how many frames every token is signed in, and at
            each step the decoder also reads the state of the token being signed and how far into it the step is
            (cross-attention stays, for context). It learns from ``token_durations`` (the collator makes them from
            a clip's ``char_durations``: fingerspelling corpora and the procedural letter strings have them), and
            generation follows the predicted durations (the clip ends with the last token). Every letter is then
            signed where it belongs: the remedy for spelling that drifts or skips letters.
        duration_loss_weight: weight of the duration predictor's loss (squared error of log(1 + frames) per token).
        decoding: ``"autoregressive"`` (Progressive Transformers): frame after frame, each step attending to the
            steps before it. ``"parallel"`` (needs ``alignment="duration"`` and ``decoder_input="position"``): the
            durations lay out every frame of the clip first, then one pass of the decoder writes all of them, each
            frame attending to all others (the letters before and after it: where the hand comes from and goes
            to). Nothing is fed back, so nothing drifts: what the model does in training is what it does when it
            signs, and a clip costs one decoder pass instead of one per frame.
    Hand shape:
        hand_loss_weight: weight of a loss on the hands' shapes, each hand's joints relative to its wrist, in units
            of ``hand_scale`` (0: off). Normalised per channel, a finger joint's coordinates are dominated by the
            arm's motion, so the frame loss barely sees the shape of the hand that carries a letter; this loss does.
            It needs the 50-joint skeleton (``pose_dim`` 150).
        hand_scale: the size of a hand-shape error that counts 1, in the data's units (0.1 shoulder widths in our
            corpora).
    Motion:
        velocity_loss_weight: weight of a loss on every joint's motion from one frame to the next, in units of
            ``velocity_scale`` (0: off). A regressor trained on positions alone learns the slow parts of a clip first
            and averages the fast ones (a letter drawn in the air, the flick between two letters): generated hands
            then move at half the reference's speed. This loss sees the motion itself.
        velocity_scale: the size of a per-frame motion error that counts 1, in the data's units (0.05 shoulder
            widths per frame: in our fingerspelling corpora at 25 fps a joint moves 0.03-0.06 per frame, RMS).
    Generation:
        max_frames: default cap on generated frames (``generate(max_frames=...)`` overrides it).
        max_positions: the most frames one generation may produce: ``max_frames`` (the config's or the one passed
            to ``generate``) can go up to it, not beyond. The sinusoidal positions have no table, but they are only
            trained up to the longest clip, and the key/value cache grows by ``2 x decoder_layers x d_model``
            float32 values per frame (8 KB for Base, 32 KB for Super, per text): the limit turns a typo such as
            ``max_frames=800000`` into an error rather than hours of generation and gigabytes of cache.
        stop_rule: ``"length"`` stops when the predicted counter says the clip is complete (its estimate of the
            total length, (t + 1) / c_t, is reached). ``"counter"`` (default) also stops when the counter falls by
            more than ``stop_drop`` from a peak of at least ``stop_peak``, and ends the clip at the peak: a model
            that undershoots 1 near the end still marks it by turning back (Progressive Transformers cut at the
            counter's maximum for the same reason). Free-running counters wobble by 0.1-0.2 mid-clip, below about
            0.6, hence the high ``stop_peak``. ``"threshold"`` stops when the counter reaches ``stop_threshold``.
    Multilingual:
        languages: ISO 639-3 codes (aliases accepted); mode ``"mlsf"`` builds one encoder-decoder group per language
            with no shared parameters, ``"prompt2langgloss"`` one shared group.
    """

    model_type = "signllm"
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "attention_heads"}

    # text encoder
    vocab_size: int = 8000
    pad_token_id: int = 0
    bos_token_id: int = 1
    eos_token_id: int = 2
    max_text_length: int = 128
    text_encoder: dict | None = None
    freeze_text_encoder: bool = False
    # transformer
    d_model: int = 512
    encoder_layers: int = 2
    decoder_layers: int = 2
    attention_heads: int = 4
    ffn_dim: int = 2048
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation: str = "relu"
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    # pose format
    pose_dim: int = POSE_DIM
    use_counter: bool = True
    fps: float = 25.0
    pose_mean: list[float] | None = None
    pose_std: list[float] | None = None
    # progressive transformers options
    future_prediction: int = 0
    gaussian_noise: float = 0.0
    decoder_input: str = "frame"
    counter_loss_weight: float = 1.0
    # alignment of text and frames
    alignment: str = "attention"
    duration_loss_weight: float = 1.0
    decoding: str = "autoregressive"
    # hand shape
    hand_loss_weight: float = 0.0
    hand_scale: float = 0.1
    # motion
    velocity_loss_weight: float = 0.0
    velocity_scale: float = 0.05
    # generation
    max_frames: int = 400
    max_positions: int = 8192
    stop_rule: str = "counter"
    stop_threshold: float = 0.95
    stop_drop: float = 0.02
    stop_peak: float = 0.9
    use_cache: bool = True
    # multilingual
    languages: list[str] = field(default_factory=lambda: ["ase"])
    mode: str = "mlsf"
    preset: str | None = None
    is_encoder_decoder: bool = True

    # What a group's weights only make sense with (checked on resume and when loading one language's group).
    architecture_fields = (
        *("d_model", "encoder_layers", "decoder_layers", "attention_heads", "ffn_dim", "activation", "vocab_size"),
        *("pose_dim", "use_counter", "future_prediction", "decoder_input", "text_encoder", "alignment"),
        "decoding",
    )

    def __post_init__(self, **kwargs):
        if kwargs.pop("just_counter", False):  # Progressive Transformers' name
            self.decoder_input = "counter"
        if _registry_language is not None:
            # The package is installed and registered the text-to-pose task itself; a folder saved for the Hub names
            # its pipeline file too (`custom_pipelines`), and transformers would then ask for trust_remote_code.
            kwargs.pop("custom_pipelines", None)
        self.languages = list(dict.fromkeys(model_language(code) for code in self.languages))
        self._validate()
        super().__post_init__(**kwargs)

    def _validate(self) -> None:
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(message)

        check(self.mode in MODES, f"`mode` must be one of {MODES}, got {self.mode!r}")
        check(len(self.languages) > 0, "`languages` must name at least one sign language")
        heads = self.attention_heads
        check(
            self.d_model > 0 and heads > 0 and self.d_model % heads == 0,
            f"`d_model` ({self.d_model}) must be a positive multiple of `attention_heads` ({heads})",
        )
        for name in ("encoder_layers", "decoder_layers", "ffn_dim", "vocab_size", "max_text_length", "pose_dim"):
            check(getattr(self, name) > 0, f"`{name}` must be > 0, got {getattr(self, name)}")
        for name in ("max_frames", "max_positions"):
            value = getattr(self, name)
            whole = isinstance(value, int) and not isinstance(value, bool)
            check(whole, f"`{name}` must be a whole number of frames, got {value!r} ({type(value).__name__})")
            check(value > 0, f"`{name}` must be > 0, got {value}")
        check(
            self.max_frames <= self.max_positions,
            f"`max_frames` ({self.max_frames}) must be <= `max_positions` ({self.max_positions}), the most frames "
            "one generation may produce; lower max_frames or raise max_positions",
        )
        check(self.future_prediction >= 0, f"`future_prediction` must be >= 0, got {self.future_prediction}")
        check(self.gaussian_noise >= 0, f"`gaussian_noise` must be >= 0, got {self.gaussian_noise}")
        check(self.counter_loss_weight > 0, f"`counter_loss_weight` must be > 0, got {self.counter_loss_weight}")
        check(0 <= self.dropout < 1, f"`dropout` must be in [0, 1), got {self.dropout}")
        check(self.stop_rule in STOP_RULES, f"`stop_rule` must be one of {STOP_RULES}, got {self.stop_rule!r}")
        check(0 < self.stop_threshold <= 1, f"`stop_threshold` must be in (0, 1], got {self.stop_threshold}")
        check(self.fps > 0, f"`fps` must be > 0, got {self.fps}")
        check(
            self.decoder_input in DECODER_INPUTS,
            f"`decoder_input` must be one of {DECODER_INPUTS}, got {self.decoder_input!r}",
        )
        check(
            self.use_counter or self.decoder_input in ("frame", "pose"),
            f"`decoder_input={self.decoder_input!r}` needs `use_counter=True`",
        )
        check(self.alignment in ALIGNMENTS, f"`alignment` must be one of {ALIGNMENTS}, got {self.alignment!r}")
        check(self.decoding in DECODINGS, f"`decoding` must be one of {DECODINGS}, got {self.decoding!r}")
        check(
            self.decoding == "autoregressive" or (self.alignment == "duration" and self.decoder_input == "position"),
            "`decoding='parallel'` writes all frames at once, so each frame must know its letter from the durations "
            "and read no earlier frame: set `alignment='duration'` and `decoder_input='position'` (got "
            f"alignment={self.alignment!r}, decoder_input={self.decoder_input!r})",
        )
        check(self.hand_loss_weight >= 0, f"`hand_loss_weight` must be >= 0, got {self.hand_loss_weight}")
        check(self.hand_scale > 0, f"`hand_scale` must be > 0, got {self.hand_scale}")
        check(
            self.hand_loss_weight == 0 or self.pose_dim == 150,
            f"`hand_loss_weight` needs the 50-joint skeleton (pose_dim 150), got pose_dim {self.pose_dim}",
        )
        check(self.velocity_loss_weight >= 0, f"`velocity_loss_weight` must be >= 0, got {self.velocity_loss_weight}")
        check(self.velocity_scale > 0, f"`velocity_scale` must be > 0, got {self.velocity_scale}")
        check(self.duration_loss_weight >= 0, f"`duration_loss_weight` must be >= 0, got {self.duration_loss_weight}")
        check(self.stop_drop > 0, f"`stop_drop` must be > 0, got {self.stop_drop}")
        check(0 < self.stop_peak <= 1, f"`stop_peak` must be in (0, 1], got {self.stop_peak}")
        check(self.pose_dim % 3 == 0, f"`pose_dim` must be a multiple of 3 (joints x xyz), got {self.pose_dim}")
        for name in ("pose_mean", "pose_std"):
            values = getattr(self, name)
            size = None if values is None else len(values)
            check(
                values is None or size == self.pose_dim,
                f"`{name}` must hold {self.pose_dim} values (one per pose channel), got {size}",
            )
            check(values is None or all(math.isfinite(v) for v in values), f"`{name}` contains NaN/inf")
        check(self.pose_std is None or min(self.pose_std) > 0, "`pose_std` values must be > 0")
        check(self.preset is None or self.preset in PRESETS, f"`preset` must be one of {list(PRESETS)} or None")

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        # transformers only warns when a checkpoint of another model type is loaded into this class; refuse it.
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        model_type = config_dict.get("model_type")
        if model_type is not None and model_type != cls.model_type:
            raise ValueError(
                f"{pretrained_model_name_or_path} holds a {model_type!r} checkpoint, not a SignLLM model "
                f"('{cls.model_type}'); for a pretrained text encoder see SignLLMForPoseGeneration.from_text_encoder"
            )
        return config_dict, kwargs

    @property
    def output_size(self) -> int:
        """Values per generated frame: the pose, plus the counter when ``use_counter``."""
        return self.pose_dim + int(self.use_counter)

    @property
    def decoder_input_size(self) -> int:
        """Values the decoder reads per step (``decoder_input``): 0 for ``"position"``."""
        sizes = {"frame": self.output_size, "pose": self.pose_dim, "counter": 1, "position": 0}
        return sizes[self.decoder_input]

    def resolve_max_frames(self, max_frames=None) -> int:
        """The frame cap of one generation: ``max_frames`` checked (a whole number from 1 to ``max_positions``), or
        the config's own ``max_frames`` when it is None.

        >>> config = SignLLMConfig(max_frames=400, max_positions=1000)
        >>> config.resolve_max_frames(), config.resolve_max_frames(600)
        (400, 600)
        >>> config.resolve_max_frames(2.7)
        Traceback (most recent call last):
        ValueError: `max_frames` must be a whole number of frames, got 2.7 (float)
        >>> config.resolve_max_frames(5000)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: `max_frames=5000` is more than this model's limit of 1000 frames (`max_positions` in ...
        """
        if max_frames is None:
            return self.max_frames
        # operator.index accepts ints, numpy integers and 0-d integer tensors; int(2.7) would quietly give 2.
        try:
            frames = operator.index(max_frames) if not isinstance(max_frames, bool) else None
        except TypeError:
            frames = None
        if frames is None:
            raise ValueError(
                f"`max_frames` must be a whole number of frames, got {max_frames!r} ({type(max_frames).__name__})"
            )
        if frames <= 0:
            raise ValueError(f"`max_frames` must be > 0, got {frames}")
        if frames > self.max_positions:
            raise ValueError(
                f"`max_frames={frames}` is more than this model's limit of {self.max_positions} frames "
                f"(`max_positions` in its config.json); ask for at most {self.max_positions} frames, or raise "
                "`max_positions` in config.json"
            )
        return frames

    @classmethod
    def from_preset(cls, preset: str, **kwargs) -> SignLLMConfig:
        """A config with the sizes of the paper's ``"base"``, ``"large"`` or ``"super"`` model (kwargs override)."""
        key = preset.lower()
        if key not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        return cls(**{**PRESETS[key], "preset": key, **kwargs})

    def with_data_statistics(self, stats: dict) -> SignLLMConfig:
        """Record a dataset's ``stats.json`` (per-channel mean and std, fps) so outputs map back to its units."""
        self.pose_mean = [float(v) for v in stats["mean"]]
        self.pose_std = [max(float(v), 1e-6) for v in stats["std"]]
        if stats.get("fps"):
            self.fps = float(stats["fps"])
        self._validate()
        return self


__all__ = ["SignLLMConfig", "PRESETS"]
