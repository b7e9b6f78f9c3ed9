import numpy as np
import pytest
import torch

from signllm_hf import SignLLMForPoseGeneration
from signllm_hf.data import SignLLMDataCollator
from tests.conftest import TINY_OPTIONS, random_pose, text_tokenizer, tiny_config


@pytest.fixture
def model():
    torch.manual_seed(0)
    return SignLLMForPoseGeneration(tiny_config(future_prediction=2))


def _batch(lengths=(5, 8, 3), seed=0):
    tokenizer = text_tokenizer()
    rows = [
        {"pose": random_pose(n, seed + i), "text": t}
        for i, (n, t) in enumerate(zip(lengths, ["hello world", "guten morgen", "the sky"]))
    ]  # noqa: E501
    return SignLLMDataCollator(tokenizer=tokenizer)(rows)


def test_forward_shapes_and_loss(model):
    batch = _batch()
    out = model(batch["input_ids"], batch["attention_mask"], batch["labels"], batch["frame_mask"], language="ase")
    assert out.frames.shape == (3, 8, 151) and out.future_frames.shape == (3, 8, 2, 150)
    assert out.frame_errors.shape == (3, 8) and out.encoder_last_hidden_state.shape[:2] == batch["input_ids"].shape
    assert out.loss.ndim == 0 and out.loss > 0
    assert (out.frame_errors[0, 5:] == 0).all()  # padded frames carry no error
    # The loss is the masked MSE: recompute it by hand (no future terms when K = 0).
    plain = SignLLMForPoseGeneration(tiny_config())
    out = plain(batch["input_ids"], batch["attention_mask"], batch["labels"], batch["frame_mask"], language="ase")
    mask = batch["frame_mask"]
    expected = ((out.frames - batch["labels"]) ** 2)[mask].mean()  # pose_mean 0, std 1: labels are the targets
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_padding_changes_neither_loss_nor_real_frames(model):
    batch = _batch()
    args = (batch["input_ids"], batch["attention_mask"])
    out = model(*args, batch["labels"], batch["frame_mask"], language="ase")
    labels = batch["labels"].clone()
    labels[~batch["frame_mask"]] = 123.0  # garbage in the padding
    longer = torch.cat([labels, torch.full((3, 6, 151), -7.0)], dim=1)
    mask = torch.cat([batch["frame_mask"], torch.zeros(3, 6, dtype=torch.bool)], dim=1)
    padded = model(*args, longer, mask, language="ase")
    assert padded.loss.item() == pytest.approx(out.loss.item(), abs=1e-6)
    np.testing.assert_allclose(
        padded.frames[:, :8][batch["frame_mask"]].detach(), out.frames[batch["frame_mask"]].detach(), atol=1e-5
    )  # noqa: E501


def test_gradients_reach_only_the_languages_in_the_batch(model):
    batch = _batch()
    model(
        batch["input_ids"], batch["attention_mask"], batch["labels"], batch["frame_mask"], language="gsg"
    ).loss.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.groups["ase"].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.groups["gsg"].parameters())


def test_mixed_language_batches_are_routed(model):
    batch = _batch()
    args = (batch["input_ids"], batch["attention_mask"], batch["labels"], batch["frame_mask"])
    mixed = model(*args, language=["ase", "gsg", "ase"])
    only_gsg = model(*args, language="gsg")
    only_ase = model(*args, language="ase")
    torch.testing.assert_close(mixed.frames[1], only_gsg.frames[1])
    torch.testing.assert_close(mixed.frames[2], only_ase.frames[2])


def test_normalisation_uses_the_data_statistics():
    torch.manual_seed(0)
    config = tiny_config(pose_mean=[1.0] * 150, pose_std=[2.0] * 150)
    model = SignLLMForPoseGeneration(config)
    poses = torch.randn(2, 150)
    torch.testing.assert_close(model.denormalize(model.normalize(poses)), poses)
    torch.testing.assert_close(model.normalize(torch.full((150,), 3.0)), torch.ones(150))


def test_add_language_leaves_others_bit_identical(model, tmp_path):
    model.eval()
    ids = torch.tensor([[5, 6, 7, 2]])
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before = model.generate(ids, language="ase", max_frames=10).poses
    model.add_language("KSL", init_from="ase")
    assert model.config.languages == ["ase", "gsg", "kvk"]
    assert all(torch.equal(before_state[k], v) for k, v in model.state_dict().items() if k in before_state)
    assert torch.equal(model.generate(ids, language="ase", max_frames=10).poses, before)
    torch.testing.assert_close(model.generate(ids, language="kvk", max_frames=10).poses, before)  # a copy of ase
    fresh = model.add_language("tsm")
    assert not torch.equal(fresh.decoder.pose_head.weight, model.groups["ase"].decoder.pose_head.weight)
    with pytest.raises(ValueError, match="already has language 'ase'"):
        model.add_language("ASL")


def test_language_groups_freeze_save_and_load(model, tmp_path):
    model.freeze_language("ase")
    assert not any(p.requires_grad for p in model.groups["ase"].parameters())
    assert all(p.requires_grad for p in model.groups["gsg"].parameters())
    model.save_language("gsg", tmp_path / "gsg.safetensors")
    other = SignLLMForPoseGeneration(tiny_config(languages=["ase"], future_prediction=2))
    other.load_language("DGS", tmp_path / "gsg.safetensors")
    assert other.config.languages == ["ase", "gsg"]
    for (name, a), (_, b) in zip(model.groups["gsg"].state_dict().items(), other.groups["gsg"].state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="trained with another future_prediction than this model's"):
        SignLLMForPoseGeneration(tiny_config()).load_language("gsg", tmp_path / "gsg.safetensors")


def test_bad_inputs(model):
    batch = _batch()
    args = (batch["input_ids"], batch["attention_mask"])
    with pytest.raises(ValueError, match=r"no language 'kvk'; its languages are \['ase', 'gsg'\]"):
        model(*args, batch["labels"], batch["frame_mask"], language="kvk")
    with pytest.raises(ValueError, match="pass `language`"):
        model(*args, batch["labels"], batch["frame_mask"])
    labels = batch["labels"].clone()
    labels[0, 1, 3] = float("nan")
    with pytest.raises(ValueError, match="`labels` contain NaN"):
        model(*args, labels, batch["frame_mask"], language="ase")
    with pytest.raises(ValueError, match="at least one token"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), language="ase")
    with pytest.raises(ValueError, match=r"`max_frames` must be > 0, got 0"):
        model.generate(args[0], language="ase", max_frames=0)
    with pytest.raises(ValueError, match="151 channels"):
        model(*args, batch["labels"][..., :150], batch["frame_mask"], language="ase")


def test_long_text_is_truncated_with_a_warning(caplog):
    model = SignLLMForPoseGeneration(tiny_config(max_text_length=4)).eval()
    with caplog.at_level("WARNING"):
        out = model.generate(torch.arange(3, 13)[None], language="ase", max_frames=3)
    assert "truncating" in caplog.text and out.poses.shape[0] == 1


def test_pretrained_text_encoder(tmp_path):
    from transformers import AutoModel, BertConfig, BertModel

    torch.manual_seed(0)
    bert = BertModel(
        BertConfig(vocab_size=80, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    )
    bert.save_pretrained(tmp_path / "bert")
    model = SignLLMForPoseGeneration.from_text_encoder(
        tmp_path / "bert", **tiny_config().to_dict() | {"vocab_size": 80}
    )
    for group in model.groups.values():  # each group got the encoder's weights
        torch.testing.assert_close(
            group.encoder.pretrained.embeddings.word_embeddings.weight, bert.embeddings.word_embeddings.weight
        )  # noqa: E501
    model.save_pretrained(tmp_path / "signllm")
    again = AutoModel.from_pretrained(tmp_path / "signllm").eval()
    ids = torch.tensor([[2, 5, 9, 3]])
    torch.testing.assert_close(
        again.generate(ids, language="gsg", max_frames=5).poses,
        model.eval().generate(ids, language="gsg", max_frames=5).poses,
    )
    frozen = SignLLMForPoseGeneration.from_text_encoder(
        bert, **tiny_config(freeze_text_encoder=True).to_dict() | {"vocab_size": 80}
    )  # noqa: E501
    assert not any(p.requires_grad for p in frozen.groups["ase"].encoder.pretrained.parameters())


def test_paper_style_name():
    model = SignLLMForPoseGeneration(tiny_config())
    size = sum(p.numel() for p in model.groups["ase"].parameters())
    assert model.parameters_per_language() == size
    assert model.paper_name() == f"SignLLM-2x{size / 1e3:.0f}K-Custom-M"
    shared = SignLLMForPoseGeneration(tiny_config(mode="prompt2langgloss"))
    assert shared.paper_name().endswith("-Custom-P") and list(shared.groups) == ["shared"]


def test_bfloat16_forward_and_exact_statistics():
    config = tiny_config(pose_mean=[640.3] * 150, pose_std=[0.5] * 150)
    model = SignLLMForPoseGeneration(config).to(torch.bfloat16)
    batch = _batch()
    out = model(batch["input_ids"], batch["attention_mask"], batch["labels"], batch["frame_mask"], language="ase")
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    mean, _ = model.statistics()
    assert mean[0].item() == pytest.approx(640.3, abs=1e-4)  # not rounded to bf16's 640.0


def test_nan_in_padded_frames_is_fine_but_not_in_real_ones(model):
    batch = _batch()
    labels = batch["labels"].clone()
    labels[0, 6] = float("nan")  # row 0 has 5 real frames: frame 6 is padding
    out = model(batch["input_ids"], batch["attention_mask"], labels, batch["frame_mask"], language="ase")
    assert torch.isfinite(out.loss)
    labels[0, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN/inf in real frames"):
        model(batch["input_ids"], batch["attention_mask"], labels, batch["frame_mask"], language="ase")


def test_models_do_not_share_their_config():
    config = tiny_config()
    first, second = SignLLMForPoseGeneration(config), SignLLMForPoseGeneration(config)
    first.add_language("kvk")
    assert config.languages == ["ase", "gsg"] and second.config.languages == ["ase", "gsg"]
    with pytest.raises(ValueError, match="no language 'kvk'"):
        second.generate(torch.tensor([[5, 2]]), language="kvk")


def test_unregistered_language_codes_are_kept(caplog, tmp_path):
    with caplog.at_level("WARNING"):
        model = SignLLMForPoseGeneration(tiny_config(languages=["ase", "qqq"]))
    assert model.config.languages == ["ase", "qqq"] and "not in this installation's registry" in caplog.text
    model.save_pretrained(tmp_path)
    assert SignLLMForPoseGeneration.from_pretrained(tmp_path).config.languages == ["ase", "qqq"]


def test_resize_token_embeddings_keeps_rows_dtype_and_freezing(model):
    old = model.groups["gsg"].encoder.embed_tokens.weight.detach().clone()
    model.freeze_language("gsg")
    assert model.resize_token_embeddings(None) is model.get_input_embeddings()
    model.resize_token_embeddings(330, pad_to_multiple_of=16)
    assert model.config.vocab_size == 336
    new = model.groups["gsg"].encoder.embed_tokens.weight
    assert new.shape == (336, 32) and torch.equal(new[:320], old) and not new.requires_grad
    assert model.groups["ase"].encoder.embed_tokens.weight.requires_grad


def test_pretrained_encoder_embeddings_and_checkpointing():
    from transformers import BertConfig, BertModel

    bert = BertModel(
        BertConfig(vocab_size=80, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    )
    model = SignLLMForPoseGeneration.from_text_encoder(bert, **TINY_OPTIONS | {"vocab_size": 80})
    assert model.get_input_embeddings() is model.groups["ase"].encoder.pretrained.embeddings.word_embeddings
    model.activation_checkpointing_enable()
    model.resize_token_embeddings(96)
    assert model.groups["gsg"].encoder.pretrained.embeddings.word_embeddings.weight.shape[0] == 96


def test_groups_refuse_to_load_into_other_statistics(model, tmp_path):
    model.save_language("ase", tmp_path / "ase.safetensors")
    shifted = SignLLMForPoseGeneration(tiny_config(future_prediction=2, pose_mean=[3.0] * 150))
    with pytest.raises(ValueError, match="trained with another statistics"):
        shifted.load_language("ase", tmp_path / "ase.safetensors")
