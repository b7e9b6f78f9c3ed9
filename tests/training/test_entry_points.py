"""signllm train / recipes/train.py, train-back-translator, evaluate: arguments, a tiny end-to-end run, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import torch
import yaml

from signllm_hf.cli import main
from signllm_hf.data.corpora import load_corpus
from signllm_hf.evaluation import format_table
from signllm_hf.training.arguments import DataArguments
from signllm_hf.training.run import load_splits, parse_arguments
from tests.training.helpers import dtw_of_saved_model, tiny_cli, tiny_corpus

ROOT = Path(__file__).resolve().parents[2]
TINY = tiny_cli()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("corpus") / "synthetic", vocab_size=10, train_sentences=12)


def test_yaml_config_with_command_line_overrides(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("dataset: somewhere\nmax_steps: 77\nloss_mode: rl\nd_model: 64\nplc: true\n", encoding="utf-8")
    data, model, training, _ = parse_arguments(["--config", str(config), "--max_steps", "5", "--output_dir", "x"])
    assert parse_arguments(["--dataset", "d", "--output_dir", "x", "--languages", "ase,GSL"])[0].languages == [
        "ase",
        "GSL",
    ]
    assert data.dataset == "somewhere" and model.d_model == 64
    assert training.max_steps == 5 and training.loss_mode == "rl" and training.plc  # the flag wins over the file
    assert parse_arguments([f"--config={config}", "--output_dir", "x"])[2].max_steps == 77
    config.write_text("dataset: d\nlearning_rte: 0.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['learning_rte'\]"):
        parse_arguments(["--config", str(config), "--output_dir", "x"])
    with pytest.raises(ValueError, match="pass --dataset"):
        parse_arguments(["--output_dir", "x"])
    config.write_text("dataset: d\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pass --output_dir \(the folder the model, its checkpoints and metrics"):
        parse_arguments(["--config", str(config)])
    config.write_text("dataset: d\noutput_dir: runs/from-config\n", encoding="utf-8")
    assert parse_arguments(["--config", str(config)])[2].output_dir == "runs/from-config"


def test_train_needs_an_output_dir(corpus, tmp_path, monkeypatch, capsys):
    """Without --output_dir, TrainingArguments would write everything to ./trainer_output without a word."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", str(corpus), *TINY]) == 2
    assert "signllm: error: pass --output_dir (the folder the model" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_shipped_configs_parse():
    def parsed(name, *overrides):
        path = ROOT / "recipes" / "configs" / name
        return parse_arguments(["--config", str(path), "--dataset", "d", "--output_dir", "x", *overrides])[:3]

    assert yaml.safe_load((ROOT / "recipes" / "configs" / "base.yaml").read_text())["bf16"] is True  # a GPU recipe
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="pass --bf16 false"):
            parsed("base.yaml")
    _, model, training = parsed("base.yaml", "--bf16", "false")  # the paper's Base
    assert model.preset == "base" and model.d_model is None and model.max_frames == 400
    _, model, training = parsed("tiny_cpu.yaml")
    assert (model.d_model, model.ffn_dim, training.per_device_train_batch_size) == (128, 512, 16)
    assert training.use_cpu and not training.bf16
    for name in ("base.yaml", "tiny_cpu.yaml", "prompt2langgloss.yaml"):  # all train with the ablation's winner
        data, model, training = parsed(name, "--bf16", "false")
        assert (model.decoder_input, model.future_prediction, model.counter_loss_weight) == ("frame", 3, 10.0)
        assert (training.loss_mode, training.plc) == ("mse", False)
    data, model, training = parsed("fingerspelling_cpu.yaml")  # the hour-long legible-spelling recipe
    assert (model.alignment, model.decoding, model.decoder_input, model.hand_loss_weight) == (
        "duration",
        "parallel",
        "position",
        1.0,
    )
    assert data.letter_strings and training.learning_rate == 1e-3 and training.train_seconds == 2700
    assert training.max_steps > 0 and training.eval_strategy == "no"
    # Constant, then a decay over the last fifth of the run (of the time budget, which ends it: StopAfter).
    assert training.lr_scheduler_type == "warmup_stable_decay"
    assert training.lr_scheduler_kwargs["num_decay_steps"] == training.max_steps // 5


def test_evaluation_languages_follow_the_training_split(corpus, caplog):
    train, dev = load_splits(DataArguments(dataset=str(corpus), max_train_clips=1, max_eval_clips=None))
    assert len(train) == 1 and set(dev["language"]) == set(train["language"]) and len(dev) > 0
    assert "which the training split lacks, are left out" in caplog.text


def test_prompt2sign_folders_need_a_language(tmp_path):
    folder = ROOT / "tests" / "fixtures" / "phoenix14t_sample"
    with pytest.raises(ValueError, match="pass --skels_language"):
        load_splits(DataArguments(dataset=str(folder)))
    train, dev = load_splits(DataArguments(dataset=str(folder), skels_language="GSL", max_eval_clips=3))
    assert len(train) == 5 and len(dev) == 3 and set(train["language"]) == {"gsg"}


def test_train_evaluate_and_back_translate(corpus, tmp_path, capsys):
    args = [
        "train",
        "--dataset",
        str(corpus),
        "--output_dir",
        str(tmp_path / "signer"),
        "--eval_split",
        "dev",
        "--eval_strategy",
        "steps",
        "--eval_steps",
        "6",
        "--loss_mode",
        "rl",
        "--plc",
        "true",
        *TINY,
    ]
    assert main(args) == 0
    metrics = json.loads((tmp_path / "signer" / "metrics.json").read_text())
    assert metrics["model"].startswith("SignLLM-2x")
    # The trainer's evaluation DTW is the saved model's, recomputed one clip at a time by a plain DTW.
    _, dev = load_splits(DataArguments(dataset=str(corpus), max_eval_clips=4), max_frames=120)
    assert metrics["eval_dtw"] == pytest.approx(dtw_of_saved_model(tmp_path / "signer", dev, 30), rel=1e-3)
    saved_arguments = json.loads((tmp_path / "signer" / "training_args.json").read_text())
    assert saved_arguments["loss_mode"] == "rl" and saved_arguments["plc"] and saved_arguments["max_steps"] == 6
    assert not (tmp_path / "signer" / "training_args.bin").exists()  # no pickle beside the safetensors
    assert (
        main(
            [
                "train-back-translator",
                str(corpus),
                str(tmp_path / "judge"),
                "--max-steps",
                "4",
                "--d-model",
                "32",
                "--layers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "signer"),
                str(corpus),
                "--split",
                "test",
                "--back-translator",
                str(tmp_path / "judge"),
                "--max-clips",
                "4",
                "--max-frames",
                "20",
                "--out",
                str(tmp_path / "scores.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "judge" / "training_args.json").read_text())["max_steps"] == 4
    assert not (tmp_path / "judge" / "training_args.bin").exists()
    printed = capsys.readouterr().out
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["clips"] == 4 and set(scores["per_language"]) <= {"ase", "gsg"}
    assert {"bleu1", "bleu4", "rouge_l", "chrf", "wer"} <= set(scores["back_translation"])
    assert "back_translation_of_references" in scores and "| bleu4 |" in printed
    assert format_table(scores).splitlines()[0] == "| metric | generated | references |"
    # float16 generation (the fast one for Base on a CPU) scores the same clips within rounding.
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "signer"),
                str(corpus),
                "--split",
                "test",
                "--max-clips",
                "4",
                "--max-frames",
                "20",
                "--dtype",
                "float16",
                "--out",
                str(tmp_path / "half.json"),
            ]
        )
        == 0
    )
    half = json.loads((tmp_path / "half.json").read_text())
    assert half["clips"] == 4 and half["dtype"] == "float16" and scores["dtype"] == "float32"
    assert abs(half["dtw"] - scores["dtw"]) < 0.01 * scores["dtw"]
    # The DTW of `evaluate` is that of the model's own generations for its seeded sample of 4 test clips.
    test = load_corpus(str(corpus), "test")
    sample = [test[int(i)] for i in sorted(np.random.default_rng(0).choice(len(test), size=4, replace=False))]
    assert scores["dtw"] == pytest.approx(dtw_of_saved_model(tmp_path / "signer", sample, 20), rel=1e-3)
    # Its BLEU and chrF are sacrebleu's of the judge's translations against the input texts (chrF, which weighs
    # recall twice, would differ with the two swapped).
    hypotheses, texts = [e["back_translation"] for e in scores["examples"]], [e["text"] for e in scores["examples"]]
    assert texts == [row["text"] for row in sample]
    bleu4 = sacrebleu.BLEU(effective_order=True).corpus_score(hypotheses, [texts]).score
    chrf = sacrebleu.CHRF().corpus_score(hypotheses, [texts]).score
    assert scores["back_translation"]["bleu4"] == pytest.approx(bleu4, abs=1e-4)
    assert scores["back_translation"]["chrf"] == pytest.approx(chrf, abs=1e-4)
    assert chrf != pytest.approx(sacrebleu.CHRF().corpus_score(texts, [hypotheses]).score, abs=1e-3)


def test_training_errors_are_one_line(corpus, tmp_path, capsys):
    assert main(["train", "--dataset", str(tmp_path / "nothing"), "--output_dir", str(tmp_path), *TINY]) == 2
    assert "no such corpus folder" in capsys.readouterr().err
    assert main(["train", "--dataset", str(corpus), "--output_dir", str(tmp_path), "--languages", "kvk", *TINY]) == 2
    assert "no clip for the chosen languages" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "no-model"), str(corpus)]) == 2
    assert "no model folder there" in capsys.readouterr().err
    phoenix = ROOT / "tests" / "fixtures" / "phoenix14t_sample"
    with pytest.raises(ValueError, match="holds .skels files: pass --skels_language"):
        load_corpus(str(phoenix), "dev")


def test_accelerate_cpu_recipe_runs_two_processes(corpus, tmp_path):
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ROOT / "recipes" / "accelerate" / "cpu_ddp.yaml"),
        "--main_process_port",
        "29543",
        str(ROOT / "recipes" / "train.py"),
        "--config",
        str(ROOT / "recipes" / "configs" / "tiny_cpu.yaml"),
        "--dataset",
        str(corpus),
        "--output_dir",
        str(tmp_path / "ddp"),
        "--eval_split",
        "none",
        "--logging_steps",
        "1",
        *TINY,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["train_runtime"] > 0  # two processes, not silently one


def test_resume_from_the_command_line(corpus, tmp_path, capsys):
    """`--resume_from_checkpoint true` continues the latest checkpoint and ends where one uninterrupted run ends."""
    from safetensors.torch import load_file

    def command(out):
        return [
            "train",
            "--dataset",
            str(corpus),
            "--output_dir",
            str(out),
            "--eval_split",
            "none",
            *TINY,
            "--save_strategy",
            "steps",
            "--save_steps",
            "3",
            "--lr_scheduler_type",
            "constant",
        ]

    assert main([*command(tmp_path / "a"), "--resume_from_checkpoint", "true"]) == 2
    assert "no checkpoint-* folder" in capsys.readouterr().err
    assert main([*command(tmp_path / "a"), "--max_steps", "3"]) == 0  # interrupted at step 3
    assert main([*command(tmp_path / "a"), "--resume_from_checkpoint", "true"]) == 0  # steps 4-6
    assert main(command(tmp_path / "b")) == 0  # steps 1-6 in one go
    resumed, uninterrupted = (
        load_file(tmp_path / "a" / "model.safetensors"),
        load_file(tmp_path / "b" / "model.safetensors"),
    )
    assert resumed.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        assert (resumed[name] - value).abs().max() < 1e-6, name


def test_continuing_a_saved_model_keeps_its_vocabulary(corpus, tmp_path):
    """Continuing on another corpus must not retrain the tokenizer under the trained embeddings (it once did)."""
    first = tmp_path / "first"
    assert main(["train", "--dataset", str(corpus), "--output_dir", str(first), *TINY]) == 0
    other = tiny_corpus(tmp_path / "other", vocab_size=8, train_sentences=8)  # another corpus, other words
    second = tmp_path / "second"
    arguments = ["train", "--dataset", str(other), "--output_dir", str(second), "--model_name_or_path", str(first)]
    assert main([*arguments, *TINY]) == 0
    saved = json.loads((first / "tokenizer.json").read_text())["model"]["vocab"]
    continued = json.loads((second / "tokenizer.json").read_text())["model"]["vocab"]
    assert continued == saved


def test_a_given_tokenizer_is_the_one_trained_with(corpus, tmp_path):
    from signllm_hf.tokenization_signllm import train_text_tokenizer  # noqa: PLC0415

    given = train_text_tokenizer(["only these words here", "and no others"], vocab_size=300)
    given.save_pretrained(tmp_path / "tok")
    out = tmp_path / "run"
    arguments = ["train", "--dataset", str(corpus), "--output_dir", str(out), "--tokenizer", str(tmp_path / "tok")]
    assert main([*arguments, *TINY]) == 0
    written = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    assert written == json.loads((tmp_path / "tok" / "tokenizer.json").read_text())["model"]["vocab"]
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(given)


@pytest.fixture(scope="module")
def spelled_corpus(tmp_path_factory):
    pytest.importorskip("spoken_to_signed")
    out = tmp_path_factory.mktemp("fs") / "fs"
    assert (
        main(["corpus", "fingerspelling", str(out), "--languages", "ase", "--words-per-language", "30", "--quiet"])
        == 0
    )
    return out


def test_duration_alignment_on_letter_strings(spelled_corpus, tmp_path):
    out = tmp_path / "run"
    flags = tiny_cli(max_steps=4, tokenizer_vocab_size=260)
    arguments = ["train", "--dataset", str(spelled_corpus), "--output_dir", str(out), "--alignment", "duration"]
    assert main([*arguments, "--letter_strings", "true", "--language_priority", "1", *flags]) == 0
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["alignment"] == "duration" and metrics["steps"] == 4 and "eval_dtw" in metrics
    priority = metrics["language_priority"]  # one language: every batch is its, whatever its loss
    assert priority["batches"] == {"ase": 4} and priority["probabilities"] == {"ase": 1.0}


def test_duration_alignment_needs_spelled_clips(corpus, tmp_path, capsys):
    pytest.importorskip("spoken_to_signed")
    arguments = ["train", "--dataset", str(corpus), "--output_dir", str(tmp_path / "x"), "--alignment", "duration"]
    assert main([*arguments, *TINY]) == 2  # the synthetic corpus's clips are not spelled with the lexicon
    assert "are not spelled with the lexicon's letter clips" in capsys.readouterr().err
