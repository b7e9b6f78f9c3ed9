"""Resuming past a checkpoint cut while it was written: `--resume_from_checkpoint true` takes the newest complete
one (and says which it skipped), a named incomplete one is an error that says what it lacks."""

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from signllm_hf.cli import main
from signllm_hf.training.arguments import SignLLMTrainingArguments
from signllm_hf.training.checkpoints import checkpoint_problems
from signllm_hf.training.trainer import checkpoint_to_resume
from tests.training.helpers import tiny_cli, tiny_corpus


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# What a SIGKILL leaves, file by file (the Trainer writes the model, the optimizer and scheduler, the random states
# and plc_state.npz, then trainer_state.json): each damage, and what the error or the warning must name.
DAMAGES = {
    "no trainer state": (lambda c: (c / "trainer_state.json").unlink(), "no trainer_state.json"),
    "cut trainer state": (lambda c: _truncate(c / "trainer_state.json"), "trainer_state.json is cut short"),
    "cut weights": (lambda c: _truncate(c / "model.safetensors"), "model.safetensors is cut short"),
    "no weights": (lambda c: (c / "model.safetensors").unlink(), r"no model weights \(model.safetensors\)"),
    "cut optimizer": (lambda c: _truncate(c / "optimizer.pt"), "optimizer.pt is cut short"),
    "no scheduler": (lambda c: (c / "scheduler.pt").unlink(), "no scheduler.pt"),
    "no plc state": (lambda c: (c / "plc_state.npz").unlink(), "no plc_state.npz"),
    "cut rng state": (lambda c: _truncate(c / "rng_state.pth"), "rng_state.pth is cut short"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("corpus") / "synthetic", vocab_size=10, train_sentences=12)


def _command(corpus, out) -> list[str]:
    flags = tiny_cli(save_strategy="steps", save_steps=3, eval_split="none")
    return ["train", "--dataset", str(corpus), "--output_dir", str(out), *flags]


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    """An uninterrupted 6-step run with checkpoint-3 and checkpoint-6; its final weights are the reference."""
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(_command(corpus, out)) == 0
    return out


def _copy(run, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(run, copy)
    return copy


def test_a_whole_checkpoint_has_no_problem(run):
    for step in (3, 6):
        assert checkpoint_problems(run / f"checkpoint-{step}", extra_files=("plc_state.npz",)) == []
    args = SignLLMTrainingArguments(output_dir=str(run))
    assert checkpoint_to_resume(args, "true") == str(run / "checkpoint-6")
    assert checkpoint_to_resume(args, True) == str(run / "checkpoint-6")
    assert checkpoint_to_resume(args, "false") is None and checkpoint_to_resume(args, None) is None


@pytest.mark.parametrize("damage", DAMAGES)
def test_true_skips_an_incomplete_checkpoint_and_a_named_one_is_an_error(run, tmp_path, caplog, damage):
    out = _copy(run, tmp_path)
    spoil, problem = DAMAGES[damage]
    spoil(out / "checkpoint-6")
    args = SignLLMTrainingArguments(output_dir=str(out))
    with caplog.at_level(logging.WARNING):
        assert checkpoint_to_resume(args, "true") == str(out / "checkpoint-3")
    assert re.search(
        rf"skipping {re.escape(str(out / 'checkpoint-6'))}, an incomplete checkpoint: .*{problem}", caplog.text
    )
    with pytest.raises(ValueError, match=rf"checkpoint-6 is not a complete checkpoint \({problem}"):
        checkpoint_to_resume(args, str(out / "checkpoint-6"))
    assert checkpoint_to_resume(args, str(out / "checkpoint-3")) == str(out / "checkpoint-3")


def test_no_complete_checkpoint_is_an_error_naming_each(run, tmp_path):
    out = _copy(run, tmp_path)
    (out / "checkpoint-6" / "trainer_state.json").unlink()
    _truncate(out / "checkpoint-3" / "model.safetensors")
    args = SignLLMTrainingArguments(output_dir=str(out))
    with pytest.raises(ValueError, match=r"no complete checkpoint in .*checkpoint-6 \(no trainer_state.json\), "):
        checkpoint_to_resume(args, "true")
    with pytest.raises(ValueError, match=r"checkpoint-3 \(model.safetensors is cut short"):
        checkpoint_to_resume(args, "last")
    with pytest.raises(ValueError, match="no checkpoint-\\* folder in"):
        checkpoint_to_resume(SignLLMTrainingArguments(output_dir=str(tmp_path / "none")), "true")


def test_a_model_only_run_needs_no_optimizer(run, tmp_path):
    out = _copy(run, tmp_path)
    for name in ("optimizer.pt", "scheduler.pt", "plc_state.npz"):
        (out / "checkpoint-6" / name).unlink()
    assert checkpoint_to_resume(SignLLMTrainingArguments(output_dir=str(out), save_only_model=True), "true") == str(
        out / "checkpoint-6"
    )
    assert checkpoint_to_resume(SignLLMTrainingArguments(output_dir=str(out)), "true") == str(out / "checkpoint-3")


@pytest.mark.parametrize("damage", ["no trainer state", "cut weights", "cut optimizer"])
def test_resume_from_the_command_line_past_a_cut_checkpoint(corpus, run, tmp_path, caplog, damage):
    """The three ways a cut checkpoint once broke `--resume_from_checkpoint true`: it now resumes from the last
    complete one and ends with the uninterrupted run's weights."""
    out = _copy(run, tmp_path)
    reference = load_file(out / "model.safetensors")
    (out / "model.safetensors").unlink()
    DAMAGES[damage][0](out / "checkpoint-6")
    with caplog.at_level(logging.WARNING):
        assert main([*_command(corpus, out), "--resume_from_checkpoint", "true"]) == 0
    assert f"skipping {out / 'checkpoint-6'}" in caplog.text
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6  # checkpoint-6 written again, whole, by the resumed run
    resumed = load_file(out / "model.safetensors")
    assert resumed.keys() == reference.keys()
    for name, value in reference.items():
        assert (resumed[name] - value).abs().max() <= 1e-6, name


def test_naming_an_incomplete_checkpoint_on_the_command_line(corpus, run, tmp_path, capsys):
    out = _copy(run, tmp_path)
    _truncate(out / "checkpoint-6" / "model.safetensors")
    (out / "checkpoint-6" / "trainer_state.json").unlink()
    command = [*_command(corpus, out), "--resume_from_checkpoint", str(out / "checkpoint-6")]
    assert main(command) == 2
    error = capsys.readouterr().err
    assert f"{out / 'checkpoint-6'} is not a complete checkpoint (no trainer_state.json; model.safetensors" in error
