"""Runs a few PoseAug GAN iterations plus an estimator step on one device and under MirroredStrategy over two
logical CPUs, from identical weights and data, and prints the largest weight difference as JSON.

Run as a script (the logical devices must be configured before TensorFlow initialises its devices).
"""

import json
import sys

from poseaug_tf.infra.runtime import import_tensorflow_quietly
from tests.training import gan_defaults

tf = import_tensorflow_quietly()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from poseaug_tf import models  # noqa: E402
from poseaug_tf.data import pipeline, synthetic  # noqa: E402
from poseaug_tf.training import gan, optim, steps  # noqa: E402
from poseaug_tf.training.pools import FakePool  # noqa: E402

BATCH, ITERATIONS = 64, 4


def build(strategy):
    replicas = strategy.num_replicas_in_sync
    sync = replicas > 1
    with strategy.scope():
        nets = gan.GANNetworks(
            augmentor=models.build_augmentor(hidden_units=32, synchronized_bn=sync),
            estimator=models.build_estimator("mlp", units=64, num_stages=1, dropout_rate=0.0, synchronized_bn=sync),
            d3d=models.build_discriminator_3d(hidden_units=32, mid_units=16),
            d2d=models.build_discriminator_2d(hidden_units=16),
            g_optimizer=optim.adam(1e-3),
            d3d_optimizer=optim.adam(1e-3),
            d2d_optimizer=optim.adam(1e-3),
            p_optimizer=optim.adam(1e-3),
            # Large pools: every iteration is in the fill phase, so no pool randomness enters the comparison.
            pool_3d=FakePool(1024, (16, 3), seed=1, num_replicas=replicas),
            pool_2d=FakePool(1024, (16, 2), seed=2, num_replicas=replicas),
        )
        for opt, model in (
            (nets.g_optimizer, nets.augmentor),
            (nets.d3d_optimizer, nets.d3d),
            (nets.d2d_optimizer, nets.d2d),
            (nets.p_optimizer, nets.estimator),
        ):
            opt.build(model.trainable_variables)
    return nets


def run(strategy, nets, initial):
    models_ = (nets.augmentor, nets.estimator, nets.d3d, nets.d2d)
    for model, weights in zip(models_, initial):
        model.set_weights(weights)
    settings = gan_defaults.settings(d2d_real="source")
    gan_steps = gan.GANSteps(nets, settings, strategy)
    p_step = steps.distribute(steps.make_estimator_step(nets.estimator, nets.p_optimizer), strategy)
    data = synthetic.make_synthetic("source", BATCH * ITERATIONS, seed=3)
    ds = pipeline.gan_epoch_dataset(data.pose3d, data.camera, batch_size=BATCH, seed=0, epoch=1)
    logs = []
    for i, batch in enumerate(strategy.experimental_distribute_dataset(ds)):
        out = gan_steps(batch, tf.constant(3.0), tf.constant(2.0), with_feedback=True, with_d_update=i % 2 == 0)
        logs.append(float(out["g_loss"]))
    est = tf.data.Dataset.from_tensor_slices({"pose_2d": data.pose2d, "pose_3d": data.pose3d}).batch(BATCH)
    for batch in strategy.experimental_distribute_dataset(est.take(2)):
        logs.append(float(p_step(batch)["loss"]))
    return [m.get_weights() for m in models_], logs


def main():
    keras.utils.set_random_seed(0)
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    reference = build(single)
    initial = [m.get_weights() for m in (reference.augmentor, reference.estimator, reference.d3d, reference.d2d)]
    w_single, logs_single = run(single, reference, initial)
    w_mirrored, logs_mirrored = run(mirrored, build(mirrored), initial)
    diffs = [float(np.max(np.abs(a - b))) for ws, wm in zip(w_single, w_mirrored) for a, b in zip(ws, wm)]
    moved = [float(np.max(np.abs(a - b))) for ws, wi in zip(w_single, initial) for a, b in zip(ws, wi)]
    json.dump(
        {
            "replicas": mirrored.num_replicas_in_sync,
            "max_weight_diff": max(diffs),
            "max_weight_change": max(moved),
            "losses_single": logs_single,
            "losses_mirrored": logs_mirrored,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
