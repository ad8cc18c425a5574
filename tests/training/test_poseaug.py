"""The PoseAug stage: the estimator's BN statistics and the GAN pass (REFERENCE.md §9.5)."""

import numpy as np
import pytest
import tensorflow as tf

from configs import synthetic
from poseaug_tf.training import networks
from poseaug_tf.training.datasets import load_datasets
from poseaug_tf.training.poseaug import PoseAugStage, _moving_statistics


def _stage(tmp_path, protect):
    config = synthetic.get_config("smoke")
    config.poseaug.protect_estimator_bn = protect
    config.poseaug.warmup = 0  # feedback (the estimator's training-mode passes) from the first epoch
    baseline = tmp_path / "baseline.weights.h5"
    networks.build_estimator(config, synchronized_bn=False, stage="poseaug").save_weights(baseline)
    return PoseAugStage(config, tmp_path / str(protect), tf.distribute.get_strategy(), load_datasets(config),
                        baseline)


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
