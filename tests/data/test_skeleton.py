import numpy as np
import pytest

from signllm_hf.data import skeleton as sk


def test_joint_and_bone_counts():
    assert sk.NUM_JOINTS == len(sk.JOINT_NAMES) == 50
    assert len(sk.BONES) == 49
    assert sk.FRAME_SIZE == 150
    assert sorted({length_id for _, _, length_id in sk.BONES}) == list(range(sk.NUM_BONE_LENGTHS))


def test_tree_is_rooted_at_nose_and_ordered():
    assert sk.PARENTS[0] == -1 and (sk.PARENTS[1:] >= 0).all()
    seen = {0}
    for parent, child, _ in sk.BONES:  # parents are always placed before their children
        assert parent in seen
        seen.add(child)
    assert seen == set(range(50))


def test_ancestor_matrix_is_forward_kinematics():
    rng = np.random.default_rng(0)
    offsets = rng.normal(size=(49, 3))
    positions = np.zeros((50, 3))
    for k, (parent, child, _) in enumerate(sk.BONES):  # the loop the matrix replaces
        positions[child] = positions[parent] + offsets[k]
    np.testing.assert_allclose(sk.ANCESTORS @ offsets, positions, atol=1e-12)
    assert sk.ANCESTORS[0].sum() == 0 and sk.ANCESTORS[49].sum() == 9


def test_hands_hang_from_the_body_wrists_and_share_length_ids():
    assert sk.PARENTS[8] == sk.LEFT_HAND_ROOT == 7
    assert sk.PARENTS[29] == sk.RIGHT_HAND_ROOT == 4
    assert sk.JOINT_NAMES[8] == "left_hand_wrist" and sk.JOINT_NAMES[49] == "right_hand_pinky_tip"
    by_child = {child: length_id for _, child, length_id in sk.BONES}
    for left, right in zip(range(8, 29), range(29, 50)):
        assert by_child[left] == by_child[right]
    assert by_child[3] == by_child[6] and by_child[2] == by_child[5]


def test_mirror_is_an_involution_that_swaps_sides():
    pose = np.random.default_rng(0).normal(size=(4, 50, 3))
    mirrored = sk.mirror(pose)
    np.testing.assert_allclose(sk.mirror(mirrored), pose)
    np.testing.assert_allclose(mirrored[:, 4, 0], -pose[:, 7, 0])  # right wrist <- left wrist, x negated
    np.testing.assert_allclose(sk.bone_lengths(mirrored).sum(), sk.bone_lengths(pose).sum(), rtol=1e-12)


def test_bone_lengths_and_shoulder_width():
    pose = np.zeros((50, 3))
    pose[2] = [-0.5, 0, 0]
    pose[5] = [0.5, 0, 0]
    assert sk.shoulder_width(pose) == pytest.approx(1.0)
    assert sk.bone_lengths(pose)[1] == pytest.approx(0.5)  # neck -> right shoulder


def test_check_pose_rejects_nan_and_bad_shapes():
    pose = np.zeros((3, 50, 3))
    pose[1, 7, 2] = np.nan
    with pytest.raises(
        ValueError, match=r"my.skels line 4: 1 NaN/inf values, first at frame 1 joint 7 \(left_wrist\)"
    ):
        sk.check_pose(pose, "my.skels line 4")
    with pytest.raises(ValueError, match=r"expected a pose of shape \(frames, 50, 3\), got \(3, 49, 3\)"):
        sk.check_pose(np.zeros((3, 49, 3)), "x")
    assert sk.check_pose(np.zeros((2, 150)), "flat").shape == (2, 50, 3)


def test_joint_index_error_suggests_names():
    with pytest.raises(KeyError, match="unknown joint"):
        sk.joint_index("left_thumb")


def test_named_joints_and_hands_by_side():
    assert sk.JOINT_NAMES[sk.NECK] == "neck"
    for side, (hand, wrist) in sk.HANDS_BY_SIDE.items():
        assert sk.JOINT_NAMES[wrist] == f"{side}_wrist" and sk.JOINT_NAMES[hand.start] == f"{side}_hand_wrist"
        assert hand.stop - hand.start == 21
