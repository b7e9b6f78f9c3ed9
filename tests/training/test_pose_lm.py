"""Training a language model with pose tokens: strategies, LoRA, the staged alignment, overfitting, the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import TrainingArguments, pipeline

from signllm_hf.cli import main
from signllm_hf.data import pose_dataset_from_rows
from signllm_hf.data.dataset import save_pose_dataset
from signllm_hf.data.pose_files import write_pose_file
from signllm_hf.modeling_signllm_pose_lm import (
    add_pose_tokens,
    decode_pose_codes,
    load_pose_lm_model,
    save_pose_lm,
    task_example,
)
from signllm_hf.training.pose_lm import (
    PoseLMCollator,
    apply_lora,
    build_language_model,
    freeze_for_alignment,
    train_pose_lm,
)
from signllm_hf.training.scaffold import code_arguments, train_model
from tests.model.pose_lm_helpers import pose_tokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = [("hello world", "ase", [3, 1, 4, 1, 5]), ("good night", "gsg", [9, 2, 6])]
TINY = {"d_model": 32, "layers": 1, "heads": 2, "vocab_size": 300, "batch_size": 4, "progress": False}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNLLM_CACHE", str(tmp_path / "cache"))


def clip(codes) -> np.ndarray:
    """The frames the stand-in pose tokenizer writes for ``codes`` (so encoding them gives ``codes`` back)."""
    return decode_pose_codes(pose_tokenizer(), [codes])[0][0].numpy().reshape(-1, 50, 3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two clips (the same in every split) whose pose codes are DATA's, and the stand-in pose tokenizer."""
    folder = tmp_path_factory.mktemp("pose_lm_corpus")
    rows = [
        {"id": f"c{i}", "language": lang, "text": text, "gloss": "", "pose": clip(codes)}
        for i, (text, lang, codes) in enumerate(DATA)
    ]
    save_pose_dataset({name: pose_dataset_from_rows(rows) for name in ("train", "dev", "test")}, folder / "data")
    pose_tokenizer().save_pretrained(str(folder / "vq"))
    return folder / "data", folder / "vq"


def run(corpus, out, **options):
    data, vq = corpus
    return train_pose_lm(str(out), pose_tokenizer=str(vq), corpus=str(data), **(TINY | options))


@pytest.mark.parametrize(
    ("strategy", "lm", "lora_r"), [("direct", "t5-tiny", 0), ("joint", "qwen2-tiny", 0), ("staged", "bart-tiny", 4)]
)
def test_each_strategy_saves_a_folder_both_pipelines_load(corpus, tmp_path, strategy, lm, lora_r):
    metrics = run(corpus, tmp_path / "lm", lm=lm, strategy=strategy, lora_r=lora_r, max_steps=4)
    saved = json.loads((tmp_path / "lm" / "metrics.json").read_text())
    expected_tasks = ["text_to_pose", "pose_to_text"] + (["completion"] if strategy != "direct" else [])
    assert saved["tasks"] == expected_tasks and saved["steps"] == metrics["steps"] == 4
    assert saved["examples"] == 2 * len(expected_tasks)  # every clip has >= 2 codes: a completion too
    if strategy == "staged":
        assert saved["stage1"]["steps"] == 1  # 30% of 4 steps, rounded
    dev = saved["dev"]
    assert set(dev) == {"pose_to_text", "text_to_pose"} and dev["pose_to_text"]["clips"] == 2
    assert 0 <= dev["pose_to_text"]["bleu4"] <= 100 and dev["text_to_pose"]["dtw"] >= 0
    assert (tmp_path / "lm" / "adapter_model.safetensors").is_file() == bool(lora_r)
    assert (tmp_path / "lm" / "pose_tokenizer" / "config.json").is_file()
    signer = pipeline("text-to-pose", model=str(tmp_path / "lm"), device="cpu")
    signed = signer("hello world", language="ase", max_frames=8)
    assert signed["pose"].shape[1:] == (50, 3) and 2 <= len(signed["pose"]) <= 8 and signed["language"] == "ase"
    reader = pipeline("pose-to-text", model=str(tmp_path / "lm"), device="cpu")
    assert isinstance(reader(clip(DATA[1][2]), language="gsg")["text"], str)


def train_a_few_steps(model, batch, steps: int = 5) -> None:
    """A few AdamW steps on ``batch`` (what is trainable of ``model``: an adapter and its saved copies), then eval."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.eval()


@pytest.mark.parametrize("lm", ["t5-tiny", "qwen2-tiny"])
def test_a_lora_adapter_reloads_with_identical_logits(lm, tmp_path):
    torch.manual_seed(0)
    model, tokenizer = build_language_model(lm, [text for text, *_ in DATA], **{k: TINY[k] for k in TINY if k in (
        "d_model", "layers", "heads", "vocab_size")})  # fmt: skip
    vocab = add_pose_tokens(tokenizer, model, pose_tokenizer=pose_tokenizer(), languages=["ase", "gsg"])
    save_pose_lm(tmp_path, model, tokenizer)  # the base, as train_pose_lm saves it
    peft_model = apply_lora(model, r=4)
    encoder_decoder = model.config.is_encoder_decoder
    examples = [
        task_example(tokenizer, vocab, task, language=lang, encoder_decoder=encoder_decoder, text=text, codes=codes)
        for text, lang, codes in DATA
        for task in ("text_to_pose", "pose_to_text")
    ]
    batch = PoseLMCollator(tokenizer.pad_token_id)(examples)
    train_a_few_steps(peft_model, batch)
    save_pose_lm(tmp_path, peft_model, tokenizer, pose_tokenizer=pose_tokenizer())
    assert (tmp_path / "adapter_config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    with torch.no_grad():
        expected = peft_model(**batch).logits
        reloaded = load_pose_lm_model(tmp_path).eval()
        assert torch.equal(reloaded(**batch).logits, expected)
        if encoder_decoder:  # the encoder reads the trained copy of the embeddings, not the frozen original
            for lm in (peft_model.get_base_model(), reloaded):
                assert lm.get_encoder().embed_tokens is lm.get_input_embeddings()
                assert type(lm.get_input_embeddings()).__name__ == "ModulesToSaveWrapper"
        with peft_model.disable_adapter():  # the adapter (and its embedding copy) matters
            assert not torch.allclose(peft_model(**batch).logits, expected)
    trained = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any("lora_" in n for n in trained) and any("modules_to_save" in n for n in trained)


def test_a_pose_lm_folder_learns_a_new_language_with_lora(tmp_path):
    # `--lm FOLDER`: a pose LM pretrained on ase and gsg is the base; tsm's tag is added, every other id is kept, and
    # the LoRA adapter trained on top reloads with the same logits (benchmarks/results/pose_lm_lora.md).
    torch.manual_seed(0)
    model, tokenizer = build_language_model("t5-tiny", [text for text, *_ in DATA] + ["merhaba"], **{
        k: TINY[k] for k in TINY if k in ("d_model", "layers", "heads", "vocab_size")})  # fmt: skip
    before = add_pose_tokens(tokenizer, model, pose_tokenizer=pose_tokenizer(), languages=["ase", "gsg"])
    save_pose_lm(tmp_path / "base", model, tokenizer, pose_tokenizer=pose_tokenizer())
    model, tokenizer = build_language_model(str(tmp_path / "base"), [])
    vocab = add_pose_tokens(tokenizer, model, pose_tokenizer=pose_tokenizer(), languages=["tsm"])
    assert (vocab.first_pose_id, vocab.start_id, vocab.end_id) == (
        before.first_pose_id,
        before.start_id,
        before.end_id,
    )
    assert {k: vocab.languages[k] for k in ("ase", "gsg")} == before.languages and "tsm" in vocab.languages
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)
    save_pose_lm(tmp_path / "tsm", model, tokenizer)
    peft_model = apply_lora(model, r=4)
    examples = [task_example(tokenizer, vocab, "text_to_pose", language="tsm", encoder_decoder=True, text="merhaba",
                             codes=[7, 2, 2, 8])]  # fmt: skip
    batch = PoseLMCollator(tokenizer.pad_token_id)(examples)
    train_a_few_steps(peft_model, batch)
    save_pose_lm(tmp_path / "tsm", peft_model, tokenizer, pose_tokenizer=pose_tokenizer())
    with torch.no_grad():
        expected = peft_model(**batch).logits
        assert torch.equal(load_pose_lm_model(tmp_path / "tsm").eval()(**batch).logits, expected)
        with peft_model.disable_adapter():
            assert not torch.allclose(peft_model(**batch).logits, expected)


@pytest.mark.parametrize("features", [False, True])
def test_stage_one_trains_only_the_new_rows_or_the_projector(corpus, tmp_path, features):
    from signllm_hf.modeling_signllm_pose_projector import PoseFeatureProjector
    from signllm_hf.training.pose_lm import PoseFeatureCollator, PoseFeatureTranslator, build_examples

    torch.manual_seed(0)
    model, tokenizer = build_language_model("t5-tiny", [t for t, *_ in DATA], d_model=32, layers=1, heads=2,
                                            vocab_size=300)  # fmt: skip
    vocab = add_pose_tokens(tokenizer, model, pose_tokenizer=pose_tokenizer(), languages=["ase", "gsg"])
    rows = [{"pose": clip(codes), "language": lang, "text": text} for text, lang, codes in DATA]
    projector = PoseFeatureProjector(32, frames_per_step=2, hidden_size=16) if features else None
    before = {k: v.clone() for k, v in model.state_dict().items()}
    projector_before = {k: v.clone() for k, v in projector.state_dict().items()} if features else {}
    hooks = freeze_for_alignment(model, vocab.first_pose_id, projector)
    if features:
        trainable, dataset, collator = PoseFeatureTranslator(model, tokenizer, projector), rows, PoseFeatureCollator()
    else:
        codes = [codes for *_, codes in DATA]
        dataset = build_examples(tokenizer, vocab, rows, codes, ("text_to_pose", "pose_to_text"), True)
        trainable, collator = model, PoseLMCollator(tokenizer.pad_token_id)
    args = code_arguments(TrainingArguments, str(tmp_path), max_steps=3, batch_size=4, learning_rate=1e-2,
                          progress=False, remove_unused_columns=False, weight_decay=0.0)  # fmt: skip
    train_model(trainable, args, dataset, collator, progress=False, save=False)
    for hook in hooks:
        hook.remove()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    if features:
        assert changed == set()  # the LM is bit-identical
        assert any(not torch.equal(v, projector.state_dict()[k]) for k, v in projector_before.items())
        return
    embeddings = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"}
    assert changed and changed <= embeddings
    for key in changed:  # the old rows bit-identical, the new ones learnt
        assert torch.equal(before[key][: vocab.first_pose_id], after[key][: vocab.first_pose_id])
        assert not torch.equal(before[key][vocab.first_pose_id :], after[key][vocab.first_pose_id :])


def test_a_tiny_model_overfits_two_clips_both_ways(corpus, tmp_path):
    metrics = run(corpus, tmp_path / "lm", lm="qwen2-tiny", d_model=64, heads=4, max_steps=120, learning_rate=3e-3)
    dev = metrics["dev"]
    assert [e["translation"] for e in dev["pose_to_text"]["examples"]] == ["hello world", "good night"]
    assert dev["pose_to_text"]["wer"] == 0.0 and dev["pose_to_text"]["bleu1"] == 100.0
    assert dev["text_to_pose"]["dtw_mje"] < 1e-5 and dev["text_to_pose"]["length_error"] == 0.0
    signer = pipeline("text-to-pose", model=str(tmp_path / "lm"), device="cpu")
    for text, lang, codes in DATA:  # the pose codes generated are the targets: their frames exactly
        np.testing.assert_allclose(signer(text, language=lang)["pose"], clip(codes), atol=1e-6)


def test_continuous_features_train_a_translator(corpus, tmp_path):
    metrics = run(corpus, tmp_path / "lm", lm="t5-tiny", pose_input="features", tasks="pose_to_text", max_steps=3)
    assert metrics["dev"]["pose_to_text"]["input"] == "features" and "text_to_pose" not in metrics["dev"]
    assert (tmp_path / "lm" / "pose_projector" / "config.json").is_file()
    assert not (tmp_path / "lm" / "pose_tokenizer").exists()
    reader = pipeline("pose-to-text", model=str(tmp_path / "lm"), device="cpu")
    assert reader.features and isinstance(reader(clip(DATA[0][2]), language="ase")["text"], str)
    with pytest.raises(ValueError, match="pose -> text only"):
        run(corpus, tmp_path / "x", pose_input="features", tasks="text_to_pose", max_steps=1)


def test_cli_trains_with_the_real_pose_tokenizer_and_translates(corpus, tmp_path, capsys):
    from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig

    data, _ = corpus
    torch.manual_seed(0)
    config = SignLLMPoseVQConfig(hidden_size=16, code_dim=4, codebook_size=8, res_blocks=1, downsample=2)
    SignLLMPoseVQ(config).eval().save_pretrained(str(tmp_path / "vq"))
    out = tmp_path / "lm"
    flags = ["--lm", "t5-tiny", "--strategy", "joint", "--lora-r", "2", "--max-steps", "3", "--d-model", "32"]
    flags += ["--layers", "1", "--heads", "2", "--batch-size", "4", "--quiet"]
    assert (
        main(["train-pose-lm", str(out), "--pose-tokenizer", str(tmp_path / "vq"), "--corpus", str(data), *flags]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        f"wrote {out} (3 steps, " in printed
        and "| pose_to_text | 2 |" in printed
        and "| text_to_pose | 2 |" in printed
    )
    assert (out / "adapter_config.json").is_file() and (out / "training_args.json").is_file()
    assert json.loads((out / "pose_tokenizer" / "config.json").read_text())["codebook_size"] == 8
    files = [write_pose_file(tmp_path / f"{i}.pose", clip(codes), 25.0) for i, (*_, codes) in enumerate(DATA)]
    assert main(["translate", str(out), str(files[0]), str(files[1]), "--language", "ase"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(files[0]), str(files[1])]
    assert main(["translate", str(out), "--corpus", str(data), "--split", "test", "--limit", "2"]) == 0
    printed = capsys.readouterr().out
    assert sum(line.startswith("c") and line.count("\t") == 3 for line in printed.splitlines()) == 2
    assert "scores on" in printed and "| pose_to_text | 2 |" in printed
    assert main(["translate", str(out)]) == 2
    assert "pass .pose files" in capsys.readouterr().err


def test_two_processes_train_a_pose_lm_through_the_accelerate_recipe(corpus, tmp_path):
    """`accelerate launch recipes/signllm_command.py train-pose-lm ...` on two CPU processes: one report, a folder."""
    from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig  # noqa: PLC0415
    from signllm_hf.training.pose_tokenizer import feature_statistics  # noqa: PLC0415

    data, _ = corpus  # the stand-in tokenizer is registered in this process only: a real (untrained) one instead
    clips = [clip(codes) for _, _, codes in DATA]
    config = SignLLMPoseVQConfig(codebook_size=16, hidden_size=16, code_dim=8, res_blocks=1, downsample=2)
    config.with_data_statistics(*feature_statistics(clips, config.hand_relative))
    vq = tmp_path / "vq"
    SignLLMPoseVQ(config).save_pretrained(str(vq))
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file",
        str(ROOT / "recipes" / "accelerate" / "cpu_ddp.yaml"), str(ROOT / "recipes" / "signllm_command.py"),
        "train-pose-lm", str(tmp_path / "lm"), "--pose-tokenizer", str(vq), "--corpus", str(data),
        "--lm", "t5-tiny", "--d-model", "32", "--layers", "1", "--heads", "2", "--vocab-size", "300",
        "--batch-size", "4", "--max-steps", "4", "--eval-clips", "2", "--quiet",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), SIGNLLM_CACHE=str(tmp_path / "cache"))
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote ") == 1, result.stdout  # the main process reports; the other one is quiet
    metrics = json.loads((tmp_path / "lm" / "metrics.json").read_text())
    assert metrics["steps"] == 4 and set(metrics["dev"]) == {"pose_to_text", "text_to_pose"}
    # The folder process 0 wrote is the model it scored: it translates each scored clip as the report says.
    reader = pipeline("pose-to-text", model=str(tmp_path / "lm"))
    examples = metrics["dev"]["pose_to_text"]["examples"]
    assert len(examples) == 2
    for example in examples:
        _, language, codes = next(entry for entry in DATA if entry[0] == example["text"])
        assert reader({"pose": clip(codes), "language": language})["text"] == example["translation"]
