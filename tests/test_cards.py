"""Model and dataset cards: what the Hub indexes (YAML) and what people read, with no local path, and pushing a
two-stage model folder to a folder-backed stand-in for the Hub."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from huggingface_hub import DatasetCard, HfApi, ModelCard, RepoUrl
from huggingface_hub.utils import filter_repo_objects

from signllm_hf.cli import main
from signllm_hf.data import pose_dataset_from_rows, save_pose_dataset
from signllm_hf.data.dataset_card import size_category, without_local_paths
from signllm_hf.evaluation import evaluate_model
from signllm_hf.evaluation.model_card import model_card, push_to_hub, training_data_summary
from signllm_hf.modeling_prompt_stage import PromptToLangGloss
from signllm_hf.modeling_signllm import SignLLMForPoseGeneration
from tests.conftest import pose_rows
from tests.training.helpers import tiny_cli, tiny_corpus

STAGE1 = ["--prompt_stage_steps", "2", "--prompt_stage_d_model", "32", "--prompt_stage_layers", "1"]
STAGE1 += ["--prompt_stage_vocab_size", "300", "--prompts_per_clip", "1"]


def test_dataset_card_yaml_sizes_and_provenance_without_local_paths(tmp_path):
    rows = pose_rows([4, 5, 6]) + pose_rows([4], language="gsg", seed=1)
    for index, row in enumerate(rows):
        row["id"] = f"clip-{index}"
    extra = {"name": "tiny corpus", "source": f"clips from {tmp_path}/raw/videos (OpenPose)", "license": "cc-by-4.0"}
    out = save_pose_dataset({"train": pose_dataset_from_rows(rows[:3]), "dev": pose_dataset_from_rows(rows[3:])},
                            tmp_path / "corpus", extra_stats=extra)  # fmt: skip
    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "cc-by-4.0" and card.data.language == ["ase", "gsg"]
    assert card.data.size_categories == ["n<1K"] and card.data.task_categories == ["text-to-3d", "translation"]
    assert card.data.pretty_name == "tiny corpus" and "sign-language" in card.data.tags
    splits = card.data.to_dict()["configs"][0]["data_files"]
    assert splits == [
        {"split": "train", "path": "data/train-*.parquet"},
        {"split": "dev", "path": "data/dev-*.parquet"},
    ]
    assert "Source: clips from videos (OpenPose)." in card.text and str(tmp_path) not in card.content
    assert "| ase | American Sign Language |" in card.text and "| gsg | German Sign Language |" in card.text
    assert (size_category(999), size_category(1000), size_category(2_000_000)) == ("n<1K", "1K<n<10K", "n>1M")
    assert without_local_paths(r"from C:\data\corpus and /x/y") == "from corpus and y"


def test_fingerspelling_provenance_names_the_package_not_its_folder(lexicon_dir):
    from signllm_hf.data.corpora.fingerspelling import lexicon_provenance

    text = lexicon_provenance(lexicon_dir)
    assert text.startswith("the spoken-to-signed package's fingerspelling lexicon (version 0.") and "/" not in text


def _fake_hub(monkeypatch, root: Path) -> list:
    """``HfApi.create_repo`` / ``upload_folder`` writing into ``root/<repo id>`` (honouring the ignore patterns)."""
    calls = []

    def create_repo(self, repo_id, **options):
        calls.append(("create_repo", repo_id, options.get("private")))
        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self, *, repo_id, folder_path, allow_patterns=None, ignore_patterns=None, **options):
        files = sorted(p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file())
        for name in filter_repo_objects(files, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns):
            (root / repo_id / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder_path) / name, root / repo_id / name)
        calls.append(("upload_folder", repo_id, options.get("commit_message")))
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/0")

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return calls


def test_two_stage_model_card_evaluation_and_push(tmp_path, monkeypatch):
    corpus = tiny_corpus(tmp_path / "corpus", vocab_size=8, train_sentences=8)
    out = tmp_path / "model"
    flags = tiny_cli(max_steps=2, max_frames=60, eval_max_frames=10)
    arguments = ["train", "--dataset", str(corpus), "--output_dir", str(out), "--mode", "prompt2langgloss"]
    assert main([*arguments, *flags, *STAGE1]) == 0

    card = ModelCard.load(out / "README.md")
    metrics = json.loads((out / "metrics.json").read_text())
    assert card.data.library_name == "signllm-hf" and card.data.pipeline_tag == "text-to-3d"
    assert card.data.language == ["ase", "gsg"] and card.data.license == "apache-2.0"
    assert {"signllm-hf", "transformers", "text-to-pose", "sign-language-production"} <= set(card.data.tags)
    assert card.data.model_name == metrics["model"] and metrics["model"].endswith("-P")
    data = card.data.to_dict()["training_data"]
    assert data["name"] == "signllm synthetic compositional corpus" and data["license"] == "apache-2.0"
    assert data["clips"]["train"] == 16 and data["languages"] == ["ase", "gsg"]  # 8 sentences x 2 languages
    assert "| ase | American Sign Language |" in card.text and "| gsg | German Sign Language |" in card.text
    assert "`prompt_to_langgloss/`" in card.text and "https://arxiv.org/abs/2405.10718" in card.text
    assert f"| prompt_stage_steps | {metrics['prompt_stage_steps']} |" in card.text
    assert str(tmp_path) not in card.content and "## Evaluation" not in card.text

    stage = ModelCard.load(out / "prompt_to_langgloss" / "README.md")
    assert stage.data.pipeline_tag == "translation" and stage.data.language == ["ase", "gsg"]
    assert stage.data.to_dict()["training_data"]["name"] == data["name"]  # from the parent's card

    scores = evaluate_model(str(out), str(corpus), split="test", max_clips=2, max_frames=10)
    saved = json.loads((out / "scores.json").read_text())
    assert saved["model"] == "model" and saved["dataset"] == "corpus" and saved["dtw"] == pytest.approx(scores["dtw"])
    card = ModelCard.load(out / "README.md")
    assert "## Evaluation" in card.text and f"| dtw | {scores['dtw']:.4f} |" in card.text
    assert card.data.to_dict()["training_data"] == data and str(tmp_path) not in card.content

    (out / "checkpoint-1").mkdir()
    (out / "checkpoint-1" / "model.safetensors").write_bytes(b"stale")
    hub = tmp_path / "hub"
    calls = _fake_hub(monkeypatch, hub)
    url = push_to_hub(out, "someone/tiny-p2lg", private=True)
    assert url == "https://huggingface.co/someone/tiny-p2lg/commit/0"
    assert [call[0] for call in calls] == ["create_repo", "upload_folder"] and calls[0][2] is True
    remote = hub / "someone" / "tiny-p2lg"
    pushed = {p.relative_to(remote).as_posix() for p in remote.rglob("*") if p.is_file()}
    local = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and "checkpoint-" not in str(p)}
    assert pushed == local and not any(name.startswith("checkpoint-") for name in pushed)
    expected = {"README.md", "config.json", "model.safetensors", "metrics.json", "scores.json", "tokenizer.json"}
    expected |= {f"prompt_to_langgloss/{name}" for name in ("README.md", "config.json", "model.safetensors")}
    assert expected <= pushed
    card = ModelCard.load(remote / "README.md")
    assert 'pipeline("text-to-pose", model="someone/tiny-p2lg")' in card.text

    model = SignLLMForPoseGeneration.from_pretrained(remote)  # both stages load from what arrived
    assert model.config.mode == "prompt2langgloss" and model.config.languages == ["ase", "gsg"]
    local_weights = SignLLMForPoseGeneration.from_pretrained(out).state_dict()
    assert all(np.array_equal(value.numpy(), local_weights[key].numpy()) for key, value in model.state_dict().items())
    assert len(PromptToLangGloss.from_pretrained(str(remote))(["the sky"], ["ase"])) == 1


def test_cards_of_other_models_and_bad_folders(tmp_path):
    folder = tmp_path / "reader"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json; save the model"):
        model_card(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "signllm_letter_reader", "languages": ["sgg"]}))
    (folder / "metrics.json").write_text(json.dumps({"steps": 5, "calibration": {"references": 0.02}, "path": "/x/y"}))
    card = model_card(folder, dataset="someone/fingerspelling")
    assert (
        card.data.pipeline_tag == "other"
        and card.data.language == ["sgg"]
        and card.data.datasets == ["someone/fingerspelling"]
    )
    assert "| calibration.references | 0.0200 |" in card.text and "/x/y" not in card.text
    assert "Swiss-German Sign Language" in card.text or "Swiss German Sign Language" in card.text
    assert training_data_summary(None) is None and training_data_summary(tmp_path / "missing") == {"name": "missing"}
