"""Training the back-translator (poses -> text), the judge of back-translation, through the library's scaffold.

    signllm train-back-translator DATA OUT_DIR [--seconds 300]

Its model is :class:`signllm_hf.evaluation.judges.SignLLMBackTranslator`; what is its own here is the collator
(poses and target token ids) and the text tokenizer trained on the corpus's text.

Example:
    >>> import numpy as np
    >>> from signllm_hf.tokenization_signllm import train_text_tokenizer
    >>> from signllm_hf.training.back_translator import BackTranslationCollator
    >>> tokenizer = train_text_tokenizer(["hello there", "good morning"], vocab_size=260)
    >>> rows = [{"pose": np.zeros((7, 50, 3)), "text": "hello"}, {"pose": np.zeros((4, 50, 3)), "text": "good"}]
    >>> batch = BackTranslationCollator(tokenizer)(rows)
    >>> tuple(batch["poses"].shape), batch["frame_mask"].sum(dim=1).tolist()
    ((2, 7, 150), [7.0, 4.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import TrainingArguments

from ..data.corpora import load_corpus, select_clips
from ..data.dataset import compute_pose_stats
from ..evaluation.judges import SignLLMBackTranslator, SignLLMBackTranslatorConfig
from ..metrics.text_scores import text_scores
from ..tokenization_signllm import train_text_tokenizer
from .scaffold import code_arguments, train_model, write_metrics


@dataclass
class BackTranslationCollator:
    """Rows with ``pose`` (T, 50, 3) and ``text`` -> ``poses`` (B, T, 150), ``frame_mask``, ``labels`` (-100 pad)."""

    tokenizer: object
    max_text_length: int = 64

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        poses = [torch.as_tensor(row["pose"], dtype=torch.float32).reshape(len(row["pose"]), -1) for row in rows]
        longest = max(len(p) for p in poses)
        batch = torch.zeros(len(rows), longest, poses[0].shape[1])
        mask = torch.zeros(len(rows), longest)
        for index, pose in enumerate(poses):
            batch[index, : len(pose)], mask[index, : len(pose)] = pose, 1
        encoded = self.tokenizer(
            [row["text"] for row in rows],
            padding=True,
            truncation=True,
            max_length=self.max_text_length,
            return_tensors="pt",
        )
        labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        return {"poses": batch, "frame_mask": mask, "labels": labels}


def train_back_translator(
    dataset: str,
    output_dir: str,
    *,
    languages: list[str] | None = None,
    max_steps: int = 3000,
    seconds: float | None = None,
    batch_size: int = 16,
    learning_rate: float = 5e-4,
    d_model: int = 256,
    layers: int = 3,
    vocab_size: int = 4000,
    max_frames: int = 400,
    eval_split: str | None = "dev",
    max_eval_clips: int = 64,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train a back-translator on a corpus folder's train split and save it (with its tokenizer) in ``output_dir``.

    Returns its scores on the reference poses of ``eval_split`` (the ceiling of back-translation there), also
    written to ``output_dir/metrics.json``.
    """
    splits = load_corpus(dataset)
    train = select_clips(splits["train"], languages, max_frames=max_frames, name="train")
    if len(train) == 0:
        raise ValueError(f"{dataset}: no training clip for the chosen languages")
    tokenizer = train_text_tokenizer(train["text"], vocab_size=vocab_size)
    stats = compute_pose_stats(train)
    config = SignLLMBackTranslatorConfig(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        ffn_dim=4 * d_model,
        max_frames=max_frames,
        pose_mean=stats["mean"],
        pose_std=stats["std"],
    )
    torch.manual_seed(seed)
    model = SignLLMBackTranslator(config)
    args = code_arguments(
        TrainingArguments,
        output_dir,
        max_steps=max_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seconds=seconds,
        seed=seed,
        progress=progress,
        lr_scheduler_type="constant_with_warmup",
        remove_unused_columns=False,
    )
    trainer, trained = train_model(
        model,
        args,
        train,
        BackTranslationCollator(tokenizer),
        tokenizer,
        seconds=seconds,
        progress=progress,
        dataset=dataset,
    )
    metrics = {"steps": trainer.state.global_step, "train_runtime": trained.get("train_runtime")}
    if eval_split and eval_split in splits:
        evaluation = select_clips(splits[eval_split], languages, max_frames=max_frames, name=eval_split)
        evaluation = evaluation.select(range(min(max_eval_clips, len(evaluation))))
        translations = model.eval().translate(list(evaluation["pose"]), tokenizer)
        metrics |= {f"{eval_split}_{k}": v for k, v in text_scores(translations, list(evaluation["text"])).items()}
    if trainer.is_world_process_zero():
        write_metrics(output_dir, metrics)
    return metrics
