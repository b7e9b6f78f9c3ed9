"""The pose tokenizer (SignLLMPoseVQ): shapes, ids, padding, saving, Auto classes, the codebook, learning, errors."""

import pytest
import torch
from transformers import AutoConfig, AutoModel

from signllm_hf import SignLLMPoseVQ, SignLLMPoseVQConfig
from signllm_hf.modeling_signllm_pose_vq import features_to_poses, pose_features
from tests.conftest import known_motion, random_pose

TINY = {"hidden_size": 16, "code_dim": 8, "res_blocks": 1}
VARIANTS = [
    {"quantizer": "vq", "codebooks": "joint", "codebook_size": 16},
    {"quantizer": "vq", "codebooks": "parts", "codebook_size": 16},
    {"quantizer": "fsq", "codebooks": "joint", "codebook_size": 64},
    {"quantizer": "fsq", "codebooks": "parts", "codebook_size": 64},
]


def tiny(seed=0, **overrides) -> SignLLMPoseVQ:
    torch.manual_seed(seed)
    return SignLLMPoseVQ(SignLLMPoseVQConfig(**{**TINY, "codebook_size": 16, **overrides}))


def batch(lengths=(30, 17, 9), seed=0):
    """Smooth random poses (B, T, 150) and their prefix frame mask."""
    longest = max(lengths)
    poses = torch.zeros(len(lengths), longest, 150)
    for row, length in enumerate(lengths):
        poses[row, :length] = torch.from_numpy(random_pose(length, seed + row)).flatten(1)
    return poses, torch.arange(longest)[None] < torch.tensor(lengths)[:, None]


def test_config_defaults_and_validation():
    config = SignLLMPoseVQConfig()
    assert (config.codebook_size, config.downsample, config.stages, config.quantizer) == (1024, 4, 2, "vq")
    assert SignLLMPoseVQConfig(quantizer="fsq").fsq_levels == [8, 8, 4, 4]
    assert SignLLMPoseVQConfig(codebooks="parts", codebook_size=512).pose_vocab_size == 1536
    with pytest.raises(ValueError, match="`downsample` must be a power of two"):
        SignLLMPoseVQConfig(downsample=6)
    with pytest.raises(ValueError, match=r"`fsq_levels` \[8, 5, 5, 5\] make 1000 codes but `codebook_size` is 1024"):
        SignLLMPoseVQConfig(quantizer="fsq", fsq_levels=[8, 5, 5, 5])
    with pytest.raises(ValueError, match="no default levels for `codebook_size=1000`"):
        SignLLMPoseVQConfig(quantizer="fsq", codebook_size=1000)
    with pytest.raises(ValueError, match="`quantizer` must be one of"):
        SignLLMPoseVQConfig(quantizer="rvq")
    with pytest.raises(ValueError, match="`pose_mean` must hold 150 values"):
        SignLLMPoseVQConfig(pose_mean=[0.0] * 3)


def test_hand_relative_features_invert_exactly():
    poses = torch.from_numpy(random_pose(5)).flatten(1)
    features = pose_features(poses, hand_relative=True)
    wrist = poses.view(5, 50, 3)[:, 4]  # the right hand (29-49) hangs from the right wrist (4)
    assert torch.allclose(features.view(5, 50, 3)[:, 29], poses.view(5, 50, 3)[:, 29] - wrist)
    assert torch.equal(features[:, :24], poses[:, :24])  # the body stays
    assert torch.allclose(features_to_poses(features, hand_relative=True), poses, atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v['quantizer']}-{v['codebooks']}")
def test_shapes_ids_and_flat_round_trip(variant):
    model = tiny(**variant)
    poses, mask = batch()
    out = model(poses, mask)
    codebooks = model.config.num_codebooks
    steps = (8,) if codebooks == 1 else (8, 3)
    assert out.reconstruction.shape == (3, 30, 150) and out.ids.shape == (3, *steps)
    assert out.token_mask.sum(dim=1).tolist() == [8, 5, 3]  # ceil(30 / 4), ceil(17 / 4), ceil(9 / 4)
    assert torch.isfinite(out.loss) and out.loss.requires_grad and 1 <= float(out.perplexity) <= 16 * 4
    assert not out.reconstruction[1, 17:].any()  # padding stays zero

    model.eval()
    ids, token_mask = model.encode(poses, mask)
    assert ids.shape == (3, *steps) and ids.dtype == torch.long
    assert int(ids.min()) >= 0 and int(ids.max()) < model.config.codebook_size
    decoded = model.decode(ids, token_mask)
    assert decoded.shape == (3, 32, 150) and not decoded[2, 12:].any()  # 3 tokens x 4 frames for the 9-frame clip
    assert torch.allclose(decoded[:, :30] * mask[..., None], model(poses, mask).reconstruction, atol=1e-5)

    flat, flat_mask = model.encode_flat(poses, mask)
    assert flat.shape == (3, 8 * codebooks) and int(flat.max()) < model.config.pose_vocab_size
    if codebooks == 3:  # body, left hand, right hand in turn, each in its own id range
        size = model.config.codebook_size
        assert flat[0, 0::3].max() < size <= flat[0, 1::3].min() and flat[0, 2::3].min() >= 2 * size
    again, again_mask = model.unflatten_ids(flat, flat_mask)
    assert torch.equal(again, ids) and torch.equal(again_mask, token_mask)
    assert torch.equal(model.decode_flat(flat, flat_mask), decoded)
    lengths = [len(row) for row in model.encode_clips([poses[0, :30], poses[2, :9]])]
    assert lengths == [8 * codebooks, 3 * codebooks]


def test_a_clip_encodes_and_decodes_the_same_alone_or_padded_in_a_batch():
    model = tiny().eval()
    poses, mask = batch((30, 17, 9))
    ids, token_mask = model.encode(poses, mask)
    alone, _ = model.encode(poses[1:2, :17])
    assert torch.equal(alone[0], ids[1, :5])
    assert torch.allclose(model.decode(alone)[0], model.decode(ids, token_mask)[1, :20], atol=1e-5)


def test_save_and_load_give_the_same_outputs_through_the_auto_classes(tmp_path):
    model = tiny(codebooks="parts")
    model.config.with_data_statistics([0.5] * 150, [2.0] * 150)
    model = SignLLMPoseVQ(model.config)  # the statistics are buffers filled from the config
    poses, mask = batch()
    model.train()
    model(poses, mask)  # the first training batch initialises the codebook (k-means) and updates it
    model.eval()
    ids, token_mask = model.encode(poses, mask)
    decoded = model.decode(ids, token_mask)
    model.save_pretrained(tmp_path)

    assert type(AutoConfig.from_pretrained(tmp_path)).__name__ == "SignLLMPoseVQConfig"
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, SignLLMPoseVQ) and float(loaded.pose_std[0]) == 2.0
    assert torch.equal(loaded.encode(poses, mask)[0], ids)
    assert torch.equal(loaded.decode(ids, token_mask), decoded)
    fsq = tiny(quantizer="fsq", codebook_size=64).eval()
    fsq.save_pretrained(tmp_path / "fsq")  # FSQ's derived buffers are not saved; loading rebuilds them
    assert torch.equal(AutoModel.from_pretrained(tmp_path / "fsq").encode(poses, mask)[0], fsq.encode(poses, mask)[0])


def used_codes(threshold: float) -> int:
    model = tiny(codebook_size=32, kmeans_init=False, threshold_ema_dead_code=threshold, vq_decay=0.5)
    poses, mask = batch((32, 32, 32, 32))
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(poses, mask)
    return len(model.encode(poses, mask)[0].unique())


def test_dead_codes_are_reset_to_the_data():
    # A codebook drawn at random far from the encoder's latents: few codes are ever nearest. With a threshold the
    # unused ones are replaced by latents of the batch, and the batch spreads over many more codes.
    without, with_reset = used_codes(0.0), used_codes(2.0)
    assert without <= 8 and with_reset >= 3 * without  # measured: 6 and 29 of 32


def test_overfits_a_few_clips():
    clips = known_motion(2)  # the synthetic corpus's signs on a rigid skeleton
    poses, mask = (
        torch.stack([torch.from_numpy(c[:32]).flatten(1) for c in clips]),
        torch.ones(2, 32, dtype=torch.bool),
    )
    features = pose_features(poses.flatten(0, 1), hand_relative=True)
    model = tiny(hidden_size=32, codebook_size=32, seed=1)
    model = SignLLMPoseVQ(model.config.with_data_statistics(features.mean(dim=0), features.std(dim=0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    first = None
    for _ in range(150):
        out = model(poses, mask)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        first = first if first is not None else float(out.reconstruction_loss.detach())
    model.eval()
    error = (model.decode(*model.encode(poses, mask))[:, :32] - poses).view(2, 32, 50, 3).norm(dim=-1).mean()
    spread = (poses - poses.mean(dim=1, keepdim=True)).view(2, 32, 50, 3).norm(dim=-1).mean()
    assert float(out.reconstruction_loss) < first / 5
    assert float(error) < 0.6 * float(spread)  # measured 0.49: much closer than each clip's mean pose


def test_clear_errors_for_bad_input():
    model = tiny().eval()
    with pytest.raises(ValueError, match=r"`poses` must be \(batch, frames, 150\).*got \(1, 20, 120\)"):
        model.encode(torch.zeros(1, 20, 120))
    with pytest.raises(ValueError, match="a clip of 3 frame\\(s\\) is too short.*at least downsample=4"):
        model.encode(torch.zeros(1, 3, 150))
    with pytest.raises(ValueError, match="too short"):
        model(*batch((20, 2)))
    with pytest.raises(ValueError, match="must mark a prefix"):
        model.encode(torch.zeros(1, 8, 150), torch.tensor([[0, 1, 1, 1, 1, 1, 1, 1]], dtype=torch.bool))
    with pytest.raises(ValueError, match="NaN"):
        model.encode(torch.full((1, 8, 150), float("nan")))
    with pytest.raises(ValueError, match=r"ids must be in \[0, codebook_size=16\), got \[0, 16\]"):
        model.decode(torch.tensor([[0, 16]]))
    with pytest.raises(ValueError, match=r"`ids` must be \(batch, steps\)"):
        model.decode(torch.zeros(1, 2, 3, dtype=torch.long))
    parts = tiny(codebooks="parts").eval()
    with pytest.raises(ValueError, match="flat id 3 at row 0, step 0 is not a code of codebook 1 \\(left_hand"):
        parts.decode_flat(torch.tensor([[0, 3, 40]]))
    with pytest.raises(ValueError, match="one id per codebook per step"):
        parts.decode_flat(torch.tensor([[0, 16]]))
