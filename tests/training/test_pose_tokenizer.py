"""signllm train-pose-tokenizer: a tiny run writes a loadable tokenizer and its scores; the training stream."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel

from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig
from signllm_hf.cli import main
from signllm_hf.evaluation.judges import SignLLMLetterReader, SignLLMLetterReaderConfig
from signllm_hf.evaluation.pose_tokenizer import format_pose_tokenizer_report, pose_tokenizer_report
from signllm_hf.training.pose_tokenizer import PoseWindows
from tests.training.helpers import tiny_corpus


def test_windows_are_seeded_and_cut_from_the_clips():
    clips = [np.arange(40 * 150, dtype=np.float32).reshape(40, 50, 3), np.ones((5, 50, 3), np.float32)]
    first = [next(iter(PoseWindows(clips, window=8, seed=1)))["poses"] for _ in range(2)]
    assert np.array_equal(first[0], first[1])  # a function of the seed
    stream = iter(PoseWindows(clips, window=8, seed=0))
    windows = [next(stream)["poses"] for _ in range(50)]
    assert {len(w) for w in windows} == {8, 5}  # a clip shorter than the window comes whole
    long = [w for w in windows if len(w) == 8]
    assert all(np.array_equal(w, clips[0].reshape(40, 150)[int(w[0, 0]) // 150 :][:8]) for w in long)
    with pytest.raises(ValueError, match="no clips"):
        PoseWindows([], window=8)


def test_cli_writes_a_loadable_tokenizer_with_its_scores(tmp_path, capsys):
    corpus = tiny_corpus(tmp_path / "corpus", vocab_size=8, train_sentences=4)
    out = tmp_path / "tokenizer"
    flags = ["--max-steps", "3", "--batch-size", "4", "--d-model", "16", "--codebook-size", "16", "--window", "16"]
    assert main(["train-pose-tokenizer", str(out), "--corpus", str(corpus), *flags, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "| joint_error |" in printed
    model = AutoModel.from_pretrained(out)
    assert isinstance(model, SignLLMPoseVQ) and model.config.codebook_size == 16 and model.config.hidden_size == 16
    assert model.config.pose_mean is not None and float(model.pose_std.min()) > 0  # the train split's statistics
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["steps"] == 3 and metrics["dev"]["clips"] > 0 and 6.25 <= metrics["dev"]["tokens_per_second"] < 7
    )  # 25 / 4 fps, + partial windows
    assert main(["train-pose-tokenizer", str(out), "--corpus", str(corpus), "--downsample", "3", "--quiet"]) == 2
    assert "`downsample` must be a power of two" in capsys.readouterr().err


def test_report_reads_reconstructions_with_a_letter_reader():
    torch.manual_seed(0)
    tokenizer = SignLLMPoseVQ(SignLLMPoseVQConfig(hidden_size=16, code_dim=4, codebook_size=8, res_blocks=1))
    reader = SignLLMLetterReader(SignLLMLetterReaderConfig(language_units={"ase": ["A", "B"]}, d_model=16))
    rows = [
        {
            "pose": np.random.default_rng(i).normal(size=(12, 50, 3)).astype("float32"),
            "language": "ase",
            "gloss": "A B",
        }
        for i in range(3)
    ]
    report = pose_tokenizer_report(tokenizer, rows, letter_reader=reader)
    assert report["clips"] == 3 and report["frames"] == 36 and 0 < report["codebook_usage"] <= 1
    assert set(report["legibility"]) >= {"cer", "per_language"} and "legibility_of_references" in report
    assert "letter CER, reconstructions" in format_pose_tokenizer_report(report)
    assert report["tokens_per_second"] == pytest.approx(25 / 4)  # one token per 4 frames at 25 fps
    parts = SignLLMPoseVQ(SignLLMPoseVQConfig(hidden_size=16, code_dim=4, codebook_size=8, codebooks="parts"))
    # Body, left and right hand: three tokens per step in the sequence a language model writes.
    assert pose_tokenizer_report(parts, rows)["tokens_per_second"] == pytest.approx(3 * 25 / 4)
    with pytest.raises(ValueError, match="reads \\['ase'\\], not \\['gsg'\\]"):
        pose_tokenizer_report(tokenizer, [{**rows[0], "language": "gsg"}], letter_reader=reader)


def test_report_values_follow_the_reconstructions(monkeypatch):
    """With reconstructions set by hand: every joint 0.1 off in x, y and z is a joint error of 0.1 * sqrt(3) (in
    shoulder widths: divided by the clips' width); exact reconstructions read as the references do."""
    import signllm_hf.evaluation.pose_tokenizer as report_module

    torch.manual_seed(0)
    tokenizer = SignLLMPoseVQ(SignLLMPoseVQConfig(hidden_size=16, code_dim=4, codebook_size=8, res_blocks=1))
    reader = SignLLMLetterReader(SignLLMLetterReaderConfig(language_units={"ase": ["A", "B"]}, d_model=16)).eval()
    rng = np.random.default_rng(0)
    rows = [{"pose": rng.normal(size=(12, 50, 3)).astype("float32"), "language": "ase", "gloss": "A B"}]
    rows[0]["pose"][:, 5, 0] = rows[0]["pose"][:, 2, 0] + 2.0  # shoulders 2 apart in x: a width of about 2
    monkeypatch.setattr(report_module, "reconstruct", lambda _, clips, __: [c + 0.1 for c in clips])
    shifted = pose_tokenizer_report(tokenizer, rows, letter_reader=reader)
    width = np.linalg.norm(rows[0]["pose"][:, 5] - rows[0]["pose"][:, 2], axis=-1).mean()
    assert shifted["joint_error"] == pytest.approx(0.1 * np.sqrt(3), rel=1e-5)
    assert shifted["joint_error_shoulder_widths"] == pytest.approx(0.1 * np.sqrt(3) / width, rel=1e-3)
    assert shifted["hand_shape_error"] == pytest.approx(0.0, abs=1e-6)  # the hands moved whole, their shapes kept
    monkeypatch.setattr(report_module, "reconstruct", lambda _, clips, __: [c.copy() for c in clips])
    exact = pose_tokenizer_report(tokenizer, rows, letter_reader=reader)
    assert exact["joint_error"] == 0.0 and exact["dtw_mje"] == 0.0
    assert exact["legibility"]["cer"] == exact["legibility_of_references"]["cer"]
