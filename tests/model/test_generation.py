import pytest
import torch

from signllm_hf import SignLLMForPoseGeneration
from tests.conftest import tiny_config


@pytest.fixture
def model():
    torch.manual_seed(0)
    stats = {"pose_mean": torch.linspace(-1, 1, 150).tolist(), "pose_std": torch.linspace(0.5, 2, 150).tolist()}
    return SignLLMForPoseGeneration(tiny_config(**stats)).eval()


def test_cached_generation_equals_full_recomputation(model):
    ids = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]])
    mask = (ids != 0).long()
    for language in ("ase", ["gsg", "ase"]):
        cached = model.generate(ids, mask, language=language, max_frames=20)
        full = model.generate(ids, mask, language=language, max_frames=20, use_cache=False)
        torch.testing.assert_close(cached.poses, full.poses, atol=1e-5, rtol=0)
        torch.testing.assert_close(cached.counters, full.counters, atol=1e-5, rtol=0)
        assert torch.equal(cached.lengths, full.lengths)


@pytest.mark.parametrize("decoder_input", ["frame", "pose", "counter", "position"])
def test_every_decoder_input_generates_what_teacher_forcing_predicts(decoder_input):
    """Free-running generation fed back as teacher-forcing labels reproduces itself: the decoder reads the same part
    of each frame in `forward` and in `generate`, with and without the cache."""
    torch.manual_seed(0)
    stats = {"pose_mean": torch.linspace(-1, 1, 150).tolist(), "pose_std": torch.linspace(0.5, 2, 150).tolist()}
    config = tiny_config(decoder_input=decoder_input, stop_rule="threshold", stop_threshold=1.0, **stats)
    model = SignLLMForPoseGeneration(config).eval()
    ids = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]])
    mask = (ids != 0).long()
    out = model.generate(ids, mask, language="ase", max_frames=12)
    full = model.generate(ids, mask, language="ase", max_frames=12, use_cache=False)
    torch.testing.assert_close(out.poses, full.poses, atol=1e-5, rtol=0)
    assert out.lengths.tolist() == [12, 12]
    labels = torch.cat([model.denormalize(out.frames), out.counters[..., None]], dim=-1)
    with torch.no_grad():
        forced = model(ids, mask, labels=labels, frame_mask=torch.ones(2, 12, dtype=torch.bool), language="ase")
    torch.testing.assert_close(forced.frames, torch.cat([out.frames, out.counters[..., None]], -1), atol=1e-4, rtol=0)
    embeds = "frame_query" if decoder_input == "position" else "embed_frames.weight"
    size = dict(model.groups["ase"].decoder.named_parameters())[embeds].shape[-1]
    assert size == {"frame": 151, "pose": 150, "counter": 1, "position": 32}[decoder_input]


def test_outputs_are_in_data_coordinates_and_zero_after_each_length(model):
    out = model.generate(torch.tensor([[5, 6, 2], [7, 8, 2]]), language="ase", max_frames=15)
    torch.testing.assert_close(
        out.poses.reshape(2, -1, 150), model.denormalize(out.frames) * (out.frames != 0).any(-1, keepdim=True)
    )  # noqa: E501
    for row, length in enumerate(out.lengths.tolist()):
        assert (out.poses[row, length:] == 0).all() and (out.counters[row, length:] == 0).all()


def test_training_mode_is_restored(model):
    model.train()
    model.generate(torch.tensor([[5, 2]]), language="ase", max_frames=3)
    assert model.training


def _scripted(model, counters):
    # Replace the heads so that row b emits counters[b][t] at step t (and zero poses).
    script = torch.tensor(counters, dtype=torch.float)
    state = {"step": 0}

    def heads(hidden, future=True):
        step = min(state["step"], script.shape[1] - 1)
        state["step"] += 1
        frames = hidden.new_zeros(hidden.shape[0], 1, 151)
        frames[:, 0, -1] = script[:, step]
        return frames, None

    for group in model.groups.values():
        group.decoder.heads = heads


def test_stop_rules(model):
    ramp = [(t + 1) / 10 for t in range(30)]  # reaches 1 at the 10th frame
    # Peaks at frame 8 with 0.92: under the length rule's 8 / 8.5 = 0.941 there, above stop_peak = 0.9.
    peak = [min(0.115 * (t + 1), 0.92) if t < 8 else 0.92 - 0.05 * (t - 7) for t in range(30)]
    flat = [0.4] * 30  # never says the clip is complete
    _scripted(model, [ramp, peak, flat])
    out = model.generate(torch.tensor([[5, 2]] * 3), language="ase", max_frames=25)
    assert out.lengths.tolist() == [10, 8, 25]
    model.config.stop_rule = "length"  # without the peak rule the turning counter runs to the cap
    _scripted(model, [ramp, peak, flat])
    assert model.generate(torch.tensor([[5, 2]] * 3), language="ase", max_frames=25).lengths.tolist() == [10, 25, 25]
    model.config.stop_rule, model.config.stop_threshold = "threshold", 0.6
    _scripted(model, [ramp, peak, flat])
    assert model.generate(torch.tensor([[5, 2]] * 3), language="ase", max_frames=25).lengths.tolist() == [6, 6, 25]


def test_bfloat16_models_generate_float32_poses(model):
    import copy

    ids = torch.tensor([[5, 6, 7, 2]])
    half = copy.deepcopy(model).to(torch.bfloat16)
    full_out, half_out = (
        model.generate(ids, language="ase", max_frames=6),
        half.generate(ids, language="ase", max_frames=6),
    )
    assert half_out.poses.dtype == torch.float32
    length = min(int(full_out.lengths[0]), int(half_out.lengths[0]))
    torch.testing.assert_close(half_out.poses[0, :length], full_out.poses[0, :length], atol=0.1, rtol=0.05)


def _ramped_model(rates):
    # The real decoder (and its cache), but row b's counter is rates[b] * step, so rows stop at different steps.
    torch.manual_seed(3)
    model = SignLLMForPoseGeneration(tiny_config(stop_rule="threshold", stop_threshold=0.5)).eval()
    for group in model.groups.values():
        original, state = group.decoder.heads, {"step": 0}

        def heads(hidden, future=True, original=original, state=state):
            frames, future = original(hidden, future)
            state["step"] += 1
            frames = frames.clone()
            frames[:, 0, -1] = torch.tensor(rates) * state["step"]
            return frames, future

        group.decoder.heads = heads
    return model


def test_cache_matches_recomputation_when_rows_stop_at_different_steps():
    ids = torch.tensor([[5, 6, 7, 2], [9, 2, 0, 0], [11, 12, 13, 14], [20, 21, 2, 0]])
    rates = [0.05, 0.1, 0.2, 0.02]  # crossing 0.5 at frames 10, 5, 3 and never (the 20-frame cap)
    cached = _ramped_model(rates).generate(ids, language="ase", max_frames=20)
    full = _ramped_model(rates).generate(ids, language="ase", max_frames=20, use_cache=False)
    assert cached.lengths.tolist() == [10, 5, 3, 20]
    assert torch.equal(cached.lengths, full.lengths)
    torch.testing.assert_close(cached.poses, full.poses, atol=1e-5, rtol=0)
    for row, length in enumerate(cached.lengths.tolist()):
        assert (cached.poses[row, length:] == 0).all() and (cached.counters[row, length:] == 0).all()
        assert (cached.poses[row, :length].abs().sum(dim=(1, 2)) > 0).all()


def test_generate_keeps_each_submodule_mode(model):
    model.train()
    model.groups["ase"].encoder.eval()  # e.g. a frozen encoder kept in eval mode
    model.generate(torch.tensor([[5, 2]]), language="ase", max_frames=2)
    assert model.training and not model.groups["ase"].encoder.training and model.groups["ase"].decoder.training


def _seeded_model():
    torch.manual_seed(0)
    stats = {"pose_mean": torch.linspace(-1, 1, 150).tolist(), "pose_std": torch.linspace(0.5, 2, 150).tolist()}
    return SignLLMForPoseGeneration(tiny_config(**stats)).eval()


def test_growing_cache_generates_exactly_what_the_concatenating_cache_did(monkeypatch):
    """The buffer doubles at 4, 8, 16 and 32 frames here: every frame, counter and length stays bit-identical to
    those of DynamicCache (one torch.cat per frame, the cache generate() used before), for one-language and mixed
    batches, and for rows that stop at different steps."""
    from transformers import DynamicCache, EncoderDecoderCache

    from signllm_hf.modeling_signllm import SignLLMGrowingCacheLayer

    monkeypatch.setattr(SignLLMGrowingCacheLayer, "first_block", 4)
    three = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0], [11, 12, 13, 2, 0]])
    four = torch.tensor([[5, 6, 7, 2], [9, 2, 0, 0], [11, 12, 13, 14], [20, 21, 2, 0]])
    cases = [
        (_seeded_model, three, "ase", None),
        (_seeded_model, three, ["gsg", "ase", "gsg"], None),
        (lambda: _ramped_model([0.05, 0.1, 0.2, 0.02]), four, "ase", [10, 5, 3, 25]),
    ]
    for build, ids, language, lengths in cases:
        grown = build().generate(ids, language=language, max_frames=40)
        reference = build()
        monkeypatch.setattr(
            reference, "_new_cache", lambda max_frames: EncoderDecoderCache(DynamicCache(), DynamicCache())
        )
        concatenated = reference.generate(ids, language=language, max_frames=40)
        assert lengths is None or grown.lengths.tolist() == lengths
        for name in ("frames", "counters", "lengths"):
            assert torch.equal(getattr(grown, name), getattr(concatenated, name)), name


def test_cache_buffer_doubles_instead_of_growing_every_frame():
    """600 frames allocate 3 buffers (256, 512, then the 600-frame cap), not 600 ever larger tensors; the keys are
    the frames appended so far, also after a crop or a batch selection."""
    from signllm_hf.modeling_signllm import SignLLMGrowingCacheLayer

    layer = SignLLMGrowingCacheLayer(max_length=600)
    steps = torch.randn(600, 2, 3, 1, 4)  # (T, B, H, 1, hd)
    buffers = set()
    for step in steps:
        keys, values = layer.update(step, -step)
        buffers.add(layer.key_buffer.data_ptr())
    assert len(buffers) == 3 and layer.capacity == 600
    expected = torch.cat(list(steps), dim=2)  # (B, H, T, hd)
    assert torch.equal(keys, expected) and torch.equal(values, -expected)
    layer.crop(-100)
    keys, _ = layer.update(steps[0], steps[0])
    assert keys.shape[2] == 501 and torch.equal(keys[:, :, :500], expected[:, :, :500])
    layer.batch_select_indices(torch.tensor([1]))  # replaces the keys: the next update starts a buffer from them
    keys, _ = layer.update(steps[1, 1:], steps[1, 1:])
    assert keys.shape == (1, 3, 502, 4) and torch.equal(keys[0, :, :500], expected[1, :, :500])
    assert torch.equal(keys[0, :, 500:], torch.cat([steps[0, 1], steps[1, 1]], dim=1))


@pytest.mark.parametrize(
    ("max_frames", "message"),
    [
        (2.7, r"`max_frames` must be a whole number of frames, got 2.7 \(float\)"),
        (True, r"`max_frames` must be a whole number of frames, got True \(bool\)"),
        ("12", r"`max_frames` must be a whole number of frames, got '12' \(str\)"),
        (0, r"`max_frames` must be > 0, got 0"),
        (
            65,
            r"`max_frames=65` is more than this model's limit of 64 frames \(`max_positions` in its config.json\); "
            r"ask for at most 64 frames, or raise `max_positions` in config.json",
        ),
    ],
)
def test_max_frames_is_a_whole_number_within_the_models_limit(max_frames, message):
    model = SignLLMForPoseGeneration(tiny_config(max_positions=64)).eval()
    with pytest.raises(ValueError, match=message):
        model.generate(torch.tensor([[5, 2]]), language="ase", max_frames=max_frames)


def test_max_frames_accepts_numpy_and_tensor_integers():
    import numpy as np

    model = SignLLMForPoseGeneration(tiny_config(stop_rule="threshold", stop_threshold=1.0, max_positions=64)).eval()
    for max_frames in (np.int64(5), torch.tensor(5), 64):
        out = model.generate(torch.tensor([[5, 2]]), language="ase", max_frames=max_frames)
        assert out.lengths.tolist() == [int(max_frames)]
