"""Flip test-time augmentation (PoseAug's 3DHP evaluation, docs/reference.md §1.11, §7)."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from poseaug_tf.core import geometry


def predict_with_flip(predict_fn: Callable[[tf.Tensor], tf.Tensor], pose_2d) -> tf.Tensor:
    """Averages the prediction on the input and the un-mirrored prediction on its mirror image.

    The 2D pose is mirrored horizontally (x → −x about the image centre, which is x = 0 in normalised
    coordinates) and its left/right joints swapped; the 3D prediction for it is mirrored back (X → −X, swap).

    Args:
      predict_fn: (B, 16, 2) normalised 2D → (B, 16, 3) 3D (e.g. a Keras estimator called with training=False).
      pose_2d: (B, 16, 2) normalised screen coordinates.

    Returns:
      (B, 16, 3) mean of predict_fn(pose_2d) and flip(predict_fn(flip(pose_2d))).
    """
    pose_2d = tf.convert_to_tensor(pose_2d, dtype=tf.float32)
    if pose_2d.shape.rank is not None and (pose_2d.shape.rank != 3 or pose_2d.shape[1:] != (16, 2)):
        raise ValueError(f"Expected `pose_2d` of shape (B, 16, 2); received {tuple(pose_2d.shape)}.")
    # Two calls with the input's batch shape (not one on a doubled batch), so fixed-shape exported models work.
    direct = tf.convert_to_tensor(predict_fn(pose_2d))
    flipped = tf.convert_to_tensor(predict_fn(geometry.flip_pose(pose_2d, mirror_axis=0)))
    return 0.5 * (direct + geometry.flip_pose(flipped, mirror_axis=0))
