import json

import numpy as np
import pytest
from datasets import load_dataset

from signllm_hf.data import (
    POSE_FEATURES,
    compute_pose_stats,
    load_pose_dataset,
    pose_dataset_from_rows,
    read_stats,
    save_pose_dataset,
)
from tests.conftest import pose_rows


def test_rows_become_canonical_columns():
    dataset = pose_dataset_from_rows(pose_rows([3, 7], language="DGS"))
    assert dataset.features == POSE_FEATURES
    assert dataset["language"] == ["gsg", "gsg"]
    assert dataset[1]["pose"].shape == (7, 50, 3) and dataset[1]["confidence"].shape == (7, 50)
    np.testing.assert_array_equal(dataset[1]["pose"], pose_rows([3, 7])[1]["pose"])


def test_defaults_for_optional_fields():
    row = {"id": "x", "language": "ase", "text": "hi", "pose": np.zeros((2, 150))}
    dataset = pose_dataset_from_rows([row])
    assert dataset[0]["gloss"] == "" and dataset[0]["prompt"] == "" and dataset[0]["fps"] == 25.0
    np.testing.assert_array_equal(dataset[0]["confidence"], np.ones((2, 50)))


def test_bad_rows_are_named():
    rows = pose_rows([3, 4])
    rows[1]["pose"][2, 5, 0] = np.nan
    with pytest.raises(ValueError, match=r"row 1 \(id 'clip-1'\): 1 NaN/inf values, first at frame 2 joint 5"):
        pose_dataset_from_rows(rows)
    rows = pose_rows([3])
    del rows[0]["text"]
    with pytest.raises(ValueError, match="missing required field 'text'"):
        pose_dataset_from_rows(rows)
    rows = pose_rows([3], language="xx-unknown")
    with pytest.raises(ValueError, match="unknown sign language"):
        pose_dataset_from_rows(rows)
    with pytest.raises(ValueError, match="no rows"):
        pose_dataset_from_rows([])


def test_stats_match_numpy():
    rows = pose_rows([5, 9, 2])
    stats = compute_pose_stats(pose_dataset_from_rows(rows))
    frames = np.concatenate([r["pose"].reshape(-1, 150) for r in rows]).astype(np.float64)
    assert stats["num_frames"] == 16
    np.testing.assert_allclose(stats["mean"], frames.mean(0), atol=1e-6)
    np.testing.assert_allclose(stats["std"], frames.std(0), atol=1e-5)


def test_save_load_round_trip_and_streaming(tmp_path):
    splits = {
        "train": pose_dataset_from_rows(pose_rows([4, 6, 8])),
        "dev": pose_dataset_from_rows(pose_rows([5], seed=9)),
    }
    out = save_pose_dataset(splits, tmp_path / "corpus", extra_stats={"source": "unit test"}, max_shard_frames=10)
    shards = sorted(p.name for p in (out / "data").iterdir())
    assert shards == ["dev-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    stats = read_stats(out)
    assert stats["splits"]["train"] == {"clips": 3, "frames": 18, "languages": ["ase"], "shards": 2}
    assert stats["source"] == "unit test" and stats["stats_split"] == "train" and len(stats["mean"]) == 150
    assert "| train | 3 | 18 | ase |" in (out / "README.md").read_text()

    loaded = load_pose_dataset(out)
    assert list(loaded) == ["train", "dev"]
    for a, b in zip(splits["train"]["pose"], loaded["train"]["pose"]):
        np.testing.assert_array_equal(a, b)

    assert list(load_dataset(str(out))) == ["train", "dev"]
    streamed = load_dataset("parquet", data_dir=str(out / "data"), split="train", streaming=True)
    first = next(iter(streamed.with_format("numpy")))
    np.testing.assert_array_equal(first["pose"], splits["train"][0]["pose"])
    assert streamed.features == POSE_FEATURES
    assert len(list(load_pose_dataset(out, split="dev", streaming=True))) == 1


def test_save_refuses_to_overwrite_and_leaves_old_data(tmp_path):
    out = tmp_path / "corpus"
    save_pose_dataset({"train": pose_dataset_from_rows(pose_rows([3]))}, out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_pose_dataset({"train": pose_dataset_from_rows(pose_rows([4]))}, out)
    assert read_stats(out)["splits"]["train"]["frames"] == 3
    save_pose_dataset({"train": pose_dataset_from_rows(pose_rows([4]))}, out, overwrite=True)
    assert read_stats(out)["splits"]["train"]["frames"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]  # no temporary folders left


def test_failed_save_leaves_nothing(tmp_path):
    good = pose_dataset_from_rows(pose_rows([3]))
    with pytest.raises(ValueError, match="split 'dev' is empty"):
        save_pose_dataset({"train": good, "dev": good.select([])}, tmp_path / "corpus")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['pose'\]"):
        save_pose_dataset({"train": good.remove_columns("pose")}, tmp_path / "corpus")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data/ folder"):
        load_pose_dataset(tmp_path)
    out = save_pose_dataset({"train": pose_dataset_from_rows(pose_rows([3]))}, tmp_path / "c")
    with pytest.raises(ValueError, match=r"no split 'test'; available: \['train'\]"):
        load_pose_dataset(out, split="test")
    assert json.loads((out / "stats.json").read_text())["splits"]["train"]["clips"] == 1


def test_split_names_are_checked_and_never_merge(tmp_path):
    data = pose_dataset_from_rows(pose_rows([3]))
    with pytest.raises(ValueError, match="split name 'test-unseen' may only hold letters, digits and '_'"):
        save_pose_dataset({"train": data, "test-unseen": data}, tmp_path / "bad")
    out = save_pose_dataset({"test": data, "test_unseen": pose_dataset_from_rows(pose_rows([5, 6]))}, tmp_path / "ok")
    loaded = load_pose_dataset(out)
    assert {name: len(split) for name, split in loaded.items()} == {"test": 1, "test_unseen": 2}
    assert {name: len(split) for name, split in load_dataset(str(out)).items()} == {"test": 1, "test_unseen": 2}


def test_stats_ignore_unobserved_joints_and_floor_the_std():
    rows = pose_rows([4, 4])
    for row in rows:
        row["pose"][:, 7] = 1000.0  # a placeholder for a joint never seen
        row["confidence"][:, 7] = 0.0
        row["pose"][:, 1] = 0.0  # a constant channel: the neck at the origin
    stats = compute_pose_stats(pose_dataset_from_rows(rows))
    assert stats["mean"][21:24] == [0.0, 0.0, 0.0] and stats["std"][21:24] == [1.0, 1.0, 1.0]
    assert stats["std"][3:6] == [1e-3, 1e-3, 1e-3]
    assert np.isfinite(stats["std"]).all() and min(stats["std"]) > 0


def test_rows_are_validated():
    rows = pose_rows([3, 3])
    rows[1]["id"] = rows[0]["id"]
    with pytest.raises(ValueError, match="duplicate id 'clip-0'"):
        pose_dataset_from_rows(rows)
    cases = [
        ("fps", 0, "fps must be positive, got 0"),
        ("fps", -5, "fps must be positive"),
        ("confidence", np.full((3, 50), 7.0), r"confidence must lie in \[0, 1\]"),
    ]
    for field, value, message in cases:
        rows = pose_rows([3])
        rows[0][field] = value
        with pytest.raises(ValueError, match=message):
            pose_dataset_from_rows(rows)


def test_plain_datasets_are_made_canonical_on_save(tmp_path):
    from datasets import Dataset

    plain = Dataset.from_dict(
        {
            "id": ["a", "b"],
            "language": ["ASL", "DGS"],
            "text": ["x", "y"],
            "pose": [np.zeros((2, 50, 3))] * 2,
            "extra": [1, 2],
        }
    )
    loaded = load_pose_dataset(save_pose_dataset({"train": plain}, tmp_path / "c"), split="train")
    assert loaded.features == POSE_FEATURES and loaded["language"] == ["ase", "gsg"]
    np.testing.assert_array_equal(loaded[0]["confidence"], np.ones((2, 50)))
