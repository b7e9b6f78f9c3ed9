import numpy as np
import pytest

from signllm_hf.metrics import dtw, dtw_mje, dtw_scores, load_metric, pt_dtw, text_scores
from signllm_hf.metrics.dtw import clip_scores, cut_at_counter, with_counter


def test_dtw_small_cases_by_hand():
    # Identical sequences: zero cost along the diagonal.
    assert dtw(np.zeros((3, 3))) == (0.0, 3)
    # a = [0, 1, 2], b = [0, 2]: best alignment 0-0, 1-0 or 1-2 (cost 1), 2-2: total 1 over 3 steps.
    a, b = np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0])
    assert dtw(np.abs(a[:, None] - b[None, :])) == (1.0, 3)
    # A repeated frame costs nothing: [0, 0, 5] vs [0, 5].
    a, b = np.array([0.0, 0.0, 5.0]), np.array([0.0, 5.0])
    assert dtw(np.abs(a[:, None] - b[None, :])) == (0.0, 3)
    # One frame each: just the distance.
    assert dtw(np.array([[2.5]])) == (2.5, 1)
    with pytest.raises(ValueError, match="empty"):
        dtw(np.zeros((0, 3)))


def test_progressive_transformers_dtw_by_hand():
    reference = np.zeros((4, 151))
    reference[:, -1] = [0.25, 0.5, 0.75, 1.0]  # counter peaks at the last frame: PT keeps frames 0..2
    hypothesis = np.zeros((3, 151))
    hypothesis[:, 0] = 1.0  # every hypothesis frame is 1 away (L1) from every reference frame
    hypothesis[:, -1] = [0.5, 1.0, 0.9]  # peaks at frame 1: PT keeps frame 0 only
    assert cut_at_counter(reference).shape == (3, 150) and cut_at_counter(hypothesis).shape == (1, 150)
    # 3 reference frames each aligned to the single hypothesis frame: cost 3, divided by the reference length 3.
    assert pt_dtw(reference, hypothesis) == pytest.approx(1.0)


def test_dtw_mje_is_mean_joint_error_along_the_path():
    reference = np.zeros((2, 50, 3))
    hypothesis = np.zeros((2, 50, 3))
    hypothesis[:, :25, 0] = 2.0  # half the joints 2 away, half exact: mean joint error 1 on every frame
    assert dtw_mje(reference, hypothesis) == pytest.approx(1.0)
    shifted = np.concatenate([reference[:1], reference])  # a repeated frame changes nothing
    assert dtw_mje(shifted, shifted[:2]) == pytest.approx(0.0)
    scores = dtw_scores([reference], [hypothesis])
    # PT cuts both at their counter's peak (the last frame): one frame each, 25 joints 2 away in x: L1 50.
    assert scores["dtw_mje"] == pytest.approx(1.0) and scores["dtw"] == pytest.approx(50.0)
    assert with_counter(reference)[:, -1].tolist() == [0.5, 1.0]


def test_clip_scores_cut_the_hypothesis_at_its_own_counter():
    # Joint 0's x carries the motion, every other value is 0: the L1 between frames is the x difference, the mean
    # joint error that difference / 50.
    reference, hypothesis = np.zeros((4, 50, 3)), np.zeros((3, 50, 3))
    reference[:, 0, 0] = [0, 1, 2, 3]
    hypothesis[:, 0, 0] = [0, 2, 5]
    # The model's counter peaks at frame 1: PT keeps frame 0 only (x = 0). The reference's (t + 1) / T peaks at its
    # last frame: it keeps x = 0, 1, 2, all aligned to the one frame, cost 0 + 1 + 2 = 3, over 3 reference frames.
    scores = clip_scores(reference, hypothesis, np.array([0.3, 0.9, 0.5]))
    assert scores["dtw"] == pytest.approx(1.0)
    # Without the model's counter the hypothesis keeps x = 0, 2: 0-0, 1-0 (1), 2-2: cost 1 over 3 frames.
    assert clip_scores(reference, hypothesis)["dtw"] == pytest.approx(1 / 3)
    # DTW-MJE uses every frame, uncut: the path 0-0, 1-0, 2-2, 3-5 (0 + 1 + 0 + 2 = 3 over 4 steps) / 50 joints.
    assert scores["dtw_mje"] == pytest.approx(3 / 4 / 50)
    assert scores["length_error"] == pytest.approx(1 / 4)
    longer = clip_scores(reference, hypothesis, np.array([0.3, 0.9, 0.5, 0.99]))  # a counter longer than the clip
    assert longer["dtw"] == pytest.approx(1.0)
    means = dtw_scores([reference, reference], [hypothesis, hypothesis], [[0.3, 0.9, 0.5], [0.1, 0.2, 0.3]])
    assert means["dtw"] == pytest.approx((1.0 + 1 / 3) / 2)


def test_text_scores():
    perfect = text_scores(["the sky is blue", "hello"], ["the sky is blue", "hello"])
    assert perfect["bleu1"] == perfect["bleu4"] == perfect["rouge_l"] == 100.0 and perfect["wer"] == 0.0
    half = text_scores(["the sky"], ["the sky is blue"])
    assert 0 < half["bleu1"] < 100 and half["rouge_l"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert half["wer"] == pytest.approx(0.5)
    assert text_scores([""], ["something"])["wer"] == 1.0
    with pytest.raises(ValueError, match="matching non-empty"):
        text_scores(["a"], [])


def test_evaluate_modules_load_offline():
    # conftest sets HF_HUB_OFFLINE=1: these come from the package, not the Hub.
    dtw_metric = load_metric("pose_dtw")
    reference = np.zeros((3, 150))
    result = dtw_metric.compute(predictions=[reference.tolist()], references=[reference.tolist()])
    assert result == {"dtw": 0.0, "dtw_mje": 0.0, "length_error": 0.0}
    shorter = dtw_metric.compute(predictions=[reference[:2].tolist()], references=[reference.tolist()])
    assert shorter["length_error"] == pytest.approx(1 / 3)
    text = load_metric("back_translation").compute(predictions=["a b c"], references=["a b d"])
    assert text["bleu1"] == pytest.approx(200 / 3, abs=0.01) and text["wer"] == pytest.approx(1 / 3, abs=1e-4)
    with pytest.raises(ValueError, match="unknown metric"):
        load_metric("sacrebleu")
