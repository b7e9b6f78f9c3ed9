import json

import pytest

from signllm_hf import SignLLMConfig
from signllm_hf.configuration_signllm import PRESETS


def test_presets_follow_the_paper():
    base = SignLLMConfig.from_preset("base")
    assert (base.encoder_layers, base.decoder_layers, base.attention_heads, base.d_model, base.ffn_dim) == (
        2,
        2,
        4,
        512,
        2048,
    )
    assert SignLLMConfig.from_preset("Large").d_model == 2 * base.d_model
    assert SignLLMConfig.from_preset("super").ffn_dim == 4 * base.ffn_dim
    assert set(PRESETS) == {"base", "large", "super"}
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        SignLLMConfig.from_preset("huge")


def test_save_load_round_trip(tmp_path):
    options = {"future_prediction": 3, "gaussian_noise": 0.1, "decoder_input": "position", "max_frames": 123}
    config = SignLLMConfig.from_preset(
        "base", languages=["ASL", "DGS"], pose_mean=[0.5] * 150, pose_std=[2.0] * 150, **options
    )
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "signllm" and saved["languages"] == ["ase", "gsg"] and saved["max_frames"] == 123
    loaded = SignLLMConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.output_size == 151 and loaded.hidden_size == 512


def test_progressive_transformers_just_counter_is_decoder_input_counter():
    assert SignLLMConfig(just_counter=True).decoder_input == "counter"
    assert SignLLMConfig(just_counter=False).decoder_input == "frame"
    assert "just_counter" not in SignLLMConfig(just_counter=True).to_dict()


def test_data_statistics_are_recorded():
    stats = {"mean": [0.1] * 150, "std": [0.0] + [1.0] * 149, "fps": 30.0}
    config = SignLLMConfig().with_data_statistics(stats)
    assert config.fps == 30.0 and config.pose_std[0] > 0 and config.pose_mean[0] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "shared"}, "`mode` must be one of"),
        ({"max_frames": 0}, r"`max_frames` must be > 0, got 0"),
        ({"max_frames": 2.5}, r"`max_frames` must be a whole number of frames, got 2.5 \(float\)"),
        ({"max_positions": True}, r"`max_positions` must be a whole number of frames, got True \(bool\)"),
        ({"max_frames": 500, "max_positions": 400}, r"`max_frames` \(500\) must be <= `max_positions` \(400\)"),
        ({"future_prediction": -1}, r"`future_prediction` must be >= 0, got -1"),
        ({"d_model": 30}, r"`d_model` \(30\) must be a positive multiple of `attention_heads` \(4\)"),
        ({"languages": []}, "at least one sign language"),
        ({"languages": ["klingon"]}, "unknown sign language 'klingon'"),
        ({"pose_mean": [0.0] * 3}, r"`pose_mean` must hold 150 values"),
        ({"pose_std": [0.0] * 150}, r"`pose_std` values must be > 0"),
        ({"stop_rule": "never"}, "`stop_rule` must be one of"),
        ({"decoder_input": "counter", "use_counter": False}, "`decoder_input='counter'` needs `use_counter=True`"),
        ({"decoder_input": "gloss"}, "`decoder_input` must be one of"),
        ({"counter_loss_weight": 0}, "`counter_loss_weight` must be > 0"),
    ],
)
def test_validation_names_the_field_and_value(overrides, message):
    with pytest.raises(ValueError, match=message):
        SignLLMConfig(**overrides)


def test_one_language_rule_for_config_and_model():
    """A well-formed code outside the registry: the config keeps it, and so must the model (it once refused it)."""
    from signllm_hf import SignLLMForPoseGeneration  # noqa: PLC0415

    config = SignLLMConfig(
        languages=["qqz", "ASL"],
        d_model=16,
        ffn_dim=32,
        attention_heads=2,
        encoder_layers=1,
        decoder_layers=1,
        vocab_size=20,
    )
    assert config.languages == ["qqz", "ase"]
    model = SignLLMForPoseGeneration(config)
    assert model.resolve_language("qqz") == "qqz" and model.resolve_language("ASL") == "ase"
    model.add_language("qqy")
    assert model.resolve_language("qqy") == "qqy" and model.config.languages == ["qqz", "ase", "qqy"]
    with pytest.raises(ValueError, match="no language 'xq'"):
        model.resolve_language("xq")
