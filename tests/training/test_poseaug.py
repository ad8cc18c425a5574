"""The PoseAug stage: the estimator's BN statistics and the GAN pass (docs/reference.md §9.5)."""

import numpy as np
import pytest
import tensorflow as tf

from configs import synthetic
from poseaug_tf.data.datasets import load_datasets
from poseaug_tf.training import devices
from poseaug_tf.training.poseaug import PoseAugStage, _moving_statistics


def _stage(tmp_path, protect):
    config = synthetic.get_config("smoke")
    config.poseaug.protect_estimator_bn = protect
    config.poseaug.warmup = 0  # feedback (the estimator's training-mode passes) from the first epoch
    baseline = tmp_path / "baseline.weights.h5"
    devices.configured_estimator(config, synchronized_bn=False, stage="poseaug").save_weights(baseline)
    return PoseAugStage(config, tmp_path / str(protect), tf.distribute.get_strategy(), load_datasets(config), baseline)


@pytest.mark.slow
@pytest.mark.parametrize("protect", [True, False])
def test_gan_pass_keeps_or_moves_the_estimator_bn_statistics(tmp_path, protect):
    stage = _stage(tmp_path, protect)
    stats = _moving_statistics(stage.nets.estimator)
    assert stats and all("moving_" in v.path for v in stats)
    before = [v.numpy().copy() for v in stats]
    weights_before = [v.numpy().copy() for v in stage.nets.estimator.trainable_variables]
    metrics, _ = stage._gan_pass(epoch=1, seed=0)
    assert "g_feedback" in metrics  # the estimator did run in training mode inside the generator steps
    moved = max(float(np.abs(v.numpy() - b).max()) for v, b in zip(stats, before))
    if protect:
        assert moved == 0.0
    else:
        assert moved > 0.0  # the reference's drift
    # The GAN pass never trains the estimator's weights in either mode.
    for v, b in zip(stage.nets.estimator.trainable_variables, weights_before):
        np.testing.assert_array_equal(v.numpy(), b)


def test_buffer_keeps_exactly_the_valid_pairs_in_order():
    from poseaug_tf.training.poseaug import _Buffer

    rng = np.random.default_rng(0)
    buffer = _Buffer(capacity=12)
    assert buffer.pose_set() is None
    expected = {"aug_pose_3d": [], "aug_pose_2d": []}
    for valid in ([1, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]):
        out = {"aug_pose_3d": rng.normal(size=(6, 16, 3)), "aug_pose_2d": rng.normal(size=(6, 16, 2))}
        mask = np.asarray(valid, bool)
        for key in expected:
            expected[key].append(out[key][mask].astype(np.float32))
        buffer({**{k: tf.constant(v) for k, v in out.items()}, "aug_valid": tf.constant(valid, tf.int32)})
    pose_set = buffer.pose_set()
    assert len(pose_set) == 9
    np.testing.assert_array_equal(pose_set.pose3d, np.concatenate(expected["aug_pose_3d"]))
    np.testing.assert_array_equal(pose_set.pose2d, np.concatenate(expected["aug_pose_2d"]))
    assert not pose_set.has_camera


def _arm_stage(tmp_path, arm, **poseaug):
    config = synthetic.get_config("smoke")
    config.poseaug.warmup = 0
    for key, value in poseaug.items():
        config.poseaug[key] = value
    baseline = tmp_path / "baseline.weights.h5"
    if not baseline.exists():
        devices.configured_estimator(config, synchronized_bn=False, stage="poseaug").save_weights(baseline)
    return PoseAugStage(config, tmp_path / arm, tf.distribute.get_strategy(), load_datasets(config), baseline, arm=arm)


class _Recorder:
    """Stands in for the compiled estimator step and keeps the batches it is given."""

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append({k: v.numpy() for k, v in batch.items()})
        return {"loss": tf.constant(0.0)}


@pytest.mark.slow
def test_control_arm_trains_on_identity_pairs_without_a_gan_pass(tmp_path):
    stage = _arm_stage(tmp_path, "control", estimator_batches="separate")
    stage.p_step = recorder = _Recorder()
    augmentor_before = [v.numpy().copy() for v in stage.nets.augmentor.variables]
    train, _ = stage.run_epoch(1)
    assert not any(k.startswith(("g_", "d2d_", "d3d_", "aug_")) for k in train)  # no GAN pass ran
    for v, b in zip(stage.nets.augmentor.variables, augmentor_before):
        np.testing.assert_array_equal(v.numpy(), b)
    real = stage.datasets.train
    bs = stage.config.poseaug.batch_size
    # Two passes of len // bs batches: first the identity pairs (Π(X), X), then the real pairs.
    assert len(recorder.batches) == 2 * (len(real) // bs) and train["buffer_size"] == len(real)
    first = np.concatenate([b["pose_3d"] for b in recorder.batches[: len(real) // bs]])
    second = np.concatenate([b["pose_3d"] for b in recorder.batches[len(real) // bs :]])
    for seen in (first, second):  # every batch holds training poses, each at most once per pass
        rows = {r.tobytes() for r in real.pose3d}
        assert all(r.tobytes() in rows for r in seen) and len({r.tobytes() for r in seen}) == len(seen)


@pytest.mark.slow
def test_mixed_batches_hold_the_configured_share_of_augmented_pairs(tmp_path):
    stage = _arm_stage(tmp_path, "random", estimator_batches="mixed", augmented_fraction=0.25)
    stage.p_step = recorder = _Recorder()
    train, _ = stage.run_epoch(1)
    bs, real = stage.config.poseaug.batch_size, stage.datasets.train
    n_aug = round(bs * 0.25)
    assert len(recorder.batches) == len(real) // (bs - n_aug)
    assert "p_loss_mixed" in train and "p_loss_real" not in train
    rows = {r.tobytes() for r in real.pose3d}
    for batch in recorder.batches:
        assert batch["pose_3d"].shape[0] == bs
        head, tail = batch["pose_3d"][: bs - n_aug], batch["pose_3d"][bs - n_aug :]
        assert all(r.tobytes() in rows for r in head)  # real pairs first
        assert not any(r.tobytes() in rows for r in tail)  # then augmented ones
    # The random arm's pairs are placed inside the measured ranges.
    p = stage.placement
    assert p.depth[0] <= train["aug_depth"] <= p.depth[1]
    assert 0.0 < train["aug_rot_angle"] <= np.pi and 0.0 < train["aug_valid_fraction"] <= 1.0


@pytest.mark.slow
def test_bounded_poseaug_with_replaced_d2d_reals_trains(tmp_path):
    stage = _arm_stage(tmp_path, "poseaug", rt_mode="bounded", d2d_real="replaced", estimator_batches="mixed")
    train, results = stage.run_epoch(1)
    p = stage.placement
    assert p.depth[0] <= train["aug_depth"] <= p.depth[1]
    assert {"g_feedback", "d2d_real_score", "p_loss_mixed", "aug_scale_2d"} <= set(train)
    assert np.isfinite(results["validation"].mpjpe)


@pytest.mark.slow
def test_added_batches_keep_the_two_real_passes_and_add_augmented_pairs(tmp_path):
    stage = _arm_stage(tmp_path, "random", estimator_batches="added", augmented_per_real=0.5)
    stage.p_step = recorder = _Recorder()
    stage.run_epoch(1)
    bs, real = stage.config.poseaug.batch_size, stage.datasets.train
    steps_per_pass = len(real) // bs
    assert len(recorder.batches) == 2 * steps_per_pass  # the control's steps
    rows = {r.tobytes() for r in real.pose3d}
    for i in range(2):  # each pass sees every real pair once, in batches of B
        batches = recorder.batches[i * steps_per_pass : (i + 1) * steps_per_pass]
        seen = np.concatenate([b["pose_3d"][:bs] for b in batches])
        assert all(r.tobytes() in rows for r in seen) and len({r.tobytes() for r in seen}) == len(seen)
    assert all(b["pose_3d"].shape[0] == bs + bs // 2 for b in recorder.batches)
    assert not any(r.tobytes() in rows for b in recorder.batches for r in b["pose_3d"][bs:])


@pytest.mark.slow
def test_control_and_poseaug_take_the_same_estimator_steps_with_mixed_batches(tmp_path):
    counts = {}
    for arm in ("control", "poseaug"):
        stage = _arm_stage(tmp_path, arm, estimator_batches="mixed", augmented_fraction=0.25)
        stage.p_step = recorder = _Recorder()
        stage.run_epoch(1)
        counts[arm] = len(recorder.batches)
        if arm == "control":  # its "augmented" quarter is training poses too
            rows = {r.tobytes() for r in stage.datasets.train.pose3d}
            assert all(r.tobytes() in rows for b in recorder.batches for r in b["pose_3d"])
    bs = stage.config.poseaug.batch_size
    assert counts["control"] == counts["poseaug"] == len(stage.datasets.train) // (bs - round(bs * 0.25))
