"""Prompt2LangGloss end to end: both stages trained by `signllm train --mode prompt2langgloss`, the chained pipeline,
evaluation, and the errors a user can run into."""

import json

import pytest
from transformers import pipeline

from signllm_hf.cli import main
from signllm_hf.data import load_pose_dataset
from signllm_hf.data.langgloss import langgloss_language, row_langgloss
from signllm_hf.evaluation.langgloss import langgloss_evaluation
from signllm_hf.modeling_prompt_stage import PromptToLangGloss
from tests.training.helpers import tiny_cli, tiny_corpus

STAGE2 = tiny_cli(max_frames=200, eval_max_frames=20)
STAGE1 = [
    "--prompt_stage_steps",
    "500",
    "--prompt_stage_d_model",
    "64",
    "--prompt_stage_layers",
    "2",
    "--prompt_stage_batch_size",
    "16",
    "--prompt_stage_learning_rate",
    "2e-3",
    "--prompt_stage_vocab_size",
    "600",
    "--prompts_per_clip",
    "4",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("p2lg") / "synthetic", vocab_size=8, train_sentences=16)


@pytest.fixture(scope="module")
def checkpoint(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("p2lg") / "model"
    arguments = [
        "train",
        "--dataset",
        str(corpus),
        "--output_dir",
        str(out),
        "--mode",
        "prompt2langgloss",
        *STAGE2,
        *STAGE1,
    ]
    assert main(arguments) == 0
    return out


def test_both_stages_are_saved_and_the_prompt_stage_learned(checkpoint, corpus):
    metrics = json.loads((checkpoint / "metrics.json").read_text())
    assert metrics["model"].endswith("-P") and metrics["prompt_stage_steps"] == 500
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["mode"] == "prompt2langgloss" and sorted(config["languages"]) == ["ase", "gsg"]
    for folder in (checkpoint, checkpoint / "prompt_to_langgloss"):  # both stages: arguments as JSON, no pickle
        assert not (folder / "training_args.bin").exists()
        assert json.loads((folder / "training_args.json").read_text())["output_dir"] == str(folder)
    stage = PromptToLangGloss.from_pretrained(str(checkpoint))
    train = load_pose_dataset(corpus)["train"].select_columns(["id", "language", "text", "gloss"]).to_list()
    scores = langgloss_evaluation(stage, train, template_split="train")["overall"]  # the pairs it was trained on
    assert scores["exact_text"] >= 80 and scores["exact_prompt"] >= 60, scores
    outputs = stage([row["text"] for row in train], [row["language"] for row in train])
    exact = sum(out == row_langgloss(row) for out, row in zip(outputs, train))
    assert exact == round(scores["exact_text"] * len(train) / 100)


def test_the_chained_pipeline(checkpoint, corpus):
    signer = pipeline("text-to-pose", model=str(checkpoint))
    train = load_pose_dataset(corpus)["train"]
    row = next(r for r in train if r["language"] == "gsg")
    asl_row = next(r for r in train if r["language"] == "ase")
    result = signer(f"How do I sign '{row['text']}' in DGS?", max_frames=15)
    assert result["language"] == "gsg" and langgloss_language(result["langgloss"]) == "gsg"
    assert result["pose"].shape[1:] == (50, 3) and 1 <= len(result["pose"]) <= 15
    plain = signer(asl_row["text"], language="ASL", max_frames=15)  # a plain sentence and an explicit language
    assert plain["language"] == "ase" and langgloss_language(plain["langgloss"]) == "ase"
    both = signer([row["text"], asl_row["text"]], language=["gsg", "ase"], max_frames=10)
    assert [r["language"] for r in both] == ["gsg", "ase"]
    assert [langgloss_language(r["langgloss"]) for r in both] == ["gsg", "ase"]
    try:  # GSL words asked in ASL: ASL glosses or an error, never GSL glosses signed as ASL
        crossed = signer(row["text"], language="ASL", max_frames=15)
        assert langgloss_language(crossed["langgloss"]) == "ase" and crossed["language"] == "ase"
    except ValueError as error:
        assert "found nothing to sign" in str(error)
    with pytest.raises(ValueError, match="names no sign language"):
        signer("How do I sign this?")
    with pytest.raises(ValueError, match=r"kvk"):
        signer(row["text"], language="KSL")
    with pytest.raises(ValueError, match="non-empty string"):
        signer("   ")


def test_generate_and_evaluate_from_the_command_line(checkpoint, corpus, tmp_path, capsys):
    text = next(r["text"] for r in load_pose_dataset(corpus)["train"] if r["language"] == "ase")
    assert (
        main(
            [
                "generate",
                str(checkpoint),
                f"How do I sign '{text}' in ASL?",
                "--max-frames",
                "10",
                "--out",
                str(tmp_path / "x.pose"),
            ]
        )
        == 0
    )
    assert "LangGloss: <ASL_" in capsys.readouterr().out and (tmp_path / "x.pose").is_file()
    scores_path = tmp_path / "scores.json"
    assert (
        main(
            [
                "evaluate",
                str(checkpoint),
                str(corpus),
                "--split",
                "test",
                "--max-clips",
                "4",
                "--max-frames",
                "20",
                "--out",
                str(scores_path),
            ]
        )
        == 0
    )
    scores = json.loads(scores_path.read_text())
    assert scores["input"] == "text" and scores["clips"] == 4
    assert {"exact_text", "exact_prompt", "bleu4_prompt_vs_text"} <= set(scores["langgloss"]["overall"])
    assert "| langgloss exact_prompt |" in capsys.readouterr().out


@pytest.mark.parametrize("prompts", [False, True])
def test_evaluate_signs_what_stage_one_wrote_from_held_out_prompts(checkpoint, corpus, monkeypatch, prompts):
    """With ``prompts=True`` the pose model signs the LangGloss stage 1 writes from each clip's text wrapped in a
    held-out template (seed 1, keyed by the clip id); without, from the plain text."""
    import signllm_hf.evaluation.evaluate as evaluate_module
    from signllm_hf.data.prompts import make_prompt
    from signllm_hf.evaluation import evaluate_model

    def stage(inputs, languages):  # a LangGloss that names its input, in the clip's language
        return [f"<{'ASL' if code == 'ase' else 'GSL'}_{len(text)}>" for text, code in zip(inputs, languages)]

    signed = []
    real_generate = evaluate_module.generate_split

    def spy(model, tokenizer, rows, *args, texts=None, **kwargs):
        signed.append((list(rows), list(texts)))
        return real_generate(model, tokenizer, rows, *args, texts=texts, **kwargs)

    monkeypatch.setattr(evaluate_module.PromptToLangGloss, "from_pretrained", staticmethod(lambda _: stage))
    monkeypatch.setattr(evaluate_module, "generate_split", spy)
    result = evaluate_model(str(checkpoint), str(corpus), split="test", max_clips=4, max_frames=10, prompts=prompts)
    ((rows, texts),) = signed
    read = [row["text"] for row in rows]
    if prompts:
        read = [make_prompt(r["text"], r["language"], seed=1, key=r["id"], split="heldout") for r in rows]
        assert all(len(prompt) > len(row["text"]) for prompt, row in zip(read, rows))
    assert len(rows) == result["clips"] == 4 and texts == stage(read, [row["language"] for row in rows])
    assert result["input"] == ("prompts (held-out templates)" if prompts else "text")
    assert result["langgloss"]["empty"] == 0 and result["langgloss"]["overall"]["clips"] == 4


def test_stage_one_is_required(checkpoint, tmp_path):
    import shutil

    broken = tmp_path / "no-stage-one"
    shutil.copytree(checkpoint, broken, ignore=shutil.ignore_patterns("prompt_to_langgloss"))
    with pytest.raises(FileNotFoundError, match="no prompt stage there"):
        pipeline("text-to-pose", model=str(broken))


def test_continuing_needs_the_same_mode_and_a_matching_stage_one(checkpoint, corpus, tmp_path, capsys):
    import shutil

    from signllm_hf.tokenization_signllm import build_langgloss_tokenizer

    arguments = [
        "train",
        "--dataset",
        str(corpus),
        "--output_dir",
        str(tmp_path / "m"),
        "--model_name_or_path",
        str(checkpoint),
        *STAGE2,
    ]
    assert main([*arguments, "--mode", "mlsf"]) == 2
    assert "pass --mode prompt2langgloss" in capsys.readouterr().err
    stale = tmp_path / "stale"
    shutil.copytree(checkpoint, stale)
    build_langgloss_tokenizer(["<ASL_only> <ASL_three> <ASL_words>"]).save_pretrained(stale)  # another vocabulary
    with pytest.raises(ValueError, match="stage 1 is from an older run"):
        PromptToLangGloss.from_pretrained(str(stale))


def test_both_stages_train_under_accelerate_with_two_processes(corpus, tmp_path):
    """The shipped recipe on two CPU processes (gloo), the prompt stage time-boxed: every process stops at the
    same step (rank 0's clock decides), so none waits forever in the all-reduce."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    recipes = Path(__file__).resolve().parents[2] / "recipes"
    out = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(recipes / "accelerate" / "cpu_ddp.yaml"),
        "--main_process_port",
        "29561",
        str(recipes / "train.py"),
        "--config",
        str(recipes / "configs" / "prompt2langgloss.yaml"),
        "--bf16",
        "false",
        "--dataset",
        str(corpus),
        "--output_dir",
        str(out),
        "--eval_split",
        "none",
        *STAGE2,
        "--prompt_stage_steps",
        "100000",
        "--prompt_stage_seconds",
        "5",
        "--prompt_stage_d_model",
        "32",
        "--prompt_stage_layers",
        "1",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=400, env=dict(os.environ, OMP_NUM_THREADS="1")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and 0 < metrics["prompt_stage_steps"] < 100000
    assert not (out / "prompt_stage_checkpoints").exists()
    stage = PromptToLangGloss.from_pretrained(str(out))
    assert len(stage(["zoka"], ["ase"])) == 1


def test_a_quoted_prompt_from_the_command_line(checkpoint, capsys, monkeypatch):
    # The README's words, which the synthetic corpus never had: the trained prompt stage still writes DGS LangGloss.
    prompt = "How do I sign 'the sky is blue' in DGS?"
    assert main(["generate", str(checkpoint), prompt, "--max-frames", "10"]) == 0
    assert "LangGloss: <GSL_" in capsys.readouterr().out
    # A prompt stage that writes nothing (trained for too few steps): the error says so, in the command's options,
    # and does not ask to quote a sentence that is quoted.
    monkeypatch.setattr(PromptToLangGloss, "__call__", lambda self, prompts, languages, **options: [""] * len(prompts))
    assert main(["generate", str(checkpoint), prompt]) == 2
    assert capsys.readouterr().err == (
        f"signllm: error: found nothing to sign in {prompt!r}: the prompt stage wrote no LangGloss at all. It signs "
        "the words of its training corpus (in a prompt or as a plain sentence with --language); words it never saw, "
        "or a prompt stage trained for too few steps (--prompt-stage-steps), give nothing\n"
    )
    # Tokens of another language only, for a prompt without quotes: both said, with the hint to quote.
    monkeypatch.setattr(
        PromptToLangGloss, "__call__", lambda self, prompts, languages, **options: ["<ASL_SKY>"] * len(prompts)
    )
    assert main(["generate", str(checkpoint), "How do I sign the sky is blue in DGS?"]) == 2
    error = capsys.readouterr().err
    assert "the prompt stage wrote LangGloss of other languages only ('<ASL_SKY>'), none in gsg" in error
    assert error.endswith("; put the sentence in quotes: \"How do I sign 'the sky is blue' in ASL?\"\n")
