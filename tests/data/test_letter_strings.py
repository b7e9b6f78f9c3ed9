"""Procedural fingerspelling: random letter strings spelled with the lexicon's letter clips."""

import random

import numpy as np
import pytest

from signllm_hf.data.corpora.fingerspelling import build_fingerspelling_corpus
from signllm_hf.data.corpora.letter_strings import LetterStringDataset, LetterStrings, Variation, written_form
from signllm_hf.data.dataset import load_pose_dataset

pytest.importorskip("spoken_to_signed")


@pytest.fixture(scope="module")
def strings():
    return LetterStrings(languages=["ase", "sgg", "tsm", "ukl"], seed=0)


def test_unvaried_spelling_is_the_corpus_builders(strings, tmp_path):
    build_fingerspelling_corpus(tmp_path / "c", languages=["sgg"], words_per_language=3, progress=False)
    corpus = load_pose_dataset(tmp_path / "c")
    row = next(r for split in corpus.values() for r in split)
    units = strings.lexicon.spell(row["text"], "sgg")
    spelled = strings.spell("sgg", units)  # no rng: no variation, transitions of 4 frames as the builder's default
    assert spelled["gloss"] == row["gloss"]
    np.testing.assert_allclose(spelled["pose"], row["pose"], atol=1e-6)


def test_texts_spell_back_to_their_units(strings):
    rng = strings.rng(3)
    for _ in range(300):
        sample = strings.sample(rng)
        assert strings.lexicon.spell(sample["text"], sample["language"]) is not None
        assert [u.gloss for u in strings.lexicon.spell(sample["text"], sample["language"])] == list(sample["units"])
        assert np.isfinite(sample["pose"]).all() and sample["pose"].shape[1:] == (50, 3)
    assert written_form(["I", "İ", "ẞ"], "tr") == "ıiß" and written_form(["SCH", "A"], "de") == "scha"


def test_variation_changes_timing_but_not_letters(strings):
    units = strings.lexicon.spell("hallo", "sgg")
    plain = strings.spell("sgg", units)
    lengths = {len(strings.spell("sgg", units, random.Random(seed))["pose"]) for seed in range(8)}
    assert len(lengths) > 3  # letters held longer or shorter, transitions quicker or slower
    assert strings.spell("sgg", units, random.Random(0))["gloss"] == plain["gloss"] == "H A L L O"
    calm = LetterStrings(strings.lexicon, languages=["sgg"], variation=Variation.none())
    np.testing.assert_allclose(calm.spell("sgg", units, random.Random(5))["pose"], plain["pose"], atol=1e-6)


def test_streams_are_seeded_and_come_in_language_runs(strings):
    first = [row["text"] for _, row in zip(range(20), LetterStringDataset(strings))]
    again = [row["text"] for _, row in zip(range(20), LetterStringDataset(strings))]
    other = LetterStrings(strings.lexicon, languages=strings.languages, seed=1)
    assert first == again and first != [row["text"] for _, row in zip(range(20), LetterStringDataset(other))]
    runs = [row["language"] for _, row in zip(range(24), LetterStringDataset(strings, 6, language_batches=True))]
    assert all(len(set(runs[i : i + 6])) == 1 for i in range(0, 24, 6)) and len(set(runs)) > 1
    rows = strings.evaluation_rows(2, seed=1)
    assert [r["text"] for r in rows] == [r["text"] for r in strings.evaluation_rows(2, seed=1)]
    assert len(rows) == 8 and {r["language"] for r in rows} == {"ase", "sgg", "tsm", "ukl"}


def test_another_languages_faulty_clips_are_cut_without_warning_about_them(caplog):
    # ASL's typical pose reads every language's clips for joints ASL never shows, GSS's cut O and F among them:
    # an ASL user hears nothing about GSS, a GSS user does.
    import logging

    caplog.set_level(logging.WARNING, logger="signllm_hf.data.corpora.fingerspelling")
    LetterStrings(languages=["ase"], fps=25.0)
    assert [r.getMessage() for r in caplog.records] == []
    LetterStrings(languages=["gss"], fps=25.0)
    assert sum("signs in one clip" in r.getMessage() for r in caplog.records) == 2
