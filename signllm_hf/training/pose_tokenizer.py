"""Training the pose tokenizer (the VQ-VAE of the discrete path) through the library's scaffold.

    signllm train-pose-tokenizer OUT_DIR --corpus CORPUS [--seconds 300] [--codebook-size 1024] [--downsample 4]
        [--quantizer vq|fsq] [--codebooks joint|parts] [--window 64] [--letter-reader READER]

It learns from random windows of ``window`` frames cut from the corpus's train clips (a clip shorter than a window
is taken whole), an endless seeded stream. The statistics the model normalises with are those of its input features
on the train split. With a time budget the learning rate is constant, then decays to 0 over the budget's last fifth
(the scaffold's schedule): the decay halves the reconstruction error of a 4-minute CPU run
(benchmarks/results/pose_tokenizer.md). After training it is scored on the dev split
(``signllm_hf.evaluation.pose_tokenizer``: reconstruction errors, DTW-MJE, codebook use and, with a letter reader,
the CER of reconstructed references); the scores go to ``OUT_DIR/metrics.json``.

Example:
    >>> import numpy as np
    >>> from signllm_hf.training.pose_tokenizer import PoseWindows, PoseWindowCollator
    >>> clips = [np.zeros((100, 50, 3), "float32"), np.ones((10, 50, 3), "float32")]
    >>> stream = iter(PoseWindows(clips, window=16, seed=0))
    >>> batch = PoseWindowCollator()([next(stream) for _ in range(4)])
    >>> tuple(batch["poses"].shape), sorted(set(batch["frame_mask"].sum(dim=1).tolist()))  # 16, or a whole clip
    ((4, 16, 150), [10, 16])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info
from transformers import TrainingArguments

from ..configuration_signllm_pose_vq import SignLLMPoseVQConfig
from ..data.collator import pad_poses
from ..data.corpora import load_corpus, select_clips
from ..evaluation.pose_tokenizer import pose_tokenizer_report
from ..modeling_signllm_pose_vq import SignLLMPoseVQ, pose_features
from .scaffold import code_arguments, train_model, write_metrics


class PoseWindows(IterableDataset):
    """An endless stream of ``{"poses": (window, 150)}`` windows of ``clips`` (``(T, 50, 3)`` arrays): a clip drawn
    in proportion to its length, then a uniformly random start; a clip shorter than ``window`` comes whole.

    The stream is a function of the seed alone, the same in every process (each keeps its slice under accelerate);
    each DataLoader worker draws its own.
    """

    def __init__(self, clips: list, window: int, seed: int = 0):
        if window < 1:
            raise ValueError(f"`window` must be >= 1 frame, got {window}")
        if not clips:
            raise ValueError("no clips to cut training windows from")
        self.clips = [np.asarray(c, np.float32).reshape(len(c), -1) for c in clips]
        self.window, self.seed = window, seed
        lengths = np.array([len(c) for c in self.clips], dtype=np.float64)
        self.weights = lengths / lengths.sum()

    def __iter__(self):
        worker = get_worker_info()
        rng = np.random.default_rng([self.seed, worker.id if worker is not None else 0])
        while True:
            clip = self.clips[rng.choice(len(self.clips), p=self.weights)]
            start = int(rng.integers(0, max(len(clip) - self.window, 0) + 1))
            yield {"poses": clip[start : start + self.window]}


@dataclass
class PoseWindowCollator:
    """Rows with ``poses`` (T, 150) -> ``poses`` (B, T_max, 150) zero-padded and ``frame_mask`` (B, T_max) bool."""

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        poses, frame_mask = pad_poses([row["poses"] for row in rows])
        return {"poses": poses, "frame_mask": frame_mask}


def feature_statistics(clips: list, hand_relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the tokenizer's input features over every frame of ``clips``."""
    frames = torch.cat([torch.as_tensor(np.asarray(c, np.float32)).reshape(len(c), -1) for c in clips])
    features = pose_features(frames.double(), hand_relative)
    return features.mean(dim=0).numpy(), features.std(dim=0).numpy()


def train_pose_tokenizer(
    output_dir: str,
    corpus: str,
    *,
    languages: list[str] | None = None,
    letter_reader: str | None = None,
    max_steps: int = 20000,
    seconds: float | None = None,
    batch_size: int = 32,
    learning_rate: float = 2e-4,
    window: int = 64,
    eval_split: str | None = "dev",
    max_eval_clips: int | None = None,
    seed: int = 0,
    progress: bool = True,
    **config_kwargs,
) -> dict:
    """Train a pose tokenizer on ``corpus``'s train split and save it in ``output_dir``; returns its scores on
    ``eval_split`` (see the module docstring). ``config_kwargs`` go to [`SignLLMPoseVQConfig`] (``codebook_size``,
    ``downsample``, ``quantizer``, ``codebooks``, ``hidden_size``, ...)."""
    splits = load_corpus(corpus)
    if "train" not in splits:
        raise ValueError(f"{corpus}: no train split (splits: {list(splits)})")
    train = select_clips(splits["train"], languages, name="train")
    if len(train) == 0:
        raise ValueError(f"{corpus}: no training clip for the languages {languages}")
    clips = list(train.with_format("numpy")["pose"])
    config = SignLLMPoseVQConfig(**config_kwargs)
    shortest = min(len(c) for c in clips)
    if shortest < config.downsample:
        raise ValueError(f"{corpus}: a train clip has {shortest} frames, fewer than downsample={config.downsample}")
    if window < config.downsample:
        raise ValueError(f"`window` ({window}) must be at least `downsample` ({config.downsample}) frames")
    fps = train[0].get("fps")
    if fps:
        config.fps = float(fps)
    config.with_data_statistics(*feature_statistics(clips, config.hand_relative))
    torch.manual_seed(seed)
    model = SignLLMPoseVQ(config)
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
    trainer, _ = train_model(
        model, args, PoseWindows(clips, window, seed), PoseWindowCollator(), seconds=seconds, progress=progress
    )
    metrics = {"steps": trainer.state.global_step, "train_loss": trainer.state.log_history[-1].get("train_loss")}
    if eval_split and eval_split in splits:
        rows = list(select_clips(splits[eval_split], languages, max_clips=max_eval_clips, seed=seed, name=eval_split))
        rows = [row for row in rows if len(row["pose"]) >= config.downsample]
        reader_rows = letter_reader is not None and all((row.get("gloss") or "").strip() for row in rows)
        report = pose_tokenizer_report(model.eval(), rows, letter_reader if reader_rows else None)
        metrics[eval_split] = report
    if trainer.is_world_process_zero():
        write_metrics(output_dir, metrics)
    return metrics


__all__ = ["PoseWindowCollator", "PoseWindows", "feature_statistics", "train_pose_tokenizer"]
