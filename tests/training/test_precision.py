"""Mixed bfloat16 estimators: float32 outputs and losses, same weights files, close to the float32 model."""

import numpy as np
import pytest
import tensorflow as tf

from configs import common
from poseaug_tf.training import networks


def _config(name):
    config = common.base_config()
    config.model.name = name
    config.model.width = 64
    config.model.dropout_rate = 0.0
    return config


@pytest.mark.parametrize("name", ["videopose", "mlp"])
def test_mixed_bfloat16_matches_float32_with_the_same_weights(name, rng):
    config = _config(name)
    full = networks.build_estimator(config, synchronized_bn=False, stage="pretrain", precision="float32")
    mixed = networks.build_estimator(config, synchronized_bn=False, stage="pretrain", precision="mixed_bfloat16")
    mixed.set_weights(full.get_weights())  # weights stay float32 under the mixed policy
    assert all(w.dtype == np.float32 for w in mixed.get_weights())
    x = rng.uniform(-0.5, 0.5, size=(256, 16, 2)).astype(np.float32)
    y_full = full(x, training=False).numpy()
    y_mixed = mixed(x, training=False)
    assert y_mixed.dtype == tf.float32  # float32 head: poses are not rounded to bf16 (±4 mm at 1 m)
    np.testing.assert_array_equal(y_mixed.numpy()[:, 0], 0.0)
    # bf16 hidden activations (8-bit mantissa): a small relative difference, far below a bf16 output rounding.
    rel = np.abs(y_mixed.numpy() - y_full).max() / np.abs(y_full).max()
    assert 0 < rel < 0.05


def test_mixed_precision_is_refused_for_graph_models():
    with pytest.raises(ValueError, match="supported for videopose and mlp"):
        networks.build_estimator(_config("semgcn"), synchronized_bn=False, stage="pretrain", precision="mixed_bfloat16")


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="Unknown `model.precision` 'float16'"):
        networks.build_estimator(_config("mlp"), synchronized_bn=False, stage="pretrain", precision="float16")
