"""Tests of poseaug_tf/training/detector_noise.py and the estimator step's noisy input."""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from configs import protocols, synthetic
from poseaug_tf.core import keypoint_noise
from poseaug_tf.data.datasets import Datasets
from poseaug_tf.training import detector_noise, run_dir, steps


def test_real_pairs_get_noise_only_when_their_2d_is_ground_truth():
    config = protocols.get_config("detections")
    assert detector_noise.on_real(config)
    for keypoints in ("sh_pt_mpii", "gt+sh_pt_mpii"):
        config.data.keypoints = keypoints
        assert not detector_noise.on_real(config)
    config.noise.real = "on"
    assert detector_noise.on_real(config)
    config.data.keypoints, config.noise.real = "gt", "off"
    assert not detector_noise.on_real(config)
    assert detector_noise.on_real(synthetic.get_config("smoke"))


def test_build_records_the_model_in_the_workdir(tmp_path, rng):
    config = protocols.get_config("detections")
    assert detector_noise.build(config, None, tmp_path) is None
    config.noise.update(model="fitted", scale=0.5, missing_rate=0.1, fraction=0.25)
    clean = rng.uniform(-0.5, 0.5, (500, 16, 2))
    pairs = Datasets(None, None, {}, noise_pairs=(clean + rng.normal(0, 0.01, clean.shape), clean))
    model = detector_noise.build(config, pairs, tmp_path)
    assert model.kind == "fitted" and model.scale == 0.5 and model.fraction == 0.25
    np.testing.assert_allclose(model.p_missing, 0.1)
    saved = keypoint_noise.KeypointNoise.from_json(json.loads((tmp_path / run_dir.NOISE_MODEL).read_text()))
    np.testing.assert_allclose(saved.chol, model.chol, atol=1e-6)
    assert saved.fraction == 0.25
    config.noise.model = "generic"
    assert detector_noise.build(config, None, tmp_path).kind == "generic"


def test_noisy_input_selects_samples_and_is_a_function_of_the_step(rng):
    pose = tf.constant(rng.uniform(-0.5, 0.5, (64, 16, 2)).astype(np.float32))
    model = keypoint_noise.generic(missing_rate=0.2)
    selected = tf.constant(np.arange(64) % 2 == 0)
    a = steps.noisy_input(pose, model, 3, tf.constant(5, tf.int64), selected).numpy()
    b = steps.noisy_input(pose, model, 3, tf.constant(5, tf.int64), selected).numpy()
    c = steps.noisy_input(pose, model, 3, tf.constant(6, tf.int64), selected).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[::2], c[::2])
    np.testing.assert_array_equal(a[1::2], pose.numpy()[1::2])  # not selected: untouched
    assert np.isfinite(a).all()  # missing joints filled
    assert not np.allclose(a[::2], pose.numpy()[::2], atol=1e-3)
