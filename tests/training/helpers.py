"""Tiny training setups shared by the training tests and the two-process worker."""

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
