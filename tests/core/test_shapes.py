"""Tests for poseaug_tf.core.shapes."""

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import shapes


def test_check_axis_passes_matching_and_unknown_sizes():
    shapes.check_axis(np.zeros((4, 16, 3)), -1, 3, "pose")
    shapes.check_axis(np.zeros((4, 16, 3)), 1, 16, "pose")

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def unknown_rank(x):
        shapes.check_axis(x, -1, 3, "x")
        return x

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.float32)])
    def unknown_size(x):
        shapes.check_axis(x, -1, 3, "x")
        return x

    assert unknown_rank.get_concrete_function() is not None
    assert unknown_size.get_concrete_function() is not None


def test_check_axis_names_the_argument_size_and_axis():
    with pytest.raises(ValueError, match=r"Expected `pose` with size 3 on axis -1; received shape \(4, 16, 2\)"):
        shapes.check_axis(tf.zeros((4, 16, 2)), -1, 3, "pose")


def test_check_batch_shape():
    shapes.check_batch_shape(np.zeros((7, 16, 3)), (16, 3), "pose_3d")
    shapes.check_batch_shape(tf.TensorSpec((None, 16, 3)), (16, 3), "pose_3d")
    for bad in ((7, 16, 2), (16, 3), (1, 7, 16, 3)):
        with pytest.raises(ValueError, match=r"Expected `pose_3d` of shape \(B, 16, 3\); received"):
            shapes.check_batch_shape(np.zeros(bad), (16, 3), "pose_3d")
