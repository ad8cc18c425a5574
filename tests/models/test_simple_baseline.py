"""Tests for poseaug_tf/models/residual_mlp.py (SimpleBaseline) (docs/reference.md §4.2)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.models.residual_mlp import SimpleBaseline
from tests.models import numpy_ops as npo
from tests.models.keras_contract import run_layer_contract

UNITS, STAGES = 56, 3


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(5)


@pytest.fixture(scope="module")
def default_model():
    keras.utils.set_random_seed(6)
    return SimpleBaseline()


@pytest.fixture
def small():
    model = SimpleBaseline(units=UNITS, num_stages=STAGES)
    npo.randomize_batch_norm(model, np.random.default_rng(0))
    return model


@pytest.fixture
def kp_2d():
    return np.random.default_rng(2).normal(0.0, 0.5, (9, 16, 2)).astype(np.float32)


def numpy_simple_baseline(model: SimpleBaseline, kp_2d: np.ndarray) -> np.ndarray:
    """Inference-mode forward pass from the formulas of docs/reference.md §4.2."""

    def unit(x, prefix):
        x = npo.dense(x, model.get_layer(f"{prefix}_dense"))
        return npo.relu(npo.bn_inference(x, model.get_layer(f"{prefix}_bn")))

    x = unit(kp_2d.reshape(len(kp_2d), 32).astype(np.float64), "stem")
    for i in range(model.num_stages):
        x = x + unit(unit(x, f"stage{i}_a"), f"stage{i}_b")
    out = npo.dense(x, model.get_layer("head")).reshape(-1, 15, 3)
    return np.concatenate([np.zeros((len(out), 1, 3)), out], axis=1)


def test_parameter_count_matches_reference(default_model):
    assert default_model.num_stages == 2
    assert npo.trainable_count(default_model) == 4_288_557


def test_kaiming_kernels_and_torch_biases(default_model):
    w = default_model.get_layer("stage0_a_dense").kernel.numpy()  # (1024, 1024)
    std = np.sqrt(2.0 / 1024)
    assert abs(w.std() / std - 1.0) < 0.02
    assert np.abs(w).max() > 2.5 * std  # untruncated
    stem_w = default_model.get_layer("stem_dense").kernel.numpy()  # fan_in 32
    assert abs(stem_w.std() / np.sqrt(2.0 / 32) - 1.0) < 0.02
    for name, fan_in in (("stem_dense", 32), ("stage0_a_dense", 1024), ("head", 1024)):
        bias = default_model.get_layer(name).bias.numpy()
        assert np.abs(bias).max() <= 1.0 / np.sqrt(fan_in)
        assert np.abs(bias).max() > 0.9 / np.sqrt(fan_in)


def test_inference_matches_numpy_and_hip_is_zero(small, kp_2d):
    out = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_allclose(out, numpy_simple_baseline(small, kp_2d), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out, keras.ops.convert_to_numpy(small(kp_2d, training=False)))


def test_training_mode_dropout_and_bn_momentum(small, kp_2d):
    bn = small.get_layer("stem_bn")
    old_mean, old_var = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    first = keras.ops.convert_to_numpy(small(kp_2d, training=True))
    pre_bn = npo.dense(kp_2d.reshape(9, 32).astype(np.float64), small.get_layer("stem_dense"))
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.9 * old_mean + 0.1 * pre_bn.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 * old_var + 0.1 * pre_bn.var(0), rtol=1e-4)
    second = keras.ops.convert_to_numpy(small(kp_2d, training=True))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(second[:, 0], 0.0)
    assert small.get_layer("stem_dropout").rate == 0.25


def test_no_dropout_training_uses_batch_statistics():
    model = SimpleBaseline(units=24, num_stages=1, dropout_rate=0.0)
    npo.randomize_batch_norm(model, np.random.default_rng(3))
    x = np.random.default_rng(4).normal(size=(16, 16, 2)).astype(np.float32)
    train_a, train_b = model(x, training=True), model(x, training=True)
    np.testing.assert_allclose(train_a, train_b, rtol=1e-5, atol=1e-6)  # deterministic without dropout
    assert not np.allclose(train_a, model(x, training=False), atol=1e-3)  # batch stats ≠ moving stats


def test_keras_contract_round_trips(small, kp_2d):
    run_layer_contract(small, kp_2d)


def test_graph_equals_eager(small, kp_2d):
    eager = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    graph = tf.function(lambda x: small(x, training=False))(tf.constant(kp_2d)).numpy()
    np.testing.assert_allclose(graph, eager, rtol=1e-6, atol=1e-6)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_stages"):
        SimpleBaseline(num_stages=-1)
    with pytest.raises(ValueError, match="dropout_rate"):
        SimpleBaseline(units=8, dropout_rate=1.5)
