"""Tests for poseaug_tf/core/geometry.py against tests/numpy_reference.py and invariants."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import geometry, skeleton
from tests import numpy_reference as ref

RTOL32 = 1e-5


@pytest.fixture
def pose(rng):
    return ref.random_pose(rng, 40).astype(np.float32)


def test_root_relative(pose):
    rel = geometry.root_relative(pose).numpy()
    np.testing.assert_array_equal(rel[:, 0], 0.0)
    np.testing.assert_allclose(rel, pose - pose[:, :1], rtol=RTOL32)


def test_bones_match_reference(pose):
    np.testing.assert_allclose(geometry.bones_from_pose(pose).numpy(), ref.pose_to_bones(pose), rtol=RTOL32, atol=1e-6)
    lengths = np.linalg.norm(ref.pose_to_bones(pose), axis=-1)
    np.testing.assert_allclose(geometry.bone_lengths(pose).numpy(), lengths, rtol=RTOL32)
    np.testing.assert_allclose(np.linalg.norm(geometry.unit_bones(pose).numpy(), axis=-1), 1.0, rtol=RTOL32)


def test_inverse_hierarchy_gives_root_relative_pose(pose):
    bones = geometry.bones_from_pose(pose)
    rebuilt = geometry.pose_from_bones(bones).numpy()
    np.testing.assert_allclose(rebuilt, pose - pose[:, :1], atol=1e-5)
    np.testing.assert_allclose(rebuilt, ref.bones_to_pose(bones.numpy()), atol=1e-6)
    # Worked example of docs/reference.md §1.3: LWrist = -(b6 + b7 + b9 + b10 + b11).
    b = bones.numpy()
    np.testing.assert_allclose(rebuilt[:, 12], -(b[:, 6] + b[:, 7] + b[:, 9] + b[:, 10] + b[:, 11]), atol=1e-6)


def test_kcs_matches_reference(pose):
    bones = geometry.bones_from_pose(pose[:6]).numpy()
    np.testing.assert_allclose(geometry.kcs_matrix(bones).numpy(), ref.kcs(bones), rtol=RTOL32, atol=1e-7)
    np.testing.assert_allclose(geometry.part_kcs(bones).numpy(), ref.part_kcs(bones), rtol=RTOL32, atol=1e-7)


def test_part_kcs_of_unit_bones_is_invariant(rng, pose):
    pose = pose[:8].astype(np.float64)
    base = geometry.part_kcs(geometry.unit_bones(pose)).numpy()
    # Diagonal: 1 for every bone inside a part, 0 outside.
    for p, bones in enumerate(ref.KCS_PART_BONES):
        expected_diag = np.isin(np.arange(15), bones).astype(np.float64)
        np.testing.assert_allclose(
            np.diagonal(base[:, p], axis1=-2, axis2=-1), np.broadcast_to(expected_diag, (8, 15)), atol=1e-12
        )
    rotation = ref.random_rotation(rng)
    rotated = pose @ rotation.T + rng.normal(size=3)
    np.testing.assert_allclose(geometry.part_kcs(geometry.unit_bones(rotated)).numpy(), base, atol=1e-12)
    stretched = ref.bones_to_pose(ref.pose_to_bones(pose) * rng.uniform(0.5, 2.0, size=(8, 15, 1)))
    np.testing.assert_allclose(geometry.part_kcs(geometry.unit_bones(stretched)).numpy(), base, atol=1e-12)


def test_axis_angle_matches_rodrigues(rng):
    directions = rng.normal(size=(12, 3))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    angles = np.array([1e-7, 1e-4, 1e-3, 0.1, 0.5, 1.0, 2.0, 3.0, np.pi - 1e-3, np.pi, 4.0, 6.0])
    rotvecs = directions * angles[:, None]
    expected = np.stack([ref.rodrigues(r) for r in rotvecs])
    np.testing.assert_allclose(geometry.axis_angle_to_matrix(rotvecs).numpy(), expected, atol=1e-12)
    got32 = geometry.axis_angle_to_matrix(rotvecs.astype(np.float32)).numpy()
    np.testing.assert_allclose(got32, expected, atol=2e-6)
    np.testing.assert_allclose(got32 @ np.swapaxes(got32, -1, -2), np.broadcast_to(np.eye(3), got32.shape), atol=2e-6)
    np.testing.assert_allclose(np.linalg.det(got32.astype(np.float64)), 1.0, atol=2e-6)
    np.testing.assert_array_equal(
        geometry.axis_angle_to_matrix(np.zeros((2, 3), np.float32)).numpy(),
        np.broadcast_to(np.eye(3, dtype=np.float32), (2, 3, 3)),
    )


def test_axis_angle_gradient_at_zero_is_exact():
    weights = tf.constant(np.arange(9.0).reshape(3, 3), tf.float32)
    r = tf.zeros((3,), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(r)
        loss = tf.reduce_sum(geometry.axis_angle_to_matrix(r) * weights)
    grad = tape.gradient(loss, r).numpy()
    assert np.all(np.isfinite(grad))
    # dR/dr_i at 0 is the generator [e_i]_x, so d loss / d r_i = <W, [e_i]_x>.
    expected = [np.sum(weights.numpy() * ref.skew(np.eye(3)[i])) for i in range(3)]
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_axis_angle_gradient_finite_near_threshold(rng):
    rotvecs = tf.constant(rng.normal(size=(6, 3)) * np.array([0, 1e-8, 1e-4, 1e-3, 1e-2, 1.0])[:, None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(rotvecs)
        loss = tf.reduce_sum(tf.square(geometry.axis_angle_to_matrix(rotvecs)))
    assert np.all(np.isfinite(tape.gradient(loss, rotvecs).numpy()))


def test_rotate_points_keeps_bone_lengths(rng, pose):
    rotvecs = rng.normal(size=(pose.shape[0], 3))
    matrices = np.stack([ref.rodrigues(r) for r in rotvecs])
    rotated = geometry.rotate_points(pose.astype(np.float64), matrices).numpy()
    np.testing.assert_allclose(rotated, np.einsum("nij,nkj->nki", matrices, pose), atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.norm(ref.pose_to_bones(rotated), axis=-1), np.linalg.norm(ref.pose_to_bones(pose), axis=-1), rtol=1e-6
    )


@pytest.mark.parametrize("name", ["bones_from_pose", "unit_bones", "root_relative", "axis_angle_to_matrix"])
def test_graph_equals_eager(name, pose):
    fn = getattr(geometry, name)
    x = tf.constant(pose[:, 1] - pose[:, 0] if name == "axis_angle_to_matrix" else pose)
    graph_fn = tf.function(fn)
    np.testing.assert_allclose(graph_fn(x).numpy(), fn(x).numpy(), rtol=1e-6, atol=1e-7)
    assert graph_fn.experimental_get_tracing_count() == 1
    mapped = next(iter(tf.data.Dataset.from_tensor_slices(x).map(fn).batch(len(pose))))
    np.testing.assert_allclose(mapped.numpy(), fn(x).numpy(), rtol=1e-6, atol=1e-7)


def test_part_kcs_graph_equals_eager(pose):
    bones = geometry.unit_bones(pose)
    graph_fn = tf.function(lambda b: geometry.part_kcs(b))
    np.testing.assert_allclose(graph_fn(bones).numpy(), geometry.part_kcs(bones).numpy(), rtol=1e-6, atol=1e-7)


def test_bad_shapes():
    with pytest.raises(ValueError, match="pose"):
        geometry.bones_from_pose(np.zeros((2, 17, 3), np.float32))
    with pytest.raises(ValueError, match="bones"):
        geometry.pose_from_bones(np.zeros((2, 16, 3), np.float32))
    with pytest.raises(ValueError, match="axis_angle"):
        geometry.axis_angle_to_matrix(np.zeros((2, 4), np.float32))


# --- joint layouts and the mirror ------------------------------------------------------------------------------
def test_h36m32_tables_pick_the_kept_rows(rng):
    pose32 = rng.normal(size=(3, 32, 2)).astype(np.float32)
    pose16 = pose32[:, list(skeleton.H36M32_TO_16)]
    for j, source in enumerate(ref.H36M32_KEPT_16):
        np.testing.assert_array_equal(pose16[:, j], pose32[:, source])
    via17 = pose32[:, list(skeleton.H36M32_TO_17)][:, list(skeleton.H17_TO_16)]
    np.testing.assert_array_equal(via17, pose16)


def test_flip_twice_is_identity(rng):
    for channels in (2, 3):
        pose = rng.normal(size=(4, 16, channels)).astype(np.float32)
        np.testing.assert_array_equal(geometry.flip_pose(geometry.flip_pose(pose)).numpy(), pose)


def test_flip_swaps_sides_and_negates_x(rng):
    pose = rng.normal(size=(3, 16, 3)).astype(np.float32)
    flipped = geometry.flip_pose(pose).numpy()
    names = list(skeleton.JOINT_NAMES)
    for j, name in enumerate(names):
        mirror = {"L": "R", "R": "L"}[name[0]] + name[1:] if name[0] in "LR" else name
        source = names.index(mirror)
        np.testing.assert_array_equal(flipped[:, j], pose[:, source] * np.array([-1.0, 1.0, 1.0], np.float32))
    flipped_y = geometry.flip_pose(pose, mirror_axis=1).numpy()
    np.testing.assert_array_equal(flipped_y[:, 0], pose[:, 0] * np.array([1.0, -1.0, 1.0], np.float32))


def test_flip_graph_equals_eager(rng):
    pose16 = tf.constant(rng.normal(size=(4, 16, 3)), tf.float32)
    graph_fn = tf.function(geometry.flip_pose)
    np.testing.assert_array_equal(graph_fn(pose16).numpy(), geometry.flip_pose(pose16).numpy())
    assert graph_fn.experimental_get_tracing_count() == 1


def test_bad_joint_counts():
    with pytest.raises(ValueError, match="16 joints"):
        geometry.flip_pose(np.zeros((2, 17, 3), np.float32))
