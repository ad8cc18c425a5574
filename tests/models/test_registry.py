"""Tests for poseaug_tf/models/__init__.py: the estimator registry and the lazy augmentor/discriminator builders."""

import importlib.util

import keras
import numpy as np
import pytest

from poseaug_tf import models
from tests.models import numpy_ops as npo

SMALL = {
    "videopose": {"channels": 24, "num_blocks": 1},
    "mlp": {"units": 40, "num_stages": 1},
    "semgcn": {"channels": 24, "num_blocks": 1},
    "gcn": {"channels": 24, "num_blocks": 1},
    "stgcn": {"body_channels": (24, 24, 40), "part_channels": 56},
}


def test_registry_names_and_classes():
    assert set(models.ESTIMATORS) == {"videopose", "mlp", "semgcn", "gcn", "stgcn"}
    assert models.ESTIMATORS["gcn"] is models.ESTIMATORS["semgcn"] is models.SemGCN
    assert models.ESTIMATORS["mlp"] is models.SimpleBaseline
    assert models.ESTIMATORS["stgcn"] is models.STGCN and models.ESTIMATORS["videopose"] is models.VideoPose


@pytest.mark.parametrize("name", sorted(SMALL))
def test_build_estimator_io_contract(name):
    keras.utils.set_random_seed(0)
    model = models.build_estimator(name, dropout_rate=0.0, synchronized_bn=False, **SMALL[name])
    assert isinstance(model, models.ESTIMATORS[name])
    assert tuple(model.input.shape) == (None, 16, 2) and tuple(model.output.shape) == (None, 16, 3)
    x = np.random.default_rng(1).normal(size=(3, 16, 2)).astype(np.float32)
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.isfinite(out).all() and np.abs(out).max() > 0
    # Batch elements are independent in inference mode.
    np.testing.assert_allclose(model(x[1:2], training=False)[0], out[1], rtol=1e-5, atol=1e-6)
    if name in ("mlp", "videopose"):
        np.testing.assert_array_equal(out[:, 0], 0.0)


@pytest.mark.parametrize(
    ("name", "count"),
    [("videopose", 8_485_933), ("mlp", 4_288_557), ("gcn", 267_343), ("stgcn", 3_627_847)],
)
def test_default_parameter_counts(name, count):
    assert npo.trainable_count(models.build_estimator(name)) == count


def test_synchronized_bn_reaches_every_batch_norm():
    model = models.build_estimator("stgcn", synchronized_bn=True, **SMALL["stgcn"])
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    norms.append(model.get_layer("non_local").bn)
    assert len(norms) == 1 + 5 * 2 + 2 + 2 + 1  # data, blocks, residual convs, conv4/conv2, non-local
    assert all(bn.synchronized for bn in norms)
    assert all(bn.momentum == 0.9 for bn in norms)


def test_keras_model_kwargs_pass_through():
    model = models.build_estimator("mlp", units=8, num_stages=1, name="est")  # `name` is the model's, not the key
    assert model.name == "est" and model.get_config()["name"] == "est"


def test_unknown_name_or_option_raises():
    with pytest.raises(ValueError, match="videopose"):
        models.build_estimator("resnet")
    with pytest.raises(ValueError, match="num_stages"):
        models.build_estimator("videopose", num_stages=3)


def test_augmentor_builders_are_reexported():
    """The lazy wrappers forward to poseaug_tf.models.augmentor / discriminators (docs/reference.md §2.7, §3)."""
    if importlib.util.find_spec("poseaug_tf.models.discriminators") is None:
        with pytest.raises(ImportError):
            models.build_discriminator_2d()
        pytest.skip("discriminators module not written yet")
    from poseaug_tf.models import augmentor, discriminators

    assert isinstance(models.build_augmentor(), augmentor.PoseAugmentor)
    d3d, d2d = models.build_discriminator_3d(), models.build_discriminator_2d()
    assert isinstance(d3d, discriminators.KCSDiscriminator3D) and isinstance(d2d, discriminators.Discriminator2D)
    assert npo.trainable_count(d2d) == 43_801
