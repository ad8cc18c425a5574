"""Tests for poseaug_tf/data/flip.py against a NumPy flip written from the joint names."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.data.flip import predict_with_flip
from tests import numpy_reference as ref

NAMES = ref.JOINT_NAMES_16
SWAP = [
    NAMES.index(n.replace("L", "#").replace("R", "L").replace("#", "R")) if n[0] in "LR" else i
    for i, n in enumerate(NAMES)
]


def _np_flip(pose):
    out = pose[:, SWAP].copy()
    out[..., 0] *= -1
    return out


def _lifter(weights):
    """A deliberately non-equivariant 'estimator': (B,16,2) -> (B,16,3), mixes joints with fixed weights."""

    def predict(pose_2d):
        mixed = tf.einsum("jk,bkc->bjc", weights, pose_2d)
        return tf.concat([mixed + [0.3, 0.0], tf.reduce_sum(mixed, -1, keepdims=True)], axis=-1)

    return predict


def test_flip_tta_matches_numpy(rng):
    weights = tf.constant(rng.normal(size=(16, 16)), tf.float32)
    predict = _lifter(weights)
    pose_2d = rng.uniform(-1, 1, size=(5, 16, 2)).astype(np.float32)
    direct = predict(pose_2d).numpy()
    flipped = _np_flip(predict(_np_flip(pose_2d).astype(np.float32)).numpy())
    np.testing.assert_allclose(predict_with_flip(predict, pose_2d), (direct + flipped) / 2, atol=1e-5)


def test_flip_tta_is_identity_for_an_equivariant_estimator(rng):
    def lift(pose_2d):  # mirror-equivariant: depth from |x| and y only
        return tf.concat([pose_2d, tf.norm(pose_2d, axis=-1, keepdims=True)], axis=-1)

    pose_2d = rng.uniform(-1, 1, size=(4, 16, 2)).astype(np.float32)
    np.testing.assert_allclose(predict_with_flip(lift, pose_2d), lift(pose_2d), atol=1e-6)
    # a constant x bias of the estimator cancels out under flip TTA
    biased = predict_with_flip(lambda p: lift(p) + [0.5, 0.0, 0.0], pose_2d)
    np.testing.assert_allclose(biased, lift(pose_2d), atol=1e-6)


def test_flip_tta_in_tf_function(rng):
    pose_2d = rng.uniform(-1, 1, size=(3, 16, 2)).astype(np.float32)
    predict = _lifter(tf.constant(rng.normal(size=(16, 16)), tf.float32))
    np.testing.assert_allclose(
        tf.function(lambda p: predict_with_flip(predict, p))(pose_2d), predict_with_flip(predict, pose_2d), atol=1e-6
    )


def test_flip_tta_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(B, 16, 2\); received \(2, 17, 2\)"):
        predict_with_flip(lambda p: p, np.zeros((2, 17, 2), np.float32))
