"""Batch collation for the model: pad pose sequences, build frame masks, append the counter channel.

Example:
    >>> import numpy as np
    >>> from signllm_hf.data import SignLLMDataCollator
    >>> features = [{"pose": np.zeros((3, 50, 3))}, {"pose": np.ones((5, 50, 3))}]
    >>> batch = SignLLMDataCollator()(features)
    >>> batch["labels"].shape, batch["frame_mask"].tolist()
    (torch.Size([2, 5, 151]), [[True, True, True, False, False], [True, True, True, True, True]])
    >>> [round(c, 4) for c in batch["labels"][0, :3, -1].tolist()]  # the counter: (t + 1) / T
    [0.3333, 0.6667, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .motion import counter_channel
from .skeleton import FRAME_SIZE, check_pose


@dataclass
class SignLLMDataCollator:
    """Turn dataset rows into a model batch.

    Output keys:
        ``labels`` (B, T_max, 151 or 150) float32: the flattened pose, then the counter ``(t + 1) / T`` when
        ``add_counter``; zero on padded frames.
        ``frame_mask`` (B, T_max) bool: True on real frames.
        ``confidence`` (B, T_max, 50) float32, when ``return_confidence`` and rows have it (0 on padding).
        ``input_ids`` / ``attention_mask`` (B, L): the tokenised ``text_column`` when a ``tokenizer`` is given, or the
        rows' own ``input_ids`` padded with ``pad_token_id``.
        ``language`` list[str]: passed through when rows have it (MLSF picks the language group from it).
        ``sample_index`` (B,) long: passed through when rows have it (the trainer's PLC sampler needs it).
        ``token_durations`` (B, L) long: when every row has ``char_durations`` (frames per character of its text)
        and a tokenizer is given: the frames each token is signed in (a token's characters summed; a character cut
        across tokens counts for its last one; special tokens 0). A duration-aligned model learns from them.

    A clip longer than ``max_frames`` raises (filter the dataset first): truncating would cut the counter short of 1,
    and the model would never learn where to stop.
    """

    tokenizer: Any = None
    text_column: str = "text"
    max_text_length: int | None = None
    max_frames: int | None = None
    add_counter: bool = True
    counter_convention: str = "end"
    pad_to_multiple_of: int | None = None
    pad_token_id: int = 0
    return_confidence: bool = False

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("cannot collate an empty list of rows")
        poses = []
        for index, row in enumerate(features):
            if "pose" not in row:
                raise KeyError(f"row {index} has no 'pose' (keys: {sorted(row)}); is this a pose dataset?")
            pose = check_pose(row["pose"], f"batch row {index} (id {row.get('id')!r})").reshape(-1, FRAME_SIZE)
            if self.max_frames is not None and len(pose) > self.max_frames:
                raise ValueError(
                    f"row {index} (id {row.get('id')!r}) has {len(pose)} frames > max_frames={self.max_frames}; "
                    f"filter long clips first, e.g. dataset.filter(lambda r: len(r['pose']) <= {self.max_frames})"
                )
            poses.append(pose)

        lengths = [len(p) for p in poses]
        max_len = max(lengths)
        if self.pad_to_multiple_of:
            max_len = -(-max_len // self.pad_to_multiple_of) * self.pad_to_multiple_of
        channels = FRAME_SIZE + int(self.add_counter)
        labels = np.zeros((len(poses), max_len, channels), dtype=np.float32)
        frame_mask = np.zeros((len(poses), max_len), dtype=bool)
        for row, (pose, length) in enumerate(zip(poses, lengths)):
            labels[row, :length, :FRAME_SIZE] = pose
            if self.add_counter:
                labels[row, :length, FRAME_SIZE] = counter_channel(length, self.counter_convention)
            frame_mask[row, :length] = True
        batch: dict[str, Any] = {"labels": torch.from_numpy(labels), "frame_mask": torch.from_numpy(frame_mask)}

        if self.return_confidence and all("confidence" in row for row in features):
            confidence = np.zeros((len(poses), max_len, FRAME_SIZE // 3), dtype=np.float32)
            for row, (item, length) in enumerate(zip(features, lengths)):
                confidence[row, :length] = np.asarray(item["confidence"], dtype=np.float32)
            batch["confidence"] = torch.from_numpy(confidence)

        if self.tokenizer is not None:
            texts = [row[self.text_column] for row in features]
            durations = all(row.get("char_durations") is not None for row in features)
            encoded = self.tokenizer(
                texts,
                padding=True,
                truncation=self.max_text_length is not None,
                max_length=self.max_text_length,
                return_tensors="pt",
                return_offsets_mapping=durations,
            )
            batch["input_ids"], batch["attention_mask"] = encoded["input_ids"], encoded["attention_mask"]
            if durations:
                batch["token_durations"] = token_durations(
                    encoded["offset_mapping"], [row["char_durations"] for row in features], lengths
                )
        elif all("input_ids" in row for row in features):
            batch.update(self._pad_ids([row["input_ids"] for row in features]))
        if all("language" in row for row in features):
            batch["language"] = [row["language"] for row in features]
        if all("sample_index" in row for row in features):  # which dataset rows these are (the PLC sampler's)
            batch["sample_index"] = torch.tensor([int(row["sample_index"]) for row in features], dtype=torch.long)
        return batch

    def _pad_ids(self, sequences: list) -> dict[str, torch.Tensor]:
        sequences = [torch.as_tensor(np.asarray(s), dtype=torch.long) for s in sequences]
        width = max(len(s) for s in sequences)
        input_ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, ids in enumerate(sequences):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}


def pad_poses(clips: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips of any length (``(T, J, 3)`` or ``(T, J * 3)`` arrays or tensors) -> ``(poses (B, T_max, J * 3) float32,
    zero after each clip, frame_mask (B, T_max) bool)``.

    >>> poses, mask = pad_poses([np.ones((2, 50, 3)), np.ones((3, 150))])
    >>> tuple(poses.shape), mask.tolist(), float(poses[0, 2].abs().sum())
    ((2, 3, 150), [[True, True, False], [True, True, True]], 0.0)
    """
    frames = [torch.as_tensor(clip, dtype=torch.float32).reshape(len(clip), -1) for clip in clips]
    poses = torch.nn.utils.rnn.pad_sequence(frames, batch_first=True)
    lengths = torch.tensor([len(f) for f in frames], device=poses.device)
    return poses, torch.arange(poses.shape[1], device=poses.device)[None] < lengths[:, None]


def token_durations(offsets: torch.Tensor, char_durations: list, frames: list[int]) -> torch.Tensor:
    """Frames per token ``(B, L)`` from each text's frames per character and the tokens' character ``offsets``
    ``(B, L, 2)``. A character's frames go to the last token that covers it: a byte-level tokenizer's prefix-space
    token shares the first character's offsets, and a letter's last UTF-8 byte is the one that tells it apart.
    Frames of characters no token covers (a truncated text) go to the last covering token, so each row sums to its
    clip's ``frames``.

    >>> token_durations(torch.tensor([[[0, 1], [0, 1], [1, 3], [0, 0]]]), [[2, 3, 4]], [9]).tolist()
    [[0, 2, 7, 0]]
    """
    durations = torch.zeros(offsets.shape[:2], dtype=torch.long)
    for row, (spans, per_char, total) in enumerate(zip(offsets.tolist(), char_durations, frames)):
        per_char = [int(d) for d in per_char]
        if sum(per_char) != total or len(per_char) < max((end for _, end in spans), default=0):
            raise ValueError(
                f"row {row}: its char_durations ({len(per_char)} characters, {sum(per_char)} frames) do not describe "
                f"its text and pose ({total} frames): one duration per character, summing to the clip's frames"
            )
        owner = {}
        for token, (start, end) in enumerate(spans):
            for char in range(start, min(end, len(per_char))):  # special and padding tokens cover nothing
                owner[char] = token
        if not owner:
            continue
        for char, token in owner.items():
            durations[row, token] += per_char[char]
        durations[row, max(owner.values())] += total - int(durations[row].sum())
    return durations
