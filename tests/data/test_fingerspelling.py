import csv
import logging
import shutil

import numpy as np
import pytest
from datasets import load_dataset

from signllm_hf.data import load_pose_dataset, read_stats
from signllm_hf.data.corpora.fingerspelling import (
    FingerspellingLexicon,
    _LetterClips,
    active_span,
    build_fingerspelling_corpus,
    sign_spans,
    spelling_key,
    word_list,
    word_split,
)
from signllm_hf.data.skeleton import PoseClip

LEXICON_LANGUAGES = (
    "ase asq bzs cse csq eso fsl gsg gss ise jos lls mfs psr sgg ssp svk swl tsm ukl"  # the 20 of the lexicon
).split()


@pytest.fixture(scope="module")
def lexicon(lexicon_dir):
    return FingerspellingLexicon.load(lexicon_dir)


@pytest.fixture(scope="module")
def corpus(lexicon_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("fs") / "corpus"
    build_fingerspelling_corpus(
        out, lexicon_dir, languages=["ase", "DGS", "tsm"], words_per_language=40, progress=False
    )
    return out


def test_lexicon_covers_twenty_languages_with_word_lists(lexicon):
    assert lexicon.languages == LEXICON_LANGUAGES
    for code in lexicon.languages:
        words = word_list(lexicon.spoken[code])
        assert len(words) >= 120, code
        spelled = [w for w in words if lexicon.spell(w, code) is not None]
        assert len(spelled) >= 0.9 * len(words), code


def test_spelling_uses_longest_units_and_language_rules(lexicon):
    assert [u.gloss for u in lexicon.spell("calle", "ssp")] == ["C", "A", "LL", "E"]
    assert [u.gloss for u in lexicon.spell("Ljubljana", "csq")][:2] == ["Lj", "U"]
    assert [u.gloss for u in lexicon.spell("İzmir", "tsm")][0] == "İ"
    assert [u.gloss for u in lexicon.spell("καλημέρα", "gss")] == list("ΚΑΛΗΜΕΡΑ")
    assert lexicon.spell("café", "ase") is None  # no É in the ASL alphabet
    assert spelling_key("straße", "de") == "STRAẞE" and spelling_key("ıi", "tr") == "Iİ"
    with pytest.raises(ValueError, match="the lexicon has no sign language 'bfi'"):
        lexicon.spell("hello", "bfi")


def test_splits_are_a_pure_function_of_the_word():
    assert word_split("Anna") == word_split("anna") == word_split("ANNA")
    counts = dict.fromkeys(("train", "dev", "test"), 0)
    for word in word_list("en") + word_list("de"):
        counts[word_split(word)] += 1
    assert counts["train"] > 4 * counts["dev"] > 0 and counts["test"] > 0


def test_corpus_is_complete_and_real(corpus):
    data = load_pose_dataset(corpus)
    assert list(data) == ["train", "dev", "test"]
    stats = read_stats(corpus)
    assert set(stats["languages"]) == {"ase", "gsg", "tsm"}
    words_by_split = {}
    for split, dataset in data.items():
        words_by_split[split] = {t.casefold() for t in dataset["text"]}
        for row in dataset:
            pose, confidence = row["pose"], row["confidence"]
            assert np.isfinite(pose).all() and pose.shape[1:] == (50, 3)
            assert len(pose) >= 8 and row["fps"] == 25
            assert row["text"] in row["prompt"] and row["gloss"]
            # The signing hand is observed (not filled) in most frames, and every hand is a hand in every frame:
            # its farthest fingertip is 0.1-1 shoulder widths from its wrist, never collapsed onto it.
            assert max(confidence[:, 29:50].mean(), confidence[:, 8:29].mean()) > 0.6, row["id"]
            for wrist, tips in ((8, [12, 16, 20, 24, 28]), (29, [33, 37, 41, 45, 49])):
                reach = np.linalg.norm(pose[:, tips] - pose[:, [wrist]], axis=-1)
                assert reach.max(axis=1).min() > 0.1 and reach.max() < 1.0, row["id"]
            widths = np.linalg.norm(pose[:, 2] - pose[:, 5], axis=-1)
            assert 0.8 < np.median(widths) < 1.2
    assert not words_by_split["train"] & words_by_split["dev"]
    assert not words_by_split["train"] & words_by_split["test"]
    assert not words_by_split["dev"] & words_by_split["test"]


def test_word_length_is_letters_plus_transitions(corpus, lexicon):
    row = next(r for r in load_pose_dataset(corpus, split="train") if r["language"] == "ase")
    units = lexicon.spell(row["text"], "ase")
    letters = _LetterClips(lexicon, 25.0)
    expected = sum(letters.get(u).num_frames for u in units) + 4 * (len(units) - 1)
    assert len(row["pose"]) == expected
    assert row["gloss"] == " ".join(u.gloss for u in units)


def test_corpus_streams_and_is_deterministic(corpus, lexicon_dir, tmp_path):
    streamed = load_dataset(str(corpus), split="dev", streaming=True)  # the card's YAML keeps the "dev" name
    first = next(iter(streamed.with_format("numpy")))
    again = tmp_path / "again"
    build_fingerspelling_corpus(
        again, lexicon_dir, languages=["ase", "gsg", "tsm"], words_per_language=40, progress=False
    )
    dev = load_pose_dataset(again, split="dev")
    assert dev["id"] == load_pose_dataset(corpus, split="dev")["id"]
    np.testing.assert_array_equal(dev[0]["pose"], first["pose"])


def _tiny_lexicon(lexicon_dir, target, letters="ABCDE", language="bfi", spoken="xx"):
    target.mkdir()
    with open(lexicon_dir / "index.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [r for r in rows if r["signed_language"] == "ase" and r["words"] in letters]
    with open(target / "index.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in chosen:
            (target / row["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(lexicon_dir / row["path"], target / row["path"])
            writer.writerow(row | {"signed_language": language, "spoken_language": spoken})
    return target


def test_any_lexicon_in_the_format(lexicon_dir, tmp_path):
    custom = _tiny_lexicon(lexicon_dir, tmp_path / "lexicon")
    stats = build_fingerspelling_corpus(tmp_path / "out", custom, progress=False)
    assert list(stats["languages"]) == ["bfi"]  # pseudo-words of its alphabet: no word list for spoken "xx"
    texts = load_pose_dataset(tmp_path / "out", split="train")["text"]
    assert texts and all(set(t) <= set("ABCDE") for t in texts)


def test_lexicon_errors(lexicon_dir, tmp_path):
    custom = _tiny_lexicon(lexicon_dir, tmp_path / "lexicon")
    next((custom / "ase").glob("*.pose")).unlink()
    with pytest.raises(FileNotFoundError, match=r"index.csv line \d+: ase/.*\.pose does not exist"):
        FingerspellingLexicon.load(custom)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="index.csv: missing"):
        FingerspellingLexicon.load(tmp_path / "empty")
    (tmp_path / "empty" / "index.csv").write_text("path,words\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['spoken_language', 'signed_language', 'glosses'\]"):
        FingerspellingLexicon.load(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"the lexicon has no letters for \['kvk'\]"):
        build_fingerspelling_corpus(tmp_path / "x", lexicon_dir, languages=["KSL"], progress=False)
    assert not (tmp_path / "x").exists()


def test_duplicate_languages_and_segments(lexicon_dir, tmp_path):
    custom = _tiny_lexicon(lexicon_dir, tmp_path / "lexicon", letters="AB")
    stats = build_fingerspelling_corpus(tmp_path / "a", custom, languages=["bfi", "BSL"], progress=False)
    assert sum(split["clips"] for split in stats["splits"].values()) == len(
        {t for s in load_pose_dataset(tmp_path / "a").values() for t in s["text"]}
    )
    lexicon = FingerspellingLexicon.load(custom)
    whole = _LetterClips(lexicon, 25.0).get(lexicon.spell("A", "bfi")[0])
    index = (custom / "index.csv").read_text(encoding="utf-8").split("\n")
    header, first = index[0].split(","), index[1].split(",")
    first[header.index("start")], first[header.index("end")] = "200", "600"  # frames 5..15 at 25 fps
    (custom / "index.csv").write_text("\n".join([index[0], ",".join(first), *index[2:]]), encoding="utf-8")
    lexicon = FingerspellingLexicon.load(custom)
    unit = next(u for vs in lexicon.units["bfi"].values() for u in vs if u.row == 2)
    assert (unit.start_ms, unit.end_ms) == (200.0, 600.0)
    assert _LetterClips(lexicon, 25.0).get(unit).num_frames <= 10 < whole.num_frames


def _wrist_clip(heights, missing=()) -> PoseClip:
    # A right-handed clip whose right wrist (and hand) is at these heights; other joints still at the origin.
    pose = np.zeros((len(heights), 50, 3), dtype=np.float32)
    pose[:, 4, 1] = heights
    pose[:, 29:50, 1] = np.asarray(heights, dtype=np.float32)[:, None]
    confidence = np.ones(pose.shape[:2], dtype=np.float32)
    confidence[list(missing), 4] = 0.0
    pose[list(missing), 4] = 0.0  # what a reader writes for an unseen joint
    return PoseClip(pose, confidence, 25.0)


def test_a_clip_of_several_signs_keeps_its_first():
    # Raise, letter, back to rest for 10 frames, the next letter, rest again, a third: as the lexicon's Greek O file.
    up, rest = [0.1] * 6, [1.5] * 10
    clip = _wrist_clip([1.0, *up, 0.8, *rest, *up, *rest, *up, 1.1])
    assert sign_spans(clip) == [(1, 7), (18, 24), (34, 40)]
    assert active_span(clip) == (1, 7)  # before: (0, 41), three letters kept as one
    # A letter whose movement dips the hand, even for long, but less low than it rests, is one sign.
    dip = _wrist_clip([1.5, 1.0, *up, *[1.2] * 10, *up, 1.0, 1.5])
    assert sign_spans(dip) == [(2, 24)]
    assert active_span(dip)[0] <= 2 and active_span(dip)[1] >= 24
    # An unseen wrist (a 0 placeholder) is not a raised hand: the raise around it is trimmed.
    assert active_span(_wrist_clip([1.5, 1.2, 1.0, *up, 1.5], missing=[1])) == (3, 9)


def test_multi_letter_lexicon_clips_are_cut_to_their_letter(lexicon, caplog):
    # The lexicon's Greek O (and PHI) files hold the rest of the alphabet after the letter, and a tracking glitch.
    letters = _LetterClips(lexicon, 25.0)
    with caplog.at_level(logging.WARNING, logger="signllm_hf.data.corpora.fingerspelling"):
        omicron = letters.get(lexicon.spell("ο", "gss")[0])
    assert any("gss 'Ο'" in r.message and "keeping the first" in r.message for r in caplog.records)
    observed = omicron.confidence > 0
    assert omicron.num_frames <= 12  # before: 269 frames, 26 shoulder widths at most
    assert np.abs(omicron.pose[observed]).max() < 2.0
    alpha = letters.get(lexicon.spell("α", "gss")[0])
    assert alpha.num_frames <= 12 and not caplog.records[1:]  # a one-letter clip: no warning
