"""The estimator's compiled step (pretraining and PoseAug's estimator passes) and what every step shares.

The PoseAug GAN iteration (augmentor and discriminator steps) is in training/gan.py.

Every step is a per-replica function run through `strategy.run` inside one `tf.function`, so the same code
serves one CPU, one GPU and `MirroredStrategy`/`MultiWorkerMirroredStrategy`. Losses are per-example and
divided by the *global* batch; gradients are all-reduced, clipped by their global norm (as PyTorch's
`clip_grad_norm_`) and only then applied. Keras 3 would clip each replica's gradient before its own
all-reduce, which changes the result on more than one replica, so clipping is done here instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from poseaug_tf.core import keypoint_noise, losses
from poseaug_tf.core.keypoint_noise import KeypointNoise


def global_batch_size(local_batch: tf.Tensor) -> tf.Tensor:
    ctx = tf.distribute.get_replica_context()
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(local_batch, tf.float32))


def replica_mean(per_example: tf.Tensor, global_batch: tf.Tensor) -> tf.Tensor:
    """Share of this replica in the global-batch mean (sums over replicas to the mean)."""
    return tf.reduce_sum(per_example) / global_batch


def apply_clipped(
    optimizer: keras.optimizers.Optimizer, loss: tf.Tensor, tape: tf.GradientTape, variables, clip_norm: float
) -> tf.Tensor:
    """Gradient of `loss`, all-reduced over replicas, clipped to a global norm, applied. Returns the norm."""
    # A variable the loss does not reach (the augmentor's translation head when the person turns in place,
    # `position="source"`) has no gradient; all-reduce takes no None, and a zero gradient leaves Adam's step at 0.
    grads = [
        tf.zeros_like(v) if g is None else g for g, v in zip(tape.gradient(loss, variables), variables, strict=True)
    ]
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync
    if replicas > 1:
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    grads, norm = tf.clip_by_global_norm(grads, clip_norm)
    if replicas > 1:
        # The optimizer sums gradients over replicas again; hand it each replica's share.
        grads = [g / replicas for g in grads]
    optimizer.apply(grads, variables)
    return norm


def distribute(replica_fn: Callable, strategy: tf.distribute.Strategy, *, gather_keys=()) -> Callable:
    """Wraps a per-replica step into one `tf.function`: scalars are summed over replicas, `gather_keys`
    tensors are concatenated along the batch axis."""

    @tf.function
    def step(*args):
        out = strategy.run(replica_fn, args=args)
        result = {}
        for key, value in out.items():
            if key in gather_keys:
                result[key] = strategy.gather(value, axis=0)
            else:
                result[key] = strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
        return result

    # TF's frequent-retracing warning counts traces per *code object*; the GAN step variants share this
    # closure's code, so four single traces would read as "retracing". Each variant traces once (tested).
    step._omit_frequent_tracing_warning = True  # pylint: disable=protected-access
    return step


def noisy_input(pose_2d: tf.Tensor, noise: KeypointNoise, seed: int, step: tf.Tensor, selected=None) -> tf.Tensor:
    """(B, 16, 2) 2D with detector noise drawn for this optimizer step and replica, missing joints filled.

    `selected` (B,) bool picks the samples that get noise (the others keep their 2D); None: all. The draw is
    stateless in (seed, step, replica), so a resumed run draws the same noise."""
    ctx = tf.distribute.get_replica_context()
    counter = tf.cast(step, tf.int64) * ctx.num_replicas_in_sync + tf.cast(ctx.replica_id_in_sync_group, tf.int64)
    noisy = keypoint_noise.sample(noise, pose_2d, tf.stack([tf.constant(seed, tf.int64), counter]))
    if selected is not None:
        noisy = tf.where(selected[:, None, None], noisy, pose_2d)
    return keypoint_noise.fill_missing(noisy)


def make_estimator_step(
    estimator: keras.Model,
    optimizer,
    *,
    clip_norm: float = 1.0,
    noise: KeypointNoise | None = None,
    noise_seed: int = 0,
) -> Callable:
    """Per-replica supervised step: MSE on root-relative targets (pretraining and PoseAug's estimator passes).

    The returned function takes a batch dict with "pose_2d" (B, 16, 2) and "pose_3d" (B, 16, 3) and returns
    {"loss": share of the global-batch MSE, "grad_norm": share of the norm}. With `noise`, the 2D of the samples
    that the batch's optional "noisy" (B,) bool selects (all when absent) gets detector noise first.
    """

    def step(batch: Mapping[str, tf.Tensor]):
        global_batch = global_batch_size(tf.shape(batch["pose_2d"])[0])
        pose_2d = batch["pose_2d"]
        if noise is not None:
            pose_2d = noisy_input(pose_2d, noise, noise_seed, optimizer.iterations, batch.get("noisy"))
        with tf.GradientTape() as tape:
            pred = estimator(pose_2d, training=True)
            loss = replica_mean(losses.pose_mse_per_example(pred, batch["pose_3d"]), global_batch)
        norm = apply_clipped(optimizer, loss, tape, estimator.trainable_variables, clip_norm)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        return {"loss": loss, "grad_norm": norm / replicas}

    return step
