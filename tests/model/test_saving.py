"""save_pretrained -> from_pretrained, in this process, in a fresh one, and through trust_remote_code."""

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
