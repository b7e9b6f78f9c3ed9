import re

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import pipeline

import signllm_hf  # noqa: F401 - registers the task
from signllm_hf import SignLLMForPoseGeneration
from signllm_hf.cli import main
from signllm_hf.data import read_pose_file
from tests.conftest import text_tokenizer, tiny_config


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("signer")
    SignLLMForPoseGeneration(tiny_config(max_frames=9, fps=30.0)).save_pretrained(folder)
    text_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def signer(model_dir):
    return pipeline("text-to-pose", model=str(model_dir), device="cpu")


def test_single_text(signer):
    result = signer("hello world", language="ASL")
    assert result["pose"].shape == (9, 50, 3) and result["pose"].dtype == np.float32
    assert result["fps"] == 30.0 and result["language"] == "ase" and result["text"] == "hello world"
    direct = signer.model.generate(signer.tokenizer("hello world", return_tensors="pt")["input_ids"], language="ase")
    np.testing.assert_allclose(result["pose"], direct.poses[0, : int(direct.lengths[0])].numpy(), atol=1e-6)


def test_batched_texts_match_single_ones(signer):
    texts = ["hello world", "guten morgen", "the sky is blue"]
    batched = signer(texts, language="gsg", batch_size=2)
    assert [r["text"] for r in batched] == texts and {r["language"] for r in batched} == {"gsg"}
    for text, result in zip(texts, batched):
        np.testing.assert_allclose(result["pose"], signer(text, language="gsg")["pose"], atol=1e-5)


def test_files_are_written(signer, tmp_path):
    result = signer("hello world", language="ase", pose_path=tmp_path / "out.pose", gif_path=tmp_path / "out.gif")
    np.testing.assert_allclose(read_pose_file(result["pose_path"]).pose, result["pose"], atol=1e-4)
    with Image.open(result["gif_path"]) as gif:
        assert gif.n_frames == 9
    results = signer(["a", "b"], language="ase", pose_path=str(tmp_path / "clip{index}.pose"))
    assert [r["pose_path"] for r in results] == [str(tmp_path / "clip0.pose"), str(tmp_path / "clip1.pose")]


def test_bad_input(signer):
    with pytest.raises(ValueError, match=r"no language 'KSL' \(kvk\); its languages are \['ase', 'gsg'\]"):
        signer("hello", language="KSL")
    with pytest.raises(ValueError, match="non-empty string"):
        signer("   ", language="ase")
    with pytest.raises(ValueError, match="pass `language=`"):
        signer("hello")
    with pytest.raises(ValueError, match=r"`max_frames` must be > 0, got 0"):
        signer("hello", language="ase", max_frames=0)
    for max_frames in (2.7, True):  # int() would quietly make 2.7 two frames, True one
        with pytest.raises(ValueError, match=r"`max_frames` must be a whole number of frames, got (2.7|True)"):
            signer("hello", language="ase", max_frames=max_frames)
    with pytest.raises(ValueError, match=r"`max_frames=9000` is more than this model's limit of 8192 frames"):
        signer("hello", language="ase", max_frames=9000)
    with pytest.raises(ValueError, match=r"must contain '\{index\}'"):
        signer(["a", "b"], language="ase", gif_path="same.gif")


def test_long_text_is_truncated(signer, caplog):
    with caplog.at_level("WARNING"):
        result = signer("hello world " * 200, language="ase")
    assert "truncated" in caplog.text and result["pose"].shape[1:] == (50, 3)


def test_generate_command(model_dir, tmp_path, capsys):
    args = [
        "generate",
        str(model_dir),
        "hello world",
        "--language",
        "DGS",
        "--out",
        str(tmp_path / "x.pose"),
        "--gif",
        str(tmp_path / "x.gif"),
        "--max-frames",
        "5",
    ]
    assert main(args) == 0
    assert "gsg: 5 frames (0.17 s at 30 fps)" in capsys.readouterr().out
    assert read_pose_file(tmp_path / "x.pose").num_frames == 5
    assert main(["generate", str(tmp_path / "nothing"), "hi"]) == 2


def test_one_language_per_text(signer):
    results = signer(["hello world", "guten morgen"], language=["ASL", "DGS"])
    assert [r["language"] for r in results] == ["ase", "gsg"]
    np.testing.assert_allclose(results[1]["pose"], signer("guten morgen", language="gsg")["pose"], atol=1e-5)
    assert signer({"text": "hello", "language": "gsg"})["language"] == "gsg"
    with pytest.raises(ValueError, match="a list of languages needs a list of texts of the same length"):
        signer("hello", language=["ase", "gsg"])


def test_other_models_are_refused(tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(
        BertConfig(vocab_size=80, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).save_pretrained(tmp_path)
    text_tokenizer().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="needs a SignLLM model, got a 'bert' model"):
        pipeline("text-to-pose", model=str(tmp_path), device="cpu")


def test_half_precision_on_the_cpu_follows_float32(model_dir, signer, tmp_path):
    """float16 is the fast way to generate on a CPU (see benchmarks/generation.py): same poses within rounding."""
    half = pipeline("text-to-pose", model=str(model_dir), device="cpu", dtype=torch.float16)
    assert half.model.dtype == torch.float16
    result = half("the sky is blue", language="ase")
    reference = signer("the sky is blue", language="ase")
    assert result["pose"].dtype == np.float32 and result["pose"].shape == reference["pose"].shape
    np.testing.assert_allclose(result["pose"], reference["pose"], atol=5e-3 * np.abs(reference["pose"]).max())
    assert (
        main(
            [
                "generate",
                str(model_dir),
                "the sky is blue",
                "--language",
                "ase",
                "--dtype",
                "float16",
                "--out",
                str(tmp_path / "half.pose"),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(read_pose_file(tmp_path / "half.pose").pose, result["pose"], atol=1e-4)


def _faulty_copy(model_dir, folder, fault: str):
    import json
    import shutil

    from safetensors.torch import load_file, save_file

    folder = shutil.copytree(model_dir, folder)
    if fault == "config.json":  # a config.json cut short, e.g. by an interrupted copy
        text = (folder / "config.json").read_text()
        (folder / "config.json").write_text(text[: len(text) // 2])
    elif fault == "model.safetensors":
        weights = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(weights[: len(weights) // 3])
    elif fault == "language":  # a language added to config.json by hand, without weights
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | {"languages": [*config["languages"], "bfi"]}))
    elif fault == "group":  # one language's tensors gone from the weights
        weights = load_file(folder / "model.safetensors")
        kept = {key: value for key, value in weights.items() if not key.startswith("groups.gsg.")}
        save_file(kept, folder / "model.safetensors", metadata={"format": "pt"})
    elif fault == "tokenizer":
        (folder / "tokenizer.json").unlink()
    return folder


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("config.json", r"{folder}/config.json: not valid JSON \(.*line \d+ column \d+.*\); restore the file"),
        ("model.safetensors", r"{folder}/model.safetensors: cannot read the weights \(.*\): the file is truncated"),
        ("language", r"{folder}: config.json lists languages whose weights are not in the checkpoint \('bfi': 79"),
        ("group", r"{folder}: config.json lists languages whose weights are not in the checkpoint \('gsg': 79"),
        ("tokenizer", r"{folder}: cannot load the tokenizer saved with the model \(.*\); save it there again"),
    ],
)
def test_generate_command_reports_a_faulty_model_folder_in_one_line(model_dir, tmp_path, capsys, fault, message):
    folder = _faulty_copy(model_dir, tmp_path / "model", fault)
    assert main(["generate", str(folder), "hello world", "--language", "ase"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch("signllm: error: " + message.format(folder=re.escape(str(folder))) + ".*", error), error


def test_generate_command_checks_max_frames(model_dir, capsys):
    command = ["generate", str(model_dir), "hello world", "--language", "ase", "--max-frames"]
    assert main([*command, "9000"]) == 2
    assert (
        "signllm: error: `max_frames=9000` is more than this model's limit of 8192 frames" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:  # argparse's type=int: not silently 2 frames
        main([*command, "2.7"])
    assert exit_info.value.code == 2 and "invalid int value: '2.7'" in capsys.readouterr().err


def test_generation_arguments_that_do_not_apply_are_refused(model_dir, signer):
    keys = r"\['max_frames', 'use_cache'(, '\w+')*\]"  # the model's generate() arguments
    with pytest.raises(ValueError) as error:
        signer("hello", language="ase", max_new_tokens=5, do_sample=True)
    assert re.fullmatch(
        r"the text-to-pose pipeline does not take 'max_new_tokens', 'do_sample' \(max_new_tokens: use max_frames\): "
        r"poses are regressed frame by frame, not sampled as tokens\. It takes language, max_frames, "
        rf"generate_kwargs=\{{\.\.\.\}} with keys {keys}, batch_size, num_workers, pose_path and gif_path",
        str(error.value),
    ), str(error.value)
    with pytest.raises(ValueError, match=r"does not take 'temperature': poses are regressed"):
        pipeline("text-to-pose", model=str(model_dir), device="cpu", temperature=0.7)
    with pytest.raises(
        ValueError,
        match=r"generate_kwargs \['num_beams'\] are not arguments of this model's generation; it accepts " + keys,
    ):
        signer("hello", language="ase", generate_kwargs={"num_beams": 2, "max_frames": 3})
    with pytest.raises(ValueError, match="`generate_kwargs` must be a dict, got list"):
        signer("hello", language="ase", generate_kwargs=["max_frames"])
    with pytest.raises(ValueError, match=r"max_frames given twice, 3 and generate_kwargs\['max_frames'\]=4: pass one"):
        signer("hello", language="ase", max_frames=3, generate_kwargs={"max_frames": 4})
    with pytest.raises(ValueError, match=r"`max_frames=9000` is more than this model's limit"):
        signer("hello", language="ase", generate_kwargs={"max_frames": 9000})


def test_generate_kwargs_and_max_frames_are_honoured(model_dir, signer):
    full = signer("hello world", language="ase")["pose"]
    assert len(full) == 9  # the config's max_frames: this untrained model never stops earlier
    short = signer("hello world", language="ase", generate_kwargs={"max_frames": 4})["pose"]
    assert short.shape == (4, 50, 3)
    np.testing.assert_allclose(short, full[:4], atol=1e-5)  # the same frames, cut at the cap
    assert len(signer("hello world", language="ase", max_frames=3)["pose"]) == 3
    uncached = signer("hello world", language="ase", generate_kwargs={"max_frames": 4, "use_cache": False})["pose"]
    np.testing.assert_allclose(uncached, short, atol=1e-4)
    # Given to pipeline(...), they apply to every call; a call's own arguments win.
    capped = pipeline("text-to-pose", model=str(model_dir), device="cpu", generate_kwargs={"max_frames": 5})
    assert len(capped("hello world", language="ase")["pose"]) == 5
    assert len(capped("hello world", language="ase", generate_kwargs={"max_frames": 2})["pose"]) == 2
    batched = capped(["hello world", "guten morgen", "the sky is blue"], language="ase", batch_size=2)
    assert [len(r["pose"]) for r in batched] == [5, 5, 5]
