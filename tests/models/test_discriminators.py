"""Tests for poseaug_tf.models.discriminators against NumPy forward passes written from docs/reference.md §3."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import skeleton
from poseaug_tf.models.discriminators import (
    PartDense,
    build_discriminator_2d,
    build_discriminator_3d,
    kcs_features,
)
from tests import numpy_reference as ref
from tests.models.keras_contract import run_layer_contract

BATCH = 12


def template_poses(rng: np.random.Generator, num: int) -> np.ndarray:
    """(num, 16, 3) float32 poses: H36M template bone lengths, random directions, root near (0, 0, 5) m."""
    lengths = skeleton.BONE_LENGTH_TEMPLATES[rng.integers(0, 5, num)]
    directions = ref.unit_vectors(rng.standard_normal((num, 15, 3)))
    root = np.stack([rng.uniform(-1, 1, num), rng.uniform(-0.5, 0.5, num), rng.uniform(4.5, 5.5, num)], -1)
    return (ref.bones_to_pose(directions * lengths[..., None]) + root[:, None]).astype(np.float32)


def lrelu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.01 * x)


@pytest.fixture(scope="module")
def d3d():
    keras.utils.set_random_seed(11)
    return build_discriminator_3d()


@pytest.fixture(scope="module")
def d2d():
    keras.utils.set_random_seed(12)
    return build_discriminator_2d()


@pytest.fixture
def pose(rng):
    return template_poses(rng, BATCH)


def numpy_d3d(model, features: np.ndarray) -> np.ndarray:
    """docs/reference.md §3.1 KCS path, one independent MLP per part (explicit loop), float64."""
    weights = [
        (layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64))
        for layer in (model.dense1, model.dense2, model.dense3, model.dense4, model.dense_out)
    ]
    scores = []
    for p in range(features.shape[1]):
        (w1, b1), (w2, b2), (w3, b3), (w4, b4), (w5, b5) = [(w[p], b[p]) for w, b in weights]
        h1 = lrelu(features[:, p] @ w1 + b1)
        h2 = lrelu(h1 @ w2 + b2)
        h3 = h2 @ w3 + b3 + h1
        scores.append((lrelu(h3 @ w4 + b4) @ w5 + b5)[:, 0])
    return np.stack(scores, axis=1)


def numpy_d2d(model, pose_2d: np.ndarray) -> np.ndarray:
    """docs/reference.md §3.2 on the flattened absolute 2D pose, float64."""
    (w1, b1), (w2, b2), (w3, b3), (w4, b4), (w5, b5), (w6, b6) = [
        (layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64))
        for layer in model.dense_layers + [model.dense_out]
    ]
    d1 = lrelu(pose_2d.reshape(len(pose_2d), -1) @ w1 + b1)
    d2 = lrelu(d1 @ w2 + b2)
    d3 = lrelu(d2 @ w3 + b3 + d1)
    d4 = d3 @ w4 + b4
    return lrelu(d4 @ w5 + b5) @ w6 + b6


def trainable_count(model) -> int:
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_parameter_counts_match_pytorch(d3d, d2d):
    assert trainable_count(d3d) == 1_076_205 == 5 * 215_241
    assert trainable_count(build_discriminator_3d(kcs="full")) == 215_241
    assert trainable_count(d2d) == 43_801
    assert d3d.dense1.kernel.shape == (5, 225, 256) and d3d.dense4.kernel.shape == (5, 256, 100)


@pytest.mark.parametrize("kcs", ["part", "full"])
def test_kcs_features_match_numpy(pose, kcs):
    unit = ref.unit_vectors(ref.pose_to_bones(pose))
    expected = ref.part_kcs(unit) if kcs == "part" else ref.kcs(unit)[:, None]
    np.testing.assert_allclose(kcs_features(pose, kcs=kcs).numpy(), expected.reshape(BATCH, -1, 225), atol=1e-6)


def test_3d_outputs_match_independent_part_mlps(d3d, pose):
    features = ref.part_kcs(ref.unit_vectors(ref.pose_to_bones(pose))).reshape(BATCH, 5, 225)
    out = d3d(pose)
    assert out.shape == (BATCH, 5) and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), numpy_d3d(d3d, features), rtol=1e-4, atol=1e-4)
    full = build_discriminator_3d(kcs="full", hidden_units=40, mid_units=24)
    full_features = ref.kcs(ref.unit_vectors(ref.pose_to_bones(pose))).reshape(BATCH, 1, 225)
    np.testing.assert_allclose(full(pose).numpy(), numpy_d3d(full, full_features), rtol=1e-4, atol=1e-4)


def test_3d_is_invariant_to_rotation_bone_lengths_and_translation(d3d, rng, pose):
    rotation = ref.random_rotation(rng)
    bones = ref.pose_to_bones(pose) * rng.uniform(0.7, 1.3, (BATCH, 15, 1))
    moved = (ref.bones_to_pose(bones @ rotation.T) + [0.4, -0.3, 6.0]).astype(np.float32)
    for kcs in ("part", "full"):
        np.testing.assert_allclose(kcs_features(moved, kcs=kcs).numpy(), kcs_features(pose, kcs=kcs).numpy(), atol=1e-5)
    np.testing.assert_allclose(d3d(moved).numpy(), d3d(pose).numpy(), rtol=1e-4, atol=1e-4)


def test_3d_part_scores_only_see_their_bones(d3d, pose):
    bones = ref.pose_to_bones(pose)
    bones[:, 11] = bones[:, 11] @ ref.rodrigues(np.array([0.0, 1.2, 0.3])).T  # left forearm: part 0 only
    changed = d3d((ref.bones_to_pose(bones) + pose[:, :1]).astype(np.float32)).numpy() - d3d(pose).numpy()
    assert np.abs(changed[:, 0]).max() > 1e-4
    np.testing.assert_allclose(changed[:, 1:], 0.0, atol=1e-5)


def test_part_dense_initialisation_matches_independent_kaiming_layers():
    keras.utils.set_random_seed(3)
    layer = PartDense(5, 256)
    layer.build((None, 5, 225))
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    for p in range(5):  # per part: untruncated N(0, 2/225) kernel, U(±1/15) bias
        assert abs(kernel[p].std() / np.sqrt(2 / 225) - 1) < 0.02 and abs(kernel[p].mean()) < 2e-3
        assert np.abs(kernel[p]).max() > 4 * np.sqrt(2 / 225)  # tails: not truncated at 2 sigma
        assert np.abs(bias[p]).max() <= 1 / 15 and np.abs(bias[p]).max() > 0.9 / 15
    assert not np.allclose(kernel[0], kernel[1])


def test_2d_matches_numpy_and_sees_position(d2d, pose):
    pose_2d = (pose[..., :2] / pose[..., 2:]).astype(np.float32)
    out = d2d(pose_2d)
    assert out.shape == (BATCH, 1) and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), numpy_d2d(d2d, pose_2d), rtol=1e-4, atol=1e-5)
    assert np.abs(d2d(pose_2d + 0.3).numpy() - out.numpy()).max() > 1e-3  # absolute input: no root-centring


def test_gradients_are_finite_and_reach_every_variable(d3d, d2d, pose):
    for model, inputs in ((d3d, pose), (d2d, pose[..., :2])):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(inputs) - 1.0))
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(g is not None and np.all(np.isfinite(g)) and np.abs(g.numpy()).max() > 0 for g in grads)


def test_serialisation_round_trips(pose):
    run_layer_contract(build_discriminator_3d(hidden_units=40, mid_units=24), pose)
    run_layer_contract(build_discriminator_3d(kcs="full", hidden_units=56), pose)
    run_layer_contract(build_discriminator_2d(hidden_units=24), pose[..., :2])


def test_graph_equals_eager(d3d, d2d, pose):
    for model, inputs in ((d3d, pose), (d2d, pose[..., :2])):
        step = tf.function(lambda x, m=model: m(x))
        np.testing.assert_allclose(step(tf.constant(inputs)).numpy(), model(inputs).numpy(), rtol=1e-5, atol=1e-5)
        step(tf.constant(inputs[::-1]))
        assert step.experimental_get_tracing_count() == 1


def test_bad_inputs_raise(d3d, d2d, pose):
    with pytest.raises(ValueError, match="pose_3d"):
        d3d(pose[..., :2])
    with pytest.raises(ValueError, match="pose_2d"):
        d2d(pose[:, :15, :2])
    with pytest.raises(ValueError, match="kcs"):
        build_discriminator_3d(kcs="local")
    with pytest.raises(ValueError, match="dropout_rate"):
        build_discriminator_2d(dropout_rate=0.1)
