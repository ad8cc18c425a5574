"""PoseAug losses: estimator MSE, LS-GAN, feedback (the code's banded ratios or the paper's Eq. 9) and the
augmentation regularisers (the code's bands or the paper's rectified L2, Eq. 10).

Per-example functions return `(B,)` tensors so that training steps can average them over the *global* batch
(`tf.nn.compute_average_loss`) and stay correct under a `tf.distribute` strategy.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from poseaug_tf.core import geometry

# Feedback joint weights and groups of the reference (docs/reference.md §5.3). Joints 0, 7 and 8 are unused.
FEEDBACK_JOINT_WEIGHTS = np.array([1, 5, 2, 1, 5, 2, 1, 1, 1, 1, 5, 2, 1, 5, 2, 1], np.float32)
FEEDBACK_GROUPS = ((1, 4, 10, 13), (2, 5, 9, 11, 14), (3, 6, 12, 15))
# DEVIATION(docs/reference.md §9.6): ratios are divided by the original error plus this; the reference has none.
RATIO_EPSILON = 1e-8


def _group_matrix() -> np.ndarray:
    """(16, 3) matrix averaging weighted joint errors inside each feedback group."""
    m = np.zeros((16, len(FEEDBACK_GROUPS)), np.float32)
    for g, joints in enumerate(FEEDBACK_GROUPS):
        m[list(joints), g] = FEEDBACK_JOINT_WEIGHTS[list(joints)] / len(joints)
    return m


FEEDBACK_GROUP_MATRIX = _group_matrix()


def pose_mse_per_example(pred_rel: tf.Tensor, target_abs: tf.Tensor) -> tf.Tensor:
    """Estimator loss: squared error against the root-relative target, averaged over joints and axes.

    Args:
      pred_rel: (B, 16, 3) prediction, root-relative metres.
      target_abs: (B, 16, 3) target, absolute or root-relative metres (the root is subtracted here).

    Returns:
      (B,) per-example MSE; its batch mean is PyTorch's `MSELoss(reduction="mean")`.
    """
    target = geometry.root_relative(target_abs)
    diff = tf.cast(pred_rel, target.dtype) - target  # float32 loss also for mixed-precision models
    return tf.reduce_mean(tf.square(diff), axis=[-2, -1])


def lsgan_discriminator_per_example(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """LS-GAN discriminator loss 0.5·[(D(real) − 1)² + D(fake)²], averaged over the score columns.

    Args:
      real_scores, fake_scores: (B, P) discriminator outputs (P = 5 part scores or 1).

    Returns:
      (B,) per-example loss.
    """
    real = tf.reduce_mean(tf.square(real_scores - 1.0), axis=-1)
    fake = tf.reduce_mean(tf.square(fake_scores), axis=-1)
    return 0.5 * (real + fake)


def lsgan_generator_per_example(fake_scores: tf.Tensor) -> tf.Tensor:
    """LS-GAN generator loss 0.5·(D(fake) − 1)². The reference also adds a real-sample term that does not
    depend on the generator (docs/reference.md §5.2); it changes only the logged value, so it is left out.

    Args:
      fake_scores: (B, P).

    Returns:
      (B,).
    """
    return 0.5 * tf.reduce_mean(tf.square(fake_scores - 1.0), axis=-1)


def grouped_joint_error(pred_rel: tf.Tensor, target_abs: tf.Tensor) -> tf.Tensor:
    """The reference's feedback error: weighted Euclidean joint errors averaged in three joint groups.

    Args:
      pred_rel: (B, 16, 3) estimator output, root-relative metres.
      target_abs: (B, 16, 3) target, absolute or root-relative metres.

    Returns:
      (B, 3) errors of the groups hips+shoulders, knees+head+elbows, ankles+wrists.
    """
    target = geometry.root_relative(target_abs)
    err = safe_norm(tf.cast(pred_rel, target.dtype) - target)
    return tf.linalg.matmul(err, tf.constant(FEEDBACK_GROUP_MATRIX, err.dtype))


def safe_norm(x: tf.Tensor) -> tf.Tensor:
    """Euclidean norm over the last axis with a zero (not NaN) gradient at 0, like PyTorch's `norm`."""
    sq = tf.reduce_sum(tf.square(x), axis=-1)
    positive = sq > 0
    return tf.where(positive, tf.sqrt(tf.where(positive, sq, tf.ones_like(sq))), tf.zeros_like(sq))


def band_penalty(values: tf.Tensor, *, center, half_width) -> tf.Tensor:
    """(v − μ)² where |v − μ| > half_width, else 0 (the reference's `diff_range_loss`, strict >).

    Args:
      values: any shape.
      center, half_width: scalars or broadcastable tensors.

    Returns:
      Same shape as `values`.
    """
    sq = tf.square(values - center)
    return tf.where(sq > tf.square(tf.cast(half_width, sq.dtype)), sq, tf.zeros_like(sq))


def code_feedback_per_example(
    err_orig,
    err_ba,
    err_rt,
    *,
    ba_center,
    ba_half_width,
    rt_center,
    rt_half_width,
    ba_weight,
    rt_weight,
) -> tf.Tensor:
    """The released code's feedback (docs/reference.md §5.3): banded penalties on per-group error ratios.

    Args:
      err_orig, err_ba, err_rt: (B, 3) grouped errors (`grouped_joint_error`) of the generator's input pair,
        the BA-only pair and the fully augmented pair.
      ba_center: β of the BA band (3 → 5 over the epochs in the reference).
      ba_half_width, rt_center, rt_half_width, ba_weight, rt_weight: band and weights (GANSettings).

    Returns:
      (B,) per-example loss (mean over the 3 groups).
    """
    denom = err_orig + RATIO_EPSILON
    ratio_ba = err_ba / denom
    ratio_rt = err_rt / denom
    ba = band_penalty(ratio_ba, center=ba_center, half_width=ba_half_width)
    rt = band_penalty(ratio_rt, center=rt_center, half_width=rt_half_width)
    return tf.reduce_mean(ba_weight * ba + rt_weight * rt, axis=-1)


def paper_feedback_per_example(loss_orig, loss_aug, *, beta) -> tf.Tensor:
    """The paper's feedback loss (Eq. 9): |1 − exp(L_P(X') − β·L_P(X))|.

    Args:
      loss_orig, loss_aug: (B,) per-example estimator errors on the original and the augmented pair (we use
        the mean joint error in metres so that β is a ratio of errors, comparable with the code's bands).
      beta: difficulty factor (> 1), increased over training.

    Returns:
      (B,).
    """
    return tf.abs(1.0 - tf.exp(loss_aug - beta * loss_orig))


def ba_range_per_example(ba_diff: tf.Tensor, *, center, half_width) -> tf.Tensor:
    """The code's two-sided BA regulariser: band on the per-sample mean of 1 − cos over the 15 bones.

    Args:
      ba_diff: (B, 15) 1 − cos of the bone-direction change.

    Returns:
      (B,) penalty, zero while the mean lies in [0.04, 0.37] (16°–51°).
    """
    return band_penalty(tf.reduce_mean(ba_diff, axis=-1), center=center, half_width=half_width)


def bl_rectified_per_example(blr: tf.Tensor, *, limit) -> tf.Tensor:
    """The code's BL regulariser: element-wise rectified L2 of the ratios beyond ±limit, mean over the 9.

    Args:
      blr: (B, 9) bone-length ratios γ_bl.

    Returns:
      (B,).
    """
    sq = tf.square(blr)
    return tf.reduce_mean(tf.where(sq > limit * limit, sq, tf.zeros_like(sq)), axis=-1)


def paper_rectified_per_example(gamma: tf.Tensor, *, threshold) -> tf.Tensor:
    """The paper's rectified L2 (Eq. 10): ‖γ‖² when the mean of |γ| reaches the threshold, else 0.

    The paper says "the mean value over all of its elements"; signed augmentation parameters average to ≈ 0,
    so we take the mean magnitude, which is what a threshold on the amount of augmentation needs.

    Args:
      gamma: (B, ...) augmentation parameters of one operation.
      threshold: scalar.

    Returns:
      (B,).
    """
    flat = tf.reshape(gamma, [tf.shape(gamma)[0], -1])
    active = tf.reduce_mean(tf.abs(flat), axis=-1) >= threshold
    return tf.where(active, tf.reduce_sum(tf.square(flat), axis=-1), tf.zeros_like(flat[:, 0]))
