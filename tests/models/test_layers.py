"""Tests for poseaug_tf/models/layers.py: PyTorch-parity defaults and shared blocks."""

import keras
import numpy as np
import pytest

from poseaug_tf.models import layers


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def _kernel(layer: keras.layers.Dense, fan_in: int) -> np.ndarray:
    layer.build((None, fan_in))
    return keras.ops.convert_to_numpy(layer.kernel)


def test_batch_norm_inference_uses_pytorch_epsilon_and_the_discriminators_leak_is_pytorchs():
    """Closed forms with PyTorch's constants: BN y = x / sqrt(var + 1e-5) (a variance of 1e-5 makes ε half the
    denominator), and the discriminators' LeakyReLU(0.01)."""
    from poseaug_tf.models import discriminators

    x = np.array([[-2.0, 0.5, 3.0]], np.float32)
    bn = layers.batch_norm()
    bn.build(x.shape)
    bn.moving_variance.assign(np.full(3, 1e-5, np.float32))
    np.testing.assert_allclose(bn(x, training=False).numpy(), x / np.sqrt(2e-5), rtol=1e-5)
    np.testing.assert_allclose(discriminators._lrelu(x).numpy(), [[-0.02, 0.5, 3.0]], rtol=1e-6)


def test_batch_norm_settings():
    bn = layers.batch_norm(synchronized=True, name="bn")
    assert (bn.momentum, bn.epsilon, bn.synchronized, bn.axis) == (0.9, 1e-5, True, -1)
    assert layers.batch_norm(epsilon=0.1).epsilon == 0.1


def test_batch_norm_momentum_update_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, (64, 16, 5)).astype(np.float32)  # (B, J, C): statistics over batch and joints
    bn = layers.batch_norm()
    bn.build(x.shape)
    old_mean = rng.normal(size=5).astype(np.float32)
    old_var = rng.uniform(0.5, 2.0, 5).astype(np.float32)
    bn.moving_mean.assign(old_mean)
    bn.moving_variance.assign(old_var)
    y = keras.ops.convert_to_numpy(bn(x, training=True))
    flat = x.reshape(-1, 5).astype(np.float64)
    batch_mean, batch_var = flat.mean(0), flat.var(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.9 * old_mean + 0.1 * batch_mean, rtol=1e-5, atol=1e-6)
    # DEVIATION(docs/reference.md §8): Keras updates the moving variance with the biased batch variance; PyTorch
    # uses the unbiased one (factor n/(n-1), 0.1% at n = 1024). Normalisation itself uses the biased variance in both.
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 * old_var + 0.1 * batch_var, rtol=1e-5)
    np.testing.assert_allclose(y.reshape(-1, 5), (flat - batch_mean) / np.sqrt(batch_var + 1e-5), atol=1e-4)


def _numpy_bn_backward(x, gamma, dy, eps=1e-5):
    """Closed-form gradients of y = γ·(x − μ)/σ + β over axis 0 of (N, C): dx, dγ, dβ."""
    mu, var = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(var + eps)
    dgamma, dbeta = (dy * xhat).sum(0), dy.sum(0)
    dx = gamma / np.sqrt(var + eps) * (dy - dy.mean(0) - xhat * (dy * xhat).mean(0))
    return dx, dgamma, dbeta


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-4), ("bfloat16", 3e-2)])
def test_batch_norm_training_output_and_gradients_match_closed_forms(dtype, tol):
    """The fused training path: normalised output and every gradient against NumPy's closed forms, rank 3."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, (32, 16, 6))
    dy = rng.normal(size=x.shape)
    gamma, beta = rng.uniform(0.5, 2.0, 6), rng.normal(size=6)
    bn = layers.batch_norm(dtype="mixed_bfloat16" if dtype == "bfloat16" else "float32")
    bn.build(x.shape)
    bn.gamma.assign(gamma.astype(np.float32))
    bn.beta.assign(beta.astype(np.float32))
    xt = tf.constant(x, dtype)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = bn(xt, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float64) * dy)
    dx, dgamma, dbeta = tape.gradient(loss, [xt, bn.gamma, bn.beta])
    assert y.dtype == dtype
    flat, dflat = x.reshape(-1, 6), dy.reshape(-1, 6)
    expected = gamma * (flat - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-5) + beta
    want_dx, want_dgamma, want_dbeta = _numpy_bn_backward(flat, gamma, dflat)
    scale = lambda a: tol * max(1.0, np.abs(a).max())  # noqa: E731
    np.testing.assert_allclose(np.asarray(tf.cast(y, tf.float64)).reshape(-1, 6), expected, atol=scale(expected))
    np.testing.assert_allclose(np.asarray(tf.cast(dx, tf.float64)).reshape(-1, 6), want_dx, atol=scale(want_dx))
    np.testing.assert_allclose(dgamma.numpy(), want_dgamma, atol=scale(want_dgamma))
    np.testing.assert_allclose(dbeta.numpy(), want_dbeta, atol=scale(want_dbeta))


def test_batch_norm_keras_path_equals_fused_path():
    """A mask sends training-mode BN down Keras's own path; an all-true mask must give the fused path's result."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(48, 16, 4)).astype(np.float32)
    fused, masked = layers.batch_norm(), layers.batch_norm()
    y_fused = fused(x, training=True).numpy()
    y_masked = masked(x, training=True, mask=np.ones((48, 16), bool)).numpy()
    np.testing.assert_allclose(y_fused, y_masked, atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), masked.moving_variance.numpy(), rtol=1e-5)


def test_kaiming_normal_is_untruncated_with_he_std():
    w = _kernel(layers.dense(1024, fan_in=1024, kernel="kaiming"), 1024)
    expected_std = np.sqrt(2.0 / 1024)
    assert abs(w.std() / expected_std - 1.0) < 0.02
    assert abs(w.mean()) < 0.01 * expected_std  # ≈10 standard errors for 1M samples
    # Keras' HeNormal truncates at 2σ; PyTorch's kaiming_normal_ does not (≈4.55% of samples beyond 2σ).
    tail = np.mean(np.abs(w) > 2 * expected_std)
    assert 0.04 < tail < 0.051
    assert np.abs(w).max() > 4 * expected_std


def test_torch_uniform_bound():
    init = layers.torch_uniform(256)
    values = keras.ops.convert_to_numpy(init((100_000,)))
    bound = 1.0 / 16.0
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.999 * bound
    assert abs(values.std() - bound / np.sqrt(3.0)) < 0.01 * bound  # std of U(-a, a) = a/√3
    with pytest.raises(ValueError, match="fan_in"):
        layers.torch_uniform(0)


def test_torch_default_kernel_uses_kernel_fan_in():
    w = _kernel(layers.dense(300, fan_in=100, kernel="torch"), 100)
    assert np.abs(w).max() <= 0.1 + 1e-7
    assert np.abs(w).max() > 0.099


def test_dense_bias_is_torch_uniform_and_no_bias_option():
    layer = layers.dense(4096, fan_in=64)
    layer.build((None, 64))
    bias = keras.ops.convert_to_numpy(layer.bias)
    assert np.abs(bias).max() <= 0.125 and np.abs(bias).max() > 0.12
    no_bias = layers.dense(8, fan_in=64, use_bias=False)
    no_bias.build((None, 64))
    assert no_bias.bias is None and len(no_bias.trainable_weights) == 1


def test_dense_rejects_unknown_kernel():
    with pytest.raises(ValueError, match="kernel"):
        layers.dense(4, fan_in=4, kernel="glorot")


def test_dropout_factory():
    assert isinstance(layers.dropout(0.0), keras.layers.Identity)
    drop = layers.dropout(0.5)
    assert isinstance(drop, layers.Dropout) and drop.rate == 0.5
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="dropout_rate"):
            layers.dropout(bad)


def test_prepend_zero_hip_values():
    inputs = keras.Input((45,))
    model = keras.Model(inputs, layers.prepend_zero_hip(inputs))
    x = np.arange(2 * 45, dtype=np.float32).reshape(2, 45)
    y = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_array_equal(y[:, 0], 0.0)
    np.testing.assert_array_equal(y[:, 1:], x.reshape(2, 15, 3))


def test_estimator_input_shape():
    assert tuple(layers.estimator_input().shape) == (None, 16, 2)


@pytest.mark.parametrize("rate, bits", [(0.25, 8), (0.5, 8), (0.1, 32), (0.3, 32), (1 / 1024, 16)])
def test_dropout_keep_rate_and_scale(rate, bits):
    # Binomial check: with 2**20 draws the kept fraction lies within 5 standard deviations of 1 - rate.
    assert layers._mask_bits(rate) == bits
    x = np.ones((1024, 1024), np.float32)
    y = keras.ops.convert_to_numpy(layers.Dropout(rate, seed=1)(x, training=True))
    kept = y != 0
    assert np.allclose(y[kept], 1.0 / (1.0 - rate), rtol=1e-6)
    sd = np.sqrt(rate * (1 - rate) / x.size)
    assert abs(kept.mean() - (1 - rate)) < 5 * sd
    # Expectation preserved (inverted dropout).
    assert abs(y.mean() - 1.0) < 5 * sd / (1 - rate)


def test_dropout_masks_are_independent_across_positions_and_calls():
    drop = layers.Dropout(0.25, seed=3)
    x = np.ones((4096, 256), np.float32)
    a = keras.ops.convert_to_numpy(drop(x, training=True)) != 0
    b = keras.ops.convert_to_numpy(drop(x, training=True)) != 0
    assert not np.array_equal(a, b)  # the seed generator advances per call
    # Neighbouring elements come from the same 32-bit word: their masks must still be uncorrelated.
    for u, v in ((a[:, 0::4], a[:, 1::4]), (a[:, 1::4], a[:, 3::4]), (a, b)):
        corr = np.corrcoef(u.ravel().astype(float), v.ravel().astype(float))[0, 1]
        assert abs(corr) < 0.01


def test_dropout_inference_identity_gradient_and_odd_sizes():
    import tensorflow as tf

    drop = layers.Dropout(0.25, seed=0)
    x = tf.random.normal([7, 5, 3])  # 105 elements: not a multiple of 4
    np.testing.assert_array_equal(drop(x, training=False), x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = drop(x, training=True)
    grad = tape.gradient(y, x).numpy()
    mask = y.numpy() != 0
    np.testing.assert_allclose(grad, mask / 0.75, rtol=1e-6)
    assert y.shape == x.shape
    assert layers.Dropout(0.25, dtype="mixed_bfloat16")(x, training=True).dtype == tf.bfloat16


def test_dropout_config_round_trip_and_seeded_determinism():
    drop = layers.Dropout(0.25, seed=5, name="d")
    clone = layers.Dropout.from_config(drop.get_config())
    assert clone.rate == 0.25 and clone.seed == 5
    x = np.ones((64, 64), np.float32)
    np.testing.assert_array_equal(drop(x, training=True), clone(x, training=True))
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.0)


def test_dropout_rng_state_is_in_the_checkpoint(tmp_path):
    """Resuming from a tf.train checkpoint must draw the masks an uninterrupted run draws (exact resume)."""
    import tensorflow as tf

    from poseaug_tf.models import build_estimator

    model = build_estimator("mlp", units=16, num_stages=1, dropout_rate=0.25)
    x = np.random.default_rng(0).normal(size=(8, 16, 2)).astype(np.float32)
    model(x, training=True)
    assert len(layers.rng_states(model)) == 3  # one per dropout layer
    checkpoint = tf.train.Checkpoint(model=model, rng_states=layers.rng_states(model))
    path = checkpoint.save(str(tmp_path / "ckpt"))
    uninterrupted = [model(x, training=True).numpy() for _ in range(3)]
    checkpoint.restore(path).assert_existing_objects_matched()
    resumed = [model(x, training=True).numpy() for _ in range(3)]
    for a, b in zip(uninterrupted, resumed):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(uninterrupted[0], uninterrupted[1])  # the masks do change from call to call


@pytest.mark.parametrize("use_bias", [False, True])
def test_residual_mlp_structure(use_bias):
    inputs = layers.estimator_input()
    outputs = layers.residual_mlp(
        inputs,
        width=8,
        num_blocks=2,
        dropout_rate=0.0,
        synchronized_bn=False,
        kernel="torch",
        use_bias=use_bias,
        names=("in", "blk", "out"),
    )
    model = keras.Model(inputs, outputs)
    dense = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Dense)}
    assert list(dense) == ["in_dense", "blk0_a_dense", "blk0_b_dense", "blk1_a_dense", "blk1_b_dense", "out"]
    assert [dense[n].use_bias for n in list(dense)[:-1]] == [use_bias] * 5 and dense["out"].use_bias
    assert [tuple(d.kernel.shape) for d in dense.values()] == [(32, 8)] + [(8, 8)] * 4 + [(8, 45)]
    # Two residual additions; hidden widths 32 → 8 (+2 blocks) → 45 parameters: the count in closed form.
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 2
    bias = 8 * 5 if use_bias else 0
    assert model.count_params() == 32 * 8 + 4 * 8 * 8 + bias + 5 * 4 * 8 + 8 * 45 + 45
    pose = model(np.random.default_rng(0).normal(size=(3, 16, 2)).astype("float32")).numpy()
    assert pose.shape == (3, 16, 3) and np.all(pose[:, 0] == 0.0)
