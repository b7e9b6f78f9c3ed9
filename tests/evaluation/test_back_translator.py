"""The back-translator (poses -> text), the judge of the paper's main metric: the model and its training."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from signllm_hf.data import load_pose_dataset
from signllm_hf.evaluation.judges import SignLLMBackTranslator, SignLLMBackTranslatorConfig
from signllm_hf.tokenization_signllm import train_text_tokenizer
from signllm_hf.training.back_translator import BackTranslationCollator, train_back_translator
from tests.conftest import random_pose
from tests.training.helpers import tiny_corpus


def tiny_judge(**overrides) -> SignLLMBackTranslator:
    torch.manual_seed(0)
    sizes = {"vocab_size": 40, "d_model": 32, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1}
    return SignLLMBackTranslator(
        SignLLMBackTranslatorConfig(**{"attention_heads": 2, "dropout": 0.0} | sizes | overrides)
    )


def test_padding_is_invisible_to_each_clip():
    model = tiny_judge().eval()
    short, long = torch.from_numpy(random_pose(6, seed=1)).flatten(1), torch.from_numpy(random_pose(11, 2)).flatten(1)
    labels = torch.tensor([[5, 6, 7, 2]])
    alone = model(poses=short[None], frame_mask=torch.ones(1, 6), labels=labels).logits
    padded = torch.zeros(2, 11, 150)
    padded[0, :6], padded[1] = short, long
    mask = torch.zeros(2, 11)
    mask[0, :6], mask[1] = 1, 1
    together = model(poses=padded, frame_mask=mask, labels=labels.repeat(2, 1)).logits
    torch.testing.assert_close(together[0], alone[0], atol=1e-5, rtol=1e-5)
    alone_tokens = model.generate(short[None], torch.ones(1, 6), max_new_tokens=5)[0].tolist()
    assert model.generate(padded, mask, max_new_tokens=5)[0].tolist()[: len(alone_tokens)] == alone_tokens


def test_poses_are_read_in_the_units_the_statistics_give():
    """A model reads (pose - mean) / std: with the same weights, statistics (m, s) on poses equal (0, 1) on the
    normalised poses; the statistics survive save_pretrained / from_pretrained (they are buffers from the config)."""
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=150).tolist(), rng.uniform(0.5, 2, size=150).tolist()
    plain, with_stats = tiny_judge(), tiny_judge(pose_mean=mean, pose_std=std)
    with_stats.load_state_dict(plain.state_dict())
    poses = torch.from_numpy(random_pose(8)).flatten(1)[None]
    normalised = (poses - torch.tensor(mean)) / torch.tensor(std)
    labels = torch.tensor([[5, 6, 2]])
    expected = plain.eval()(poses=normalised, labels=labels).logits
    torch.testing.assert_close(with_stats.eval()(poses=poses, labels=labels).logits, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="more than this model's max_frames=8"):
        tiny_judge(max_frames=8)(poses=torch.zeros(1, 9, 150))


def test_collator_pads_poses_and_masks_label_padding():
    tokenizer = train_text_tokenizer(["hello there", "good morning to you"], vocab_size=260)
    rows = [{"pose": np.ones((3, 50, 3)), "text": "good morning to you"}, {"pose": np.ones((5, 50, 3)), "text": "hi"}]
    batch = BackTranslationCollator(tokenizer)(rows)
    assert batch["poses"][0, 3:].abs().sum() == 0 and batch["frame_mask"].tolist() == [[1] * 3 + [0] * 2, [1] * 5]
    ids = [tokenizer(row["text"])["input_ids"] for row in rows]
    assert batch["labels"][0].tolist() == ids[0] and ids[0][-1] == tokenizer.eos_token_id
    assert batch["labels"][1].tolist() == ids[1] + [-100] * (len(ids[0]) - len(ids[1]))  # padding is not a target


def test_training_reads_its_clips_back_and_the_saved_judge_agrees(tmp_path):
    corpus = tiny_corpus(tmp_path / "corpus", vocab_size=8, train_sentences=4)
    out = tmp_path / "judge"
    sizes = {"d_model": 32, "layers": 1, "vocab_size": 300, "batch_size": 8, "learning_rate": 3e-3}
    metrics = train_back_translator(str(corpus), str(out), max_steps=150, eval_split="train", progress=False, **sizes)
    # Eight training clips, memorised: every one is read back exactly.
    assert metrics["steps"] == 150 and metrics["train_bleu4"] == 100.0 and metrics["train_wer"] == 0.0
    assert json.loads((out / "metrics.json").read_text())["train_runtime"] > 0  # what benchmarks read as its time
    assert json.loads((out / "metrics.json").read_text()) == metrics
    judge, tokenizer = SignLLMBackTranslator.from_pretrained(out).eval(), AutoTokenizer.from_pretrained(out)
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (
        judge.config.pad_token_id,
        judge.config.bos_token_id,
        judge.config.eos_token_id,
    )
    train = load_pose_dataset(corpus)["train"]
    assert judge.translate(list(train["pose"]), tokenizer) == [text.strip() for text in train["text"]]
    # Shuffled poses read as other clips' texts: the judge reads the motion, not a constant.
    shuffled = judge.translate([train[i]["pose"] for i in np.roll(np.arange(len(train)), 1)], tokenizer)
    assert sum(a == b for a, b in zip(shuffled, train["text"])) < len(train) // 2
