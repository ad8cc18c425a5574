"""Tests for poseaug_tf.evaluation: scores against NumPy written here from docs/reference.md §7, a constructed
per-action example with closed-form values, and flip TTA against a manual NumPy flip average."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf import evaluation
from poseaug_tf.data.pose_set import PoseSet
from tests import numpy_reference as ref

LEFT, RIGHT = [4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]  # docs/reference.md §1.2
SWAP = np.arange(16)
SWAP[LEFT], SWAP[RIGHT] = RIGHT, LEFT


def make_set(pose3d, actions) -> PoseSet:
    n = len(pose3d)
    return PoseSet(
        pose3d=pose3d.astype(np.float32),
        pose2d=np.zeros((n, 16, 2), np.float32),
        camera=np.zeros((n, 9), np.float32),
        action=np.asarray(actions),
        subject=np.full(n, "S9"),
        name="test",
    )


def test_score_matches_numpy_on_random_poses(rng):
    n = 40
    target = rng.normal(scale=0.25, size=(n, 16, 3)) + np.array([0.3, -0.1, 4.5])
    pred = target - target[:, :1] + rng.normal(scale=0.04, size=(n, 16, 3))
    pred += rng.normal(size=(n, 1, 3))  # prediction root offset: must be removed too
    result = evaluation.score(pred.astype(np.float32), make_set(target, ["A"] * n), name="rand")
    pred32 = pred.astype(np.float32).astype(np.float64)
    target32 = target.astype(np.float32).astype(np.float64)
    p_rel, t_rel = pred32 - pred32[:, :1], target32 - target32[:, :1]
    per_frame = np.linalg.norm(p_rel - t_rel, axis=-1).mean(-1) * 1000.0
    assert result.mpjpe == pytest.approx(per_frame.mean(), rel=1e-6)
    assert result.pa_mpjpe == pytest.approx(ref.pa_mpjpe(p_rel, t_rel).mean() * 1000.0, rel=1e-5)
    assert result.pa_mpjpe < result.mpjpe
    np.testing.assert_allclose(
        result.per_joint_mpjpe, np.linalg.norm(p_rel - t_rel, axis=-1).mean(0) * 1000.0, rtol=1e-6, atol=1e-9
    )
    assert result.per_joint_mpjpe[0] == 0.0 and result.num_frames == n


def test_score_on_a_joint_subset_and_per_action_pck(rng):
    n = 30
    target = rng.normal(scale=0.25, size=(n, 16, 3)) + np.array([0.0, 0.0, 4.0])
    pred = target - target[:, :1] + rng.normal(scale=0.08, size=(n, 16, 3))
    actions = ["A"] * 10 + ["B"] * 20
    subset = [1, 2, 3, 8, 10, 15]
    result = evaluation.score(pred.astype(np.float32), make_set(target, actions), name="s", mpjpe_joints=subset)
    t32 = target.astype(np.float32).astype(np.float64)
    p32 = pred.astype(np.float32).astype(np.float64)
    p_rel, t_rel = (p32 - p32[:, :1])[:, subset], (t32 - t32[:, :1])[:, subset]
    err = np.linalg.norm(p_rel - t_rel, axis=-1) * 1000.0
    assert result.mpjpe == pytest.approx(err.mean(), rel=1e-6)
    assert result.pa_mpjpe == pytest.approx(ref.pa_mpjpe(p_rel, t_rel).mean() * 1000.0, rel=1e-5)
    # PCK and AUC (all 16 joints by default) per action, against a direct count.
    all_err = np.linalg.norm((p32 - p32[:, :1]) - (t32 - t32[:, :1]), axis=-1) * 1000.0
    for action, rows in (("A", slice(0, 10)), ("B", slice(10, 30))):
        assert result.per_action_pck[action] == pytest.approx(100.0 * np.mean(all_err[rows] < 150.0))
        auc = np.mean([np.mean(all_err[rows] < t) for t in range(0, 151, 5)])
        assert result.per_action_auc[action] == pytest.approx(100.0 * auc)


def test_score_per_action_vs_frame_mean_closed_form():
    # Target: any pose (absolute). Prediction: exact except joint 5, which is off by 16 mm (3 "Walk" frames)
    # or 160 mm (1 "Sit" frame); the prediction also carries a root offset that scoring must remove.
    rng = np.random.default_rng(0)
    target = rng.normal(scale=0.2, size=(4, 16, 3)) + np.array([0.0, 0.0, 5.0])
    offsets = np.array([0.016, 0.016, 0.016, 0.160])
    actions = ["Walk", "Walk", "Walk", "Sit"]
    # PoseSet stores float32; build the prediction from the stored target (float32 rounding of the 5 m
    # offset is ~5e-4 mm, hence atol 1e-3 mm below).
    target = target.astype(np.float32).astype(np.float64)
    pred = (target - target[:, :1]) + np.array([0.5, -0.5, 2.0])
    pred[:, 5, 1] += offsets
    result = evaluation.score(pred, make_set(target, actions), name="closed")
    # Per frame: offset / 16 joints → 1, 1, 1, 10 mm.
    assert result.mpjpe == pytest.approx((1 + 1 + 1 + 10) / 4, rel=1e-5)
    assert result.mpjpe_action_mean == pytest.approx((1 + 10) / 2, rel=1e-5)
    assert result.per_action_mpjpe == pytest.approx({"Walk": 1.0, "Sit": 10.0}, rel=1e-5)
    expected_joint = np.zeros(16)
    expected_joint[5] = (16 * 3 + 160) / 4
    np.testing.assert_allclose(result.per_joint_mpjpe, expected_joint, rtol=1e-5, atol=1e-3)
    # PCK@150 mm over all 16 joints (strict <): only joint 5 of the Sit frame fails.
    assert result.pck == pytest.approx(100.0 * (3 + 15 / 16) / 4, rel=1e-9)
    # AUC: mean over thresholds 0, 5, …, 150 of 1[error < t].
    errors = np.zeros((4, 16))
    errors[:, 5] = offsets * 1000.0
    thresholds = np.arange(0, 151, 5)
    expected_auc = 100.0 * np.mean(errors[..., None] < thresholds)
    assert result.auc == pytest.approx(expected_auc, rel=1e-6)
    assert result.summary()["mpjpe"] == result.mpjpe and result.summary()["frames"] == 4


def test_score_rejects_wrong_shape():
    target = np.zeros((3, 16, 3))
    with pytest.raises(ValueError, match="shape"):
        evaluation.score(np.zeros((2, 16, 3)), make_set(target, ["A"] * 3), name="bad")


def tiny_estimator(rng) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """(B, 16, 2) → Dropout(0.5) → Dense(48) → (B, 16, 3), with random (asymmetric) weights."""
    inputs = keras.Input((16, 2))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dropout(0.5)(x)  # must be inactive in the predict function
    x = keras.layers.Dense(48)(x)
    model = keras.Model(inputs, keras.layers.Reshape((16, 3))(x))
    w = rng.normal(size=(32, 48)).astype(np.float32)
    b = rng.normal(size=(48,)).astype(np.float32)
    model.layers[-2].set_weights([w, b])
    return model, w, b


def test_make_predict_fn_flip_tta_equals_manual_average(rng):
    model, w, b = tiny_estimator(rng)
    f = lambda x2d: (x2d.reshape(len(x2d), 32).astype(np.float64) @ w + b).reshape(-1, 16, 3)
    x = rng.uniform(-0.8, 0.8, size=(5, 16, 2)).astype(np.float32)

    def flip(p):
        p = p[:, SWAP].copy()
        p[..., 0] *= -1
        return p

    manual = 0.5 * (f(x) + flip(f(flip(x))))
    plain_fn = evaluation.make_predict_fn(model)
    flip_fn = evaluation.make_predict_fn(model, use_flip_tta=True)
    np.testing.assert_allclose(plain_fn(tf.constant(x)).numpy(), f(x), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(flip_fn(tf.constant(x)).numpy(), manual, rtol=1e-4, atol=1e-4)
    assert not np.allclose(manual, f(x), atol=1e-2)  # the weights are asymmetric: TTA changes the result
    for size in (1, 3, 7):
        xs = rng.uniform(-1, 1, size=(size, 16, 2)).astype(np.float32)
        np.testing.assert_allclose(
            flip_fn(tf.constant(xs)).numpy(), 0.5 * (f(xs) + flip(f(flip(xs)))), rtol=1e-4, atol=1e-4
        )
        plain_fn(tf.constant(xs))
    assert flip_fn.experimental_get_tracing_count() == 1
    assert plain_fn.experimental_get_tracing_count() == 1


def test_evaluate_predicts_in_set_order(rng):
    model, w, b = tiny_estimator(rng)
    n = 11
    target = rng.normal(scale=0.2, size=(n, 16, 3)) + np.array([0.0, 0.0, 4.0])
    pose2d = rng.uniform(-1, 1, size=(n, 16, 2)).astype(np.float32)
    ps = PoseSet(
        pose3d=target.astype(np.float32),
        pose2d=pose2d,
        camera=np.zeros((n, 9), np.float32),
        action=np.array(["A"] * 6 + ["B"] * 5),
        subject=np.full(n, "S9"),
        name="order",
    )
    pred = (pose2d.reshape(n, 32).astype(np.float64) @ w + b).reshape(n, 16, 3)
    np.testing.assert_allclose(evaluation.predict(model, ps, batch_size=4), pred, rtol=1e-4, atol=1e-4)
    result = evaluation.evaluate(model, ps, name="order", batch_size=4)
    t32 = ps.pose3d.astype(np.float64)
    expected = np.linalg.norm((pred - pred[:, :1]) - (t32 - t32[:, :1]), axis=-1).mean() * 1000.0
    assert result.mpjpe == pytest.approx(expected, rel=1e-4)


def test_score_in_chunks_equals_one_chunk(rng, monkeypatch):
    # Scoring runs in SCORE_CHUNK-frame chunks to bound memory; a ragged chunking must give the same numbers.
    n = 50
    target = rng.normal(scale=0.25, size=(n, 16, 3)) + np.array([0.3, -0.1, 4.5])
    pred = (target - target[:, :1] + rng.normal(scale=0.05, size=(n, 16, 3))).astype(np.float32)
    pose_set = make_set(target, ["A"] * 20 + ["B"] * 30)
    whole = evaluation.score(pred, pose_set, name="x")
    monkeypatch.setattr(evaluation, "SCORE_CHUNK", 7)
    chunked = evaluation.score(pred, pose_set, name="x")
    for field in ("mpjpe", "pa_mpjpe", "mpjpe_action_mean", "pck", "auc"):
        assert getattr(chunked, field) == pytest.approx(getattr(whole, field), rel=1e-12)
    np.testing.assert_allclose(chunked.per_joint_mpjpe, whole.per_joint_mpjpe, rtol=1e-12)
    assert chunked.per_action_mpjpe == pytest.approx(whole.per_action_mpjpe, rel=1e-12)
