"""Pose tokens for any transformers language model: the LM writes signing (text -> pose) and reads it (pose -> text).

The discrete path of MotionGPT / SOKE / "Large Sign Language Models" (arXiv 2511.08535): a pose tokenizer (the
VQ-VAE ``SignLLMPoseVQ``) turns frames into ids; :func:`add_pose_tokens` gives any tokenizer and model one token per
id (``<pose_0>`` .. ``<pose_{K-1}>``), ``<pose_start>`` / ``<pose_end>`` around a pose span and one tag per sign
language (``<ase>``), resizes the embeddings and records the ids in ``model.config.pose_vocabulary`` (so
``from_pretrained`` is enough to find them again). Pose ids are contiguous: id = ``first_pose_id`` + code.

Sequences (ids, never strings, so K = 1024 pose tokens cost no tokenizer work; ``eos`` is the tokenizer's):

===============  ================================  ==========================  ===========================
task             source (encoder / prompt)          seq2seq decoder labels      decoder-only labels
===============  ================================  ==========================  ===========================
text -> pose     ``<ase> text``                     ``<pose_start> p.. <pose_end> eos``  ``p.. <pose_end> eos`` after
                                                                                  ``<ase> text <pose_start>``
pose -> text     ``<ase> <pose_start> p.. <pose_end>``  ``text eos``               ``text eos``
completion       ``<ase> <pose_start> p[:k]``       ``<pose_start> p[k:] <pose_end> eos``  ``p[k:] <pose_end> eos``
===============  ================================  ==========================  ===========================

While generating poses, :class:`PoseTokenLogitsProcessor` keeps the LM inside the pose vocabulary between
``<pose_start>`` and ``<pose_end>`` and forces the end after ``max_pose_tokens``; the ids go back to frames through the
pose tokenizer (:func:`decode_pose_codes`). Pose -> text reads pose tokens, or continuous pose features through an MLP
projector into the LM's input embeddings (``modeling_signllm_pose_projector``, the "direct alignment and fusion" of
2511.08535: ``inputs_embeds`` = tag and start embeddings, projected frames, end embedding).

Example (a tiny Qwen2 and tokenizer built offline):
    >>> import torch
    >>> from transformers import Qwen2Config, Qwen2ForCausalLM
    >>> from signllm_hf.tokenization_signllm import train_text_tokenizer
    >>> tokenizer = train_text_tokenizer(["hello world"], vocab_size=270)
    >>> model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    >>> vocab = add_pose_tokens(tokenizer, model, num_pose_tokens=8, languages=["ASL"])
    >>> vocab.first_pose_id == len(tokenizer) - 11, model.get_input_embeddings().num_embeddings == len(tokenizer)
    (True, True)
    >>> codes_to_tokens([3, 0]), tokens_to_codes("<pose_3><pose_0>", tokenizer, vocab)
    ('<pose_3><pose_0>', [3, 0])
    >>> model.config.pose_vocabulary["languages"] == {"ase": len(tokenizer) - 1}
    True
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import AddedToken, GenerationConfig, LogitsProcessor, LogitsProcessorList

from .data.collator import pad_poses
from .data.languages import canonical_language

POSE_START = "<pose_start>"
POSE_END = "<pose_end>"
CONFIG_KEY = "pose_vocabulary"  # model.config.pose_vocabulary: the dict of PoseVocabulary
POSE_TOKENIZER_DIR = "pose_tokenizer"  # sub-folder of a saved pose LM holding its pose tokenizer
PROJECTOR_DIR = "pose_projector"  # sub-folder holding the continuous-feature projector
_POSE_TOKEN = re.compile(r"<pose_(\d+)>")


def pose_token(code: int) -> str:
    """The token string of pose code ``code``: ``<pose_{code}>``."""
    return f"<pose_{int(code)}>"


def language_tag(language: str) -> str:
    """The tag token of a sign language (any alias): ``language_tag("DGS") == "<gsg>"``."""
    return f"<{canonical_language(language)}>"


@dataclass(frozen=True)
class PoseVocabulary:
    """Where the pose tokens sit in a language model's vocabulary (stored as ``model.config.pose_vocabulary``).

    ``num_pose_tokens`` codes at ids ``first_pose_id .. first_pose_id + num_pose_tokens - 1``; ``start_id`` /
    ``end_id`` bracket a pose span; ``languages`` maps canonical codes to their tag ids; ``fps`` is the frame rate
    of the pose tokenizer's data; ``num_codebooks`` its ids per time step (3 with body / hand codebooks).
    """

    num_pose_tokens: int
    first_pose_id: int
    start_id: int
    end_id: int
    languages: dict[str, int] = field(default_factory=dict)
    fps: float = 25.0
    num_codebooks: int = 1

    @property
    def codebook_size(self) -> int:
        """Codes per codebook: a pose tokenizer with C codebooks writes C ids per step, codebook c's in
        ``[c * codebook_size, (c + 1) * codebook_size)``."""
        return self.num_pose_tokens // self.num_codebooks

    @classmethod
    def from_config(cls, config) -> PoseVocabulary:
        values = getattr(config, CONFIG_KEY, None)
        if not values:
            raise ValueError(
                f"this {getattr(config, 'model_type', 'model')!r} model has no pose tokens "
                "(`config.pose_vocabulary` is missing): call add_pose_tokens(tokenizer, model, ...) first"
            )
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def last_pose_id(self) -> int:
        return self.first_pose_id + self.num_pose_tokens - 1

    def is_pose_id(self, ids: torch.Tensor) -> torch.Tensor:
        return (ids >= self.first_pose_id) & (ids <= self.last_pose_id)

    def codes_to_ids(self, codes) -> list[int]:
        codes = [int(code) for code in codes]
        bad = [code for code in codes if not 0 <= code < self.num_pose_tokens]
        if bad:
            raise ValueError(f"pose codes must be in [0, {self.num_pose_tokens}), got {bad[:5]}")
        return [self.first_pose_id + code for code in codes]

    def ids_to_codes(self, ids) -> list[int]:
        """The pose codes of ``ids`` up to the first id that is not a pose token (``<pose_end>``, eos, ...)."""
        codes = []
        for token_id in [int(i) for i in ids]:
            if not self.first_pose_id <= token_id <= self.last_pose_id:
                break
            codes.append(token_id - self.first_pose_id)
        return codes

    def language_id(self, language: str) -> int:
        code = canonical_language(language)
        if code not in self.languages:
            raise ValueError(
                f"no language tag for {language!r} ({code}); this model's languages are {sorted(self.languages)}"
            )
        return self.languages[code]

    def resolve_language(self, language: str | None) -> str:
        """The canonical code of ``language``; with None, the model's only language (else an error)."""
        if language is None:
            if len(self.languages) != 1:
                raise ValueError(f"pass `language=`: this model signs {sorted(self.languages)}")
            return next(iter(self.languages))
        self.language_id(language)  # raises with the model's languages
        return canonical_language(language)


def has_pose_vocabulary(config) -> bool:
    return bool(getattr(config, CONFIG_KEY, None))


def add_pose_tokens(
    tokenizer,
    model=None,
    *,
    pose_tokenizer=None,
    num_pose_tokens: int | None = None,
    languages=(),
    fps: float | None = None,
    num_codebooks: int | None = None,
    pad_to_multiple_of: int | None = None,
) -> PoseVocabulary:
    """Add ``<pose_0..K-1>``, ``<pose_start>``, ``<pose_end>`` and a tag per language to ``tokenizer`` (any
    transformers tokenizer) and, with ``model``, resize its input and output embeddings and record the vocabulary in
    ``model.config.pose_vocabulary``. Tokens already there keep their ids (calling it twice changes nothing).

    ``num_pose_tokens``, ``num_codebooks`` and ``fps`` default to ``pose_tokenizer``'s (e.g. a ``SignLLMPoseVQ``).
    The tokens are special (``decode(..., skip_special_tokens=True)`` drops them) and never normalised (a lowercasing
    tokenizer keeps ``<ASE>`` as written). New embedding rows start at the old rows' mean (transformers' default).
    """
    if pose_tokenizer is not None:
        adapter = PoseTokenizerAdapter.wrap(pose_tokenizer)
        num_pose_tokens = adapter.num_pose_tokens if num_pose_tokens is None else num_pose_tokens
        num_codebooks = adapter.num_codebooks if num_codebooks is None else num_codebooks
        fps = adapter.fps if fps is None else fps
    num_codebooks, fps = num_codebooks or 1, 25.0 if fps is None else fps
    if not isinstance(num_pose_tokens, int) or num_pose_tokens < 1:
        raise ValueError(f"`num_pose_tokens` must be a positive whole number, got {num_pose_tokens!r}")
    tags = [language_tag(code) for code in dict.fromkeys(canonical_language(c) for c in languages)]
    old = getattr(model.config, CONFIG_KEY, None) if model is not None else None
    if old:  # keep the model's languages too
        tags = list(dict.fromkeys([language_tag(code) for code in old["languages"]] + tags))
    strings = [pose_token(code) for code in range(num_pose_tokens)] + [POSE_START, POSE_END] + tags
    vocabulary = tokenizer.get_vocab()
    new = [
        AddedToken(token, normalized=False, special=True, single_word=False, lstrip=False, rstrip=False)
        for token in strings
        if token not in vocabulary
    ]
    if new:
        tokenizer.add_tokens(new, special_tokens=True)
    ids = tokenizer.convert_tokens_to_ids(strings)
    first = ids[0]
    if ids[:num_pose_tokens] != list(range(first, first + num_pose_tokens)):
        raise ValueError(
            "the tokenizer already had some pose tokens at scattered ids; pose ids must be contiguous: start from "
            "a tokenizer without <pose_i> tokens"
        )
    result = PoseVocabulary(
        num_pose_tokens=num_pose_tokens,
        first_pose_id=first,
        start_id=ids[num_pose_tokens],
        end_id=ids[num_pose_tokens + 1],
        languages={tag[1:-1]: token_id for tag, token_id in zip(tags, ids[num_pose_tokens + 2 :])},
        fps=float(fps),
        num_codebooks=int(num_codebooks),
    )
    if model is not None:
        rows = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > rows:  # never shrink: some models (T5) keep spare rows beyond the tokenizer
            model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=pad_to_multiple_of)
        setattr(model.config, CONFIG_KEY, result.to_dict())
    return result


def codes_to_tokens(codes) -> str:
    """Pose codes as one string of pose tokens: ``[3, 0] -> "<pose_3><pose_0>"``."""
    return "".join(pose_token(code) for code in codes)


def tokens_to_codes(text: str, tokenizer=None, vocabulary: PoseVocabulary | None = None) -> list[int]:
    """The pose codes written in ``text`` (other tokens are skipped). With ``tokenizer`` and ``vocabulary`` the text
    goes through the tokenizer (a check that each pose token is one id); without, it is parsed."""
    if tokenizer is None:
        return [int(match) for match in _POSE_TOKEN.findall(text)]
    if vocabulary is None:
        raise ValueError("pass the PoseVocabulary with the tokenizer")
    ids = torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"])
    return (ids[vocabulary.is_pose_id(ids)] - vocabulary.first_pose_id).tolist()


class PoseTokenLogitsProcessor(LogitsProcessor):
    """Keep generation inside the pose vocabulary between ``<pose_start>`` and ``<pose_end>``.

    For each row, from the ids so far: inside a span (the last ``<pose_start>`` is after the last ``<pose_end>``)
    only pose ids may follow, and ``<pose_end>`` once there are ``min_pose_tokens``; after ``max_pose_tokens`` pose
    ids only ``<pose_end>``. With several codebooks (``vocabulary.num_codebooks`` = C) the k-th pose id of a span
    must be a code of codebook ``k % C``, and a span ends only after whole steps (a multiple of C ids). Outside a
    span no pose id and no ``<pose_end>`` may follow (nor ``<pose_start>`` when ``allow_start`` is False: text
    only); once a ``<pose_end>`` was generated (at position ``prompt_length`` or later) only ``eos_token_id`` (when
    given).

    >>> vocab = PoseVocabulary(num_pose_tokens=3, first_pose_id=5, start_id=8, end_id=9)
    >>> processor = PoseTokenLogitsProcessor(vocab, max_pose_tokens=2, eos_token_id=1, prompt_length=2)
    >>> ids = torch.tensor([[4, 8], [4, 8], [4, 8], [4, 3]])  # prompt "x <pose_start>" (row 3: no span)
    >>> ids = torch.cat([ids, torch.tensor([[6], [6], [9], [3]])], 1)  # one new token per row
    >>> ids = torch.cat([ids, torch.tensor([[7], [2], [1], [3]])], 1)  # row 1: a second pose id; row 2: eos
    >>> allowed = processor(ids[:, :3], torch.zeros(4, 10)).isfinite()
    >>> [row.nonzero().flatten().tolist() for row in allowed]
    [[5, 6, 7, 9], [5, 6, 7, 9], [1], [0, 1, 2, 3, 4, 8]]
    >>> [row.nonzero().flatten().tolist() for row in processor(ids[:2], torch.zeros(2, 10)).isfinite()]
    [[9], [5, 6, 7, 9]]
    """

    def __init__(
        self,
        vocabulary: PoseVocabulary,
        max_pose_tokens: int | None = None,
        eos_token_id: int | None = None,
        prompt_length: int = 0,
        allow_start: bool = True,
        min_pose_tokens: int = 1,
    ):
        if max_pose_tokens is not None and max_pose_tokens < 1:
            raise ValueError(f"`max_pose_tokens` must be >= 1, got {max_pose_tokens}")
        self.vocabulary = vocabulary
        self.max_pose_tokens = max_pose_tokens
        self.eos_token_id = eos_token_id
        self.prompt_length = prompt_length
        self.allow_start = allow_start
        self.min_pose_tokens = min_pose_tokens

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        vocab = self.vocabulary
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        none = torch.full((input_ids.shape[0], 1), -1, device=input_ids.device)  # rows may be empty (inputs_embeds)
        last_start = torch.cat([none, torch.where(input_ids == vocab.start_id, positions, -1)], 1).max(1).values
        last_end = torch.cat([none, torch.where(input_ids == vocab.end_id, positions, -1)], 1).max(1).values  # (B,)
        inside = last_start > last_end
        count = ((positions > last_start[:, None]) & vocab.is_pose_id(input_ids)).sum(dim=1)  # pose ids in the span
        ended = (input_ids[:, self.prompt_length :] == vocab.end_id).any(dim=1)
        poses = slice(vocab.first_pose_id, vocab.last_pose_id + 1)
        allowed = torch.zeros_like(scores, dtype=torch.bool)  # (B, V)
        steps = vocab.num_codebooks
        limit = None if self.max_pose_tokens is None else max(steps, self.max_pose_tokens // steps * steps)
        more = inside if limit is None else inside & (count < limit)
        if steps == 1:
            allowed[more, poses] = True
        else:  # the codebook of the next id: count % C
            codes = torch.arange(vocab.num_pose_tokens, device=scores.device)  # (K,)
            book = (count % steps)[:, None]  # (B, 1)
            allowed[:, poses] = more[:, None] & (codes[None] // vocab.codebook_size == book)
        allowed[inside & (count >= self.min_pose_tokens) & (count % steps == 0), vocab.end_id] = True
        finished = ~inside & ended if self.eos_token_id is not None else torch.zeros_like(inside)
        free = ~inside & ~finished
        allowed[free] = True
        allowed[free, poses] = False
        allowed[free, vocab.end_id] = False
        if not self.allow_start:
            allowed[free, vocab.start_id] = False
        if self.eos_token_id is not None:
            allowed[finished, self.eos_token_id] = True
        return scores.masked_fill(~allowed, -math.inf)


# ---------------------------------------------------------------------------------------------------------------
# Sequences: one example of each task, as ids
# ---------------------------------------------------------------------------------------------------------------


def _text_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _eos(tokenizer) -> list[int]:
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no eos token: set tokenizer.eos_token (the end of every target)")
    return [tokenizer.eos_token_id]


def _source(tokenizer, ids: list[int], encoder_decoder: bool) -> list[int]:
    """Seq2seq sources end with eos (as T5 / BART inputs do); decoder-only prompts start with bos when there is one."""
    if encoder_decoder:
        return ids + _eos(tokenizer)
    return ([tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []) + ids


def task_example(
    tokenizer,
    vocabulary: PoseVocabulary,
    task: str,
    *,
    language: str,
    encoder_decoder: bool,
    text: str | None = None,
    codes=None,
    split: int | None = None,
) -> dict[str, list[int]]:
    """One training example as ids: ``input_ids`` and ``labels`` (-100 on a decoder-only prompt), for
    ``task`` = ``"text_to_pose"`` (``text`` -> ``codes``), ``"pose_to_text"`` or ``"completion"`` (``codes[:split]``
    -> the rest). See the module docstring for the layouts."""
    tag = [vocabulary.language_id(language)]
    eos = _eos(tokenizer)
    if task == "text_to_pose":
        source, prompt = tag + _text_ids(tokenizer, text), [vocabulary.start_id]
        target = vocabulary.codes_to_ids(codes) + [vocabulary.end_id] + eos
    elif task == "pose_to_text":
        source = tag + [vocabulary.start_id] + vocabulary.codes_to_ids(codes) + [vocabulary.end_id]
        prompt, target = [], _text_ids(tokenizer, text) + eos
    elif task == "completion":
        codes = list(codes)
        split = len(codes) // 2 if split is None else split
        if not 0 < split < len(codes):
            raise ValueError(f"a completion needs 0 < split < {len(codes)} codes, got split={split}")
        source = tag + [vocabulary.start_id] + vocabulary.codes_to_ids(codes[:split])
        prompt = [vocabulary.start_id] if encoder_decoder else []
        target = vocabulary.codes_to_ids(codes[split:]) + [vocabulary.end_id] + eos
    else:
        raise ValueError(f"`task` must be text_to_pose, pose_to_text or completion, got {task!r}")
    source = _source(tokenizer, source, encoder_decoder)
    if encoder_decoder:
        return {"input_ids": source, "labels": prompt + target}
    return {"input_ids": source + prompt + target, "labels": [-100] * len(source + prompt) + target}


def _pad_token_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else _eos(tokenizer)[0]


def pad_batch(sequences: list[list[int]], pad_id: int, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (B, L), attention_mask (B, L))`` of id lists, padded on the right (or the left, for prompts)."""
    longest = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros(len(sequences), longest, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        span = slice(longest - len(sequence), longest) if left else slice(0, len(sequence))
        ids[row, span] = torch.tensor(sequence, dtype=torch.long)
        mask[row, span] = 1
    return ids, mask


# ---------------------------------------------------------------------------------------------------------------
# Generation: text -> pose ids -> frames, pose ids -> text
# ---------------------------------------------------------------------------------------------------------------


def _generation_config(model, tokenizer, max_new_tokens: int, num_beams: int) -> GenerationConfig:
    """A plain greedy / beam config: the checkpoint's own (n-gram bans, forced BOS, sampling) would fight poses."""
    start = getattr(model.generation_config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(model.config, "decoder_start_token_id", None)
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=num_beams,
        eos_token_id=_eos(tokenizer)[0],
        pad_token_id=_pad_token_id(tokenizer),
        decoder_start_token_id=start,
    )


@torch.no_grad()
def generate_pose_codes(
    model, tokenizer, texts: list[str], languages: list[str], max_pose_tokens: int = 64, num_beams: int = 1
) -> list[list[int]]:
    """Text -> pose codes: one list of codes (at least one, at most ``max_pose_tokens``) per text."""
    vocab = PoseVocabulary.from_config(model.config)
    encoder_decoder = bool(model.config.is_encoder_decoder)
    device = model.device
    sources = [
        _source(tokenizer, [vocab.language_id(lang)] + _text_ids(tokenizer, text), encoder_decoder)
        for text, lang in zip(texts, languages)
    ]
    config = _generation_config(model, tokenizer, max_pose_tokens + 2, num_beams)
    if encoder_decoder:
        input_ids, mask = pad_batch(sources, _pad_token_id(tokenizer))
        prefix = torch.tensor([[config.decoder_start_token_id, vocab.start_id]] * len(texts))
        extra, prompt_length = {"decoder_input_ids": prefix.to(device)}, prefix.shape[1]
    else:
        input_ids, mask = pad_batch([s + [vocab.start_id] for s in sources], _pad_token_id(tokenizer), left=True)
        extra, prompt_length = {}, input_ids.shape[1]
    processor = PoseTokenLogitsProcessor(vocab, max_pose_tokens, config.eos_token_id, prompt_length)
    sequences = model.generate(
        input_ids=input_ids.to(device),
        attention_mask=mask.to(device),
        generation_config=config,
        logits_processor=LogitsProcessorList([processor]),
        **extra,
    )
    return [vocab.ids_to_codes(row[prompt_length:]) for row in sequences.cpu()]


@torch.no_grad()
def generate_text_from_codes(
    model, tokenizer, codes: list[list[int]], languages: list[str], max_new_tokens: int = 64, num_beams: int = 1
) -> list[str]:
    """Pose codes -> text (translation): one string per code list."""
    vocab = PoseVocabulary.from_config(model.config)
    encoder_decoder = bool(model.config.is_encoder_decoder)
    sources = [
        _source(
            tokenizer,
            [vocab.language_id(lang), vocab.start_id] + vocab.codes_to_ids(row) + [vocab.end_id],
            encoder_decoder,
        )
        for row, lang in zip(codes, languages)
    ]
    input_ids, mask = pad_batch(sources, _pad_token_id(tokenizer), left=not encoder_decoder)
    return _generate_text(
        model, tokenizer, vocab, {"input_ids": input_ids, "attention_mask": mask}, max_new_tokens, num_beams
    )


def _generate_text(model, tokenizer, vocab, inputs: dict, max_new_tokens: int, num_beams: int) -> list[str]:
    config = _generation_config(model, tokenizer, max_new_tokens, num_beams)
    prompt_length = 0 if model.config.is_encoder_decoder or "input_ids" not in inputs else inputs["input_ids"].shape[1]
    processor = PoseTokenLogitsProcessor(vocab, eos_token_id=None, prompt_length=prompt_length, allow_start=False)
    inputs = {key: value.to(model.device) for key, value in inputs.items()}
    sequences = model.generate(**inputs, generation_config=config, logits_processor=LogitsProcessorList([processor]))
    return [
        text.strip() for text in tokenizer.batch_decode(sequences[:, prompt_length:].cpu(), skip_special_tokens=True)
    ]


# ---------------------------------------------------------------------------------------------------------------
# The pose tokenizer: frames <-> codes
# ---------------------------------------------------------------------------------------------------------------


class PoseTokenizerAdapter:
    """The calls this module makes on a pose tokenizer (``SignLLMPoseVQ`` or any object with the same methods):
    ``encode(poses (B, T, 150), frame_mask (B, T)) -> (ids (B, N), mask (B, N))`` and ``decode(ids, mask) -> poses
    (B, N * downsample, 150)`` in the data's coordinates; flat variants (``encode_flat`` / ``decode_flat``,
    several codebooks in one sequence) are used when the tokenizer has them."""

    def __init__(self, pose_tokenizer):
        self.module = pose_tokenizer

    @classmethod
    def wrap(cls, pose_tokenizer) -> PoseTokenizerAdapter:
        return pose_tokenizer if isinstance(pose_tokenizer, cls) else cls(pose_tokenizer)

    @property
    def num_pose_tokens(self) -> int:
        if hasattr(self.module, "num_pose_tokens"):
            return int(self.module.num_pose_tokens)
        config = self.module.config
        return int(getattr(config, "pose_vocab_size", None) or config.codebook_size)

    @property
    def fps(self) -> float:
        return float(getattr(getattr(self.module, "config", None), "fps", 25.0))

    @property
    def downsample(self) -> int:
        """Frames per time step."""
        return int(getattr(self.module, "downsample", None) or self.module.config.downsample)

    @property
    def num_codebooks(self) -> int:
        """Ids per time step."""
        return int(getattr(getattr(self.module, "config", None), "num_codebooks", 1))

    def tokens_for_frames(self, frames: int) -> int:
        """Pose ids that make at least ``frames`` frames (whole steps)."""
        return math.ceil(frames / self.downsample) * self.num_codebooks

    @staticmethod
    def _pair(output) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(output, dict):
            return output["ids"], output["mask"]
        return output[0], output[1]

    @torch.no_grad()
    def encode(self, poses: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        method = getattr(self.module, "encode_flat", None) or self.module.encode
        return self._pair(method(poses, frame_mask.bool()))

    @torch.no_grad()
    def decode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        method = getattr(self.module, "decode_flat", None) or self.module.decode
        output = method(ids, mask.bool())
        return output if isinstance(output, torch.Tensor) else output[0]


def encode_pose_codes(pose_tokenizer, poses: list) -> list[list[int]]:
    """Poses ((T, 50, 3) or (T, 150) arrays or tensors) -> one list of codes each."""
    batch, mask = pad_poses(poses)
    ids, id_mask = PoseTokenizerAdapter.wrap(pose_tokenizer).encode(batch, mask)
    return [row[keep.bool()].tolist() for row, keep in zip(ids.cpu(), id_mask.cpu())]


def decode_pose_codes(pose_tokenizer, codes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose codes -> ``(poses (B, T, 150) in the data's coordinates, lengths (B,))``; padding frames are zero.
    With C codebooks each row holds whole steps (a multiple of C ids, as the logits processor makes them)."""
    adapter = PoseTokenizerAdapter.wrap(pose_tokenizer)
    longest = max((len(row) for row in codes), default=0)
    if longest == 0:
        return torch.zeros(len(codes), 0, 150), torch.zeros(len(codes), dtype=torch.long)
    ids = torch.zeros(len(codes), longest, dtype=torch.long)
    mask = torch.zeros(len(codes), longest, dtype=torch.bool)
    for row, sequence in enumerate(codes):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[row, : len(sequence)] = True
    poses = adapter.decode(ids, mask).float().cpu()  # (B, N / C * downsample, 150)
    lengths = torch.tensor([len(row) // adapter.num_codebooks * adapter.downsample for row in codes])
    poses = poses * (torch.arange(poses.shape[1])[None, :, None] < lengths[:, None, None])
    return poses, lengths


# ---------------------------------------------------------------------------------------------------------------
# Saving and loading a pose LM folder
# ---------------------------------------------------------------------------------------------------------------


def save_pose_lm(folder, model, tokenizer, pose_tokenizer=None, projector=None):
    """``folder``: the LM (its config holds the pose vocabulary) and its tokenizer, with the pose tokenizer in
    ``pose_tokenizer/`` and the projector in ``pose_projector/`` when given."""
    PoseVocabulary.from_config(model.config)  # raises when the model has no pose tokens
    folder = Path(folder)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    if pose_tokenizer is not None:
        module = pose_tokenizer.module if isinstance(pose_tokenizer, PoseTokenizerAdapter) else pose_tokenizer
        module.save_pretrained(str(folder / POSE_TOKENIZER_DIR))
    if projector is not None:
        projector.save_pretrained(folder / PROJECTOR_DIR)
    return folder


def load_pose_lm_model(folder, dtype=None):
    """The LM of a pose LM folder, with its head: ``AutoModelForSeq2SeqLM`` or ``AutoModelForCausalLM``."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM  # noqa: PLC0415

    config = AutoConfig.from_pretrained(str(folder))
    PoseVocabulary.from_config(config)
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    model = auto.from_pretrained(str(folder), dtype=dtype)  # with the folder's LoRA adapter, when it has one
    return route_shared_embeddings(model)


def route_shared_embeddings(model):
    """Route a seq2seq model's encoder and decoder through its input embeddings module (returns ``model``).

    T5 / BART keep one embedding (``shared``) that the encoder and decoder also hold as ``embed_tokens``. peft's
    ``modules_to_save`` replaces only the ``shared`` attribute with its trainable copy, so the encoder and decoder
    would go on reading the frozen original (the pose tokens' rows would never be used nor learnt): this points
    them at the copy, after adding LoRA and after loading an adapter. A no-op for other models.
    """
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "set_input_embeddings"):
        embeddings = model.get_input_embeddings()
        if type(embeddings).__name__ == "ModulesToSaveWrapper":
            model.set_input_embeddings(embeddings)
    return model


def load_pose_lm_tokenizer(folder, tokenizer=None):
    """The tokenizer saved in a pose LM folder, as it was saved. transformers 5's ``AutoTokenizer`` turns a generic
    saved tokenizer (``"tokenizer_class": "TokenizersBackend"``, e.g. one trained with ``tokenizers``) into the
    model type's own class (a Qwen2 config gives ``Qwen2Tokenizer``, whose pre-tokenizer then splits text
    differently from training); this loads such a folder with ``PreTrainedTokenizerFast``. ``tokenizer`` (one
    already loaded) is returned when it is the saved class."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: PLC0415

    path = Path(folder) / "tokenizer_config.json"
    saved = json.loads(path.read_text(encoding="utf-8")).get("tokenizer_class") if path.is_file() else None
    generic = saved in ("TokenizersBackend", "PreTrainedTokenizerFast")
    if tokenizer is not None and (not generic or type(tokenizer) is PreTrainedTokenizerFast):
        return tokenizer
    return (
        PreTrainedTokenizerFast.from_pretrained(str(folder)) if generic else AutoTokenizer.from_pretrained(str(folder))
    )


def load_pose_tokenizer(path):
    """A pose tokenizer saved with ``save_pretrained`` (registered with ``AutoModel``); a pose LM folder's own one
    when ``path`` holds ``pose_tokenizer/``."""
    from transformers import AutoModel  # noqa: PLC0415

    path = Path(path)
    if (path / POSE_TOKENIZER_DIR).is_dir():
        path = path / POSE_TOKENIZER_DIR
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no pose tokenizer here (expected config.json + model.safetensors)")
    return AutoModel.from_pretrained(str(path)).eval()


__all__ = [
    "POSE_END",
    "POSE_START",
    "PoseTokenLogitsProcessor",
    "PoseTokenizerAdapter",
    "PoseVocabulary",
    "add_pose_tokens",
    "codes_to_tokens",
    "decode_pose_codes",
    "encode_pose_codes",
    "generate_pose_codes",
    "generate_text_from_codes",
    "has_pose_vocabulary",
    "language_tag",
    "load_pose_lm_model",
    "load_pose_lm_tokenizer",
    "load_pose_tokenizer",
    "pad_batch",
    "pose_token",
    "route_shared_embeddings",
    "save_pose_lm",
    "task_example",
    "tokens_to_codes",
]
