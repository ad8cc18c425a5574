"""Tests for poseaug_tf/core/metrics.py against closed forms, invariants and tests/numpy_reference.py."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import metrics
from tests import numpy_reference as ref


def _similarity(pose: np.ndarray, rotation: np.ndarray, scale: float, translation: np.ndarray) -> np.ndarray:
    """s * R x + t for every joint (column-vector convention)."""
    return scale * pose @ rotation.T + translation


@pytest.fixture
def poses(rng):
    target = ref.random_pose(rng, 24)
    pred = target + rng.normal(scale=0.05, size=target.shape)
    return pred, target


def test_mpjpe_matches_loop_reference(poses):
    pred, target = poses
    np.testing.assert_allclose(metrics.mpjpe(pred, target), ref.mean_joint_error(pred, target), rtol=1e-12)


def test_size_ratio_is_the_scale_whatever_the_placement(rng):
    target = ref.random_pose(rng, 5)
    scale = np.array([0.8, 1.0, 1.07, 1.2, 2.0])
    angle = rng.uniform(-np.pi, np.pi)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    pred = scale[:, None, None] * target @ rotation.T + rng.normal(size=(5, 1, 3))  # scaled, turned, moved
    np.testing.assert_allclose(metrics.size_ratio(pred, target), scale, rtol=1e-12)
    # Closed forms: joints at x = 0, 0, 3 are √((1 + 1 + 4) / 3) = √2 from their centroid (RMS), at x = 0, 1, 2
    # √(2 / 3); two joints 4 apart are 2 from theirs, 2 apart 1.
    on_x = lambda *xs: np.array([[[x, 0.0, 0.0] for x in xs]])  # noqa: E731
    np.testing.assert_allclose(metrics.size_ratio(on_x(0, 0, 3), on_x(0, 1, 2)), [np.sqrt(3.0)])
    np.testing.assert_allclose(metrics.size_ratio(on_x(0, 4), on_x(5, 7)), [2.0])


def test_mpjpe_closed_form():
    target = np.zeros((2, 16, 3))
    pred = np.zeros((2, 16, 3))
    pred[0, :, 0] = 3.0
    pred[0, :, 1] = 4.0  # every joint 5 units away
    pred[1, :8, 2] = 16.0  # half the joints 16 units away
    np.testing.assert_array_equal(metrics.mpjpe(pred, target), [5.0, 8.0])


def test_mpjpe_does_not_root_align():
    target = np.zeros((1, 16, 3))
    pred = target + np.array([0.0, 0.0, 0.25])
    np.testing.assert_allclose(metrics.mpjpe(pred, target), [0.25])


def test_pa_mpjpe_zero_for_similarity_transform(rng):
    target = ref.random_pose(rng, 8)
    pred = np.stack(
        [_similarity(pose, ref.random_rotation(rng), rng.uniform(0.5, 2.0), rng.normal(size=3)) for pose in target]
    )
    np.testing.assert_allclose(metrics.pa_mpjpe(pred, target), 0.0, atol=1e-12)
    tf_errors = metrics.pa_mpjpe(tf.constant(pred, tf.float32), tf.constant(target, tf.float32))
    np.testing.assert_allclose(tf_errors.numpy(), 0.0, atol=1e-5)


def test_pa_mpjpe_does_not_undo_reflection(rng):
    target = ref.random_pose(rng, 8)
    mirrored = target * np.array([-1.0, 1.0, 1.0])  # det -1: not a proper rotation
    errors = metrics.pa_mpjpe(mirrored, target)
    assert np.all(errors > 0.01), errors
    np.testing.assert_allclose(errors, ref.pa_mpjpe(mirrored, target), rtol=1e-9)


def test_pa_mpjpe_matches_numpy_procrustes(poses, rng):
    pred, target = poses
    pred = np.stack([_similarity(p, ref.random_rotation(rng), 1.3, rng.normal(size=3)) for p in pred])
    expected = ref.pa_mpjpe(pred, target)
    np.testing.assert_allclose(metrics.pa_mpjpe(pred, target), expected, rtol=1e-9)
    np.testing.assert_allclose(metrics.procrustes_align(pred, target), ref.procrustes_align(pred, target), atol=1e-12)
    got_tf = metrics.pa_mpjpe(tf.constant(pred, tf.float32), tf.constant(target, tf.float32))
    assert got_tf.dtype == tf.float32
    np.testing.assert_allclose(got_tf.numpy(), expected, rtol=1e-4, atol=1e-6)


def test_pa_mpjpe_not_above_mpjpe(poses):
    pred, target = poses
    assert np.all(metrics.pa_mpjpe(pred, target) <= metrics.mpjpe(pred, target) + 1e-12)


def test_numpy_path_is_float64():
    pred = np.full((3, 16, 3), 0.1, np.float32)
    target = np.zeros((3, 16, 3), np.float32)
    for fn in (metrics.mpjpe, metrics.pa_mpjpe, metrics.pck, metrics.auc):
        out = fn(pred, target)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (3,), fn.__name__
    np.testing.assert_allclose(metrics.mpjpe(pred, target), np.sqrt(3.0) * np.float64(np.float32(0.1)), rtol=1e-15)


@pytest.mark.parametrize("name", ["mpjpe", "pa_mpjpe", "pck", "auc"])
def test_graph_equals_eager(name, poses):
    pred, target = (tf.constant(p * 1000.0, tf.float32) for p in poses)
    fn = getattr(metrics, name)
    graph_fn = tf.function(fn)
    eager = fn(pred, target).numpy()
    graph = graph_fn(pred, target).numpy()
    np.testing.assert_allclose(graph, eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(eager, fn(*(p * 1000.0 for p in poses)), rtol=1e-4, atol=1e-3)
    assert graph_fn.experimental_get_tracing_count() == 1


def test_pa_mpjpe_tf_with_unknown_batch(poses):
    pred, target = poses
    spec = tf.TensorSpec((None, 16, 3), tf.float32)
    graph_fn = tf.function(metrics.pa_mpjpe, input_signature=[spec, spec])
    np.testing.assert_allclose(
        graph_fn(pred.astype(np.float32), target.astype(np.float32)).numpy(),
        ref.pa_mpjpe(pred, target),
        rtol=1e-4,
        atol=1e-6,
    )


def _errors_at(distances_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses whose joint errors are exactly `distances_mm` (N, J): offset along x."""
    target = np.zeros(distances_mm.shape + (3,))
    pred = target.copy()
    pred[..., 0] = distances_mm
    return pred, target


def test_pck_half_joints_within_threshold():
    distances = np.tile(np.array([100.0] * 8 + [200.0] * 8), (4, 1))
    pred, target = _errors_at(distances)
    np.testing.assert_array_equal(metrics.pck(pred, target), 0.5)
    # Same poses in metres.
    np.testing.assert_array_equal(metrics.pck(pred / 1000.0, target / 1000.0, mm_per_unit=1000.0), 0.5)
    # Threshold is strict: an error of exactly 100 mm is not below 100 mm.
    np.testing.assert_array_equal(metrics.pck(pred, target, threshold_mm=100.0), 0.0)
    np.testing.assert_array_equal(metrics.pck(pred, target, threshold_mm=250.0), 1.0)


def test_auc_closed_form():
    distances = np.tile(np.array([100.0] * 8 + [200.0] * 8), (2, 1))
    pred, target = _errors_at(distances)
    # PCK(t) = 0.5 for t in {105, ..., 150} (10 of the 31 thresholds), 0 otherwise.
    np.testing.assert_allclose(metrics.auc(pred, target), 0.5 * 10 / 31, rtol=1e-15)
    # Errors uniform on the threshold grid midpoints: error 2.5 + 5 i for i = 0..15 -> PCK(t=5m) = m/16 for m<=16.
    pred, target = _errors_at(np.arange(16)[None, :] * 5.0 + 2.5)
    expected = sum(min(m, 16) / 16 for m in range(31)) / 31
    np.testing.assert_allclose(metrics.auc(pred, target), expected, rtol=1e-15)


def test_pck_joint_subset():
    distances = np.full((3, 16), 10.0)
    distances[:, 0] = 500.0  # hip
    distances[:, 7] = 500.0  # spine
    pred, target = _errors_at(distances)
    np.testing.assert_allclose(metrics.pck(pred, target, joints=metrics.JOINTS_3DHP_14), 1.0)
    np.testing.assert_allclose(metrics.pck(pred, target, joints=metrics.JOINTS_ALL), 14 / 16)
    tf_value = metrics.pck(
        tf.constant(pred, tf.float32), tf.constant(target, tf.float32), joints=metrics.JOINTS_3DHP_14
    )
    np.testing.assert_allclose(tf_value.numpy(), 1.0)


def test_joint_subsets():
    assert metrics.JOINTS_ALL == tuple(range(16))
    assert len(metrics.JOINTS_3DHP_14) == 14
    assert set(metrics.JOINTS_ALL) - set(metrics.JOINTS_3DHP_14) == {0, 7}
    assert len(metrics.AUC_THRESHOLDS_MM) == 31 and metrics.AUC_THRESHOLDS_MM[-1] == 150.0


def test_aggregate_frame_weighted_vs_per_action():
    values = np.array([10.0, 10.0, 10.0, 40.0])
    actions = np.array(["Walking", "Walking", "Walking", "Sitting"])
    summary = metrics.aggregate(values, actions)
    assert summary.frame_mean == pytest.approx(17.5)
    assert summary.action_mean == pytest.approx(25.0)
    assert summary.per_action == {"Sitting": 40.0, "Walking": 10.0}
    assert summary.num_frames == 4
    plain = metrics.aggregate(values)
    assert plain.frame_mean == plain.action_mean == pytest.approx(17.5) and plain.per_action == {}


def test_bad_inputs():
    zeros = np.zeros((2, 16, 3))
    with pytest.raises(ValueError, match="same shape"):
        metrics.mpjpe(zeros, np.zeros((2, 17, 3)))
    with pytest.raises(ValueError, match=r"\(N, J, 3\)"):
        metrics.pa_mpjpe(np.zeros((2, 16, 2)), np.zeros((2, 16, 2)))
    with pytest.raises(ValueError, match="joints"):
        metrics.pck(zeros, zeros, joints=[0, 16])
    with pytest.raises(ValueError, match="mm_per_unit"):
        metrics.auc(zeros, zeros, mm_per_unit=0.0)
    with pytest.raises(ValueError, match="actions"):
        metrics.aggregate(np.zeros(3), ["a", "b"])
    with pytest.raises(ValueError, match="per_frame_values"):
        metrics.aggregate(np.zeros((2, 2)))
