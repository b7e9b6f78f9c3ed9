import numpy as np
import pytest
import torch

from signllm_hf.conversion.lifting import (
    LiftingBatch,
    clip_objectives,
    forward_kinematics,
    initial_estimate,
    joints_last,
    lift_clips,
    prepare_keypoints,
    solve_adam,
    solve_reference,
    weighted_interpolation,
)
from signllm_hf.data.skeleton import BONE_LENGTH_IDS, BONES, bone_lengths
from tests.conftest import known_motion, projected


def _reference_interpolation(values, weights, mass=0.99):
    # The Prompt2Sign tool's loop, transcribed: grow the window on both sides until the weights reach `mass`.
    num_frames, num_joints = weights.shape
    result = np.zeros_like(values)
    for t in range(num_frames):
        for j in range(num_joints):
            total, weighted, delta = weights[t, j], weights[t, j] * values[t, j], 0
            while total < mass:
                changed, delta = False, delta + 1
                for other in (t + delta, t - delta):
                    if 0 <= other < num_frames:
                        total, weighted, changed = (
                            total + weights[other, j],
                            weighted + weights[other, j] * values[other, j],
                            True,
                        )  # noqa: E501
                if not changed:
                    break
            result[t, j] = weighted / total if total > 0 else 0
    return result


def test_weighted_interpolation_matches_the_reference_loop():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 6, 2))
    weights = rng.uniform(0, 1, (40, 6)) * (rng.uniform(size=(40, 6)) > 0.5)
    weights[:, 5] = 0  # a joint never seen
    np.testing.assert_allclose(
        weighted_interpolation(values, weights), _reference_interpolation(values, weights), atol=1e-12
    )


def test_prepare_prunes_low_confidence_frames_and_normalises():
    keypoints = projected(known_motion(1)[0])
    keypoints[5, :, 2] = 0.1  # mean body confidence below 0.3: the frame counts as missing
    clip = prepare_keypoints(keypoints)
    assert (clip.weights[5] == 0).all() and (clip.weights[4] > 0).all()
    seen = clip.weights > 0
    assert abs(clip.targets[seen].mean()) < 0.2 and 0.9 < clip.targets[seen].std() < 1.1
    assert np.isfinite(clip.targets).all()
    with pytest.raises(ValueError, match="no confident keypoint"):
        prepare_keypoints(np.zeros((4, 50, 3)))


def test_initial_estimate_reprojects_reachable_bones_exactly():
    clip = prepare_keypoints(projected(known_motion(1)[0]))
    log_lengths, roots, directions = initial_estimate(clip.targets, clip.weights)
    positions = (
        forward_kinematics(
            torch.from_numpy(log_lengths)[None],
            torch.from_numpy(roots)[None, :, :, None],
            torch.from_numpy(directions)[None].permute(0, 1, 3, 2),
        )[0]
        .permute(0, 2, 1)
        .numpy()
    )
    assert (directions[..., 2] >= 0).all()  # Algorithm 1: depth non-negative from parent to child
    np.testing.assert_allclose(positions[:, 0, :2], clip.targets[:, 0], atol=2e-3)  # the root sits on the nose
    error = np.linalg.norm(positions[..., :2] - clip.targets, axis=-1)
    assert np.median(error) < 0.05


def test_known_skeleton_comes_back():
    truth = known_motion(3)
    result = lift_clips([projected(pose) for pose in truth])
    for pose, reference in zip(result.poses, truth):
        assert pose.shape == reference.shape and np.isfinite(pose).all()
        lengths = bone_lengths(pose)
        assert (lengths.std(axis=0) / lengths.mean(axis=0)).max() < 0.01  # rigid over time
        for length_id in np.unique(BONE_LENGTH_IDS):  # left and right limbs are symmetric
            same = lengths[0, length_id == BONE_LENGTH_IDS]
            np.testing.assert_allclose(same, same[0], rtol=1e-4)  # equal up to float32 rounding
    # Small reprojection error (in units of the clip's pooled standard deviation), far below a pose's extent.
    assert result.objectives["reprojection"].max() < 2e-3
    truth_ratio = bone_lengths(truth[0])[0, 2] / bone_lengths(truth[0])[0, 1]  # upper arm / half shoulder width
    lifted_ratio = bone_lengths(result.poses[0])[0, 2] / bone_lengths(result.poses[0])[0, 1]
    assert lifted_ratio == pytest.approx(truth_ratio, rel=0.15)


def test_objective_is_the_reference_tools_recomputed_by_hand():
    """Reprojection + 0.001 x the 25 bone lengths + 0.1 x smoothness, per clip (README, conversion/README.md)."""
    truth = known_motion(2)
    clips = [prepare_keypoints(projected(truth[0])), prepare_keypoints(projected(truth[1])[:9])]  # padding too
    batch = LiftingBatch.from_clips(clips)
    log_lengths, roots, directions = batch.parameters()
    with torch.no_grad():
        log_lengths += 0.3  # away from the start, so that every term counts
        directions += 0.05 * torch.randn(directions.shape, generator=torch.Generator().manual_seed(0))
        terms = {k: v.numpy() for k, v in clip_objectives(batch, log_lengths, roots, directions).items()}
        positions = joints_last(forward_kinematics(log_lengths, roots, directions)).astype(np.float64)
    first_bone_of_each_length = [list(BONE_LENGTH_IDS).index(i) for i in np.unique(BONE_LENGTH_IDS)]
    for index, clip in enumerate(clips):
        frames = len(clip.targets)
        pose = positions[index, :frames]
        reprojection = (clip.weights[..., None] * (pose[..., :2] - clip.targets) ** 2).sum() / (frames * 50)
        lengths = bone_lengths(pose[0])[first_bone_of_each_length].sum()  # 25 lengths: left and right share them
        smoothness = (np.diff(pose, axis=0) ** 2).sum() / ((frames - 1) * 50)
        assert terms["length_prior"][index] == pytest.approx(lengths, rel=1e-4)
        assert terms["reprojection"][index] == pytest.approx(reprojection, rel=1e-4)
        assert terms["smoothness"][index] == pytest.approx(smoothness, rel=1e-4)
        expected = reprojection + 0.001 * lengths + 0.1 * smoothness
        assert terms["objective"][index] == pytest.approx(expected, rel=1e-4)
        assert 0.001 * lengths > 0.01 * expected  # the prior is not negligible in this objective


def test_adam_beats_the_reference_objective_on_every_clip():
    clips = [prepare_keypoints(projected(pose)) for pose in known_motion(4)]
    batch = LiftingBatch.from_clips(clips)
    ours, reference = solve_adam(batch), solve_reference(batch, steps=300)
    assert (ours.objectives["objective"] <= reference.objectives["objective"]).all()
    assert ours.steps < 300


@pytest.mark.parametrize("solver", ["adam", "reference"])
def test_batching_is_invisible_to_each_clip(solver):
    # Per-clip objectives, per-clip seeds and per-clip stopping: a clip lifts the same alone, elsewhere in a batch,
    # or next to a noisy clip that needs many more steps.
    poses = [projected(pose) for pose in known_motion(3)]
    noisy = poses[2].copy()
    noisy[..., :2] += np.random.default_rng(1).normal(0, 20, noisy[..., :2].shape)
    options = {"steps": 50} if solver == "reference" else {}
    alone = lift_clips(poses[:1], solver=solver, **options).poses[0]
    together = lift_clips([noisy, poses[1], poses[0]], solver=solver, **options).poses[2]
    np.testing.assert_allclose(alone, together, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 2"):
        lift_clips([projected(known_motion(1)[0])[:1]])
    with pytest.raises(ValueError, match="`solver` must be"):
        lift_clips([projected(known_motion(1)[0])], solver="lbfgs")
    assert len(BONES) == 49
