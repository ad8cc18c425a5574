"""Tests for poseaug_tf/models/stgcn.py and stgcn_graph.py (docs/reference.md §4.3)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.models import stgcn_graph as graph
from poseaug_tf.models.stgcn import STGCN, NonLocalBlock, SpatialGraphConv
from tests.models import numpy_ops as npo
from tests.models.keras_contract import run_layer_contract

BODY, PART = (24, 24, 40), 56
DEGREES = [4, 4, 4, 3, 4, 4, 3, 3, 5, 3, 2, 4, 4, 3, 4, 4, 3]  # docs/reference.md §4.3, incl. self
PARTS = [[11, 12, 13], [14, 15, 16], [4, 5, 6], [1, 2, 3], [0, 7, 8, 9, 10]]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(11)


@pytest.fixture
def small():
    model = STGCN(body_channels=BODY, part_channels=PART)
    npo.randomize_batch_norm(model, np.random.default_rng(0))  # also makes the non-local block non-trivial
    return model


@pytest.fixture
def kp_2d():
    return np.random.default_rng(1).normal(0.0, 0.5, (5, 16, 2)).astype(np.float32)


def to_17(kp_16: np.ndarray) -> np.ndarray:
    nose = 0.5 * (kp_16[:, 8] + kp_16[:, 9])
    return np.concatenate([kp_16[:, :9], nose[:, None], kp_16[:, 9:]], axis=1)


def np_graph_conv(layer: SpatialGraphConv, x: np.ndarray) -> np.ndarray:
    """PyTorch layout: conv to (N, K, C, V), then einsum('nkcv,kvw->ncw') with the graph kernels."""
    kernels = graph.GRAPHS[layer.graph_name]
    h = x @ layer.kernel.numpy() + layer.bias.numpy()  # (N, V, K·C), channel = k·C + c
    n, v, _ = h.shape
    h = h.reshape(n, v, kernels.shape[0], layer.filters).transpose(0, 2, 3, 1)  # (N, K, C, V)
    return np.einsum("nkcv,kvw->ncw", h, kernels).transpose(0, 2, 1)


def np_non_local(layer: NonLocalBlock, x: np.ndarray) -> np.ndarray:
    theta, phi, g = (npo.dense(x, d) for d in (layer.theta, layer.phi, layer.g))
    y = npo.softmax(theta @ phi.transpose(0, 2, 1), axis=-1) @ g
    return npo.bn_inference(npo.dense(y, layer.w), layer.bn) + x


def np_block(model, x, prefix, residual):
    get = model.get_layer
    res = 0.0
    if residual and f"{prefix}_res_dense" in [layer.name for layer in model.layers]:
        res = npo.bn_inference(npo.dense(x, get(f"{prefix}_res_dense")), get(f"{prefix}_res_bn"))
    elif residual:
        res = x
    y = npo.relu(npo.bn_inference(np_graph_conv(get(f"{prefix}_gcn"), x), get(f"{prefix}_bn1")))
    y = npo.bn_inference(npo.dense(y, get(f"{prefix}_tcn_dense")), get(f"{prefix}_bn2"))
    return npo.relu(y + res)


def np_stgcn_17(model: STGCN, kp_2d: np.ndarray) -> np.ndarray:
    get = model.get_layer
    x = to_17(kp_2d.astype(np.float64)).reshape(len(kp_2d), 34)
    x = npo.bn_inference(x, get("data_bn"), epsilon=0.1).reshape(-1, 17, 2)
    for i in range(3):
        x = np_block(model, x, f"body{i}", residual=i > 0)
    parts = np.stack([x[:, p].max(axis=1) for p in PARTS], axis=1)
    for i in range(2):
        parts = np_block(model, parts, f"parts{i}", residual=True)
    pooled = npo.dense(parts.max(axis=1, keepdims=True), get("conv4_dense"))
    pooled = npo.relu(npo.bn_inference(pooled, get("conv4_bn")))
    parts = np.concatenate([np.repeat(pooled, 5, axis=1), parts], axis=-1)
    parts = npo.relu(npo.bn_inference(npo.dense(parts, get("conv2_dense")), get("conv2_bn")))
    up = np.zeros((len(x), 17, parts.shape[-1]))
    for i, p in enumerate(PARTS):
        up[:, p] = parts[:, i : i + 1]
    x = np_non_local(get("non_local"), np.concatenate([x, up], axis=-1))
    return npo.dense(x, get("fcn"))


def test_parameter_count_matches_reference():
    assert npo.trainable_count(STGCN()) == 3_627_847


def test_body_graph_partition():
    adjacency = np.eye(17)
    for a, b in graph.BODY_EDGES + graph.BODY_SYMMETRIC:
        adjacency[a, b] = adjacency[b, a] = 1
    np.testing.assert_array_equal(adjacency.sum(axis=0), DEGREES)
    kernels = graph.BODY_KERNELS
    assert kernels.shape == (4, 17, 17)
    np.testing.assert_allclose(kernels.sum(axis=0), adjacency / np.array(DEGREES)[None, :], rtol=1e-6)
    np.testing.assert_allclose(kernels.sum(axis=(0, 1)), 1.0, rtol=1e-6)  # column-normalised
    np.testing.assert_allclose(kernels[0], np.diag(1.0 / np.array(DEGREES)), rtol=1e-6)
    assert ((kernels > 0).sum(axis=0) <= 1).all()  # disjoint supports
    dist = np.array(graph.BODY_DIST_TO_CENTRE)
    rows, cols = np.nonzero(kernels[1])
    assert (dist[rows] > dist[cols]).all() and len(rows) == 16  # source farther than target
    rows, cols = np.nonzero(kernels[2])
    assert (dist[rows] < dist[cols]).all() and len(rows) == 16
    assert set(zip(*np.nonzero(kernels[3]))) == {p for a, b in graph.BODY_SYMMETRIC for p in ((a, b), (b, a))}
    np.testing.assert_allclose(kernels[3][6, 3], 1 / 3)  # column RFoot (degree 3)


def test_part_graph_partition():
    kernels = graph.PART_KERNELS
    np.testing.assert_allclose(kernels[0], np.diag([1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 5]), rtol=1e-6)
    expected_k1, expected_k2, expected_k3 = np.zeros((5, 5)), np.zeros((5, 5)), np.zeros((5, 5))
    expected_k1[:4, 4] = 1 / 5  # limb → central body
    expected_k2[4, :4] = 1 / 3  # central body → limb
    expected_k3[[0, 1, 2, 3], [1, 0, 3, 2]] = 1 / 3
    for k, expected in enumerate((expected_k1, expected_k2, expected_k3), start=1):
        np.testing.assert_allclose(kernels[k], expected, rtol=1e-6)
    np.testing.assert_allclose(kernels.sum(axis=(0, 1)), 1.0, rtol=1e-6)


def test_joint_tables():
    pose_16 = np.random.default_rng(2).normal(size=(3, 16, 2))
    np.testing.assert_allclose(np.einsum("uv,bvc->buc", graph.insertion_matrix_16_to_17(), pose_16), to_17(pose_16))
    np.testing.assert_array_equal(to_17(pose_16)[:, graph.INDICES_17_TO_16], pose_16)
    for i, p in enumerate(PARTS):
        assert sorted(set(graph.PART_GATHER[i])) == p
        assert (graph.JOINT_TO_PART[p] == i).all()


def test_graph_conv_matches_pytorch_einsum():
    x = np.random.default_rng(3).normal(size=(4, 17, 6)).astype(np.float32)
    layer = SpatialGraphConv(24, "body")
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out, np_graph_conv(layer, x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    assert np.abs(layer.kernel.numpy()).max() <= 1 / np.sqrt(6) and np.abs(layer.bias.numpy()).max() <= 1 / np.sqrt(6)
    with pytest.raises(ValueError, match="graph_name"):
        SpatialGraphConv(4, "hands")


def test_non_local_block_identity_at_init_then_matches_numpy():
    x = np.random.default_rng(4).normal(size=(3, 17, 16)).astype(np.float32)
    block = NonLocalBlock(8)
    np.testing.assert_array_equal(block(x, training=False), x)
    np.testing.assert_array_equal(block(x, training=True), x)  # γ = β = 0 also in batch-statistics mode
    np.testing.assert_array_equal(block.bn.gamma.numpy(), 0.0)
    npo.randomize_batch_norm(block, np.random.default_rng(5))
    out = keras.ops.convert_to_numpy(block(x, training=False))
    np.testing.assert_allclose(out, np_non_local(block, x.astype(np.float64)), rtol=1e-4, atol=1e-5)


def test_inference_matches_numpy_and_drops_nose(small, kp_2d):
    out = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    joints_17 = keras.Model(small.input, small.get_layer("fcn").output)
    out_17 = keras.ops.convert_to_numpy(joints_17(kp_2d, training=False))
    np.testing.assert_array_equal(out, np.delete(out_17, 9, axis=1))
    np.testing.assert_allclose(out_17, np_stgcn_17(small, kp_2d), rtol=1e-4, atol=1e-4)


def test_dropout_defaults_and_override(kp_2d):
    model = STGCN(body_channels=BODY, part_channels=PART)
    rates = {name: model.get_layer(name).rate for name in ("body0_dropout1", "parts1_dropout2", "conv4_dropout")}
    assert rates == {"body0_dropout1": 0.05, "parts1_dropout2": 0.05, "conv4_dropout": 0.25}
    assert model.get_layer("conv2_dropout").rate == 0.1 and model.get_layer("fcn_dropout").rate == 0.1
    assert model.get_layer("data_bn").epsilon == 0.1 and model.get_layer("body0_bn1").epsilon == 1e-5
    assert not np.allclose(model(kp_2d, training=True), model(kp_2d, training=True))
    zero = STGCN(body_channels=BODY, part_channels=PART, dropout_rate=0.0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in zero.layers)


def test_training_updates_data_bn_with_momentum(small, kp_2d):
    bn = small.get_layer("data_bn")
    old_mean, old_var = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    first = small(kp_2d, training=True)
    flat = to_17(kp_2d.astype(np.float64)).reshape(5, 34)  # channel = joint·2 + coordinate
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.9 * old_mean + 0.1 * flat.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 * old_var + 0.1 * flat.var(0), rtol=1e-4)
    np.testing.assert_array_equal(small(kp_2d, training=False), small(kp_2d, training=False))
    assert not np.allclose(first, small(kp_2d, training=False), atol=1e-3)


def test_keras_contract_round_trips(small, kp_2d):
    run_layer_contract(small, kp_2d)
    run_layer_contract(SpatialGraphConv(8, "parts"), np.ones((2, 5, 3), np.float32))


def test_graph_equals_eager(small, kp_2d):
    eager = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    graph_out = tf.function(lambda x: small(x, training=False))(tf.constant(kp_2d)).numpy()
    np.testing.assert_allclose(graph_out, eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small(kp_2d[:1], training=False), eager[:1], rtol=1e-5, atol=1e-6)


def test_rejects_bad_widths():
    with pytest.raises(ValueError, match="body_channels"):
        STGCN(body_channels=(8, 8))
