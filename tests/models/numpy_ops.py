"""NumPy reference pieces for the model tests (written from the formulas, independent of the Keras code)."""

from __future__ import annotations

import keras
import numpy as np

TORCH_BN_EPSILON = 1e-5


def randomize_batch_norm(model: keras.Model, rng: np.random.Generator) -> None:
    """Gives every BatchNormalization non-trivial γ, β, moving mean and variance (so inference mode is testable)."""
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.moving_mean.shape
            layer.gamma.assign(rng.uniform(0.5, 1.5, size).astype(np.float32))
            layer.beta.assign(rng.normal(0.0, 0.1, size).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0.0, 0.2, size).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size).astype(np.float32))


def _all_layers(layer: keras.Layer):
    yield layer
    for sub in getattr(layer, "_layers", []):
        yield from _all_layers(sub)


def bn_inference(x: np.ndarray, layer: keras.layers.BatchNormalization, epsilon: float = TORCH_BN_EPSILON):
    """PyTorch eval-mode BatchNorm over the last axis, in float64."""
    mean, var = np.asarray(layer.moving_mean, np.float64), np.asarray(layer.moving_variance, np.float64)
    gamma, beta = np.asarray(layer.gamma, np.float64), np.asarray(layer.beta, np.float64)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def dense(x: np.ndarray, layer: keras.layers.Dense) -> np.ndarray:
    """x @ W (+ b) in float64."""
    y = x @ np.asarray(layer.kernel, np.float64)
    return y + np.asarray(layer.bias, np.float64) if layer.use_bias else y


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))
