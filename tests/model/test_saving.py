"""save_pretrained -> from_pretrained, in this process, in a fresh one, and through trust_remote_code."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
from tests.conftest import text_tokenizer, tiny_config

IDS = [[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    stats = {"pose_mean": np.linspace(-1, 1, 150).tolist(), "pose_std": np.linspace(0.5, 2, 150).tolist()}
    model = SignLLMForPoseGeneration(tiny_config(future_prediction=1, **stats)).eval()
    folder = tmp_path_factory.mktemp("model")
    model.save_pretrained(folder)
    text_tokenizer().save_pretrained(folder)
    ids = torch.tensor(IDS)
    expected = model.generate(ids, (ids != 0).long(), language=["ase", "gsg"], max_frames=12)
    np.save(folder / "expected.npy", expected.poses.numpy())
    return folder, expected


def test_files_and_same_process_round_trip(saved):
    folder, expected = saved
    assert {
        "config.json",
        "model.safetensors",
        "configuration_signllm.py",
        "modeling_signllm.py",
        "tokenizer.json",
    } <= {p.name for p in folder.iterdir()}
    loaded = AutoModel.from_pretrained(folder)
    assert isinstance(loaded, SignLLMForPoseGeneration) and not loaded.training
    ids = torch.tensor(IDS)
    again = loaded.generate(ids, (ids != 0).long(), language=["ase", "gsg"], max_frames=12)
    torch.testing.assert_close(again.poses, expected.poses, atol=1e-6, rtol=0)
    assert AutoTokenizer.from_pretrained(folder)("hello world")["input_ids"][-1] == 2


def _run(script: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_fresh_process_gives_the_same_poses(saved):
    folder, _ = saved
    _run(f"""
        import numpy as np, torch, signllm_hf
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(folder)!r})
        ids = torch.tensor({IDS})
        poses = model.generate(ids, (ids != 0).long(), language=["ASL", "DGS"], max_frames=12).poses.numpy()
        np.testing.assert_allclose(poses, np.load({str(folder / "expected.npy")!r}), atol=1e-5)
    """)


def test_trust_remote_code_without_the_package(saved):
    folder, _ = saved
    _run(f"""
        import sys, importlib.abc
        class NoSignLLM(importlib.abc.MetaPathFinder):  # a machine where signllm-hf is not installed
            def find_spec(self, name, path, target=None):
                if name == "signllm_hf" or name.startswith("signllm_hf."):
                    raise ImportError("signllm_hf is not installed here")
        sys.meta_path.insert(0, NoSignLLM())
        import numpy as np, torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(folder)!r}, trust_remote_code=True)
        assert "signllm_hf" not in sys.modules and type(model).__module__.startswith("transformers_modules")
        ids = torch.tensor({IDS})
        poses = model.generate(ids, (ids != 0).long(), language=["ase", "gsg"], max_frames=12).poses.numpy()
        np.testing.assert_allclose(poses, np.load({str(folder / "expected.npy")!r}), atol=1e-5)
    """)


def test_other_model_types_are_refused(tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(
        BertConfig(vocab_size=80, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"holds a 'bert' checkpoint, not a SignLLM model"):
        SignLLMForPoseGeneration.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="'bert' checkpoint"):
        SignLLMConfig.from_pretrained(tmp_path)


def _drop_group(folder, language: str) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    kept = {key: value for key, value in weights.items() if not key.startswith(f"groups.{language}.")}
    assert len(kept) < len(weights)
    save_file(kept, folder / "model.safetensors", metadata={"format": "pt"})


def test_a_language_without_weights_is_refused(saved, tmp_path):
    """A language of config.json whose group is not in model.safetensors would sign from random weights."""
    import shutil

    folder, _ = saved
    dropped = shutil.copytree(folder, tmp_path / "dropped")
    _drop_group(dropped, "gsg")
    message = rf"{dropped}: config.json lists languages whose weights are not in the checkpoint \('gsg': 79 of 79"
    with pytest.raises(ValueError, match=message):
        SignLLMForPoseGeneration.from_pretrained(dropped)
    with pytest.raises(ValueError, match=r"remove them from `languages` in config.json"):
        AutoModel.from_pretrained(dropped)
    edited = shutil.copytree(folder, tmp_path / "edited")  # a language added to config.json by hand
    config = json.loads((edited / "config.json").read_text())
    (edited / "config.json").write_text(json.dumps(config | {"languages": [*config["languages"], "bfi"]}))
    with pytest.raises(ValueError, match=r"\('bfi': 79 of 79 tensors missing\); they would sign from random weights"):
        SignLLMForPoseGeneration.from_pretrained(edited)


def test_added_languages_save_and_load(saved, tmp_path):
    folder, expected = saved
    model, info = SignLLMForPoseGeneration.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    model.add_language("bfi", init_from="gsg")
    model.save_pretrained(tmp_path)
    grown = SignLLMForPoseGeneration.from_pretrained(tmp_path)
    assert grown.config.languages == ["ase", "gsg", "bfi"]
    ids = torch.tensor(IDS)
    again = grown.generate(ids, (ids != 0).long(), language=["ase", "bfi"], max_frames=12)
    torch.testing.assert_close(again.poses, expected.poses, atol=1e-6, rtol=0)  # bfi is a copy of gsg


def test_unreadable_weights_name_the_file(saved, tmp_path):
    import shutil

    folder, _ = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    weights = (copy / "model.safetensors").read_bytes()
    for cut in (len(weights) // 2, 5):  # a copy cut short: in the tensors, in the header
        (copy / "model.safetensors").write_bytes(weights[:cut])
        with pytest.raises(
            ValueError, match=rf"{copy / 'model.safetensors'}: cannot read the weights \(.*\): the file"
        ):
            SignLLMForPoseGeneration.from_pretrained(copy)
