"""Duration alignment: tokens signed for their frames, in order; predicted durations plan the generated clip."""

import numpy as np
import pytest
import torch

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration
from signllm_hf.data.collator import SignLLMDataCollator
from signllm_hf.modeling_signllm import aligned_tokens
from signllm_hf.tokenization_signllm import train_text_tokenizer


def test_aligned_tokens_follow_the_durations():
    memory = torch.arange(3.0)[None, :, None].expand(1, 3, 2)  # token k's state is (k, k)
    features = aligned_tokens(memory, torch.tensor([[2, 0, 3]]), start=0, count=6)
    assert features[0, :, 0].tolist() == [0, 0, 2, 2, 2, 2]  # a token of 0 frames is skipped; past the end: the last
    assert features[0, :, 2].tolist() == pytest.approx([0, 0.5, 0, 1 / 3, 2 / 3, 1])  # the phase within the token
    assert features[0, :, 3].tolist() == pytest.approx([np.log(3)] * 2 + [np.log(4)] * 4)  # log(1 + frames)
    one_step = aligned_tokens(memory, torch.tensor([[2, 0, 3]]), start=3, count=1)
    assert torch.equal(one_step, features[:, 3:4])
    # Past the end, with a text mask: the last real token, not the padding after it.
    padded = aligned_tokens(memory, torch.tensor([[2, 0, 0]]), 0, 3, text_mask=torch.tensor([[1, 1, 0]]))
    assert padded[0, :, 0].tolist() == [0, 0, 1]


def test_a_text_that_plans_no_frame_signs_the_same_alone_and_in_a_padded_batch(setup):
    tokenizer, config, _ = setup
    for decoding in ("parallel", "autoregressive"):
        torch.manual_seed(0)
        chosen = parallel_config(config) if decoding == "parallel" else config
        model = SignLLMForPoseGeneration(chosen).eval()
        with torch.no_grad():
            model.groups["ase"].decoder.duration_head[-1].bias.fill_(-30.0)  # every token: no frame at all
            alone = tokenizer(["ab"], return_tensors="pt")
            batch = tokenizer(["ab", "abc cab bca"], padding=True, return_tensors="pt")
            one = model.generate(alone["input_ids"], alone["attention_mask"], "ase")
            both = model.generate(batch["input_ids"], batch["attention_mask"], "ase")
        assert int(one.lengths[0]) == int(both.lengths[0]) == 1  # planned: no frame, so one
        torch.testing.assert_close(both.poses[0, :1], one.poses[0, :1], atol=1e-5, rtol=0, msg=decoding)


@pytest.fixture(scope="module")
def setup():
    tokenizer = train_text_tokenizer(["abc cab bca", "aabbcc"], vocab_size=260)
    config = SignLLMConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        ffn_dim=64,
        attention_heads=2,
        encoder_layers=1,
        decoder_layers=1,
        languages=["ase"],
        alignment="duration",
        dropout=0.0,
        max_frames=60,
    )
    rng = np.random.default_rng(0)
    letters = {c: rng.normal(size=(1, 50, 3)).astype("float32") for c in "abc"}
    frames = {"a": 3, "b": 5, "c": 2}
    rows = [
        {
            "text": text,
            "language": "ase",
            "char_durations": [frames[c] for c in text],
            "pose": np.concatenate([np.repeat(letters[c], frames[c], axis=0) for c in text]),
        }
        for text in ("abc", "cab", "bca", "ba")
    ]
    return tokenizer, config, rows


def test_training_needs_durations(setup):
    tokenizer, config, rows = setup
    model = SignLLMForPoseGeneration(config)
    batch = SignLLMDataCollator(tokenizer=tokenizer)(
        [{k: v for k, v in r.items() if k != "char_durations"} for r in rows]
    )
    with pytest.raises(ValueError, match="give `token_durations`"):
        model(**batch)


def test_a_trained_aligned_model_plans_lengths_and_signs_each_letter(setup):
    tokenizer, config, rows = setup
    torch.manual_seed(0)
    model = SignLLMForPoseGeneration(config)
    batch = SignLLMDataCollator(tokenizer=tokenizer)(rows)
    assert batch["token_durations"].sum(dim=1).tolist() == [10, 10, 10, 8]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    cached = model.generate(batch["input_ids"], batch["attention_mask"], language="ase")
    uncached = model.generate(batch["input_ids"], batch["attention_mask"], language="ase", use_cache=False)
    assert cached.lengths.tolist() == [10, 10, 10, 8]  # planned from the predicted durations
    torch.testing.assert_close(cached.poses, uncached.poses, atol=1e-5, rtol=0)
    for row, generated in zip(rows, cached.poses):  # each frame shows its letter's pose
        error = np.abs(generated[: len(row["pose"])].numpy() - row["pose"]).mean()
        assert error < 0.1 * np.abs(row["pose"]).mean()


def test_alignment_is_saved(setup, tmp_path):
    _, config, _ = setup
    SignLLMForPoseGeneration(config).save_pretrained(tmp_path)
    assert SignLLMForPoseGeneration.from_pretrained(tmp_path).config.alignment == "duration"
    with pytest.raises(ValueError, match="`alignment` must be one of"):
        SignLLMConfig(alignment="monotonic")


def loss_setup(**overrides):
    """A tiny untrained model, four frames of random labels (50 joints + counter), all real, and their targets."""
    config = SignLLMConfig(
        vocab_size=20, d_model=16, ffn_dim=32, attention_heads=2, encoder_layers=1, decoder_layers=1, **overrides
    )
    model = SignLLMForPoseGeneration(config)
    labels = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 4, 151)).astype("float32"))
    mask = torch.ones(1, 4, dtype=torch.bool)
    return model, labels, mask, model.normalized_targets(labels, mask)


def test_hand_shape_loss_sees_hand_shapes_not_where_the_hand_is():
    model, labels, mask, targets = loss_setup(hand_loss_weight=1.0, hand_scale=0.1)
    moved = labels.clone().view(1, 4, -1)[..., :150].reshape(1, 4, 50, 3)
    moved[:, :, [4, *range(29, 50)]] += 0.5  # the right hand and its wrist moved together: same shape
    same_shape = model.normalized_targets(torch.cat([moved.reshape(1, 4, 150), labels[..., 150:]], -1), mask)
    assert float(model.hand_shape_loss(same_shape, targets, mask)) == pytest.approx(0.0, abs=1e-6)
    bent = moved.clone()
    bent[:, :, 49, 0] += 0.1  # one fingertip 0.1 away (one hand_scale): 1 / 21 joints / 2 hands
    changed = model.normalized_targets(torch.cat([bent.reshape(1, 4, 150), labels[..., 150:]], -1), mask)
    assert float(model.hand_shape_loss(changed, same_shape, mask)) == pytest.approx(1 / 21 / 2, rel=1e-3)


def test_velocity_loss_sees_motion_not_where_the_pose_is():
    model, labels, mask, targets = loss_setup(velocity_scale=0.05)

    def with_poses(poses):
        return model.normalized_targets(torch.cat([poses.reshape(1, 4, 150), labels[..., 150:]], -1), mask)

    poses = labels[..., :150].reshape(1, 4, 50, 3)
    assert float(model.velocity_loss(with_poses(poses + 0.5), targets, mask)) == pytest.approx(0.0, abs=1e-6)
    jolted = poses.clone()
    jolted[:, 2, 49, 0] += 0.05  # one joint 0.05 (one velocity_scale) away in frame 2: two of three steps change
    assert float(model.velocity_loss(with_poses(jolted), targets, mask)) == pytest.approx(2 / 3 / 50, rel=1e-3)
    first_three = torch.tensor([[True, True, True, False]])  # frame 3 is padding: one of two real steps changes
    assert float(model.velocity_loss(with_poses(jolted), targets, first_three)) == pytest.approx(1 / 2 / 50, rel=1e-3)


def test_the_velocity_loss_is_part_of_the_loss_when_weighted():
    base = {"vocab_size": 20, "d_model": 16, "ffn_dim": 32, "attention_heads": 2, "encoder_layers": 1}
    labels = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 5, 151)).astype("float32"))
    inputs = {"input_ids": torch.tensor([[3, 4, 5], [6, 7, 2]]), "labels": labels}
    outputs = {}
    for weight in (0.0, 2.0):
        torch.manual_seed(0)
        model = SignLLMForPoseGeneration(SignLLMConfig(**base, decoder_layers=1, velocity_loss_weight=weight)).eval()
        with torch.no_grad():
            outputs[weight] = model(**inputs)
    assert outputs[0.0].velocity_loss is None
    expected = 2.0 * model.velocity_loss(
        outputs[2.0].frames, model.normalized_targets(labels, torch.ones(2, 5)), torch.ones(2, 5, dtype=torch.bool)
    )
    assert float(outputs[2.0].velocity_loss) == pytest.approx(float(expected), rel=1e-5) and float(expected) > 0
    assert float(outputs[2.0].loss - outputs[0.0].loss) == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(ValueError, match="`velocity_scale` must be > 0"):
        SignLLMConfig(velocity_scale=0.0)


def parallel_config(config: SignLLMConfig) -> SignLLMConfig:
    return SignLLMConfig(**(config.to_dict() | {"decoding": "parallel", "decoder_input": "position"}))


def test_parallel_decoding_needs_durations_and_no_frame_input():
    with pytest.raises(ValueError, match="set `alignment='duration'` and `decoder_input='position'`"):
        SignLLMConfig(decoding="parallel", alignment="duration")  # still reads frames
    with pytest.raises(ValueError, match="`decoding` must be one of"):
        SignLLMConfig(decoding="beam")


def test_a_trained_parallel_model_signs_each_letter_in_one_pass(setup):
    tokenizer, config, rows = setup
    torch.manual_seed(0)
    model = SignLLMForPoseGeneration(parallel_config(config))
    batch = SignLLMDataCollator(tokenizer=tokenizer)(rows)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    generated = model.generate(batch["input_ids"], batch["attention_mask"], language="ase")
    assert generated.lengths.tolist() == [10, 10, 10, 8]
    for row, poses in zip(rows, generated.poses):
        error = np.abs(poses[: len(row["pose"])].numpy() - row["pose"]).mean()
        assert error < 0.1 * np.abs(row["pose"]).mean()
    # The shorter row was padded to the batch's length: alone, it comes out the same.
    alone = model.generate(batch["input_ids"][3:], batch["attention_mask"][3:], language="ase")
    torch.testing.assert_close(alone.poses[0, :8], generated.poses[3, :8], atol=1e-5, rtol=0)


def test_parallel_frames_see_the_whole_clip_but_not_its_padding(setup):
    tokenizer, config, rows = setup
    torch.manual_seed(0)
    model = SignLLMForPoseGeneration(parallel_config(config)).eval()
    batch = SignLLMDataCollator(tokenizer=tokenizer)(rows[:1])
    first = model(**batch).frames
    padded = dict(batch)
    padded["labels"] = torch.cat([batch["labels"], torch.zeros(1, 5, batch["labels"].shape[-1])], dim=1)
    padded["frame_mask"] = torch.cat([batch["frame_mask"], torch.zeros(1, 5, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(model(**padded).frames[:, :10], first, atol=1e-5, rtol=0)
    # Frame 0 attends to the last frame: what the decoder is told about the end of the clip changes its start.
    decoder = model.groups["ase"].decoder
    memory = torch.randn(1, 3, config.d_model)
    aligned = aligned_tokens(memory, torch.tensor([[3, 5, 2]]), 0, 10)
    inputs, text_mask = memory.new_zeros(1, 10, 0), torch.ones(1, 1, 1, 3, dtype=torch.bool)
    start = decoder(inputs, memory, text_mask, aligned=aligned, frame_mask=torch.ones(1, 10, dtype=torch.bool))
    aligned[:, -1] += 10.0
    changed = decoder(inputs, memory, text_mask, aligned=aligned, frame_mask=torch.ones(1, 10, dtype=torch.bool))
    assert (changed[:, 0] - start[:, 0]).abs().max() > 1e-4  # causal attention: exactly 0
