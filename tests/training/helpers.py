"""Tiny training setups shared by the training tests and the two-process worker."""

import numpy as np
import torch

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
from signllm_hf.data import compute_pose_stats, pose_dataset_from_rows
from signllm_hf.data.corpora.synthetic import SyntheticCorpusConfig, generate_synthetic_splits
from signllm_hf.tokenization_signllm import train_text_tokenizer
from signllm_hf.training.arguments import SignLLMTrainingArguments


def tiny_data():
    config = SyntheticCorpusConfig(
        languages=("ase", "gsg"), vocab_size=10, train_sentences=12, dev_sentences=2, test_sentences=2
    )
    rows, _ = generate_synthetic_splits(config)
    train, dev = pose_dataset_from_rows(rows["train"]), pose_dataset_from_rows(rows["dev"])
    return train, dev, train_text_tokenizer(train["text"], vocab_size=300)


def tiny_corpus(out, vocab_size: int, train_sentences: int):
    """A two-language (ase, gsg) synthetic corpus folder built by `signllm corpus synthetic`; returns ``out``."""
    from signllm_hf.cli import main  # noqa: PLC0415

    sizes = {"vocab-size": vocab_size, "train-sentences": train_sentences, "dev-sentences": 4, "test-sentences": 4}
    flags = [item for name, value in sizes.items() for item in (f"--{name}", str(value))]
    assert main(["corpus", "synthetic", str(out), "--languages", "ase,gsg", *flags, "--quiet"]) == 0
    return out


def tiny_model(train, tokenizer, seed=0, **overrides):
    torch.manual_seed(seed)
    options = {
        "vocab_size": len(tokenizer),
        "d_model": 32,
        "ffn_dim": 64,
        "attention_heads": 2,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "languages": ["ase", "gsg"],
        "max_frames": 100,
        "dropout": 0.1,
    }
    config = SignLLMConfig(**{**options, **overrides}).with_data_statistics(compute_pose_stats(train))
    return SignLLMForPoseGeneration(config)


def tiny_args(output_dir, **overrides):
    options = {
        "per_device_train_batch_size": 4,
        "max_steps": 8,
        "learning_rate": 3e-3,
        "report_to": [],
        "use_cpu": True,
        "save_strategy": "no",
        "logging_steps": 4,
        "seed": 0,
        "disable_tqdm": True,
        "eval_max_frames": 40,
    }
    return SignLLMTrainingArguments(output_dir=str(output_dir), **{**options, **overrides})


TINY_FLAGS = {
    "d_model": 32,
    "ffn_dim": 64,
    "attention_heads": 2,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "max_frames": 120,
    "per_device_train_batch_size": 4,
    "max_steps": 6,
    "use_cpu": "true",
    "report_to": "none",
    "disable_tqdm": "true",
    "tokenizer_vocab_size": 300,
    "eval_max_frames": 30,
    "max_eval_clips": 4,
    "save_strategy": "no",
}


def tiny_cli(**changes) -> list[str]:
    """`signllm train` flags of a model that trains in seconds; ``changes`` override or add flags."""
    return [item for name, value in (TINY_FLAGS | changes).items() for item in (f"--{name}", str(value))]


def naive_pt_dtw(reference, hypothesis, counter) -> float:
    """Progressive Transformers' DTW written out plainly, to check the library's against: both clips cut before
    their counter's peak (the reference's counter is (t + 1) / T, so its last frame goes), L1 between frames, the
    cheapest monotone alignment, divided by the cut reference's length."""
    reference = np.asarray(reference, np.float64).reshape(len(reference), -1)[: max(len(reference) - 1, 1)]
    hypothesis = np.asarray(hypothesis, np.float64).reshape(len(hypothesis), -1)
    hypothesis = hypothesis[: max(int(np.argmax(counter)), 1)]
    total = np.full((len(reference) + 1, len(hypothesis) + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, len(reference) + 1):
        for j in range(1, len(hypothesis) + 1):
            step = min(total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
            total[i, j] = np.abs(reference[i - 1] - hypothesis[j - 1]).sum() + step
    return float(total[-1, -1]) / len(reference)


def dtw_of_saved_model(model_dir, rows, max_frames: int | None) -> float:
    """Mean PT DTW of a saved model's generations for ``rows``, one clip at a time, scored by `naive_pt_dtw`."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    model = SignLLMForPoseGeneration.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    scores = []
    for row in rows:
        encoded = tokenizer([row["text"]], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(encoded["input_ids"], encoded["attention_mask"], row["language"], max_frames)
        length = max(int(out.lengths[0]), 1)
        scores.append(naive_pt_dtw(row["pose"], out.poses[0, :length].numpy(), out.counters[0, :length].numpy()))
    return float(np.mean(scores))
