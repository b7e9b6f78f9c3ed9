"""The letter reader: reads fingerspelled letters back from a pose sequence (CTC), the legibility judge.

A signer is only as good as its signing is legible. DTW rewards motion that is close on average, which mushy,
averaged signing can be; a reader of letters tells legible from plausible-looking. [`SignLLMLetterReader`] looks at
what carries the letters (the signing hand relative to its wrist, that arm relative to the neck), runs a temporal
convolution and a bidirectional GRU over it, and writes the language's units with CTC (the language is an input
embedding, and masks every other language's units). It trains on random letter strings spelled on the fly with the
lexicon's real letter clips (``signllm_hf.training.letter_reader``), so it reads any string, not a corpus's words.

Example:
    >>> import torch
    >>> from signllm_hf.evaluation.judges import SignLLMLetterReader, SignLLMLetterReaderConfig
    >>> config = SignLLMLetterReaderConfig(language_units={"ase": ["A", "B", "C"]}, d_model=16, rnn_layers=1)
    >>> reader = SignLLMLetterReader(config)
    >>> poses, mask = torch.randn(2, 30, 50, 3), torch.ones(2, 30)
    >>> labels = torch.tensor([[1, 2, 3], [2, -100, -100]])  # "A B C" and "B"
    >>> out = reader(poses, mask, torch.zeros(2, dtype=torch.long), labels=labels)
    >>> tuple(out.logits.shape), bool(out.loss > 0)
    ((2, 15, 4), True)
    >>> len(reader.read([poses[0].numpy()], ["ASL"])[0]) <= 15  # one unit at most per output step
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ...data.languages import canonical_language
from ...data.skeleton import HANDS_BY_SIDE, JOINT_NAMES, NECK
from .configuration_letter_reader import SIDES, SignLLMLetterReaderConfig

# Per side: the hand's 21 joints (relative to the body wrist) and the shoulder, elbow and wrist (relative to the neck).
ARMS = {side: [JOINT_NAMES.index(f"{side}_{joint}") for joint in ("shoulder", "elbow", "wrist")] for side in SIDES}
FEATURES = 21 * 3 + 3 * 3
MASKED = -1e4


def letter_features(poses: torch.Tensor, sides: list[str]) -> torch.Tensor:
    """What carries the letters, per frame: ``(B, T, 50, 3)`` poses and each row's side -> ``(B, T, 72)``."""
    rows = []
    for pose, side in zip(poses, sides):
        hand, wrist = HANDS_BY_SIDE[side]
        fingers = pose[:, hand] - pose[:, wrist : wrist + 1]  # (T, 21, 3): the hand shape
        arm = pose[:, ARMS[side]] - pose[:, NECK : NECK + 1]  # (T, 3, 3): where the hand is
        rows.append(torch.cat([fingers.flatten(1), arm.flatten(1)], dim=1))
    return torch.stack(rows)


@dataclass
class LetterReaderOutput(ModelOutput):
    """``loss`` () with labels: CTC per clip divided by its number of units, averaged over the batch. ``logits``
    (B, T', 1 + units), T' = T halved ``downsample`` times (rounded up); blank first, other languages' units at
    -1e4."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None


class ConvBlock(nn.Module):
    def __init__(self, width: int, kernel_size: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel_size, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, T, D), (B, T)
        update = self.conv((hidden * mask[..., None]).transpose(1, 2)).transpose(1, 2)
        return self.norm(hidden + self.dropout(F.gelu(update)))


class SignLLMLetterReader(PreTrainedModel):
    config: SignLLMLetterReaderConfig
    config_class = SignLLMLetterReaderConfig
    main_input_name = "poses"
    accepts_loss_kwargs = False

    def __init__(self, config: SignLLMLetterReaderConfig):
        super().__init__(config)
        width = config.d_model
        self.project = nn.Linear(FEATURES, width)
        self.language_embedding = nn.Embedding(max(len(config.languages), 1), width)
        self.convs = nn.ModuleList(
            ConvBlock(width, config.kernel_size, config.dropout) for _ in range(config.conv_layers)
        )
        # After each of the first `downsample` blocks, a strided convolution halves the frames.
        self.halvings = nn.ModuleList(
            nn.Conv1d(width, width, 3, stride=2, padding=1) for _ in range(config.downsample)
        )
        between_layers = config.dropout if config.rnn_layers > 1 else 0.0
        self.rnn = nn.GRU(
            width, width // 2, config.rnn_layers, batch_first=True, bidirectional=True, dropout=between_layers
        )
        self.head = nn.Linear(width, config.num_classes)
        # Which units each language may write (the blank always). A buffer derived from the config, filled in
        # _init_weights: from_pretrained builds the model on the meta device, where values set here are lost.
        self.register_buffer("allowed", self.language_mask(config), persistent=False)
        self.post_init()

    @staticmethod
    def language_mask(config: SignLLMLetterReaderConfig) -> torch.Tensor:
        """``(languages, 1 + units)`` bool: the blank and each language's own units."""
        allowed = torch.zeros(max(len(config.languages), 1), config.num_classes, dtype=torch.bool)
        allowed[:, 0] = True
        for row, code in enumerate(config.languages):
            for unit in config.language_units[code]:
                allowed[row, 1 + config.units.index(unit)] = True
        return allowed

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, SignLLMLetterReader):
            module.allowed.copy_(self.language_mask(module.config))

    def language_ids(self, languages: list[str]) -> torch.Tensor:
        """Row ids of ``languages`` (codes, aliases or names); a language the reader has no letters for is an error."""
        ids = []
        for language in languages:
            code = canonical_language(language)
            if code not in self.config.languages:
                raise ValueError(
                    f"the letter reader has no letters for {language!r}; it reads {self.config.languages}"
                )
            ids.append(self.config.languages.index(code))
        return torch.tensor(ids, dtype=torch.long, device=self.head.weight.device)

    def forward(self, poses, frame_mask, language_ids, labels=None, **kwargs) -> LetterReaderOutput:
        """``poses`` (B, T, 50, 3) or (B, T, 150) in the data's coordinates, ``frame_mask`` (B, T), ``language_ids``
        (B,), ``labels`` (B, L) unit ids (1..) with -100 on padding."""
        poses = poses.reshape(poses.shape[0], poses.shape[1], -1, 3).to(self.head.weight.dtype)
        if poses.shape[1] > self.config.max_frames:
            raise ValueError(f"{poses.shape[1]} frames is more than the reader's max_frames={self.config.max_frames}")
        sides = [self.config.side(self.config.languages[i]) for i in language_ids.tolist()]
        mask = frame_mask.to(poses.dtype)
        hidden = self.project(letter_features(poses, sides)) + self.language_embedding(language_ids)[:, None]
        for index, block in enumerate(self.convs):
            hidden = block(hidden, mask)  # (B, T, D)
            if index < len(self.halvings):  # half the frames: (B, T / 2, D), and so the mask
                hidden = F.gelu(self.halvings[index]((hidden * mask[..., None]).transpose(1, 2)).transpose(1, 2))
                mask = mask[:, ::2]
        lengths = mask.sum(dim=1).long().clamp_min(1)
        packed = nn.utils.rnn.pack_padded_sequence(hidden, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.rnn(packed)
        hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=mask.shape[1])
        # Other languages' units are masked with a large finite value: -inf makes CTC's gradient NaN.
        logits = self.head(hidden).masked_fill(~self.allowed[language_ids][:, None], MASKED)  # (B, T, V)
        loss = None
        if labels is not None:
            targets = labels.clamp_min(0)
            target_lengths = (labels > 0).sum(dim=1)
            log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, B, V), as ctc_loss wants
            loss = F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=0, zero_infinity=True)
        return LetterReaderOutput(loss=loss, logits=logits)

    def _read(self, poses: list, languages: list[str], batch_size: int) -> list[tuple[str, ...]]:
        device = self.head.weight.device
        results = []
        for start in range(0, len(poses), batch_size):
            chunk = [np.asarray(p, dtype=np.float32).reshape(len(p), -1, 3) for p in poses[start : start + batch_size]]
            longest = max(max(len(p) for p in chunk), 1)
            padded = torch.zeros(len(chunk), longest, chunk[0].shape[1], 3)
            mask = torch.zeros(len(chunk), longest)
            for row, pose in enumerate(chunk):
                padded[row, : len(pose)], mask[row, : len(pose)] = torch.from_numpy(pose), 1
            ids = self.language_ids(languages[start : start + batch_size])
            best = self(padded.to(device), mask.to(device), ids).logits.argmax(-1).cpu()  # (B, T)
            for row, pose in enumerate(chunk):
                path = best[row, : -(-len(pose) // 2**self.config.downsample)].tolist()
                kept = [p for i, p in enumerate(path) if p != 0 and (i == 0 or p != path[i - 1])]
                results.append(tuple(self.config.units[p - 1] for p in kept))
        return results

    def encode_units(self, units: list[str]) -> list[int]:
        """Unit ids (1..) of a unit sequence; a unit outside the vocabulary is an error."""
        unknown = [unit for unit in units if unit not in self.config.units]
        if unknown:
            raise ValueError(f"the letter reader does not know the unit(s) {unknown}")
        return [1 + self.config.units.index(unit) for unit in units]

    @torch.no_grad()
    def read(self, poses: list, languages: list[str], batch_size: int = 32) -> list[tuple[str, ...]]:
        """The units read from each pose sequence (``(T, 50, 3)`` arrays), greedy CTC decoding."""
        if len(poses) != len(languages):
            raise ValueError(f"{len(poses)} pose sequences but {len(languages)} languages")
        was_training = self.training
        self.eval()
        try:
            results = self._read(poses, languages, batch_size)
        finally:
            self.train(was_training)
        return results
