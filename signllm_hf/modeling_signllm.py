"""SignLLM: a Progressive-Transformer-style encoder-decoder that regresses continuous pose frames with a counter.

Text tokens are encoded once; the decoder reads the previous frame (150 pose values + the counter; or a part of it, or
nothing but the step's position: ``decoder_input``) and predicts the next one, until its counter says the clip is
complete. In MLSF mode every language has its own encoder-decoder group (no shared parameters), and the language of
each example picks its group; in Prompt2LangGloss mode one group serves all languages.

Shapes: B batch, L text tokens, T frames, D = d_model, P = pose_dim (150), C = P + 1 with the counter.

Example:
    >>> import torch
    >>> from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
    >>> config = SignLLMConfig(vocab_size=50, d_model=32, ffn_dim=64, attention_heads=2, languages=["ase", "gsg"],
    ...                        max_frames=12)
    >>> model = SignLLMForPoseGeneration(config).eval()
    >>> out = model.generate(torch.tensor([[5, 6, 7]]), language="ase")
    >>> out.poses.shape[0], out.poses.shape[2:], int(out.lengths[0]) <= 12
    (1, torch.Size([50, 3]), True)
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from torch import nn
from transformers import AutoConfig, AutoModel, DynamicCache, EncoderDecoderCache, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicLayer
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput

from .configuration_signllm import SignLLMConfig, model_language
from .streaming import PoseIteratorStreamer, PoseStreamer

logger = logging.getLogger(__name__)
SHARED_GROUP = "shared"


@dataclass
class SignLLMOutput(ModelOutput):
    """Output of [`SignLLMForPoseGeneration.forward`] (teacher forcing).

    Args:
        loss (`torch.FloatTensor` of shape `()`, when `labels` are given): masked mean squared error over real frames
            and every output channel (normalised pose values and the counter), plus `future_loss`.
        future_loss (`torch.FloatTensor` of shape `()`, when `labels` are given): mean squared error of the future
            frame predictions (0 without `future_prediction`).
        frames (`torch.FloatTensor` of shape `(B, T, C)`): the predicted next frames, normalised pose + counter.
        future_frames (`torch.FloatTensor` of shape `(B, T, K, P)`, when `future_prediction` K > 0): frames t+1..t+K.
        frame_errors (`torch.FloatTensor` of shape `(B, T)`, when `labels` are given): squared error of each frame
            averaged over its channels, 0 on padding; the per-frame rewards of the RL loss are its negatives.
        encoder_last_hidden_state (`torch.FloatTensor` of shape `(B, L, D)`).
        duration_loss (`torch.FloatTensor` of shape `()`, with `alignment="duration"`): squared error of the
            predicted log(1 + frames) per token, weighted by `duration_loss_weight` (included in `loss`).
        hand_loss (`torch.FloatTensor` of shape `()`, with `hand_loss_weight` > 0): squared error of the hands'
            shapes (joints relative to their wrist) in units of `hand_scale`, weighted (included in `loss`).
        velocity_loss (`torch.FloatTensor` of shape `()`, with `velocity_loss_weight` > 0): squared error of every
            joint's motion between consecutive frames in units of `velocity_scale`, weighted (included in `loss`).
    """

    loss: torch.FloatTensor | None = None
    future_loss: torch.FloatTensor | None = None
    frames: torch.FloatTensor | None = None
    future_frames: torch.FloatTensor | None = None
    frame_errors: torch.FloatTensor | None = None
    encoder_last_hidden_state: torch.FloatTensor | None = None
    duration_loss: torch.FloatTensor | None = None
    hand_loss: torch.FloatTensor | None = None
    velocity_loss: torch.FloatTensor | None = None


@dataclass
class SignLLMGenerationOutput(ModelOutput):
    """Output of [`SignLLMForPoseGeneration.generate`].

    Args:
        poses (`torch.FloatTensor` of shape `(B, T, 50, 3)`): generated poses in the data's coordinates (the config's
            `pose_mean` / `pose_std` undone), zero after each sequence's length.
        lengths (`torch.LongTensor` of shape `(B,)`): frames of each sequence (where its counter stopped it, see the
            config's `stop_rule`, or `max_frames`).
        counters (`torch.FloatTensor` of shape `(B, T)`): the predicted counter of every frame (0 after the length).
        frames (`torch.FloatTensor` of shape `(B, T, P)`): the raw normalised outputs.
    """

    poses: torch.FloatTensor | None = None
    lengths: torch.LongTensor | None = None
    counters: torch.FloatTensor | None = None
    frames: torch.FloatTensor | None = None


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """The Transformer's sine/cosine encoding of integer positions: ``(...,) -> (..., dim)``."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / half)
    angles = positions.float()[..., None] * frequencies
    encoding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return F.pad(encoding, (0, dim - 2 * half))


ALIGNMENT_EXTRA = 2  # besides the token's state: the phase within the token, and the token's log length


def aligned_tokens(
    memory: torch.Tensor, durations: torch.Tensor, start: int, count: int, text_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """For frames ``start .. start + count - 1``: the state of the token each is signed in (tokens follow each other
    for ``durations`` frames), the frame's phase within that token in [0, 1), and the token's log(1 + frames).
    ``(B, L, D), (B, L) -> (B, count, D + 2)``. Frames past the end of the text take its last token (of 0 frames:
    the end token) with phase 1: with ``text_mask`` the last real one, whatever padding follows it, so a text signs
    the same alone or in a padded batch. Training masks such frames; generation reaches one only when a text's
    predicted durations add up to no frame at all (it still gets one)."""
    ends = durations.long().cumsum(dim=1)  # (B, L): the first frame after each token
    frames = torch.arange(start, start + count, device=memory.device).expand(memory.shape[0], -1).contiguous()
    token = torch.searchsorted(ends, frames, right=True).clamp(max=memory.shape[1] - 1)  # (B, count)
    if text_mask is not None:
        positions = torch.arange(memory.shape[1], device=memory.device).expand_as(text_mask)
        last = torch.where(text_mask.bool(), positions, 0).max(dim=1).values  # (B,)
        token = torch.minimum(token, last[:, None])
    length = durations.gather(1, token).to(memory.dtype)
    begin = (ends.gather(1, token) - durations.gather(1, token)).to(memory.dtype)
    phase = ((frames.to(memory.dtype) - begin) / length.clamp_min(1)).clamp(0, 1)
    states = memory.gather(1, token[..., None].expand(-1, -1, memory.shape[-1]))  # (B, count, D)
    return torch.cat([states, phase[..., None], torch.log1p(length)[..., None]], dim=-1)


class SignLLMGrowingCacheLayer(DynamicLayer):
    """A self-attention cache layer that keeps its keys and values in one buffer, doubled when full (from
    ``first_block`` frames up to ``max_length``), instead of one ``torch.cat`` per frame.

    ``DynamicLayer`` allocates a new (B, H, T, hd) tensor at every step: a size never seen before, so the allocator
    can rarely reuse the freed ones, and generating 8000 Base frames added 12.9 GB to the process's peak memory for
    62 MB of keys and values; with this layer it adds 77 MB (``benchmarks/results/generation_memory.md``). Doubling
    allocates log2(T / first_block) times. ``keys`` / ``values`` stay views of the first T frames: attention reads
    the same numbers as with ``DynamicLayer``, bit for bit (``tests/model/test_generation.py``).

    >>> layer = SignLLMGrowingCacheLayer(max_length=600)
    >>> for step in range(300):
    ...     keys, values = layer.update(torch.full((1, 2, 1, 4), float(step)), torch.zeros(1, 2, 1, 4))
    >>> keys.shape, layer.capacity, float(keys[0, 0, 299, 0])  # 256 frames first, then doubled (capped at 600)
    (torch.Size([1, 2, 300, 4]), 512, 299.0)
    """

    first_block = 256

    def __init__(self, max_length: int):
        super().__init__()
        self.max_length = max_length
        self.key_buffer: torch.Tensor | None = None  # (B, H, capacity, hd); only the first T frames are meaningful
        self.value_buffer: torch.Tensor | None = None

    @property
    def capacity(self) -> int:
        return 0 if self.key_buffer is None else self.key_buffer.shape[-2]

    def update(self, key_states, value_states, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length, end = self.get_seq_length(), self.get_seq_length() + key_states.shape[-2]
        # Keys that are no view of the buffer were replaced from outside (a crop keeps the view; a reset or a batch
        # selection does not): start a new buffer from them.
        detached = self.key_buffer is None or self.keys.data_ptr() != self.key_buffer.data_ptr()
        if detached or end > self.capacity:
            self._grow(end, key_states, value_states)
        self.key_buffer[..., length:end, :] = key_states
        self.value_buffer[..., length:end, :] = value_states
        self.keys, self.values = self.key_buffer[..., :end, :], self.value_buffer[..., :end, :]  # (B, H, T, hd)
        return self.keys, self.values

    def _grow(self, needed: int, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        capacity = max(needed, min(max(2 * self.capacity, self.first_block), self.max_length))
        length = self.get_seq_length()
        buffers = []
        for old, new in ((self.keys, key_states), (self.values, value_states)):
            buffer = new.new_empty(*new.shape[:-2], capacity, new.shape[-1])  # (B, H, capacity, hd)
            if length:
                buffer[..., :length, :] = old
            buffers.append(buffer)
        self.key_buffer, self.value_buffer = buffers


class SignLLMAttention(nn.Module):
    """Multi-head attention on ``scaled_dot_product_attention``, with a KV cache for decoding."""

    def __init__(self, config: SignLLMConfig, is_cross_attention: bool = False):
        super().__init__()
        self.heads = config.attention_heads
        self.head_dim = config.d_model // config.attention_heads
        self.dropout = config.attention_dropout
        self.is_cross_attention = is_cross_attention
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.k_proj = nn.Linear(config.d_model, config.d_model)
        self.v_proj = nn.Linear(config.d_model, config.d_model)
        self.out_proj = nn.Linear(config.d_model, config.d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)

    def _attention_dtype(self, x: torch.Tensor) -> torch.dtype:
        # PyTorch's CPU attention kernels are 3-10x slower in float16/bfloat16 than in float32 (measured with
        # torch 2.13 on AVX-512), while the projections gain from half the bytes: so on the CPU, keys, values and
        # the softmax stay in float32 (the cache too, so each step converts only its new row).
        return torch.float32 if x.device.type == "cpu" and x.dtype in (torch.float16, torch.bfloat16) else x.dtype

    def forward(self, hidden, memory=None, mask=None, is_causal=False, cache=None, layer_idx=None):
        dtype = self._attention_dtype(hidden)
        query = self._split(self.q_proj(hidden)).to(dtype)
        if self.is_cross_attention:
            if cache is not None and cache.is_updated.get(layer_idx):  # the text's K/V were computed at step 0
                key = cache.cross_attention_cache.layers[layer_idx].keys
                value = cache.cross_attention_cache.layers[layer_idx].values
            else:
                key, value = self._split(self.k_proj(memory)).to(dtype), self._split(self.v_proj(memory)).to(dtype)
                if cache is not None:
                    cache.cross_attention_cache.update(key, value, layer_idx)
                    cache.is_updated[layer_idx] = True
        else:
            key, value = self._split(self.k_proj(hidden)).to(dtype), self._split(self.v_proj(hidden)).to(dtype)
            if cache is not None:  # append this step's K/V and attend to the whole prefix
                key, value = cache.self_attention_cache.update(key, value, layer_idx)
        attended = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=is_causal
        )
        batch, _, length, _ = attended.shape
        return self.out_proj(attended.transpose(1, 2).reshape(batch, length, -1).to(hidden.dtype))


class SignLLMFeedForward(nn.Module):
    def __init__(self, config: SignLLMConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, config.d_model)
        self.activation = ACT2FN[config.activation]
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(self.activation(self.fc1(hidden))))


class SignLLMEncoderLayer(GradientCheckpointingLayer):
    """Pre-norm self-attention + feed-forward."""

    def __init__(self, config: SignLLMConfig):
        super().__init__()
        self.self_attn = SignLLMAttention(config)
        self.ffn = SignLLMFeedForward(config)
        self.norm1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.norm2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        hidden = hidden + self.dropout(self.self_attn(self.norm1(hidden), mask=mask))
        return hidden + self.dropout(self.ffn(self.norm2(hidden)))


class SignLLMDecoderLayer(GradientCheckpointingLayer):
    """Pre-norm self-attention (causal, or over the whole clip with ``decoding="parallel"``) + cross-attention to
    the text + feed-forward."""

    def __init__(self, config: SignLLMConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.parallel = config.decoding == "parallel"
        self.self_attn = SignLLMAttention(config)
        self.cross_attn = SignLLMAttention(config, is_cross_attention=True)
        self.ffn = SignLLMFeedForward(config)
        self.norm1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.norm2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.norm3 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden, memory, memory_mask, cache=None, frame_mask=None):
        # With a cache, one new frame attends to the whole prefix. In parallel decoding every frame attends to every
        # real frame of its clip (``frame_mask``, (B, 1, 1, T)), padding excluded.
        causal = not self.parallel and cache is None and hidden.shape[1] > 1
        attended = self.self_attn(
            self.norm1(hidden), mask=frame_mask, is_causal=causal, cache=cache, layer_idx=self.layer_idx
        )
        hidden = hidden + self.dropout(attended)
        attended = self.cross_attn(self.norm2(hidden), memory, memory_mask, cache=cache, layer_idx=self.layer_idx)
        hidden = hidden + self.dropout(attended)
        return hidden + self.dropout(self.ffn(self.norm3(hidden)))


class SignLLMTextEncoder(nn.Module):
    """Token embeddings + sinusoidal positions + encoder layers; or a pretrained transformers encoder + projection."""

    def __init__(self, config: SignLLMConfig):
        super().__init__()
        self.d_model = config.d_model
        self.pretrained = None
        if config.text_encoder is not None:
            encoder_config = AutoConfig.for_model(**config.text_encoder)
            pretrained = AutoModel.from_config(encoder_config)
            self.pretrained = (
                pretrained.get_encoder() if getattr(encoder_config, "is_encoder_decoder", False) else pretrained
            )
            self.project = nn.Linear(encoder_config.hidden_size, config.d_model)
            if config.freeze_text_encoder:
                self.pretrained.requires_grad_(False)
        else:
            self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
            self.layers = nn.ModuleList(SignLLMEncoderLayer(config) for _ in range(config.encoder_layers))
            self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.pretrained is not None:
            states = self.pretrained(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.project(states)
        positions = sinusoidal_positions(torch.arange(input_ids.shape[1], device=input_ids.device), self.d_model)
        embedded = self.embed_tokens(input_ids)
        hidden = self.dropout(embedded * math.sqrt(self.d_model) + positions.to(embedded.dtype))  # (B, L, D)
        mask = attention_mask[:, None, None, :].bool()  # (B, 1, 1, L): attend to real tokens only
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return self.norm(hidden)


class SignLLMPoseDecoder(nn.Module):
    """Frames in, hidden states out: frame embedding + positions + decoder layers + heads."""

    def __init__(self, config: SignLLMConfig):
        super().__init__()
        self.config = config
        # With decoder_input="position" there is nothing to embed: a learned query vector stands in for the frame.
        if config.decoder_input_size:
            self.embed_frames = nn.Linear(config.decoder_input_size, config.d_model)
        else:
            self.frame_query = nn.Parameter(torch.zeros(config.d_model))
        self.layers = nn.ModuleList(SignLLMDecoderLayer(config, i) for i in range(config.decoder_layers))
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.pose_head = nn.Linear(config.d_model, config.pose_dim * (1 + config.future_prediction))
        self.counter_head = nn.Linear(config.d_model, 1) if config.use_counter else None
        if config.alignment == "duration":
            # Frames per token, from the encoder's states (log(1 + frames), so that long and short letters weigh
            # alike); and the token being signed at a step, with the step's phase in it, added to the step's input.
            self.duration_head = nn.Sequential(
                nn.Linear(config.d_model, config.d_model), nn.GELU(), nn.Linear(config.d_model, 1)
            )
            self.embed_alignment = nn.Linear(config.d_model + ALIGNMENT_EXTRA, config.d_model)

    def predict_durations(self, memory: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """Predicted log(1 + frames) of every token ``(B, L)``, 0 on padding."""
        return self.duration_head(memory).squeeze(-1) * text_mask.to(memory.dtype)

    def forward(
        self, inputs, memory, memory_mask, start_position: int = 0, cache=None, aligned=None, frame_mask=None
    ) -> torch.Tensor:
        positions = torch.arange(start_position, start_position + inputs.shape[1], device=inputs.device)
        if self.config.decoder_input_size:
            embedded = self.embed_frames(inputs.to(self.embed_frames.weight.dtype))
        else:  # inputs is (B, T, 0): only its shape counts
            embedded = self.frame_query.expand(*inputs.shape[:2], -1)
        if aligned is not None:  # (B, T, D + 2): the token being signed and the phase within it
            embedded = embedded + self.embed_alignment(aligned.to(embedded.dtype))
        hidden = self.dropout(embedded + sinusoidal_positions(positions, self.config.d_model).to(embedded.dtype))
        self_mask = None if frame_mask is None or self.config.decoding != "parallel" else frame_mask[:, None, None]
        for layer in self.layers:
            hidden = layer(hidden, memory, memory_mask, cache=cache, frame_mask=self_mask)
        return self.norm(hidden)  # (B, T, D)

    def heads(self, hidden: torch.Tensor, future: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(frames (B, T, C): next pose + counter, future (B, T, K, P) or None)``; ``future=False`` skips the
        future-prediction outputs (generation reads only the next frame)."""
        predicted = 1 + (self.config.future_prediction if future else 0)
        rows = predicted * self.config.pose_dim  # the head's outputs are [next frame, +1, ..., +K] poses
        poses = F.linear(hidden, self.pose_head.weight[:rows], self.pose_head.bias[:rows])
        poses = poses.view(*hidden.shape[:2], predicted, self.config.pose_dim)
        frames = poses[:, :, 0]
        if self.counter_head is not None:
            frames = torch.cat([frames, self.counter_head(hidden)], dim=-1)
        return frames, (poses[:, :, 1:] if predicted > 1 else None)


class SignLLMGroup(nn.Module):
    """One encoder-decoder: MLSF keeps one per language, Prompt2LangGloss one shared."""

    def __init__(self, config: SignLLMConfig):
        super().__init__()
        self.encoder = SignLLMTextEncoder(config)
        self.decoder = SignLLMPoseDecoder(config)


def check_weight_files(folder: str | os.PathLike) -> None:
    """Raise a ValueError naming the file when a saved model's safetensors weights cannot be read (a truncated or
    corrupt copy); transformers would fail deep inside ``safe_open`` with a message that names no file. Files that
    are absent are left to transformers, which lists what it looked for.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "model.safetensors"), "wb").write(b"12345")
    >>> check_weight_files(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: .../model.safetensors: cannot read the weights (Error while deserializing header: header too small)...
    """
    index = os.path.join(folder, "model.safetensors.index.json")
    names = ["model.safetensors"]
    if os.path.isfile(index):  # a sharded checkpoint: every shard the index names
        try:
            with open(index, encoding="utf-8") as handle:
                names = sorted(set(json.load(handle)["weight_map"].values()))
        except (ValueError, KeyError, AttributeError) as error:
            raise ValueError(
                f"{index}: not a safetensors index ({type(error).__name__}: {error}); copy it again from where the "
                "model was saved, or save the model again"
            ) from None
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        try:
            with safe_open(path, framework="pt"):  # checks the header and that the file holds every tensor it lists
                pass
        except (SafetensorError, OSError) as error:
            raise ValueError(
                f"{path}: cannot read the weights ({error}): the file is truncated or corrupt; copy it again from "
                "where the model was saved, or save the model again"
            ) from None


class SignLLMPreTrainedModel(PreTrainedModel):
    config: SignLLMConfig
    config_class = SignLLMConfig
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["SignLLMGroup"]
    _supports_sdpa = True
    accepts_loss_kwargs = False  # forward returns a per-batch mean; Trainer must scale it for accumulation

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)


class SignLLMForPoseGeneration(SignLLMPreTrainedModel):
    """Text tokens -> continuous pose frames with a counter, one encoder-decoder group per language (MLSF) or one
    shared group (Prompt2LangGloss). Labels and generated poses are in the data's coordinates; the model normalises
    them with the config's ``pose_mean`` / ``pose_std``."""

    def __init__(self, config: SignLLMConfig):
        # The model owns its config: add_language changes it, which must not reach other models built from it.
        super().__init__(copy.deepcopy(config))
        config = self.config
        names = config.languages if config.mode == "mlsf" else [SHARED_GROUP]
        self.groups = nn.ModuleDict({name: SignLLMGroup(config) for name in names})
        # Noise std for the decoder inputs in training when set (the trainer's noise schedule), else the config's.
        self.training_noise: float | None = None
        self.post_init()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """[`PreTrainedModel.from_pretrained`], refusing a checkpoint that would sign from random weights: a weights
        file that cannot be read, or a language of config.json whose group is not (or not wholly) in the weights.
        transformers would only log it in its MISSING table and initialise the group at random, e.g. after a
        language was added to config.json by hand, or a group's tensors were dropped from model.safetensors.

        To grow a model, load it first and then call :meth:`add_language` or :meth:`load_language`, and save it.
        """
        source = pretrained_model_name_or_path
        if source is not None and os.path.isdir(source):
            check_weight_files(os.path.join(source, kwargs.get("subfolder") or ""))
        return_info = kwargs.pop("output_loading_info", False)
        try:
            model, info = super().from_pretrained(source, *model_args, output_loading_info=True, **kwargs)
        except SafetensorError as error:  # a file that check_weight_files did not see (e.g. in the Hub cache)
            raise ValueError(
                f"{source}: cannot read the weights ({error}): a file is truncated or corrupt; download or copy the "
                "model again"
            ) from None
        model._refuse_missing_groups(info["missing_keys"], source)
        return (model, info) if return_info else model

    def _refuse_missing_groups(self, missing_keys, source) -> None:
        missing = {}  # group name -> how many of its tensors the checkpoint lacks
        for key in missing_keys:
            parts = key.split(".")
            if len(parts) > 2 and parts[0] == "groups" and parts[1] in self.groups:
                missing[parts[1]] = missing.get(parts[1], 0) + 1
        if not missing:
            return
        described = ", ".join(
            f"{'every language (the shared group)' if name == SHARED_GROUP else repr(name)}: {count} of "
            f"{len(self.groups[name].state_dict())} tensors missing"
            for name, count in sorted(missing.items())
        )
        raise ValueError(
            f"{source}: config.json lists languages whose weights are not in the checkpoint ({described}); they "
            "would sign from random weights. Retrain the model with these languages, or remove them from "
            "`languages` in config.json (a group saved with save_language can then be added with load_language)"
        )

    def statistics(self, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The data's per-channel mean and std (float32), read from the config each time: they follow
        ``config.with_data_statistics`` and never lose precision to a bf16 cast (0 and 1 when the config has none)."""
        config = self.config
        mean = torch.tensor(config.pose_mean) if config.pose_mean is not None else torch.zeros(config.pose_dim)
        std = torch.tensor(config.pose_std) if config.pose_std is not None else torch.ones(config.pose_dim)
        return mean.float().to(device), std.float().to(device)

    @classmethod
    def from_text_encoder(cls, encoder: str | os.PathLike | PreTrainedModel, **config_kwargs):
        """A SignLLM model whose text encoder is a pretrained transformers encoder (a path / Hub id, or a model).

        Every group gets its own copy of the encoder's weights (MLSF shares nothing); pass
        ``freeze_text_encoder=True`` to keep them fixed. Use the encoder's own tokenizer with it.

        >>> from transformers import BertConfig, BertModel
        >>> bert = BertModel(BertConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ...                             intermediate_size=32))
        >>> model = SignLLMForPoseGeneration.from_text_encoder(bert, d_model=32, ffn_dim=64, attention_heads=2)
        >>> model.config.vocab_size, model.config.text_encoder["model_type"]
        (99, 'bert')
        """
        pretrained = encoder if isinstance(encoder, PreTrainedModel) else AutoModel.from_pretrained(encoder)
        encoder_config = pretrained.config
        config_kwargs.setdefault("vocab_size", encoder_config.vocab_size)
        config_kwargs.setdefault("pad_token_id", getattr(encoder_config, "pad_token_id", None) or 0)
        config_kwargs["text_encoder"] = encoder_config.to_dict()  # the encoder decides, whatever was passed
        config = SignLLMConfig(**config_kwargs)
        model = cls(config)
        source = pretrained.get_encoder() if getattr(encoder_config, "is_encoder_decoder", False) else pretrained
        for group in model.groups.values():
            group.encoder.pretrained.load_state_dict(source.state_dict())
        return model

    # -- languages ---------------------------------------------------------------------------------------------

    def resolve_language(self, language: str) -> str:
        """The canonical code of ``language`` if this model has it; otherwise a ValueError listing its languages."""
        try:
            code = model_language(language)
        except ValueError:
            code = None
        has_group = self.config.mode != "mlsf" or code in self.groups
        if code not in self.config.languages or not has_group:
            typed = f"{language!r}" + (f" ({code})" if code and code != language else "")
            raise ValueError(f"this model has no language {typed}; its languages are {self.config.languages}")
        return code

    def group_for(self, language: str) -> SignLLMGroup:
        """The encoder-decoder group that serves ``language``."""
        code = self.resolve_language(language)
        return self.groups[code if self.config.mode == "mlsf" else SHARED_GROUP]

    def add_language(self, language: str, init_from: str | None = None) -> SignLLMGroup:
        """Add a language (MLSF: a new group, freshly initialised or copied from ``init_from``'s group). Every other
        group is left untouched, bit for bit."""
        try:
            code = model_language(language)
        except ValueError as error:
            raise ValueError(f"cannot add language {language!r}: {error}") from None
        if code in self.config.languages:
            raise ValueError(f"the model already has language {code!r}")
        if self.config.mode == "mlsf":
            if init_from is not None:
                group = copy.deepcopy(self.group_for(init_from))
            else:
                group = SignLLMGroup(self.config)
                group.apply(self._init_weights)
            reference = next(self.parameters())
            self.groups[code] = group.to(device=reference.device, dtype=reference.dtype)
        self.config.languages = [*self.config.languages, code]
        return self.groups[code if self.config.mode == "mlsf" else SHARED_GROUP]

    def freeze_language(self, language: str, frozen: bool = True) -> None:
        """Stop (or restart) training one language's group."""
        self.group_for(language).requires_grad_(not frozen)

    def save_language(self, language: str, path: str | os.PathLike) -> None:
        """Save one language's group alone (a safetensors file), e.g. to share or to add it to another model."""
        from safetensors.torch import save_file  # noqa: PLC0415

        state = {k: v.detach().contiguous().cpu() for k, v in self.group_for(language).state_dict().items()}
        metadata = {
            "language": self.resolve_language(language),
            "model_type": "signllm",
            "compatibility": json.dumps(self._group_fingerprint(), sort_keys=True),
        }
        save_file(state, str(path), metadata=metadata)

    def _group_fingerprint(self) -> dict:
        # What a group's weights only make sense with: its architecture, the data statistics it learned in.
        fingerprint = {name: getattr(self.config, name) for name in self.config.architecture_fields}
        mean, std = self.statistics()
        fingerprint["statistics"] = [round(float(mean.sum()), 4), round(float(std.sum()), 4)]
        return fingerprint

    def load_language(self, language: str, path: str | os.PathLike) -> None:
        """Load a group saved by :meth:`save_language` into ``language`` (added first if the model lacks it)."""
        from safetensors import safe_open  # noqa: PLC0415
        from safetensors.torch import load_file  # noqa: PLC0415

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        saved = json.loads(metadata.get("compatibility", "{}"))
        differing = [
            name for name, value in self._group_fingerprint().items() if name in saved and saved[name] != value
        ]
        if differing:
            raise ValueError(
                f"{path}: the group was trained with another {', '.join(differing)} than this model's; it would "
                "produce wrong poses here"
            )
        code = model_language(language)
        if code not in self.config.languages:
            self.add_language(code)
        try:
            missing, unexpected = self.group_for(code).load_state_dict(load_file(str(path)), strict=False)
        except RuntimeError as error:  # shapes differ: another width, vocabulary or future_prediction
            raise ValueError(f"{path}: the group does not fit this model's architecture ({error})") from None
        if missing or unexpected:
            raise ValueError(
                f"{path}: not a group of this architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )

    def parameters_per_language(self) -> int:
        """Parameters one language uses: its group in MLSF, the whole shared model in Prompt2LangGloss."""
        return sum(p.numel() for p in next(iter(self.groups.values())).parameters())

    def paper_name(self) -> str:
        """The SignLLM paper's naming scheme from the real parameter counts: ``SignLLM-{languages}x{size per
        language}-{Base|Large|Super|Custom}-{M|P}`` (M = MLSF, P = Prompt2LangGloss), e.g. ``SignLLM-2x19M-Base-M``."""
        size = self.parameters_per_language()
        size_text = (
            f"{size / 1e9:.1f}B" if size >= 1e9 else f"{round(size / 1e6)}M" if size >= 1e6 else f"{size / 1e3:.0f}K"
        )
        tier = (
            self.config.preset or {512: "base", 1024: "large", 2048: "super"}.get(self.config.d_model, "custom")
        ).capitalize()
        mode = "M" if self.config.mode == "mlsf" else "P"
        return f"SignLLM-{len(self.config.languages)}x{size_text}-{tier}-{mode}"

    # -- embeddings (resize applies to every group) ------------------------------------------------------------

    def get_input_embeddings(self) -> nn.Module:
        encoder = next(iter(self.groups.values())).encoder
        return encoder.pretrained.get_input_embeddings() if encoder.pretrained is not None else encoder.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        encoder = next(iter(self.groups.values())).encoder
        if encoder.pretrained is not None:
            encoder.pretrained.set_input_embeddings(value)
        else:
            encoder.embed_tokens = value

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, **kwargs
    ) -> nn.Embedding:
        """Resize every group's token embeddings (new rows initialised, old rows kept, dtype and trainability kept)."""
        if new_num_tokens is None:
            return self.get_input_embeddings()
        if pad_to_multiple_of:
            new_num_tokens = -(-new_num_tokens // pad_to_multiple_of) * pad_to_multiple_of
        for group in self.groups.values():
            if group.encoder.pretrained is not None:
                group.encoder.pretrained.resize_token_embeddings(new_num_tokens)
                continue
            old = group.encoder.embed_tokens
            new = nn.Embedding(new_num_tokens, old.embedding_dim, padding_idx=old.padding_idx)
            new = new.to(device=old.weight.device, dtype=old.weight.dtype)
            nn.init.normal_(new.weight, std=self.config.initializer_range)
            keep = min(old.num_embeddings, new_num_tokens)
            with torch.no_grad():
                new.weight[:keep] = old.weight[:keep]
            new.weight.requires_grad_(old.weight.requires_grad)
            group.encoder.embed_tokens = new
        self.config.vocab_size = new_num_tokens
        return self.get_input_embeddings()

    # -- normalisation -----------------------------------------------------------------------------------------

    def normalize(self, poses: torch.Tensor) -> torch.Tensor:
        """Data coordinates (..., P) -> the model's normalised space (computed in float32)."""
        mean, std = self.statistics(poses.device)
        return (poses.float() - mean) / std

    def denormalize(self, frames: torch.Tensor) -> torch.Tensor:
        """Normalised (..., P) -> data coordinates (computed in float32)."""
        mean, std = self.statistics(frames.device)
        return frames.float() * std + mean

    # -- forward -----------------------------------------------------------------------------------------------

    def _check_inputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None):
        if input_ids.ndim != 2 or input_ids.shape[1] == 0:
            raise ValueError(
                f"`input_ids` must be (batch, tokens) with at least one token, got {tuple(input_ids.shape)}"
            )
        if attention_mask is None:  # attend to every token but padding (keeping at least one per row)
            attention_mask = (input_ids != self.config.pad_token_id).long()
            attention_mask[:, 0] = 1
        if int(input_ids.max()) >= self.config.vocab_size or int(input_ids.min()) < 0:
            raise ValueError(
                f"token id {int(input_ids.max())} is outside the model's vocabulary (vocab_size="
                f"{self.config.vocab_size}); tokenize the text with the tokenizer saved with this model"
            )
        if input_ids.shape[1] > self.config.max_text_length:
            logger.warning(
                "text of %d tokens is longer than max_text_length=%d; truncating",
                input_ids.shape[1],
                self.config.max_text_length,
            )
            input_ids = input_ids[:, : self.config.max_text_length]
            attention_mask = attention_mask[:, : self.config.max_text_length]
        return input_ids, attention_mask

    def _languages(self, language, batch_size: int) -> list[str]:
        if language is None:
            if len(self.config.languages) == 1:
                return [self.config.languages[0]] * batch_size
            raise ValueError(f"pass `language`: this model has several languages {self.config.languages}")
        languages = [language] * batch_size if isinstance(language, str) else list(language)
        if len(languages) != batch_size:
            raise ValueError(f"`language` has {len(languages)} entries for a batch of {batch_size}")
        return [self.resolve_language(code) for code in languages]

    def _routes(self, languages: list[str]) -> list[tuple[SignLLMGroup, torch.Tensor]]:
        # Rows of the batch per group: MLSF batches are usually one language, but mixed ones are routed, not refused.
        routes = {}
        for row, code in enumerate(languages):
            name = code if self.config.mode == "mlsf" else SHARED_GROUP
            routes.setdefault(name, []).append(row)
        return [(self.groups[name], torch.tensor(rows)) for name, rows in routes.items()]

    def decoder_inputs(self, targets: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: the previous target frame for every step, a zero frame (counter 0) first, cut to what
        ``decoder_input`` reads. Gaussian noise is added to the pose values in training."""
        previous = torch.cat([torch.zeros_like(targets[:, :1]), targets[:, :-1]], dim=1)  # (B, T, C)
        std = self.config.gaussian_noise if self.training_noise is None else self.training_noise
        if self.training and std > 0:
            noise = torch.randn_like(previous[..., : self.config.pose_dim]) * std
            previous = torch.cat(
                [previous[..., : self.config.pose_dim] + noise, previous[..., self.config.pose_dim :]], -1
            )
        return self._step_input(previous)

    def _step_input(self, frames: torch.Tensor) -> torch.Tensor:
        """The part of frames (pose + counter) that the decoder reads, by ``config.decoder_input``."""
        kind, pose_dim = self.config.decoder_input, self.config.pose_dim
        if kind == "frame":
            return frames
        if kind == "pose":
            return frames[..., :pose_dim]
        if kind == "counter":
            return frames[..., pose_dim:]
        return frames[..., :0]

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.LongTensor | None = None,
        labels: torch.FloatTensor | None = None,
        frame_mask: torch.BoolTensor | None = None,
        language: str | list[str] | None = None,
        return_dict: bool | None = None,
        token_durations: torch.LongTensor | None = None,
    ) -> SignLLMOutput:
        r"""Teacher-forced prediction of every next frame.

        Args:
            input_ids (`(B, L)`), attention_mask (`(B, L)`): tokenised text.
            labels (`(B, T, C)`): target frames in the data's coordinates, with the counter as the last channel (as
                [`SignLLMDataCollator`] builds them).
            frame_mask (`(B, T)`): True on real frames; padded frames affect neither the loss nor the real frames.
            language: one code for the batch or one per row (MLSF picks each row's group).
            token_durations (`(B, L)`): frames each token is signed in (needed with `alignment="duration"`, as
                [`SignLLMDataCollator`] builds them from `char_durations`).
        """
        input_ids, attention_mask = self._check_inputs(input_ids, attention_mask)
        aligned_by_duration = self.config.alignment == "duration"
        if aligned_by_duration and token_durations is None:
            raise ValueError(
                "this model aligns text and frames by duration (`alignment='duration'`): give `token_durations` "
                "(the collator makes them from rows with `char_durations`, e.g. the fingerspelling corpus)"
            )
        if labels is None:
            raise ValueError("forward needs `labels` (teacher forcing); use `generate` to produce poses from text")
        if labels.shape[-1] != self.config.output_size:
            raise ValueError(
                f"`labels` must have {self.config.output_size} channels per frame, got {labels.shape[-1]}"
            )
        if frame_mask is None:
            frame_mask = torch.ones(labels.shape[:2], dtype=torch.bool, device=labels.device)
        frame_mask = frame_mask.bool()
        if not torch.isfinite(labels[frame_mask]).all():
            raise ValueError("`labels` contain NaN/inf in real frames; mark padding frames False in `frame_mask`")
        targets = self.normalized_targets(labels, frame_mask)

        # Outputs are gathered in float32 (a bf16 model's groups are cast on the way), so the loss is float32 too.
        frames = torch.zeros_like(targets)
        future = None
        if self.config.future_prediction:
            future = targets.new_zeros(*targets.shape[:2], self.config.future_prediction, self.config.pose_dim)
        memory = targets.new_zeros(*input_ids.shape, self.config.d_model)
        duration_error, token_count = targets.new_zeros(()), targets.new_zeros(())
        for group, rows in self._routes(self._languages(language, input_ids.shape[0])):
            rows = rows.to(input_ids.device)
            text_mask = attention_mask[rows]
            encoded = group.encoder(input_ids[rows], text_mask)  # (b, L, D)
            aligned = None
            if aligned_by_duration:
                durations = token_durations[rows].to(input_ids.device) * text_mask  # (b, L)
                aligned = aligned_tokens(encoded, durations, 0, targets.shape[1], text_mask)  # (b, T, D + 2)
                predicted = group.decoder.predict_durations(encoded, text_mask).float()
                squared = (predicted - torch.log1p(durations.float())) ** 2 * text_mask
                duration_error, token_count = duration_error + squared.sum(), token_count + text_mask.sum()
            inputs = self.decoder_inputs(targets[rows])
            hidden = group.decoder(
                inputs, encoded, text_mask[:, None, None, :].bool(), aligned=aligned, frame_mask=frame_mask[rows]
            )
            group_frames, group_future = group.decoder.heads(hidden)
            frames = frames.index_copy(0, rows, group_frames.to(frames.dtype))
            memory = memory.index_copy(0, rows, encoded.to(memory.dtype))
            if future is not None:
                future = future.index_copy(0, rows, group_future.to(future.dtype))

        frame_errors = self.frame_errors(frames, targets, frame_mask)
        loss = frame_errors.sum() / frame_mask.sum().clamp_min(1)
        future_loss = self.future_loss(future, targets, frame_mask)
        hand_loss = None
        if self.config.hand_loss_weight > 0:
            hand_loss = self.config.hand_loss_weight * self.hand_shape_loss(frames, targets, frame_mask)
            loss = loss + hand_loss
        velocity_loss = None
        if self.config.velocity_loss_weight > 0:
            velocity_loss = self.config.velocity_loss_weight * self.velocity_loss(frames, targets, frame_mask)
            loss = loss + velocity_loss
        duration_loss = None
        if aligned_by_duration:
            duration_loss = self.config.duration_loss_weight * duration_error / token_count.clamp_min(1)
            loss = loss + duration_loss
        return SignLLMOutput(
            loss + future_loss,
            future_loss,
            frames,
            future,
            frame_errors,
            memory,
            duration_loss,
            hand_loss,
            velocity_loss,
        )

    def normalized_targets(self, labels: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Labels in the data's coordinates (+ counter) -> the model's normalised targets, zero on padded frames."""
        pose = self.normalize(labels[..., : self.config.pose_dim])
        targets = torch.cat([pose, labels[..., self.config.pose_dim :].float()], dim=-1)
        return torch.where(frame_mask[..., None].bool(), targets, 0.0)  # padding is zero, even if it held NaN

    def hand_shape_loss(self, frames, targets, frame_mask) -> torch.Tensor:
        """Mean squared error of both hands' joints relative to their wrist, in units of ``hand_scale`` (data
        coordinates; the 50-joint skeleton: left hand 8-28 on wrist 7, right hand 29-49 on wrist 4)."""
        pose_dim = self.config.pose_dim
        predicted = self.denormalize(frames[..., :pose_dim]).unflatten(-1, (-1, 3))  # (B, T, 50, 3)
        target = self.denormalize(targets[..., :pose_dim]).unflatten(-1, (-1, 3))
        error = frames.new_zeros(frames.shape[:2])
        for hand, wrist in ((slice(8, 29), 7), (slice(29, 50), 4)):
            shape = predicted[:, :, hand] - predicted[:, :, wrist : wrist + 1]
            wanted = target[:, :, hand] - target[:, :, wrist : wrist + 1]
            error = error + ((shape - wanted) ** 2).sum(-1).mean(-1) / 2  # (B, T)
        mask = frame_mask.to(error.dtype)
        return (error * mask).sum() / mask.sum().clamp_min(1) / self.config.hand_scale**2

    def velocity_loss(self, frames, targets, frame_mask) -> torch.Tensor:
        """Mean squared error of every joint's displacement from one real frame to the next (data coordinates,
        Euclidean per joint), in units of ``velocity_scale``."""
        pose_dim = self.config.pose_dim
        predicted = self.denormalize(frames[..., :pose_dim]).unflatten(-1, (-1, 3)).diff(dim=1)  # (B, T - 1, J, 3)
        target = self.denormalize(targets[..., :pose_dim]).unflatten(-1, (-1, 3)).diff(dim=1)
        error = ((predicted - target) ** 2).sum(-1).mean(-1)  # (B, T - 1)
        both = (frame_mask[:, 1:] & frame_mask[:, :-1]).to(error.dtype)
        return (error * both).sum() / both.sum().clamp_min(1) / self.config.velocity_scale**2

    def channel_weights(self, like: torch.Tensor) -> torch.Tensor:
        """Loss weight of every output channel: 1 per pose value, ``counter_loss_weight`` for the counter."""
        weights = like.new_ones(self.config.output_size)
        if self.config.use_counter:
            weights[-1] = self.config.counter_loss_weight
        return weights

    def frame_errors(self, frames, targets, frame_mask, kind: str = "mse") -> torch.Tensor:
        """Per-frame error (B, T): the channel-weighted mean of squared (``"mse"``) or absolute (``"l1"``) errors,
        0 on padded frames. The masked MSE loss is their mean over real frames."""
        difference = frames - targets
        elementwise = difference * difference if kind == "mse" else difference.abs()
        weights = self.channel_weights(frames)
        return (elementwise * weights).sum(dim=-1) / weights.sum() * frame_mask.to(frames.dtype)

    def future_loss(self, future, targets, frame_mask) -> torch.Tensor:
        """Mean squared error of the future predictions: the one made at step t for frame t + k, where both exist."""
        if future is None:
            return targets.new_zeros(())
        total, count = targets.new_zeros(()), targets.new_zeros(())
        for k in range(1, future.shape[2] + 1):
            both = (frame_mask[:, :-k] & frame_mask[:, k:]).to(targets.dtype)
            error = (future[:, :-k, k - 1] - targets[:, k:, : self.config.pose_dim]) ** 2 * both[..., None]
            total, count = total + error.sum(), count + both.sum() * self.config.pose_dim
        return total / count.clamp_min(1)

    # -- generation --------------------------------------------------------------------------------------------

    def _stop(self, counter: torch.Tensor, step: int, peak: torch.Tensor, peak_step: torch.Tensor):
        """Which sequences end at this step, and their lengths: ``(stop (B,) bool, length (B,) long)``."""
        length = torch.full_like(peak_step, step + 1)
        if self.config.stop_rule == "threshold":
            return counter >= self.config.stop_threshold, length
        # The counter estimates the clip's length, (t + 1) / c_t: stop when step t + 1 reaches it.
        reached = counter > (step + 1) / (step + 1.5)
        if self.config.stop_rule == "length":
            return reached, length
        # "counter": or it turned back from a peak, which marks the end; the clip ends at the peak.
        fell = (peak >= self.config.stop_peak) & (counter < peak - self.config.stop_drop) & ~reached
        return reached | fell, torch.where(fell, peak_step + 1, length)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.LongTensor | None = None,
        language: str | list[str] | None = None,
        max_frames: int | None = None,
        use_cache: bool = True,
        streamer: PoseStreamer | None = None,
    ) -> SignLLMGenerationOutput:
        """Generate poses for a batch of texts.

        The text is encoded once; the decoder then produces one frame per step from a zero start frame, feeding each
        prediction back. With ``use_cache`` every step runs only on the newest frame against cached keys and values
        (its cost does not grow with the prefix); without, the whole prefix is decoded again each step (for
        checking). A sequence stops at the first frame whose counter meets the config's stop rule (with
        ``alignment="duration"``: at the end of its last token, its length planned from the predicted durations), or at
        ``max_frames`` (default: the config's; at most its ``max_positions``); the loop ends when every sequence has
        stopped. With ``decoding="parallel"`` there is no loop: the planned frames come out of one decoder pass.
        Training mode is restored afterwards.

        ``streamer`` (a [`~signllm_hf.streaming.PoseStreamer`]) receives every step's new frames as they are
        decoded, and the final lengths at the end; [`stream`] wraps this in an iterator.
        """
        max_frames = self.config.resolve_max_frames(max_frames)  # a whole number, at most config.max_positions
        input_ids, attention_mask = self._check_inputs(input_ids, attention_mask)
        modes = {module: module.training for module in self.modules()}  # a frozen part may stay in eval mode
        self.eval()
        try:
            results = []
            for group, rows in self._routes(self._languages(language, input_ids.shape[0])):
                rows = rows.to(input_ids.device)
                generated = self._generate_group(
                    group, input_ids[rows], attention_mask[rows], max_frames, use_cache, streamer, rows
                )
                results.append((rows, generated))
        finally:
            for module, mode in modes.items():
                module.training = mode
        longest = max(int(frames.shape[1]) for _, (frames, _, _) in results)
        batch = input_ids.shape[0]
        frames = input_ids.new_zeros(batch, longest, self.config.pose_dim, dtype=torch.float)
        counters = input_ids.new_zeros(batch, longest, dtype=torch.float)
        lengths = input_ids.new_zeros(batch)
        for rows, (group_frames, group_counters, group_lengths) in results:  # outputs in float32, whatever the dtype
            frames[rows, : group_frames.shape[1]] = group_frames.float()
            counters[rows, : group_counters.shape[1]] = group_counters.float()
            lengths[rows] = group_lengths
        valid = (torch.arange(longest, device=frames.device)[None] < lengths[:, None]).float()
        frames, counters = frames * valid[..., None], counters * valid
        poses = self.denormalize(frames) * valid[..., None]  # data coordinates
        if streamer is not None:
            streamer.end(lengths)
        return SignLLMGenerationOutput(poses.view(batch, longest, -1, 3), lengths, counters, frames)

    def stream(
        self,
        input_ids,
        attention_mask=None,
        language=None,
        max_frames=None,
        timeout: float | None = None,
        streamer: PoseIteratorStreamer | None = None,
    ):
        """Generate as [`generate`] does, yielding the frames as they are decoded: [`~signllm_hf.streaming.PoseChunk`]s
        (``poses`` ``(b, n, 50, 3)`` in data coordinates for batch rows ``rows``; one frame per step, or the whole
        clip at once with ``decoding="parallel"``). Generation runs in a background thread; an error in it is
        raised here. Pass your own ``streamer`` to read the clips' final lengths (``streamer.lengths``) once the
        iteration is over: the ``"counter"`` stop rule may end a clip at an earlier peak, after a few more frames
        were streamed. See ``benchmarks/generation.py --first-frame`` for the time to the first frame."""
        import threading  # noqa: PLC0415 - only streaming needs a thread

        streamer = streamer if streamer is not None else PoseIteratorStreamer(timeout=timeout)

        def run():
            try:
                self.generate(input_ids, attention_mask, language=language, max_frames=max_frames, streamer=streamer)
            except BaseException as error:  # handed to the consumer, which would otherwise wait forever
                streamer.fail(error)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from streamer
        worker.join()

    def _new_cache(self, max_frames: int) -> EncoderDecoderCache:
        """The decoder's KV cache for one generation: self-attention keys and values in buffers that grow by
        doubling up to ``max_frames`` (see ``SignLLMGrowingCacheLayer``); the text's cross-attention ones, computed
        once, in a ``DynamicCache``."""
        layers = [SignLLMGrowingCacheLayer(max_frames) for _ in range(self.config.decoder_layers)]
        return EncoderDecoderCache(Cache(layers=layers), DynamicCache())

    def _stream(self, streamer, frames: torch.Tensor, rows: torch.Tensor, signing: torch.Tensor | None = None):
        """Hand ``frames`` ``(b, n, C)`` (normalised) of batch ``rows`` to the streamer, in data coordinates, for the
        rows still ``signing``."""
        if signing is not None:
            frames, rows = frames[signing], rows[signing.to(rows.device)]
        if len(rows):
            poses = self.denormalize(frames[..., : self.config.pose_dim].float())
            streamer.put(poses.view(*frames.shape[:2], -1, 3), rows)

    def _generate_group(
        self, group, input_ids, attention_mask, max_frames: int, use_cache: bool, streamer=None, rows=None
    ):
        memory = group.encoder(input_ids, attention_mask)  # encoded once: (B, L, D), in the model's dtype
        memory_mask = attention_mask[:, None, None, :].bool()
        batch = input_ids.shape[0]
        durations, planned = None, None
        if self.config.alignment == "duration":  # the clip is planned: every token's frames, ending with the last
            predicted = group.decoder.predict_durations(memory, attention_mask).float()
            frames = torch.expm1(predicted).clamp_min(0) * attention_mask  # (B, L), fractional
            # Round where tokens end, not each token: errors do not add up over a long text.
            ends = frames.cumsum(dim=1).round().long()
            durations = torch.diff(ends, dim=1, prepend=torch.zeros_like(ends[:, :1]))  # (B, L)
            planned = durations.sum(dim=1).clamp(1, max_frames)  # (B,)
        if self.config.decoding == "parallel":  # every frame at once: nothing is fed back
            return self._generate_parallel(group, memory, attention_mask, durations, planned, streamer, rows)
        cache = self._new_cache(max_frames) if use_cache else None
        frame = memory.new_zeros(batch, 1, self.config.output_size)  # the start frame: zero pose, counter 0
        inputs = []  # decoder inputs so far (only needed without a cache)
        outputs = []
        finished = torch.zeros(batch, dtype=torch.bool, device=memory.device)
        lengths = torch.full((batch,), max_frames, dtype=torch.long, device=memory.device)
        peak = torch.full((batch,), -math.inf, device=memory.device)  # highest counter so far, and where
        peak_step = torch.zeros(batch, dtype=torch.long, device=memory.device)
        for step in range(max_frames):
            step_input = self._step_input(frame)
            if use_cache:  # only the newest frame goes through the decoder
                aligned = None if durations is None else aligned_tokens(memory, durations, step, 1, attention_mask)
                hidden = group.decoder(
                    step_input, memory, memory_mask, start_position=step, cache=cache, aligned=aligned
                )
            else:  # the whole prefix again
                inputs.append(step_input)
                aligned = None if durations is None else aligned_tokens(memory, durations, 0, step + 1, attention_mask)
                hidden = group.decoder(torch.cat(inputs, dim=1), memory, memory_mask, aligned=aligned)[:, -1:]
            frame, _ = group.decoder.heads(hidden, future=False)  # (B, 1, C)
            outputs.append(frame)
            if streamer is not None:
                self._stream(streamer, frame, rows, ~finished)
            if planned is not None:  # a duration-aligned clip ends with its last token
                stop = (planned == step + 1) & ~finished
                lengths = torch.where(stop, planned, lengths)
                finished |= stop
                if bool(finished.all()):
                    break
            elif self.config.use_counter:
                counter = frame[:, 0, -1]
                stop, length = self._stop(counter, step, peak, peak_step)
                stop &= ~finished
                lengths = torch.where(stop, length, lengths)
                finished |= stop
                rising = counter > peak
                peak, peak_step = torch.where(rising, counter, peak), torch.where(rising, step, peak_step)
                if bool(finished.all()):
                    break
        frames = torch.cat(outputs, dim=1)  # (B, T, C)
        counters = frames[..., -1] if self.config.use_counter else frames.new_zeros(frames.shape[:2])
        return frames[..., : self.config.pose_dim], counters, lengths

    def _generate_parallel(self, group, memory, attention_mask, durations, planned, streamer=None, rows=None):
        """``decoding="parallel"``: the planned frames of every text in one decoder pass (each row as long as its
        planned clip; padding frames are masked and cut by ``lengths``)."""
        length = int(planned.max())
        frame_mask = torch.arange(length, device=memory.device)[None] < planned[:, None]  # (B, T)
        inputs = memory.new_zeros(memory.shape[0], length, 0)
        aligned = aligned_tokens(memory, durations, 0, length, attention_mask)
        memory_mask = attention_mask[:, None, None, :].bool()
        hidden = group.decoder(inputs, memory, memory_mask, aligned=aligned, frame_mask=frame_mask)
        frames, _ = group.decoder.heads(hidden, future=False)  # (B, T, C)
        if streamer is not None:  # the whole clip at once, each row cut to its length (padding frames zeroed)
            self._stream(streamer, frames * frame_mask[..., None], rows)
        counters = frames[..., -1] if self.config.use_counter else frames.new_zeros(frames.shape[:2])
        return frames[..., : self.config.pose_dim], counters, planned


__all__ = ["SignLLMForPoseGeneration", "SignLLMPreTrainedModel", "SignLLMOutput", "SignLLMGenerationOutput"]
