"""A saved model loads where signllm-hf is not installed: ``pipeline("text-to-pose", model=DIR,
trust_remote_code=True)`` in a fresh Python in which every import of ``signllm_hf`` fails, with nothing but the files
that ``save_pretrained`` wrote beside the weights."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from transformers import pipeline

import signllm_hf  # noqa: F401 - registers the task
from signllm_hf import SignLLMForPoseGeneration
from signllm_hf.pipeline_signllm import TextToPosePipeline, save_remote_pipeline
from tests.conftest import text_tokenizer, tiny_config

# Put first on sys.meta_path, it makes `import signllm_hf` (and any of its modules) fail as in a Python that does not
# have the package, whatever sys.path or an editable install's finder would say.
NO_PACKAGE = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoSignLLM(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "signllm_hf" or name.startswith("signllm_hf."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoSignLLM())
    """
)


def run_without_package(script: str, tmp_path) -> dict:
    """Run ``script`` (after the import blocker) in a fresh Python; it prints one JSON line, returned here."""
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(tmp_path / "modules"),  # the remote code's copy, away from the user's cache
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", NO_PACKAGE + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny signer saved through the pipeline: model, tokenizer, and the code to run it without the package."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("remote") / "signer"
    model = SignLLMForPoseGeneration(tiny_config(max_frames=9))
    signer = pipeline("text-to-pose", model=model, tokenizer=text_tokenizer(), device="cpu")
    signer.save_pretrained(folder)
    return folder, signer


def test_saved_folder_names_its_pipeline_and_carries_the_code(saved):
    folder, _ = saved
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"] == {
        "text-to-pose": {"impl": "pipeline_signllm.TextToPosePipeline", "pt": ["AutoModel"], "type": "text"}
    }
    assert config["auto_map"]["AutoModel"] == "modeling_signllm.SignLLMForPoseGeneration"
    for name in ("pipeline_signllm.py", "modeling_signllm.py", "configuration_signllm.py", "tokenizer.json"):
        assert (folder / name).is_file(), name
    assert save_remote_pipeline(folder) == folder / "pipeline_signllm.py"  # again: the same, no error


def test_loads_and_signs_without_the_package(saved, tmp_path):
    folder, signer = saved
    result = run_without_package(
        f"""
        import json, sys
        from transformers import pipeline

        signer = pipeline("text-to-pose", model={str(folder)!r}, trust_remote_code=True, device="cpu")
        one = signer("hello world", language="gsg")
        short = signer("hello world", language="gsg", generate_kwargs={{"max_frames": 4}})
        batch = signer(["hello world", "the sky is blue", "guten morgen"], language="ase", batch_size=2)
        errors = []
        for call in (
            lambda: signer("hello", language="ase", max_new_tokens=5),
            lambda: signer("hello", language="ase", pose_path="x.pose"),
        ):
            try:
                call()
            except (ValueError, ImportError) as error:
                errors.append(f"{{type(error).__name__}}: {{error}}")
        print(json.dumps({{
            "pipeline": type(signer).__module__,
            "model": type(signer.model).__module__,
            "pose": one["pose"].tolist(),
            "language": one["language"],
            "short": len(short["pose"]),
            "batch": [len(r["pose"]) for r in batch],
            "errors": errors,
            "package_modules": sorted(m for m in sys.modules if m.startswith("signllm_hf")),
        }}))
        """,
        tmp_path,
    )
    assert result["package_modules"] == []
    assert result["pipeline"].startswith("transformers_modules.") and result["pipeline"].endswith("pipeline_signllm")
    assert result["model"].startswith("transformers_modules.") and result["model"].endswith("modeling_signllm")
    here = signer("hello world", language="gsg")["pose"]  # the installed package, the same weights
    assert result["language"] == "gsg" and np.asarray(result["pose"]).shape == here.shape == (9, 50, 3)
    np.testing.assert_allclose(np.asarray(result["pose"]), here, atol=1e-5)
    assert result["short"] == 4 and result["batch"] == [9, 9, 9]
    unknown, files = result["errors"]
    assert unknown.startswith("ValueError: the text-to-pose pipeline does not take 'max_new_tokens'")
    assert "max_new_tokens: use max_frames" in unknown
    assert files == (
        "ImportError: writing pose_path / gif_path needs the signllm-hf package (pip install signllm-hf), which this "
        "Python does not have"
    )


def test_a_prompt2langgloss_model_says_it_needs_the_package(tmp_path):
    folder = tmp_path / "p2lg"
    SignLLMForPoseGeneration(tiny_config(mode="prompt2langgloss")).save_pretrained(folder)
    text_tokenizer().save_pretrained(folder)
    save_remote_pipeline(folder)
    result = run_without_package(
        f"""
        import json
        from transformers import pipeline

        try:
            pipeline("text-to-pose", model={str(folder)!r}, trust_remote_code=True, device="cpu")
            print(json.dumps({{"error": None}}))
        except ImportError as error:
            print(json.dumps({{"error": str(error)}}))
        """,
        tmp_path,
    )
    assert result["error"] == (
        "a Prompt2LangGloss model (its prompt stage) needs the signllm-hf package (pip install signllm-hf), which "
        "this Python does not have"
    )


def test_the_saved_pipeline_file_is_remote_code_transformers_accepts():
    from transformers.dynamic_module_utils import get_imports, get_relative_imports

    path = TextToPosePipeline.save_pretrained.__code__.co_filename
    assert get_relative_imports(path) == []  # nothing else of the package is copied or needed
    assert "signllm_hf" not in get_imports(path)  # only in try blocks, which transformers' check skips


def test_with_the_package_a_folder_saved_for_the_hub_needs_nothing_else(saved):
    folder, _ = saved
    signer = pipeline("text-to-pose", model=str(folder), device="cpu")
    assert type(signer) is TextToPosePipeline
