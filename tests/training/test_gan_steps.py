"""Tests for poseaug_tf.training.steps: the estimator step, global-norm clipping and the PoseAug GAN step.

Loss values are recomputed here in NumPy from docs/reference.md §5 on the networks' own (pre-step) outputs, so the
step's wiring (which outputs feed which loss, weights, reductions) is checked independently of losses.py;
gradient routing is checked by snapshotting every variable before and after a step.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf import models
from poseaug_tf.core import keypoint_noise
from poseaug_tf.core import placement as placement_lib
from poseaug_tf.data.pipeline import gan_epoch_dataset
from poseaug_tf.data.synthetic import make_synthetic
from poseaug_tf.training import gan as gan_lib
from poseaug_tf.training import optim, steps
from poseaug_tf.training.pools import FakePool
from tests import numpy_reference as numpy_ref
from tests.training import gan_defaults

BATCH = 32
BA_CENTER, BETA = 3.12, 2.0
POOL_CAPACITY = 1024


def snapshot(variables) -> dict:
    return {id(v): np.array(v.numpy()) for v in variables}


def changed(before: dict, variables) -> list[bool]:
    return [not np.array_equal(before[id(v)], v.numpy()) for v in variables]


# --------------------------------------------------------------------------------------------------------
# Estimator step and clipping.


def test_estimator_step_loss_value_falls_and_traces_once():
    data = make_synthetic("source", 64, seed=0)
    batch = {"pose_2d": tf.constant(data.pose2d), "pose_3d": tf.constant(data.pose3d)}
    keras.utils.set_random_seed(0)
    estimator = models.build_estimator("mlp", units=40, num_stages=1, dropout_rate=0.0)
    optimizer = optim.adam(1e-3)
    # Built beforehand as pretrain.py does: slot creation on the first call would make tf.function trace twice.
    optimizer.build(estimator.trainable_variables)
    step = steps.distribute(
        steps.make_estimator_step(estimator, optimizer, clip_norm=1.0), tf.distribute.get_strategy()
    )
    target_rel = data.pose3d.astype(np.float64) - data.pose3d[:, :1]

    def np_mse():  # MSELoss(mean) over all B×16×3, estimator in training mode (batch-statistics BN)
        return np.mean((estimator(batch["pose_2d"], training=True).numpy() - target_rel) ** 2)

    first = np_mse()
    losses = [float(step(batch)["loss"]) for _ in range(20)]
    assert losses[0] == pytest.approx(first, rel=1e-4)  # the step reports the loss before its update
    assert np.all(np.isfinite(losses))
    assert np_mse() < 0.5 * first, (first, losses)
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("clip_norm", [0.5, 100.0])
def test_apply_clipped_scales_by_global_norm(clip_norm):
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    rng = np.random.default_rng(0)
    coef_kernel = rng.normal(size=(4, 3)).astype(np.float32)
    coef_bias = np.array([10.0, -20.0, 5.0], np.float32)  # dominates: per-variable clipping would differ
    start = snapshot(layer.trainable_variables)
    with tf.GradientTape() as tape:
        # Linear loss: its gradient is exactly the coefficients.
        loss = tf.reduce_sum(layer.kernel * coef_kernel) + tf.reduce_sum(layer.bias * coef_bias)
    norm = steps.apply_clipped(
        keras.optimizers.SGD(learning_rate=1.0), loss, tape, layer.trainable_variables, clip_norm
    )
    g_norm = np.sqrt((coef_kernel.astype(np.float64) ** 2).sum() + (coef_bias.astype(np.float64) ** 2).sum())
    assert float(norm) == pytest.approx(g_norm, rel=1e-6)  # the pre-clip global norm
    scale = min(1.0, clip_norm / g_norm)
    np.testing.assert_allclose(
        layer.kernel.numpy() - start[id(layer.kernel)], -scale * coef_kernel, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(layer.bias.numpy() - start[id(layer.bias)], -scale * coef_bias, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------------------
# GAN step.


class GAN:
    """Small networks, optimizers, pools, the four compiled step variants and two batches."""

    def __init__(self, d2d_noise=None):
        self.d2d_noise = d2d_noise
        keras.utils.set_random_seed(1)
        self.augmentor = models.build_augmentor(hidden_units=32, seed=0)
        self.d3d = models.build_discriminator_3d(hidden_units=32, mid_units=16)
        self.d2d = models.build_discriminator_2d(hidden_units=16)
        self.estimator = models.build_estimator("mlp", units=24, num_stages=1, dropout_rate=0.0)
        self.g_opt, self.d3d_opt, self.d2d_opt = optim.adam(1e-3), optim.adam(1e-3), optim.adam(1e-3)
        # As build_gan_networks: optimizer slots exist before the first (traced) step.
        for opt, model in ((self.g_opt, self.augmentor), (self.d3d_opt, self.d3d), (self.d2d_opt, self.d2d)):
            opt.build(model.trainable_variables)
        # Larger than all the samples these tests feed: the pools stay in their fill phase (returned unchanged).
        self.pool_3d = FakePool(POOL_CAPACITY, (16, 3), seed=1)
        self.pool_2d = FakePool(POOL_CAPACITY, (16, 2), seed=2)
        self.settings = gan_defaults.settings(d2d_real="source")
        nets = gan_lib.GANNetworks(
            augmentor=self.augmentor,
            estimator=self.estimator,
            d3d=self.d3d,
            d2d=self.d2d,
            g_optimizer=self.g_opt,
            d3d_optimizer=self.d3d_opt,
            d2d_optimizer=self.d2d_opt,
            p_optimizer=None,  # the estimator step is tested on its own
            pool_3d=self.pool_3d,
            pool_2d=self.pool_2d,
        )
        self.steps = gan_lib.GANSteps(
            nets, self.settings, tf.distribute.get_strategy(), d2d_noise=d2d_noise, noise_seed=NOISE_SEED
        )
        data = make_synthetic("source", 64, seed=0)
        ds = gan_epoch_dataset(data.pose3d, data.camera, batch_size=BATCH, seed=0, epoch=1)
        self.batches = [dict(b) for b in ds]

    def step(self, with_feedback: bool, with_d_update: bool):
        return self.steps.variant(with_feedback, with_d_update)

    def run(self, with_feedback, with_d_update, batch_index=0):
        return self.step(with_feedback, with_d_update)(
            self.batches[batch_index], tf.constant(BA_CENTER), tf.constant(BETA)
        )


@pytest.fixture(scope="module")
def gan():
    return GAN()


def reference_g_terms(gan: GAN, batch) -> dict:
    """Pre-step NumPy generator-loss terms (docs/reference.md §5.2–5.5) from the networks' current outputs."""
    out = {
        k: v.numpy().astype(np.float64)
        for k, v in gan.augmentor(batch["pose_3d"], training=True, noise=batch["noise"]).items()
    }
    pose_in, cam = batch["pose_3d"].numpy().astype(np.float64), batch["camera"].numpy()
    project = numpy_ref.project_h36m_batch
    proj_in, proj_ba, proj_rt = (project(p, cam) for p in (pose_in, out["pose_ba"], out["pose_rt"]))
    d2d_fake = gan.d2d(proj_rt.astype(np.float32)).numpy().astype(np.float64)
    d3d_fake = gan.d3d(out["pose_ba"].astype(np.float32)).numpy().astype(np.float64)
    est = lambda p2d: gan.estimator(p2d.astype(np.float32), training=True).numpy()
    err_orig = numpy_ref.grouped_joint_error(est(proj_in), pose_in)
    err_ba = numpy_ref.grouped_joint_error(est(proj_ba), out["pose_ba"])
    err_rt = numpy_ref.grouped_joint_error(est(proj_rt), out["pose_rt"])
    sq_blr = out["blr"] ** 2
    reg = numpy_ref.band_penalty(out["ba_diff"].mean(1), 0.205, 0.165) + (sq_blr * (sq_blr > 0.01)).mean(1)
    fb = (
        0.1 * numpy_ref.band_penalty(err_ba / err_orig, BA_CENTER, 2.0)
        + 0.01 * numpy_ref.band_penalty(err_rt / err_orig, 17.0, 15.0)
    ).mean(1)
    adv2d = 0.5 * ((d2d_fake - 1) ** 2).mean(1)
    adv3d = 0.5 * ((d3d_fake - 1) ** 2).mean(1)
    return dict(
        out=out,
        proj_rt=proj_rt,
        reg=reg.mean(),
        fb=fb.mean(),
        adv2d=adv2d.mean(),
        adv3d=adv3d.mean(),
        ratio_ba=(err_ba / err_orig).mean(),
        ratio_rt=(err_rt / err_orig).mean(),
    )


def test_gan_generator_step_routing_and_values(gan):
    batch = gan.batches[0]
    ref = reference_g_terms(gan, batch)  # (runs BN in training mode: snapshot after it)
    est_trainable = snapshot(gan.estimator.trainable_variables)
    est_stats = snapshot(gan.estimator.non_trainable_variables)
    aug_vars = snapshot(gan.augmentor.trainable_variables)
    d_vars = snapshot(gan.d3d.variables + gan.d2d.variables)
    pool_count = int(gan.pool_3d.count.numpy()), int(gan.pool_2d.count.numpy())

    m = gan.run(with_feedback=True, with_d_update=False)

    # Routing: only the augmentor's trainable variables change (all of them: every one has a gradient).
    assert all(changed(aug_vars, gan.augmentor.trainable_variables))
    assert not any(changed(d_vars, gan.d3d.variables + gan.d2d.variables))
    assert not any(changed(est_trainable, gan.estimator.trainable_variables))
    # ...but the frozen estimator ran in training mode, so its BN moving statistics did move (docs/reference.md §5.3).
    assert gan.estimator.non_trainable_variables and all(changed(est_stats, gan.estimator.non_trainable_variables))
    assert (int(gan.pool_3d.count.numpy()), int(gan.pool_2d.count.numpy())) == pool_count
    assert "d3d_loss" not in m and "d2d_loss" not in m

    # Values: each term and the weighted total (1·adv2d + 6·adv3d + 3·diff + feedback).
    assert float(m["g_adv_2d"]) == pytest.approx(ref["adv2d"], rel=1e-4)
    assert float(m["g_adv_3d"]) == pytest.approx(ref["adv3d"], rel=1e-4)
    assert float(m["g_feedback"]) == pytest.approx(ref["fb"], rel=1e-3, abs=1e-7)
    assert float(m["ratio_ba"]) == pytest.approx(ref["ratio_ba"], rel=1e-3)
    assert float(m["ratio_rt"]) == pytest.approx(ref["ratio_rt"], rel=1e-3)
    total = ref["adv2d"] + 6 * ref["adv3d"] + 3 * ref["reg"] + ref["fb"]
    assert float(m["g_loss"]) == pytest.approx(total, rel=1e-4)
    assert float(m["g_grad_norm"]) > 0

    # Buffer outputs: the pre-update pose_rt, its projection and the |proj| ≤ 1 mask.
    aug_3d, aug_2d = m["aug_pose_3d"].numpy(), m["aug_pose_2d"].numpy()
    assert aug_3d.shape == (BATCH, 16, 3) and aug_2d.shape == (BATCH, 16, 2)
    np.testing.assert_allclose(aug_3d, ref["out"]["pose_rt"], rtol=1e-4, atol=1e-5)
    expected_2d = numpy_ref.project_h36m_batch(aug_3d, batch["camera"].numpy())
    np.testing.assert_allclose(aug_2d, expected_2d, rtol=1e-4, atol=1e-5)
    assert "aug_camera" not in m  # the estimator pass never reads the camera
    valid = m["aug_valid"].numpy()  # bool or 0/1 int (strategies cannot gather bool tensors)
    assert valid.shape == (BATCH,) and set(np.unique(valid).tolist()) <= {0, 1}
    valid = valid.astype(bool)
    np.testing.assert_array_equal(valid, np.all(np.abs(aug_2d) <= 1.0, axis=(1, 2)))
    assert float(m["aug_valid_fraction"]) == pytest.approx(valid.mean(), abs=1e-6)
    for name, value in m.items():
        if value.shape.rank == 0:
            assert np.isfinite(float(value)), name


def test_gan_step_without_feedback_leaves_estimator_untouched(gan):
    batch = gan.batches[1]
    ref = reference_g_terms(gan, batch)
    est_vars = snapshot(gan.estimator.variables)
    d_vars = snapshot(gan.d3d.variables + gan.d2d.variables)
    aug_vars = snapshot(gan.augmentor.trainable_variables)
    m = gan.run(with_feedback=False, with_d_update=False, batch_index=1)
    assert not any(changed(est_vars, gan.estimator.variables))  # BN statistics included
    assert not any(changed(d_vars, gan.d3d.variables + gan.d2d.variables))
    assert all(changed(aug_vars, gan.augmentor.trainable_variables))
    assert "g_feedback" not in m
    total = ref["adv2d"] + 6 * ref["adv3d"] + 3 * ref["reg"]
    assert float(m["g_loss"]) == pytest.approx(total, rel=1e-4)


def test_gan_step_with_discriminator_update(gan):
    batch = gan.batches[0]
    ref = reference_g_terms(gan, batch)
    real_3d = batch["real_3d"].numpy()
    real_2d = numpy_ref.project_h36m_batch(batch["d2d_real_3d"].numpy(), batch["d2d_real_camera"].numpy())
    real_2d = real_2d.astype(np.float32)
    fake_3d = ref["out"]["pose_ba"].astype(np.float32)
    fake_2d = ref["proj_rt"].astype(np.float32)
    real_scores_3d = gan.d3d(real_3d).numpy().astype(np.float64)
    d3d_ref = 0.5 * (np.mean((real_scores_3d - 1.0) ** 2) + np.mean(gan.d3d(fake_3d).numpy() ** 2))
    d2d_ref = 0.5 * (np.mean((gan.d2d(real_2d).numpy() - 1.0) ** 2) + np.mean(gan.d2d(fake_2d).numpy() ** 2))
    est_trainable = snapshot(gan.estimator.trainable_variables)
    d3d_vars, d2d_vars = snapshot(gan.d3d.trainable_variables), snapshot(gan.d2d.trainable_variables)
    count_3d, count_2d = int(gan.pool_3d.count.numpy()), int(gan.pool_2d.count.numpy())
    assert count_3d + BATCH <= POOL_CAPACITY  # still filling: the pool returns the fakes unchanged
    d_iterations = int(gan.d3d_opt.iterations.numpy()), int(gan.d2d_opt.iterations.numpy())

    m = gan.run(with_feedback=True, with_d_update=True)

    assert all(changed(d3d_vars, gan.d3d.trainable_variables))
    assert all(changed(d2d_vars, gan.d2d.trainable_variables))
    assert not any(changed(est_trainable, gan.estimator.trainable_variables))
    assert (int(gan.d3d_opt.iterations.numpy()), int(gan.d2d_opt.iterations.numpy())) == (
        d_iterations[0] + 1,
        d_iterations[1] + 1,
    )
    # LS-GAN D losses (docs/reference.md §5.2): real = the batch's real samples, fake = pose_ba / Π(pose_rt).
    assert float(m["d3d_loss"]) == pytest.approx(d3d_ref, rel=1e-4)
    assert float(m["d2d_loss"]) == pytest.approx(d2d_ref, rel=1e-4)
    assert float(m["d3d_real_score"]) == pytest.approx(real_scores_3d.mean(), rel=1e-4)
    # The pools stored this batch's fakes.
    assert int(gan.pool_3d.count.numpy()) == count_3d + BATCH
    assert int(gan.pool_2d.count.numpy()) == count_2d + BATCH
    np.testing.assert_allclose(gan.pool_3d.items.numpy()[count_3d : count_3d + BATCH], fake_3d, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        gan.pool_2d.items.numpy()[count_2d : count_2d + BATCH], m["aug_pose_2d"].numpy(), rtol=1e-6, atol=1e-7
    )
    for name, value in m.items():
        if value.shape.rank == 0:
            assert np.isfinite(float(value)), name


NOISE_SEED = 11


def test_d2d_judges_noisy_2d_on_both_sides_and_the_estimator_pairs_stay_clean():
    """noise.d2d="noisy": D2d's fake is the noisy projection (drawn for the generator's step), its real the noisy
    projected real pose (drawn for the next step); the pool keeps the noisy fakes, the estimator gets clean pairs."""
    noisy = GAN(d2d_noise=keypoint_noise.generic())
    batch = noisy.batches[0]
    ref = reference_g_terms(noisy, batch)
    step = int(noisy.g_opt.iterations.numpy())

    def draw(pose_2d, seed, at):
        sample = keypoint_noise.sample(noisy.d2d_noise, pose_2d.astype(np.float32), tf.constant([seed, at], tf.int64))
        return keypoint_noise.fill_missing(sample).numpy()

    fake = draw(ref["proj_rt"], NOISE_SEED, step)
    real = numpy_ref.project_h36m_batch(batch["d2d_real_3d"].numpy(), batch["d2d_real_camera"].numpy())
    real = draw(real, NOISE_SEED + 2**20, step + 1)
    d2d_ref = 0.5 * (np.mean((noisy.d2d(real).numpy() - 1.0) ** 2) + np.mean(noisy.d2d(fake).numpy() ** 2))
    adv2d_ref = 0.5 * np.mean((noisy.d2d(fake).numpy() - 1.0) ** 2)
    m = noisy.run(with_feedback=True, with_d_update=True)
    assert float(m["g_adv_2d"]) == pytest.approx(adv2d_ref, rel=1e-4)
    assert float(m["d2d_loss"]) == pytest.approx(d2d_ref, rel=1e-4)
    np.testing.assert_allclose(noisy.pool_2d.items.numpy()[:BATCH], fake, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m["aug_pose_2d"].numpy(), ref["proj_rt"], rtol=1e-4, atol=1e-5)


def test_gan_step_variants_trace_once(gan):
    for with_feedback in (False, True):
        for with_d_update in (False, True):
            for call in range(3):
                m = gan.run(with_feedback, with_d_update, batch_index=call % 2)
                assert np.isfinite(float(m["g_loss"]))
            assert gan.step(with_feedback, with_d_update).experimental_get_tracing_count() == 1


# --------------------------------------------------------------------------------------------------------
# Two replicas (MirroredStrategy on two logical CPUs, in a subprocess: devices must be set before TF starts).

_TWO_REPLICA_SCRIPT = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from poseaug_tf.training import steps

rng = np.random.default_rng(0)
w0 = rng.normal(scale=0.3, size=(32, 48)).astype("float32")
b0 = rng.normal(scale=0.1, size=(48,)).astype("float32")
batch = {"pose_2d": rng.normal(size=(8, 16, 2)).astype("float32"),
         "pose_3d": rng.normal(size=(8, 16, 3)).astype("float32")}
results = {}
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one instance: collective keys are per strategy
for name, strategy in (("one", tf.distribute.OneDeviceStrategy("/cpu:0")), ("two", mirrored)):
    with strategy.scope():
        inputs = keras.Input((16, 2))
        dense = keras.layers.Dense(48)
        model = keras.Model(inputs, keras.layers.Reshape((16, 3))(dense(keras.layers.Flatten()(inputs))))
        dense.set_weights([w0, b0])
        opt = keras.optimizers.SGD(learning_rate=1.0)
        opt.build(model.trainable_variables)
    step = steps.distribute(steps.make_estimator_step(model, opt, clip_norm=float(sys.argv[1])), strategy)
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))
    out = step(next(iter(dist)))
    results[name] = {"replicas": strategy.num_replicas_in_sync, "loss": float(out["loss"]),
                     "grad_norm": float(out["grad_norm"]),
                     "kernel": dense.kernel.numpy().tolist(), "bias": dense.bias.numpy().tolist()}

# FakePool with one pool per replica (capacity 8 → 4 slots each): fill, then post-fill draws.
from poseaug_tf.training.pools import FakePool
strategy = mirrored
with strategy.scope():
    pool = FakePool(8, (16, 3), seed=0, num_replicas=2)

@tf.function
def query(batch):
    return strategy.gather(strategy.run(pool.query, args=(batch,)), axis=0)

pool_out = []
for k in range(4):
    ids = np.arange(8 * k, 8 * k + 8, dtype="float32")
    fakes = np.broadcast_to(ids[:, None, None], (8, 16, 3)).copy()
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(fakes))
    pool_out.append(query(next(iter(dist))).numpy()[:, 0, 0].tolist())
results["pool"] = {"out": pool_out, "capacity": pool.capacity,
                   "tracing": query.experimental_get_tracing_count()}
# A variable the loss does not reach (no gradient) next to one it does, under two replicas with Adam.
with strategy.scope():
    used, unused = tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])
    adam = keras.optimizers.Adam(learning_rate=0.1)
    adam.build([used, unused])

@tf.function
def partial_step():
    def replica_fn():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(used * used)
        return steps.apply_clipped(adam, loss, tape, [used, unused], 100.0)
    return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_fn), axis=None)

partial_step()
results["partial"] = {"used": used.numpy().tolist(), "unused": unused.numpy().tolist()}
results["inputs"] = {"w0": w0.tolist(), "b0": b0.tolist(), "x": batch["pose_2d"].tolist(),
                     "t": batch["pose_3d"].tolist()}
print("RESULT" + json.dumps(results))
"""


def test_two_replicas_estimator_step_equals_numpy_and_pools_are_local(tmp_path):
    clip_norm = 0.05
    script = tmp_path / "two_replicas.py"
    script.write_text(_TWO_REPLICA_SCRIPT)
    repo = pathlib.Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(script), str(clip_norm)],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=300,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, proc.stderr[-3000:]
    res = json.loads(line[0][len("RESULT") :])
    assert res["one"]["replicas"] == 1 and res["two"]["replicas"] == 2
    # NumPy: linear model y = flatten(x) W + b, MSE over all B×16×3 against the root-relative target.
    inp = {k: np.asarray(v, np.float64) for k, v in res["inputs"].items()}
    x = inp["x"].reshape(8, 32)
    t = (inp["t"] - inp["t"][:, :1]).reshape(8, 48)
    resid = x @ inp["w0"] + inp["b0"] - t
    loss = np.mean(resid**2)
    g_w = 2.0 * x.T @ resid / resid.size
    g_b = 2.0 * resid.sum(0) / resid.size
    g_norm = np.sqrt((g_w**2).sum() + (g_b**2).sum())
    scale = min(1.0, clip_norm / g_norm)
    assert scale < 1.0  # clipping is active
    for name in ("one", "two"):
        r = res[name]
        assert r["loss"] == pytest.approx(loss, rel=1e-5), name
        assert r["grad_norm"] == pytest.approx(g_norm, rel=1e-5), name
        np.testing.assert_allclose(r["kernel"], inp["w0"] - scale * g_w, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(r["bias"], inp["b0"] - scale * g_b, rtol=1e-5, atol=1e-6, err_msg=name)
    # No gradient: that variable keeps its value; Adam's first step moves the other by lr·sign(g) = 0.1.
    assert res["partial"]["unused"] == [3.0, 4.0]
    np.testing.assert_allclose(res["partial"]["used"], [0.9, 1.9], rtol=1e-5)
    # Pools: replica r receives samples 4r..4r+3 of each global batch and keeps its own 4 slots.
    pool = res["pool"]
    assert pool["capacity"] == 4 and pool["tracing"] == 1
    out = np.asarray(pool["out"])
    np.testing.assert_array_equal(out[0], np.arange(8))  # fill phase: returned unchanged
    for k in range(1, 4):
        for i, got in enumerate(out[k]):
            replica = i // 4
            seen = {8 * j + 4 * replica + s for j in range(k) for s in range(4)}  # this replica's history
            assert got == 8 * k + i or got in seen, (k, i, got)
    swapped = sum(out[k][i] != 8 * k + i for k in range(1, 4) for i in range(8))
    assert 0 < swapped < 24


def test_d2d_real_samples_of_every_source():
    data = make_synthetic("source", 64, seed=0)
    placement_ranges = placement_lib.measure_placement(data.pose3d)
    batch = next(iter(gan_epoch_dataset(data.pose3d, data.camera, batch_size=16, seed=0, epoch=1)))
    batch = dict(batch, target_2d=tf.random.stateless_normal([16, 16, 2], seed=[0, 1]))
    own = numpy_ref.project_h36m_batch(batch["d2d_real_3d"].numpy(), batch["d2d_real_camera"].numpy())

    def samples(kind):
        return gan_lib.d2d_real_samples(batch, gan_defaults.settings(d2d_real=kind, placement=placement_ranges)).numpy()

    np.testing.assert_allclose(samples("source"), own, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(samples("target"), batch["target_2d"].numpy())
    replaced = samples("replaced")
    assert not np.allclose(replaced, own, atol=1e-3)  # moved to the placements of "unit"
    mix = samples("mix")
    np.testing.assert_array_equal(mix[:8], batch["target_2d"].numpy()[:8])
    np.testing.assert_allclose(mix[8:], replaced[8:], rtol=1e-6)
