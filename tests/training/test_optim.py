"""Tests for poseaug_tf.training.optim: learning-rate schedules (docs/reference.md §6.1, §6.3) and Adam settings."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from configs.common import base_config
from poseaug_tf.training import optim


def test_poseaug_learning_rate_closed_form():
    lr0, epochs = 1e-4, 50
    assert optim.poseaug_learning_rate(lr0, 1, epochs) == pytest.approx(lr0, rel=1e-12)
    assert optim.poseaug_learning_rate(lr0, 50, epochs) == pytest.approx(lr0 * 2.0 / 51.0, rel=1e-12)
    assert optim.poseaug_learning_rate(lr0, 50, epochs) == pytest.approx(0.0392 * lr0, rel=1e-3)


def test_poseaug_learning_rate_matches_lambda_lr_steps():
    # torch LambdaLR with lambda k: 1 − k/(epochs + 1), stepped once at the end of each epoch:
    # during epoch e the scheduler has stepped k = e − 1 times.
    lr0, epochs = 3e-4, 50
    lambda_lr = [lr0 * (1.0 - k / (epochs + 1)) for k in range(epochs)]
    ours = [optim.poseaug_learning_rate(lr0, e, epochs) for e in range(1, epochs + 1)]
    np.testing.assert_allclose(ours, lambda_lr, rtol=1e-12)
    assert np.all(np.diff(ours) < 0) and ours[-1] > 0


def test_adam_settings():
    opt = optim.adam(1e-3)
    assert opt.epsilon == pytest.approx(1e-8, rel=0, abs=1e-20)
    assert opt.beta_1 == pytest.approx(0.9) and opt.beta_2 == pytest.approx(0.999)
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    assert opt.global_clipnorm is None and opt.clipnorm is None and opt.weight_decay is None


@pytest.mark.parametrize("lr0", [1e-3, 2e-2])
def test_pretrain_optimizer_staircase_schedule(lr0):
    config = base_config()
    config.pretrain.lr = lr0
    opt = optim.pretrain_optimizer(config)
    assert opt.epsilon == pytest.approx(1e-8, rel=0, abs=1e-20)
    for step, expected in (
        (0, lr0),
        (1, lr0),
        (99999, lr0),
        (100000, lr0 * 0.96),
        (199999, lr0 * 0.96),
        (250000, lr0 * 0.96**2),
    ):
        opt.iterations.assign(step)
        assert float(opt.learning_rate) == pytest.approx(expected, rel=1e-6), step


def test_adam_steps_match_pytorch_formula():
    # torch.optim.Adam: m, v moments; θ -= lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps). Keras adds eps to √v before
    # the bias correction (eps differs by 1/√(1−β2^t)), which only matters for |g| ≲ 1e-6; here |g| ~ 0.1–10.
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(5,))
    grads = [rng.normal(size=(5,)) * s for s in (0.1, 1.0, 10.0)]
    var = keras.Variable(theta0.astype(np.float32))
    opt = optim.adam(1e-3)
    opt.build([var])
    theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        opt.apply([g.astype(np.float32)], [var])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        theta -= 1e-3 / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
        np.testing.assert_allclose(var.numpy(), theta, rtol=1e-6, atol=1e-7)
