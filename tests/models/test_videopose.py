"""Tests for poseaug_tf/models/residual_mlp.py (VideoPose) (docs/reference.md §4.4)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.models.residual_mlp import VideoPose
from tests.models import numpy_ops as npo
from tests.models.keras_contract import run_layer_contract

CHANNELS, BLOCKS = 40, 2


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(3)


@pytest.fixture
def small():
    model = VideoPose(channels=CHANNELS, num_blocks=BLOCKS)
    npo.randomize_batch_norm(model, np.random.default_rng(0))
    return model


@pytest.fixture
def kp_2d():
    return np.random.default_rng(1).normal(0.0, 0.5, (7, 16, 2)).astype(np.float32)


def numpy_videopose(model: VideoPose, kp_2d: np.ndarray) -> np.ndarray:
    """Inference-mode forward pass from the formulas of docs/reference.md §4.4."""

    def unit(x, prefix):
        x = npo.dense(x, model.get_layer(f"{prefix}_dense"))
        return npo.relu(npo.bn_inference(x, model.get_layer(f"{prefix}_bn")))

    x = unit(kp_2d.reshape(len(kp_2d), 32).astype(np.float64), "expand")
    for i in range(model.num_blocks):
        x = x + unit(unit(x, f"block{i}_a"), f"block{i}_b")
    out = npo.dense(x, model.get_layer("shrink")).reshape(-1, 15, 3)
    return np.concatenate([np.zeros((len(out), 1, 3)), out], axis=1)


def test_parameter_count_matches_reference():
    model = VideoPose()
    assert npo.trainable_count(model) == 8_485_933
    assert model.get_layer("block0_a_dense").bias is None  # convs without bias, as the reference
    assert model.get_layer("shrink").bias is not None


def test_inference_matches_numpy_and_hip_is_zero(small, kp_2d):
    out = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    assert out.shape == (7, 16, 3)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_allclose(out, numpy_videopose(small, kp_2d), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out, keras.ops.convert_to_numpy(small(kp_2d, training=False)))


def test_training_mode_dropout_and_moving_stats(small, kp_2d):
    bn = small.get_layer("expand_bn")
    old_mean = bn.moving_mean.numpy().copy()
    first = keras.ops.convert_to_numpy(small(kp_2d, training=True))
    second = keras.ops.convert_to_numpy(small(kp_2d, training=True))
    assert not np.allclose(first, second)  # dropout 0.25 is on
    np.testing.assert_array_equal(first[:, 0], 0.0)
    pre_bn = kp_2d.reshape(7, 32).astype(np.float64) @ small.get_layer("expand_dense").kernel.numpy()
    expected = 0.9 * (0.9 * old_mean + 0.1 * pre_bn.mean(0)) + 0.1 * pre_bn.mean(0)  # two training calls
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_dropout_option_and_default():
    assert VideoPose(channels=8, num_blocks=1).get_layer("expand_dropout").rate == 0.25
    model = VideoPose(channels=8, num_blocks=1, dropout_rate=0.0)
    assert isinstance(model.get_layer("expand_dropout"), keras.layers.Identity)
    x = np.ones((4, 16, 2), np.float32)
    np.testing.assert_array_equal(model(x, training=True), model(x, training=True))


def test_torch_default_initialisation():
    model = VideoPose(channels=512, num_blocks=1)
    expand = model.get_layer("expand_dense").kernel.numpy()
    block = model.get_layer("block0_a_dense").kernel.numpy()
    shrink_bias = model.get_layer("shrink").bias.numpy()
    for w, fan_in in ((expand, 32), (block, 512)):
        bound = 1.0 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
        assert abs(w.std() - bound / np.sqrt(3.0)) < 0.03 * bound
    assert np.abs(shrink_bias).max() <= 1.0 / np.sqrt(512)


def test_keras_contract_round_trips(small, kp_2d):
    run_layer_contract(small, kp_2d)


def test_graph_equals_eager_and_any_batch(small, kp_2d):
    eager = keras.ops.convert_to_numpy(small(kp_2d, training=False))
    fn = tf.function(lambda x: small(x, training=False), input_signature=[tf.TensorSpec((None, 16, 2))])
    np.testing.assert_allclose(fn(kp_2d).numpy(), eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fn(kp_2d[:1]).numpy(), eager[:1], rtol=1e-5, atol=1e-6)
    assert fn.experimental_get_tracing_count() == 1  # one trace serves every batch size


def test_rejects_wrong_input_shape(small):
    with pytest.raises(ValueError):
        small(np.zeros((2, 17, 2), np.float32))
    with pytest.raises(ValueError, match="channels"):
        VideoPose(channels=0)
