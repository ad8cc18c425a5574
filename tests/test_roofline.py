"""bench/roofline.py: the FLOP counts every bench share is built on, against closed forms."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bench import roofline
from poseaug_tf import models


@pytest.mark.parametrize(
    "equation, shapes, expected",
    [
        ("ij,jk->ik", [[3, 4], [4, 5]], 2 * 3 * 4 * 5),
        ("bij,bjk->bik", [[2, 3, 4], [2, 4, 5]], 2 * 2 * 3 * 4 * 5),
        ("...ij,jk->...ik", [[7, 2, 3, 4], [4, 5]], 2 * 7 * 2 * 3 * 4 * 5),
        ("...ij,...jk->...ik", [[1, 3, 4], [6, 4, 5]], 2 * 6 * 3 * 4 * 5),  # broadcast batch
        ("ij,ij->", [[3, 4], [3, 4]], 2 * 3 * 4),
    ],
)
def test_einsum_flops_closed_form(equation, shapes, expected):
    assert roofline._einsum_flops(equation, shapes) == expected


class _Products(keras.layers.Layer):
    """One MatMul, one BatchMatMul and one Einsum on a (B, 16, 2) input."""

    def build(self, input_shape):
        self.dense = self.add_weight(shape=(32, 8), initializer="ones")
        self.batched = self.add_weight(shape=(2, 5), initializer="ones")
        self.mixed = self.add_weight(shape=(2, 3), initializer="ones")

    def call(self, x):
        flat = tf.reshape(x, (-1, 32)) @ self.dense  # MatMul 1×32×8
        batched = tf.matmul(x, self.batched)  # BatchMatMulV2 16×2×5
        mixed = tf.einsum("...ij,jk->...ik", x, self.mixed)  # Einsum 16×2×3
        return tf.reduce_sum(flat) + tf.reduce_sum(batched) + tf.reduce_sum(mixed)


def test_forward_flops_counts_each_product_kind():
    inputs = keras.Input((16, 2))
    model = keras.Model(inputs, _Products()(inputs))
    assert roofline.forward_flops(model, (16, 2)) == 2 * (32 * 8 + 16 * 2 * 5 + 16 * 2 * 3)


@pytest.mark.parametrize("name", ["videopose", "mlp"])
def test_forward_flops_of_a_lifter_is_twice_its_matrix_weights(name):
    """VideoPose (one frame) and SimpleBaseline are chains of dense maps: one multiply-add per kernel entry."""
    model = models.build_estimator(name)
    kernel_entries = sum(int(np.prod(w.shape)) for w in model.weights if len(w.shape) >= 2)
    assert roofline.forward_flops(model, (16, 2)) == 2 * kernel_entries
