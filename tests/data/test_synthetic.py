import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from signllm_hf.data import load_pose_dataset, read_stats
from signllm_hf.data.corpora.synthetic import (
    SyntheticCorpusConfig,
    build_synthetic_corpus,
    generate_synthetic_splits,
    gloss_track,
    make_language,
    rest_pose,
    track_to_pose,
)
from signllm_hf.data.skeleton import bone_lengths

TINY = SyntheticCorpusConfig(
    languages=("ase", "GSL"), vocab_size=16, train_sentences=40, dev_sentences=8, test_sentences=8
)


@pytest.fixture(scope="module")
def splits():
    return generate_synthetic_splits(TINY)


def _bigrams(gloss):
    tokens = gloss.split()
    return set(zip(tokens, tokens[1:]))


def test_sizes_languages_and_clean_poses(splits):
    rows, info = splits
    assert {name: len(items) for name, items in rows.items()} == {"train": 80, "dev": 16, "test": 16}
    assert set(info) == {"ase", "gsg"}
    for items in rows.values():
        for row in items:
            pose = row["pose"]
            assert np.isfinite(pose).all() and pose.dtype == np.float32
            assert row["text"] in row["prompt"]
            lengths = bone_lengths(pose)
            assert (lengths.std(0) / lengths.mean(0)).max() < 1e-4  # a rigid skeleton: bones never stretch
            np.testing.assert_allclose(pose[0], rest_pose(), atol=1e-5)  # sentences start and end at rest
            np.testing.assert_allclose(pose[-1], rest_pose(), atol=1e-5)


def test_test_gloss_orders_are_never_seen_in_training(splits):
    rows, info = splits
    for code in ("ase", "gsg"):
        train = [r["gloss"] for r in rows["train"] if r["language"] == code]
        heldout = {tuple(b) for b in info[code]["heldout_bigrams"]}
        seen_bigrams = set().union(*(_bigrams(g) for g in train))
        assert not seen_bigrams & heldout
        for split in ("dev", "test"):
            for row in (r for r in rows[split] if r["language"] == code):
                assert row["gloss"] not in train
                assert _bigrams(row["gloss"]) & heldout
                assert set(row["gloss"].split()) <= {t for g in train for t in g.split()}  # every gloss was taught


def test_glosses_are_distinct_motions_and_text_is_reordered():
    glosses, grammar = make_language("ase", TINY)
    triples = {(g.location, g.movement, g.handshapes[0]) for g in glosses}
    assert len(triples) == len(glosses) == 16
    assert len({g.word for g in glosses}) == 16
    other, _ = make_language("gsg", TINY)
    assert [g.word for g in other] != [g.word for g in glosses]  # languages differ


def test_each_gloss_moves_differently():
    glosses, _ = make_language("ase", TINY)
    rng = np.random.default_rng(0)
    motions = [track_to_pose(gloss_track(g, rng)) for g in glosses]
    # Every pair of glosses differs in its mean right-hand trajectory by more than the per-occurrence variation.
    hands = [m[:, 29:50].mean(axis=1) for m in motions]
    for i in range(len(hands)):
        for j in range(i + 1, len(hands)):
            length = min(len(hands[i]), len(hands[j]))
            assert np.abs(hands[i][:length] - hands[j][:length]).mean() > 0.01, (i, j)
    again = track_to_pose(gloss_track(glosses[0], np.random.default_rng(1)))  # the same gloss, another occurrence
    length = min(len(again), len(motions[0]))
    assert np.abs(again[:length, 29:50].mean(1) - hands[0][:length]).mean() < 0.1


def test_deterministic_and_seed_sensitive():
    first, _ = generate_synthetic_splits(TINY)
    again, _ = generate_synthetic_splits(TINY)
    assert [r["gloss"] for r in first["train"]] == [r["gloss"] for r in again["train"]]
    np.testing.assert_array_equal(first["test"][3]["pose"], again["test"][3]["pose"])
    reseeded, _ = generate_synthetic_splits(dataclasses.replace(TINY, seed=1))
    assert [r["gloss"] for r in reseeded["train"]] != [r["gloss"] for r in first["train"]]


def test_build_saves_grammar_and_reloads(tmp_path):
    config = SyntheticCorpusConfig(
        languages=("kvk",), vocab_size=10, train_sentences=12, dev_sentences=2, test_sentences=2
    )
    stats = build_synthetic_corpus(tmp_path / "syn", config, progress=False)
    assert stats["splits"]["train"]["clips"] == 12 and stats["languages"]["kvk"]["grammar"]["sign_order"]
    assert read_stats(tmp_path / "syn")["config"]["vocab_size"] == 10
    assert len(load_pose_dataset(tmp_path / "syn", split="test")) == 2


def test_a_rerun_removes_what_a_killed_build_left(tmp_path):
    # What SIGKILL leaves while the corpus is being saved: a hidden ".syn.<pid>-<random>.tmp" folder of half the shards
    # (its pid no longer runs), or one without a pid from an older version.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name in (f".syn.{int(dead.stdout)}-k3j9x2qa.tmp", ".syn.q8w7e6r5.tmp"):
        (tmp_path / name / "data").mkdir(parents=True)
        (tmp_path / name / "data" / "train-00000-of-00002.parquet").write_bytes(b"PAR1")
    config = SyntheticCorpusConfig(
        languages=("ase",), vocab_size=10, train_sentences=12, dev_sentences=2, test_sentences=2
    )
    build_synthetic_corpus(tmp_path / "syn", config, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["syn"]
    assert {split: len(load_pose_dataset(tmp_path / "syn", split=split)) for split in ("train", "dev", "test")} == {
        "train": 12,
        "dev": 2,
        "test": 2,
    }


def test_config_validation():
    with pytest.raises(ValueError, match="unknown sign language"):
        SyntheticCorpusConfig(languages=("xx",))
    with pytest.raises(ValueError, match="vocab_size"):
        SyntheticCorpusConfig(vocab_size=3)
    with pytest.raises(ValueError, match="at least one sentence"):
        SyntheticCorpusConfig(test_sentences=0)
    with pytest.raises(ValueError, match="fewer than asked"):
        generate_synthetic_splits(SyntheticCorpusConfig(languages=("ase",), vocab_size=8, train_sentences=5000))
