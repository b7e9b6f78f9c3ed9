"""CIDEr and WER with substitutions, insertions and deletions, on hand-computed examples."""

import math

import pytest

from signllm_hf.metrics import cider, load_metric, translation_scores, word_errors


def test_cider_by_hand():
    # Two documents: every n-gram has df 1, idf log 2. Identical pairs: cosine 1 for 1- and 2-grams, none of 3-/4-.
    assert cider(["a b", "c d"], ["a b", "c d"]) == 5.0
    # Second pair "c e" vs "c d": unigram cosine 1/2, bigram 0 -> 10 * 0.5 / 4 = 1.25; mean (5 + 1.25) / 2.
    assert cider(["a b", "c e"], ["a b", "c d"]) == 3.125
    assert cider(["x y"], ["x y"]) == 0.0  # one document: idf log(1) - log(1) = 0, CIDEr is a corpus score
    assert cider(["A  B", "c d"], [["a b", "q r"], "c d"]) == pytest.approx((10 * 2 / 4 / 2 + 5.0) / 2, abs=1e-4)


def test_word_errors_by_hand():
    # "very" inserted in the first sentence, "b" deleted from the second: 8 reference words, 7 hits
    errors = word_errors(["the sky is very blue", "a c d"], ["the sky is blue", "a b c d"])
    assert errors == {
        "wer": 0.25,
        "substitutions": 0.0,
        "insertions": 0.125,
        "deletions": 0.125,
        "hits": 7,
        "reference_words": 8,
    }
    errors = word_errors(["a x c", ""], ["a b c", "d e"])  # one substitution; two deletions (empty prediction)
    assert errors["substitutions"] == pytest.approx(round(2 / 5, 4))  # "<empty>" stands for the empty text
    assert errors["deletions"] == pytest.approx(round(1 / 5, 4)) and errors["wer"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="matching non-empty lists"):
        word_errors([], [])


def test_translation_scores_and_the_evaluate_module():
    predictions, references = ["hello world", "good night"], ["hello world", "good morning"]
    scores = translation_scores(predictions, references)
    words = {"wer", "substitutions", "insertions", "deletions"}
    assert set(scores) == {"bleu1", "bleu4", "rouge_l", "cider", "cer"} | words
    assert scores["cer"] == pytest.approx(round(6 / 23, 4))  # "night" for "morning": 6 edits of the 23 characters
    assert scores["bleu1"] == pytest.approx(75.0) and scores["rouge_l"] == pytest.approx(75.0)
    assert scores["wer"] == 0.25 and scores["substitutions"] == 0.25
    # "good night" vs "good morning": unigram cosine 1/2 (idf log 2 each), no bigram: 1.25; first pair 5.0
    assert scores["cider"] == pytest.approx((5.0 + 1.25) / 2)
    assert not math.isnan(scores["bleu4"])
    module = load_metric("cider")
    assert module.compute(predictions=predictions, references=references) == scores
