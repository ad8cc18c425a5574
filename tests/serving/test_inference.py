"""Tests of poseaug_tf/serving/inference.py: the Lifter over SavedModel and TFLite exports."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.models import build_estimator
from poseaug_tf.serving import export, inference

LEFT, RIGHT = (4, 5, 6, 10, 11, 12), (1, 2, 3, 13, 14, 15)


def numpy_flip(pose: np.ndarray) -> np.ndarray:
    perm = list(range(16))
    for left, right in zip(LEFT, RIGHT):
        perm[left], perm[right] = right, left
    out = pose[:, perm].copy()
    out[..., 0] *= -1
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A tiny MLP and its exports without and with baked-in flip TTA (float32 TFLite only, for speed)."""
    root = tmp_path_factory.mktemp("lifter")
    model = build_estimator("mlp", units=40, num_stages=1)
    sets = export.verification_sets(num_samples=64)
    plain = export.export_model(model, root / "plain", tflite_variants=("float32",), sets=sets)
    flipped = export.export_model(model, root / "flip", use_flip_tta=True, tflite_variants=("float32",), sets=sets)
    return model, plain, flipped


def paths(version_dir):
    return [version_dir, version_dir / "tflite" / "pose_lifter_float32.tflite"]


@pytest.mark.parametrize("kind", [0, 1], ids=["saved_model", "tflite"])
def test_lift_matches_keras_for_any_batch(exports, kind, rng):
    model, plain, _ = exports
    lifter = inference.Lifter.load(paths(plain)[kind], batch_size=4)
    assert lifter.metadata["joint_names"][9] == "Head" and not lifter.baked_flip
    for n in (1, 5, 11):  # chunks of 4 with a remainder; batch size changes between calls
        x = rng.uniform(-0.9, 0.9, (n, 16, 2)).astype(np.float32)
        np.testing.assert_allclose(lifter.lift(x), model(x, training=False).numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", [0, 1], ids=["saved_model", "tflite"])
def test_flip_tta_applied_once(exports, kind, rng):
    model, plain, flipped = exports
    x = rng.uniform(-0.9, 0.9, (6, 16, 2)).astype(np.float32)
    expected = 0.5 * (model(x, training=False).numpy() + numpy_flip(model(numpy_flip(x), training=False).numpy()))
    np.testing.assert_allclose(
        inference.Lifter.load(paths(plain)[kind], use_flip_tta=True).lift(x), expected, atol=1e-5
    )
    baked = inference.Lifter.load(paths(flipped)[kind], use_flip_tta=True)
    assert baked.baked_flip
    np.testing.assert_allclose(baked.lift(x), expected, atol=1e-5)


def test_lift_pixels_normalises_per_example(exports, rng):
    model, plain, _ = exports
    lifter = inference.Lifter.load(plain)
    size = np.array([[1000, 1002], [640, 480], [1920, 1080]], np.float32)
    px = rng.uniform(0, 1, (3, 16, 2)).astype(np.float32) * size[:, None]
    norm = px / size[:, None, :1] * 2 - np.stack([np.ones(3), size[:, 1] / size[:, 0]], 1)[:, None]
    np.testing.assert_allclose(lifter.lift_pixels(px, size), model(norm.astype(np.float32), training=False), atol=1e-5)
    single = lifter.lift_pixels(px[:1], (1000, 1002))
    np.testing.assert_allclose(single, lifter.lift_pixels(px[:1], size[:1]), atol=1e-6)


def test_bad_inputs(exports):
    _, plain, _ = exports
    lifter = inference.Lifter.load(plain)
    with pytest.raises(ValueError, match=r"shape \(N, 16, 2\); received \(2, 17, 2\)"):
        lifter.lift(np.zeros((2, 17, 2)))
    bad = np.zeros((3, 16, 2))
    bad[2, 4, 1] = np.inf
    with pytest.raises(ValueError, match=r"finite `kp_2d_norm`.*frames \[2\]"):
        lifter.lift(bad)
    with pytest.raises(ValueError, match="image_size"):
        lifter.lift_pixels(np.zeros((1, 16, 2)), (0, 480))
    with pytest.raises(ValueError, match="SavedModel folder .* or a .tflite file"):
        inference.Lifter.load(plain / "assets")
    assert lifter.lift(np.zeros((0, 16, 2))).shape == (0, 16, 3)
