"""Training the letter reader (the fingerspelling judge) through the library's scaffold.

    signllm train-letter-reader OUT_DIR [--languages ase,gsg,tsm] [--seconds 300] [--corpus corpora/fs3]

It learns from an endless stream of random letter strings spelled with the lexicon's real letter clips
(:class:`signllm_hf.data.corpora.letter_strings.LetterStringDataset`), varied in timing, trimming, size and tremor,
so it reads any string and no corpus's words in particular. With ``corpus``, the trained reader is calibrated on it
(``signllm_hf.evaluation.legibility.calibrate``): the corpus's reference poses must read near CER 0, a still pose
and another word's clip near 1. Every trained reader is also checked for fairness to letters that look alike
(``signllm_hf.evaluation.letter_margins``): each letter of the nearest pairs must still be read when signed part of
the way (goal: 0.3) towards its neighbour.

Example:
    >>> import numpy as np
    >>> from signllm_hf.evaluation.judges import SignLLMLetterReaderConfig
    >>> from signllm_hf.training.letter_reader import LetterReaderCollator
    >>> config = SignLLMLetterReaderConfig(language_units={"ase": ["A", "B"], "gsg": ["A", "SCH"]})
    >>> rows = [{"pose": np.zeros((7, 50, 3)), "language": "gsg", "gloss": "SCH A"},
    ...         {"pose": np.zeros((4, 50, 3)), "language": "ase", "gloss": "B"}]
    >>> batch = LetterReaderCollator(config)(rows)
    >>> batch["labels"].tolist(), batch["language_ids"].tolist(), tuple(batch["poses"].shape)
    ([[3, 1], [2, -100]], [1, 0], (2, 7, 50, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import TrainingArguments

from ..data.corpora import load_corpus, select_clips
from ..data.corpora.letter_strings import LetterStringDataset, LetterStrings
from ..data.languages import canonical_language
from ..evaluation.judges import SignLLMLetterReader, SignLLMLetterReaderConfig
from ..evaluation.legibility import calibrate
from ..evaluation.letter_margins import near_letter_margins
from .scaffold import code_arguments, train_model, write_metrics


@dataclass
class LetterReaderCollator:
    """Rows with ``pose`` (T, 50, 3), ``language`` and ``gloss`` (space-separated units) -> ``poses`` (B, T, 50, 3),
    ``frame_mask`` (B, T), ``language_ids`` (B,), ``labels`` (B, L): unit ids 1.., -100 on padding."""

    config: SignLLMLetterReaderConfig

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        poses = [np.asarray(row["pose"], dtype=np.float32).reshape(len(row["pose"]), -1, 3) for row in rows]
        longest = max(len(pose) for pose in poses)
        batch = torch.zeros(len(rows), longest, poses[0].shape[1], 3)
        mask = torch.zeros(len(rows), longest)
        for index, pose in enumerate(poses):
            batch[index, : len(pose)], mask[index, : len(pose)] = torch.from_numpy(pose), 1
        units = [row["gloss"].split() for row in rows]
        unknown = sorted({u for sequence in units for u in sequence} - set(self.config.units))
        if unknown:
            raise ValueError(f"the reader has no unit(s) {unknown}; its units are {self.config.units}")
        labels = torch.full((len(rows), max(len(u) for u in units)), -100, dtype=torch.long)
        for index, sequence in enumerate(units):
            labels[index, : len(sequence)] = torch.tensor([1 + self.config.units.index(u) for u in sequence])
        languages = [self.config.languages.index(canonical_language(row["language"])) for row in rows]
        return {"poses": batch, "frame_mask": mask, "language_ids": torch.tensor(languages), "labels": labels}


def train_letter_reader(
    output_dir: str,
    *,
    lexicon: str | None = None,
    languages: list[str] | None = None,
    corpus: str | None = None,
    max_steps: int = 4000,
    seconds: float | None = None,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    d_model: int = 192,
    seed: int = 0,
    progress: bool = True,
    near_letter_pairs: int = 2,
) -> dict:
    """Train a letter reader for ``languages`` of the lexicon and save it in ``output_dir``; returns its metrics
    (with ``corpus``: its calibration on the corpus's dev split, see the module docstring), and ``near_letters``: how
    far towards its nearest neighbour the reader still reads a letter, the smallest over each language's
    ``near_letter_pairs`` nearest pairs (``signllm_hf.evaluation.letter_margins``; goal >= 0.3)."""
    strings = LetterStrings(lexicon, languages=languages, seed=seed)
    config = SignLLMLetterReaderConfig(
        language_units=strings.unit_names,
        dominant_side={code: strings.dominant_side(code) for code in strings.languages},
        d_model=d_model,
        fps=strings.fps,
    )
    torch.manual_seed(seed)
    reader = SignLLMLetterReader(config)
    args = code_arguments(
        TrainingArguments,
        output_dir,
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seconds=seconds,
        seed=seed,
        progress=progress,
        remove_unused_columns=False,
        max_grad_norm=1.0,
        # Every process draws the same stream and keeps its slice (dispatching would concatenate unequal batches).
        accelerator_config={"dispatch_batches": False},
    )
    dataset = LetterStringDataset(strings)
    trainer, metrics = train_model(
        reader, args, dataset, LetterReaderCollator(config), seconds=seconds, progress=progress, dataset=corpus
    )
    metrics = {"steps": trainer.state.global_step, "train_loss": metrics.get("train_loss")}
    if corpus is not None:
        dev = select_clips(load_corpus(corpus, "dev"), languages=config.languages, name="dev")
        metrics["calibration"] = calibrate(reader.eval(), dev)
    # Fair to letters that look alike? (A reader can read every reference right and still read a letter only when it
    # is signed to a few millimetres of its clip: signllm_hf.evaluation.letter_margins.)
    margins = near_letter_margins(reader.eval(), strings, pairs=near_letter_pairs, seed=seed)
    metrics["near_letters"] = {key: margins[key] for key in ("smallest", "lowest")}
    if trainer.is_world_process_zero():
        write_metrics(output_dir, metrics)
    return metrics
