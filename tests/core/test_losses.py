"""Tests for poseaug_tf.core.losses against NumPy written here from docs/reference.md §5 (not from our code).

The reference reduces over the whole batch; our losses are per-example (B,) so that steps can divide by the
global batch. Every test therefore compares the *batch mean* of ours with the reference's batch reduction, plus
per-example values where the per-example form is unambiguous.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import losses
from tests import numpy_reference as ref

BATCH = 24


def test_pose_mse_batch_mean_equals_torch_mse_mean(rng):
    pred = rng.normal(size=(BATCH, 16, 3)).astype(np.float32)
    target = rng.normal(size=(BATCH, 16, 3)).astype(np.float32) + np.array([0.1, -0.2, 4.0], np.float32)
    per_example = losses.pose_mse_per_example(tf.constant(pred), tf.constant(target)).numpy()
    target_rel = target.astype(np.float64) - target[:, :1]
    expected_each = ((pred - target_rel) ** 2).mean(axis=(1, 2))
    assert per_example.shape == (BATCH,)
    np.testing.assert_allclose(per_example, expected_each, rtol=1e-5)
    # MSELoss(reduction="mean") over all B×16×3 coordinates.
    np.testing.assert_allclose(per_example.mean(), ((pred - target_rel) ** 2).mean(), rtol=1e-5)


def test_pose_mse_ignores_target_translation(rng):
    pred = rng.normal(size=(BATCH, 16, 3)).astype(np.float32)
    target = rng.normal(size=(BATCH, 16, 3)).astype(np.float32)
    shifted = target + rng.normal(size=(BATCH, 1, 3)).astype(np.float32) * 3.0
    np.testing.assert_allclose(
        losses.pose_mse_per_example(pred, target).numpy(),
        losses.pose_mse_per_example(pred, shifted).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("parts", [5, 1])
def test_lsgan_discriminator_matches_reference(rng, parts):
    real = rng.normal(size=(BATCH, parts)).astype(np.float32)
    fake = rng.normal(size=(BATCH, parts)).astype(np.float32)
    ours = losses.lsgan_discriminator_per_example(real, fake).numpy()
    # docs/reference.md §5.2: 0.5·[mean((D(real) − 1)²) + mean(D(fake)²)], mean over all B×P outputs.
    ref = 0.5 * (np.mean((real.astype(np.float64) - 1) ** 2) + np.mean(fake.astype(np.float64) ** 2))
    assert ours.shape == (BATCH,)
    np.testing.assert_allclose(ours.mean(), ref, rtol=1e-5)
    np.testing.assert_allclose(ours, 0.5 * (((real - 1.0) ** 2).mean(1) + (fake**2).mean(1)), rtol=1e-5)


def test_lsgan_closed_form():
    # Perfect discriminator: real 1, fake 0 → 0; fooled generator scores 1 → 0; fake scores 0 → 0.5.
    ones, zeros = tf.ones((3, 5)), tf.zeros((3, 5))
    np.testing.assert_allclose(losses.lsgan_discriminator_per_example(ones, zeros).numpy(), 0.0)
    np.testing.assert_allclose(losses.lsgan_discriminator_per_example(zeros, ones).numpy(), 1.0)
    np.testing.assert_allclose(losses.lsgan_generator_per_example(ones).numpy(), 0.0)
    np.testing.assert_allclose(losses.lsgan_generator_per_example(zeros).numpy(), 0.5)


@pytest.mark.parametrize("parts", [5, 1])
def test_lsgan_generator_matches_reference(rng, parts):
    fake = rng.normal(size=(BATCH, parts)).astype(np.float32)
    ours = losses.lsgan_generator_per_example(fake).numpy()
    np.testing.assert_allclose(ours.mean(), 0.5 * np.mean((fake.astype(np.float64) - 1) ** 2), rtol=1e-5)


def test_grouped_joint_error_matches_numpy(rng):
    pred = rng.normal(scale=0.3, size=(BATCH, 16, 3)).astype(np.float32)
    target = rng.normal(scale=0.3, size=(BATCH, 16, 3)).astype(np.float32) + np.float32([0.2, 0.1, 5.0])
    ours = losses.grouped_joint_error(tf.constant(pred), tf.constant(target)).numpy()
    assert ours.shape == (BATCH, 3)
    np.testing.assert_allclose(ours, ref.grouped_joint_error(pred, target), rtol=1e-5, atol=1e-6)


def test_grouped_joint_error_closed_form_single_joint():
    # A 1 m error on one joint of each group, everything else exact: g = weight / group size.
    target = np.zeros((1, 16, 3), np.float32)
    target[0] += np.float32([1.0, 2.0, 3.0])  # absolute offset, removed by root subtraction
    pred = np.zeros((1, 16, 3), np.float32)
    pred[0, 4, 0] = 1.0  # left hip: weight 5, group of 4
    pred[0, 9, 1] = -1.0  # head: weight 1, group of 5
    pred[0, 12, 2] = 2.0  # left wrist: weight 1, group of 4, error 2
    # Joints 0, 7, 8 are unused: errors there must not count.
    pred[0, 7] = [3.0, 3.0, 3.0]
    pred[0, 8] = [-3.0, 1.0, 0.0]
    ours = losses.grouped_joint_error(pred, target).numpy()
    np.testing.assert_allclose(ours, [[5.0 / 4, 1.0 / 5, 2.0 / 4]], rtol=1e-6)


def test_grouped_joint_error_uses_only_target_root():
    # The prediction is NOT made root-relative: a prediction offset by a constant must change the error.
    pred = np.zeros((1, 16, 3), np.float32)
    shifted = pred + np.float32([0.0, 0.0, 1.0])
    target = np.zeros((1, 16, 3), np.float32)
    base = losses.grouped_joint_error(pred, target).numpy()
    moved = losses.grouped_joint_error(shifted, target).numpy()
    np.testing.assert_allclose(base, 0.0)
    np.testing.assert_allclose(moved, [[(5 + 5 + 5 + 5) / 4, (2 + 2 + 1 + 2 + 2) / 5, 1.0]], rtol=1e-6)


def test_grouped_joint_error_gradient(rng):
    pred = rng.normal(scale=0.3, size=(4, 16, 3)).astype(np.float32)
    target = rng.normal(scale=0.3, size=(4, 16, 3)).astype(np.float32)
    p = tf.constant(pred)
    with tf.GradientTape() as tape:
        tape.watch(p)
        total = tf.reduce_sum(losses.grouped_joint_error(p, target))
    grad = tape.gradient(total, p).numpy()
    # d/dpred_j Σ_g mean_{i∈g} w_i ‖e_i‖ = w_j / |g(j)| · e_j / ‖e_j‖ for grouped joints, 0 for joints 0, 7, 8.
    diff = pred.astype(np.float64) - (target - target[:, :1])
    coef = np.zeros(16)
    for g in ref.FEEDBACK_GROUPS:
        coef[g] = ref.FEEDBACK_JOINT_WEIGHTS[g] / len(g)
    expected = coef[None, :, None] * diff / np.linalg.norm(diff, axis=-1, keepdims=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


def test_grouped_joint_error_gradient_finite_at_zero_error(rng):
    # A grouped joint predicted exactly (error 0): the reference's torch.norm backward gives a zero subgradient;
    # a NaN here would reach the augmentor through the target (pose_ba / pose_rt) and poison G's update.
    target = rng.normal(scale=0.3, size=(2, 16, 3)).astype(np.float32)
    pred = rng.normal(scale=0.3, size=(2, 16, 3)).astype(np.float32)
    pred[1, 5] = target[1, 5] - target[1, 0]
    p, t = tf.constant(pred), tf.constant(target)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([p, t])
        total = tf.reduce_sum(losses.grouped_joint_error(p, t))
    assert np.isfinite(tape.gradient(total, p).numpy()).all()
    assert np.isfinite(tape.gradient(total, t).numpy()).all()


def test_band_penalty_values_and_strict_boundary():
    values = tf.constant([0.0, 0.99, 1.0, 1.01, 3.0, 5.0, 5.01, 7.0], tf.float64)
    ours = losses.band_penalty(values, center=3.0, half_width=2.0).numpy()
    np.testing.assert_allclose(ours, ref.band_penalty(values.numpy(), 3.0, 2.0), rtol=1e-12)
    # Exactly on the edge (|v − μ| = s): not penalised (strict >).
    assert ours[2] == 0.0 and ours[5] == 0.0
    np.testing.assert_allclose(ours[[0, 7]], [9.0, 16.0])


def test_band_penalty_gradient():
    values = tf.constant([-1.0, 2.0, 3.5, 4.9, 5.5, 40.0], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(values)
        total = tf.reduce_sum(losses.band_penalty(values, center=3.0, half_width=2.0))
    grad = tape.gradient(total, values).numpy()
    v = values.numpy()
    outside = np.abs(v - 3.0) > 2.0
    np.testing.assert_allclose(grad, np.where(outside, 2.0 * (v - 3.0), 0.0), rtol=1e-6)


def test_band_penalty_broadcast_center(rng):
    values = rng.uniform(0.0, 10.0, size=(BATCH, 3)).astype(np.float32)
    centers = np.float32([[2.0, 5.0, 8.0]])
    ours = losses.band_penalty(values, center=centers, half_width=1.5).numpy()
    np.testing.assert_allclose(ours, ref.band_penalty(values, centers, 1.5), rtol=1e-5)


def _reference_code_feedback(err_orig, err_ba, err_rt, ba_center):
    """docs/reference.md §5.3: 0.1·band(r_ba; μ_ba, 2) + 0.01·band(r_rt; 17, 15), each a mean over all B×3."""
    r_ba = err_ba / err_orig
    r_rt = err_rt / err_orig
    return 0.1 * ref.band_penalty(r_ba, ba_center, 2.0).mean() + 0.01 * ref.band_penalty(r_rt, 17.0, 15.0).mean()


# The released code's feedback constants (docs/reference.md §5.3), written out independently of GANSettings.
REFERENCE_BANDS = dict(ba_half_width=2.0, rt_center=17.0, rt_half_width=15.0, ba_weight=0.1, rt_weight=0.01)


def test_code_feedback_batch_mean_equals_reference(rng):
    err_orig = rng.uniform(0.02, 0.1, size=(BATCH, 3))
    # Ratios spread across the inside and both outsides of both bands.
    err_ba = err_orig * rng.uniform(0.0, 9.0, size=(BATCH, 3))
    err_rt = err_orig * rng.uniform(0.0, 45.0, size=(BATCH, 3))
    for ba_center in (3.12, 5.0):
        ours = losses.code_feedback_per_example(
            tf.constant(err_orig, tf.float32),
            tf.constant(err_ba, tf.float32),
            tf.constant(err_rt, tf.float32),
            ba_center=ba_center,
            **REFERENCE_BANDS,
        ).numpy()
        assert ours.shape == (BATCH,)
        ref = _reference_code_feedback(err_orig, err_ba, err_rt, ba_center)
        assert ref > 0.0
        np.testing.assert_allclose(ours.mean(), ref, rtol=1e-4)


def test_code_feedback_zero_inside_both_bands():
    err_orig = tf.fill((4, 3), 0.05)
    ours = losses.code_feedback_per_example(err_orig, 4.0 * err_orig, 20.0 * err_orig, ba_center=3.5, **REFERENCE_BANDS)
    np.testing.assert_allclose(ours.numpy(), 0.0)


def test_code_feedback_closed_form():
    # One sample, ratio_ba = (1, 1, 1) with μ = 4: (1 − 4)² = 9 > 4 → 0.1·9; ratio_rt = (40, 17, 17): 0.01·23²/3.
    err_orig = tf.constant([[0.1, 0.2, 0.05]])
    ours = losses.code_feedback_per_example(
        err_orig, err_orig, err_orig * [[40.0, 17.0, 17.0]], ba_center=4.0, **REFERENCE_BANDS
    )
    np.testing.assert_allclose(ours.numpy(), [0.1 * 9.0 + 0.01 * 23.0**2 / 3.0], rtol=1e-5)


def test_paper_feedback_matches_formula(rng):
    loss_orig = rng.uniform(0.01, 0.2, size=BATCH)
    loss_aug = rng.uniform(0.01, 0.6, size=BATCH)
    ours = losses.paper_feedback_per_example(tf.constant(loss_orig), tf.constant(loss_aug), beta=2.5).numpy()
    np.testing.assert_allclose(ours, np.abs(1.0 - np.exp(loss_aug - 2.5 * loss_orig)), rtol=1e-12)
    # Zero exactly when L' = β·L.
    np.testing.assert_allclose(
        losses.paper_feedback_per_example(tf.constant([0.1]), tf.constant([0.3]), beta=3.0).numpy(), 0.0, atol=1e-7
    )


def test_ba_range_matches_reference(rng):
    # Per-sample means spread below 0.04, inside [0.04, 0.37] and above 0.37.
    scale = np.repeat([0.01, 0.2, 1.2], BATCH // 3)[:, None]
    ba_diff = (rng.uniform(0.0, 2.0, size=(BATCH, 15)) * scale).astype(np.float32)
    ba_diff[:, 6:8] = 0.0  # the two fixed spine bones
    ours = losses.ba_range_per_example(tf.constant(ba_diff), center=0.205, half_width=0.165).numpy()
    m = ba_diff.astype(np.float64).mean(axis=1)
    expected = ref.band_penalty(m, 0.205, 0.165)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-9)
    assert (expected[: BATCH // 3] > 0).all() and (expected[-(BATCH // 3) :] > 0).all()
    assert (expected[BATCH // 3 : 2 * BATCH // 3] == 0).all()


def test_bl_rectified_is_elementwise(rng):
    blr = rng.uniform(-0.2, 0.2, size=(BATCH, 9)).astype(np.float32)
    ours = losses.bl_rectified_per_example(tf.constant(blr), limit=0.1).numpy()
    sq = blr.astype(np.float64) ** 2
    np.testing.assert_allclose(ours, (sq * (sq > 0.01)).mean(axis=1), rtol=1e-5, atol=1e-9)
    # Element-wise, not on the mean: one entry at 0.15, the others 0 → 0.15²/9 (the mean 0.0167 < 0.1).
    one = np.zeros((1, 9), np.float32)
    one[0, 3] = -0.15
    np.testing.assert_allclose(losses.bl_rectified_per_example(one, limit=0.1).numpy(), [0.0225 / 9], rtol=1e-5)
    one[0, 3] = 0.09
    np.testing.assert_allclose(losses.bl_rectified_per_example(one, limit=0.1).numpy(), [0.0])


def test_paper_rectified(rng):
    gamma = rng.normal(scale=0.3, size=(BATCH, 5, 3)).astype(np.float32)
    threshold = 0.25
    ours = losses.paper_rectified_per_example(tf.constant(gamma), threshold=threshold).numpy()
    flat = gamma.reshape(BATCH, -1).astype(np.float64)
    active = np.abs(flat).mean(axis=1) >= threshold
    assert active.any() and (~active).any()
    np.testing.assert_allclose(ours, np.where(active, (flat**2).sum(axis=1), 0.0), rtol=1e-5)
