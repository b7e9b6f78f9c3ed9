import numpy as np
import pytest

from signllm_hf.data.motion import counter_channel, ease, fill_missing, join_with_transitions, resample, transition


def test_resample_keeps_duration_and_linear_motion():
    ramp = np.arange(31, dtype=np.float64)[:, None, None] * np.ones((1, 2, 3))  # 30 fps, 1 s
    down = resample(ramp, 30, 25)
    assert down.shape == (26, 2, 3)
    np.testing.assert_allclose(down[:, 0, 0], np.arange(26) * 30 / 25)
    np.testing.assert_allclose(resample(down, 25, 25), down)
    with pytest.raises(ValueError, match="positive"):
        resample(ramp, 0, 25)


def test_fill_missing_interpolates_and_holds_edges():
    values = np.zeros((5, 2, 1))
    values[:, 0, 0] = [0, 99, 99, 3, 99]
    valid = np.ones((5, 2), dtype=bool)
    valid[[1, 2, 4], 0] = False
    valid[:, 1] = False
    filled, ever = fill_missing(values, valid)
    np.testing.assert_allclose(filled[:, 0, 0], [0, 1, 2, 3, 3])
    assert ever.tolist() == [True, False]
    assert values[1, 0, 0] == 99  # inputs untouched


def test_transitions_are_smooth_and_exclusive():
    weights = ease(4)
    assert np.all(np.diff(weights) > 0) and 0 < weights[0] < weights[-1] < 1
    np.testing.assert_allclose(weights + weights[::-1], 1.0)
    frames = transition(np.zeros((2, 3)), np.ones((2, 3)), 3)
    np.testing.assert_allclose(frames[:, 0, 0], [0.5 - 0.5 * np.cos(np.pi * k / 4) for k in (1, 2, 3)])
    joined = join_with_transitions([np.zeros((2, 1, 1)), np.ones((3, 1, 1))], 2)
    assert joined.shape == (7, 1, 1) and joined[1, 0, 0] == 0 and joined[4, 0, 0] == 1
    with pytest.raises(ValueError, match="empty"):
        join_with_transitions([], 2)


def test_counter_conventions():
    np.testing.assert_allclose(counter_channel(4), [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(counter_channel(4, "start"), [0, 0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match="'end' or 'start'"):
        counter_channel(3, "middle")
