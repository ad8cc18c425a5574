"""Shared Keras 3 layer/model contract check (in the spirit of keras-hub's ``TestCase.run_layer_test``).

Usage from any test::

    from tests.models.keras_contract import run_layer_contract

    run_layer_contract(model, inputs)                      # inference-mode outputs
    run_layer_contract(model, inputs, call_kwargs={"noise": noise})

What it asserts (values, not shapes):
  1. ``get_config`` → ``from_config`` gives an object whose ``get_config`` is equal.
  2. The re-created object, after ``set_weights(model.get_weights())``, reproduces the outputs exactly.
  3. A ``.keras`` save/load round trip reproduces the outputs exactly and keeps the class.
  4. A ``.weights.h5`` round trip into a fresh ``from_config`` object reproduces the outputs exactly.
Outputs may be a tensor or any nest (dict/list/tuple) of tensors.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np


def _outputs(model: keras.Layer, inputs: Any, call_kwargs: Mapping[str, Any]) -> list[np.ndarray]:
    out = model(inputs, training=False, **call_kwargs)
    return [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(out)]


def _assert_same(expected: list[np.ndarray], actual: list[np.ndarray], what: str, atol: float) -> None:
    if len(expected) != len(actual):
        raise AssertionError(f"{what}: {len(actual)} outputs, expected {len(expected)}")
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e.shape != a.shape:
            raise AssertionError(f"{what}: output {i} shape {a.shape}, expected {e.shape}")
        if atol == 0.0:
            np.testing.assert_array_equal(a, e, err_msg=f"{what}: output {i} differs")
        else:
            np.testing.assert_allclose(a, e, rtol=0.0, atol=atol, err_msg=f"{what}: output {i} differs")


def _fresh(model: keras.Layer, inputs: Any, call_kwargs: Mapping[str, Any]) -> keras.Layer:
    clone = model.__class__.from_config(model.get_config())
    clone(inputs, training=False, **call_kwargs)  # builds the variables
    return clone


def run_layer_contract(
    model: keras.Layer,
    inputs: Any,
    *,
    call_kwargs: Mapping[str, Any] | None = None,
    atol: float = 0.0,
) -> None:
    """Runs the config and serialisation round trips on a built or unbuilt layer/model.

    Args:
      model: Layer or model, registered with ``keras.saving.register_keras_serializable``.
      inputs: First positional call argument (tensor, array or nest).
      call_kwargs: Extra call keyword arguments (``training=False`` is always passed).
      atol: Absolute tolerance; 0 demands bit-exact equality.

    Raises:
      AssertionError: On any mismatch.
    """
    call_kwargs = dict(call_kwargs or {})
    expected = _outputs(model, inputs, call_kwargs)
    config = model.get_config()

    clone = _fresh(model, inputs, call_kwargs)
    if clone.get_config() != config:
        raise AssertionError(f"from_config(get_config()) changed the config:\n{config}\n!=\n{clone.get_config()}")
    if len(clone.weights) != len(model.weights):
        raise AssertionError(f"clone has {len(clone.weights)} weights, original {len(model.weights)}")
    clone.set_weights(model.get_weights())
    _assert_same(expected, _outputs(clone, inputs, call_kwargs), "from_config + set_weights", atol)

    with tempfile.TemporaryDirectory() as tmp:
        _check_files(model, inputs, call_kwargs, expected, tmp, atol)


def _as_model(layer: keras.Layer, inputs: Any) -> keras.Model:
    """Wraps a plain layer taking one tensor in a Sequential so it can be saved."""
    shape = np.shape(inputs)
    return keras.Sequential([keras.Input(shape=shape[1:]), layer])


def _check_files(model, inputs, call_kwargs, expected, tmp, atol) -> None:
    is_model = isinstance(model, keras.Model)
    if not is_model and call_kwargs:
        raise TypeError("run_layer_contract: plain layers with call_kwargs are not supported; wrap in a Model")
    saveable = model if is_model else _as_model(model, inputs)

    keras_path = os.path.join(tmp, "model.keras")
    saveable.save(keras_path)
    loaded = keras.saving.load_model(keras_path)
    if not is_model:
        loaded = loaded.layers[0]
    if type(loaded) is not type(model):
        raise AssertionError(f".keras load returned {type(loaded).__name__}, expected {type(model).__name__}")
    _assert_same(expected, _outputs(loaded, inputs, call_kwargs), ".keras round trip", atol)

    weights_path = os.path.join(tmp, "model.weights.h5")
    saveable.save_weights(weights_path)
    fresh = _fresh(model, inputs, call_kwargs)
    fresh_saveable = fresh if is_model else _as_model(fresh, inputs)
    fresh_saveable.load_weights(weights_path)
    _assert_same(expected, _outputs(fresh, inputs, call_kwargs), ".weights.h5 round trip", atol)
