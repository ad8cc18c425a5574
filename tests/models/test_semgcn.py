"""Tests for poseaug_tf/models/semgcn.py (docs/reference.md §4.1)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.models import semgcn
from poseaug_tf.models.semgcn import SemGCN, SemGraphConv
from tests.models import numpy_ops as npo
from tests.models.keras_contract import run_layer_contract

PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14]  # docs/reference.md §1.2
CHANNELS, BLOCKS = 24, 2


def reference_mask() -> np.ndarray:
    mask = np.eye(16, dtype=bool)
    for child, parent in enumerate(PARENTS[1:], start=1):
        mask[child, parent] = mask[parent, child] = True
    return mask


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(7)


@pytest.fixture
def small():
    model = SemGCN(channels=CHANNELS, num_blocks=BLOCKS)
    rng = np.random.default_rng(0)
    npo.randomize_batch_norm(model, rng)
    for layer in model.layers:
        if isinstance(layer, SemGraphConv):  # non-uniform edge weights make the adjacency check meaningful
            layer.edge_logits.assign(rng.normal(1.0, 0.7, 46).astype(np.float32))
    return model


@pytest.fixture
def kp_2d():
    return np.random.default_rng(1).normal(0.0, 0.5, (6, 16, 2)).astype(np.float32)


def numpy_sem_graph_conv(layer: SemGraphConv, x: np.ndarray) -> np.ndarray:
    mask = reference_mask()
    logits = np.full((16, 16), -np.inf)
    logits[mask] = layer.edge_logits.numpy()  # boolean indexing = row-major order of the non-zeros
    adjacency = npo.softmax(logits, axis=1)
    w = layer.kernel.numpy().astype(np.float64)
    eye = np.eye(16)
    return (adjacency * eye) @ (x @ w[0]) + (adjacency * (1 - eye)) @ (x @ w[1]) + layer.bias.numpy()


def numpy_semgcn(model: SemGCN, kp_2d: np.ndarray) -> np.ndarray:
    def graph_conv(x, prefix):
        x = numpy_sem_graph_conv(model.get_layer(f"{prefix}_gconv"), x)
        return npo.relu(npo.bn_inference(x, model.get_layer(f"{prefix}_bn")))

    x = graph_conv(kp_2d.astype(np.float64), "input")
    for i in range(model.num_blocks):
        x = x + graph_conv(graph_conv(x, f"block{i}_a"), f"block{i}_b")
    return numpy_sem_graph_conv(model.get_layer("output_gconv"), x)


def test_parameter_count_matches_reference():
    assert npo.trainable_count(SemGCN()) == 267_343


def test_mask_matches_skeleton():
    np.testing.assert_array_equal(semgcn.adjacency_mask(), reference_mask())
    assert reference_mask().sum() == 46
    skeleton = pytest.importorskip("poseaug_tf.core.skeleton")
    assert list(skeleton.PARENTS) == PARENTS


def test_adjacency_is_row_softmax_over_the_mask(small):
    layer = small.get_layer("block0_a_gconv")
    adjacency = layer.adjacency().numpy()
    np.testing.assert_allclose(adjacency.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(adjacency[~reference_mask()] == 0.0)
    assert np.all(adjacency[reference_mask()] > 0.0)
    logits = np.full((16, 16), -np.inf)
    logits[reference_mask()] = layer.edge_logits.numpy()
    np.testing.assert_allclose(adjacency, npo.softmax(logits, axis=1), rtol=1e-5)


def test_initialisation():
    model = SemGCN()
    layer = model.get_layer("block0_a_gconv")
    np.testing.assert_array_equal(layer.edge_logits.numpy(), np.ones(46, np.float32))
    # Uniform edge logits: each row is uniform over the joint's neighbours incl. itself.
    degree = reference_mask().sum(axis=1)
    np.testing.assert_allclose(np.diag(layer.adjacency().numpy()), 1.0 / degree, rtol=1e-6)
    for name, cin, cout in (("input_gconv", 2, 128), ("block0_a_gconv", 128, 128), ("output_gconv", 128, 3)):
        w = model.get_layer(name).kernel.numpy()
        bound = 1.414 * np.sqrt(6.0 / (cin * cout + 2 * cout))  # PyTorch 3-D fans of a (2, Cin, Cout) tensor
        assert np.isclose(semgcn.xavier_uniform_3d_bound(cin, cout), bound)
        assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.95 * bound
        bias = model.get_layer(name).bias.numpy()
        assert np.abs(bias).max() <= 1.0 / np.sqrt(cout)


def test_inference_matches_numpy(small, kp_2d):
    out = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    assert out.shape == (6, 16, 3)
    np.testing.assert_allclose(out, numpy_semgcn(small, kp_2d), rtol=1e-4, atol=1e-5)
    assert np.abs(out[:, 0]).max() > 0  # SemGCN predicts the hip (not forced to 0)


def test_edge_logits_receive_gradients(small, kp_2d):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(small(kp_2d, training=True) ** 2)
    grad = tape.gradient(loss, small.get_layer("output_gconv").edge_logits)
    assert grad is not None and np.abs(grad.numpy()).max() > 0


def test_batch_norm_over_batch_and_joints(small, kp_2d):
    bn = small.get_layer("input_bn")
    old_mean = bn.moving_mean.numpy().copy()
    small(kp_2d, training=True)
    pre_bn = numpy_sem_graph_conv(small.get_layer("input_gconv"), kp_2d.astype(np.float64))
    expected = 0.9 * old_mean + 0.1 * pre_bn.reshape(-1, CHANNELS).mean(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_dropout_option(kp_2d):
    default = SemGCN(channels=8, num_blocks=1)
    assert isinstance(default.get_layer("input_dropout"), keras.layers.Identity)  # README runs dropout 0
    np.testing.assert_allclose(default(kp_2d, training=True), default(kp_2d, training=True), rtol=1e-6)
    dropped = SemGCN(channels=8, num_blocks=1, dropout_rate=0.5)
    assert not np.allclose(dropped(kp_2d, training=True), dropped(kp_2d, training=True))
    np.testing.assert_array_equal(dropped(kp_2d, training=False), dropped(kp_2d, training=False))


def test_keras_contract_round_trips(small, kp_2d):
    run_layer_contract(small, kp_2d)
    run_layer_contract(SemGraphConv(40), kp_2d)


def test_graph_equals_eager(small, kp_2d):
    eager = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    graph = tf.function(lambda x: small(x, training=False))(tf.constant(kp_2d)).numpy()
    np.testing.assert_allclose(graph, eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(small(kp_2d[:2], training=False), eager[:2], rtol=1e-5, atol=1e-6)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        SemGraphConv(0)
    with pytest.raises(ValueError, match="channels"):
        SemGCN(channels=-1)
