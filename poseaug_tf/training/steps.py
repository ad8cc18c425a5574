"""Compiled training steps: estimator step and the PoseAug GAN iteration (generator + discriminator steps).

Every step is a per-replica function run through `strategy.run` inside one `tf.function`, so the same code
serves one CPU, one GPU and `MirroredStrategy`/`MultiWorkerMirroredStrategy`. Losses are per-example and
divided by the *global* batch; gradients are all-reduced, clipped by their global norm (as PyTorch's
`clip_grad_norm_`) and only then applied. Keras 3 would clip each replica's gradient before its own
all-reduce, which changes the result on more than one replica, so clipping is done here instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import keras
import tensorflow as tf

from poseaug_tf import camera, losses
from poseaug_tf import placement as placement_lib
from poseaug_tf.training.pools import FakePool


@dataclasses.dataclass(frozen=True)
class GANSettings:
    """Loss weights and switches of the generator and discriminator steps (docs/reference.md §5, §6.6)."""

    weight_d2d: float = 1.0
    weight_d3d: float = 6.0
    weight_diff: float = 3.0
    use_d2d: bool = True
    use_d3d: bool = True
    feedback: str = "code"  # "code" (banded ratios), "paper" (Eq. 9) or "none"
    ba_half_width: float = 2.0
    rt_center: float = 17.0
    rt_half_width: float = 15.0
    feedback_weight_ba: float = 0.1
    feedback_weight_rt: float = 0.01
    regularizer: str = "code"  # "code" (bands) or "paper" (rectified L2, Eq. 10)
    ba_range_center: float = 0.205
    ba_range_half_width: float = 0.165
    bl_limit: float = 0.1
    paper_ba_threshold: float = 0.2
    paper_feedback_weight: float = 1.0
    clip_norm: float = 1.0
    valid_bound: float = 1.0
    two_sided_filter: bool = True
    d2d_real: str = "source"  # "source" (reference) or "replaced" (source poses at random placements)
    placement: placement_lib.Placement | None = None  # the ranges of d2d_real="replaced"


def _global_batch(local_batch: tf.Tensor) -> tf.Tensor:
    ctx = tf.distribute.get_replica_context()
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(local_batch, tf.float32))


def _mean(per_example: tf.Tensor, global_batch: tf.Tensor) -> tf.Tensor:
    """Share of this replica in the global-batch mean (sums over replicas to the mean)."""
    return tf.reduce_sum(per_example) / global_batch


def apply_clipped(
    optimizer: keras.optimizers.Optimizer, loss: tf.Tensor, tape: tf.GradientTape, variables, clip_norm: float
) -> tf.Tensor:
    """Gradient of `loss`, all-reduced over replicas, clipped to a global norm, applied. Returns the norm."""
    grads = tape.gradient(loss, variables)
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


def make_estimator_step(estimator: keras.Model, optimizer, *, clip_norm: float = 1.0) -> Callable:
    """Per-replica supervised step: MSE on root-relative targets (pretraining and PoseAug's estimator passes).

    The returned function takes a batch dict with "pose_2d" (B, 16, 2) and "pose_3d" (B, 16, 3) and returns
    {"loss": share of the global-batch MSE, "grad_norm": share of the norm}.
    """

    def step(batch: Mapping[str, tf.Tensor]):
        gb = _global_batch(tf.shape(batch["pose_2d"])[0])
        with tf.GradientTape() as tape:
            pred = estimator(batch["pose_2d"], training=True)
            loss = _mean(losses.pose_mse_per_example(pred, batch["pose_3d"]), gb)
        norm = apply_clipped(optimizer, loss, tape, estimator.trainable_variables, clip_norm)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        return {"loss": loss, "grad_norm": norm / replicas}

    return step


def _feedback_terms(estimator, pose_in, out, proj_in, proj_ba, proj_rt, s: GANSettings, ba_center, beta):
    """Per-example feedback loss and the mean error ratios (for logging), docs/reference.md §5.3 / paper Eq. 9."""
    # The frozen estimator runs in training mode as in the reference (batch-statistics BN, dropout on).
    err_orig = losses.grouped_joint_error(estimator(proj_in, training=True), pose_in)
    err_ba = losses.grouped_joint_error(estimator(proj_ba, training=True), out["pose_ba"])
    err_rt = losses.grouped_joint_error(estimator(proj_rt, training=True), out["pose_rt"])
    ratio_ba = err_ba / (err_orig + losses.RATIO_EPSILON)
    ratio_rt = err_rt / (err_orig + losses.RATIO_EPSILON)
    if s.feedback == "code":
        fb = losses.code_feedback_per_example(
            err_orig,
            err_ba,
            err_rt,
            ba_center=ba_center,
            ba_half_width=s.ba_half_width,
            rt_center=s.rt_center,
            rt_half_width=s.rt_half_width,
            ba_weight=s.feedback_weight_ba,
            rt_weight=s.feedback_weight_rt,
        )
    else:
        fb = s.paper_feedback_weight * losses.paper_feedback_per_example(
            tf.reduce_mean(err_orig, -1), tf.reduce_mean(err_rt, -1), beta=beta
        )
    return fb, tf.reduce_mean(ratio_ba, -1), tf.reduce_mean(ratio_rt, -1)


def _regularizer(out, s: GANSettings) -> tf.Tensor:
    if s.regularizer == "code":
        return losses.ba_range_per_example(
            out["ba_diff"], center=s.ba_range_center, half_width=s.ba_range_half_width
        ) + losses.bl_rectified_per_example(out["blr"], limit=s.bl_limit)
    return losses.paper_rectified_per_example(
        out["ba_diff"], threshold=s.paper_ba_threshold
    ) + losses.paper_rectified_per_example(out["blr"], threshold=s.bl_limit)


def _valid_mask(proj: tf.Tensor, s: GANSettings) -> tf.Tensor:
    """Augmented samples kept for the estimator: projection inside the bound (docs/reference.md §9.3)."""
    coords = tf.abs(proj) if s.two_sided_filter else proj
    return tf.reduce_all(coords <= s.valid_bound, axis=[-2, -1])


def make_gan_step(
    *,
    augmentor,
    estimator,
    d3d,
    d2d,
    g_optimizer,
    d3d_optimizer,
    d2d_optimizer,
    pool_3d: FakePool,
    pool_2d: FakePool,
    settings: GANSettings,
    with_feedback: bool,
    with_d_update: bool,
) -> Callable:
    """Per-replica PoseAug GAN iteration: generator step, then (optionally) the D3d and D2d steps.

    The batch dict holds "pose_3d" (B, 16, 3) BL-swapped absolute camera-frame poses with their "camera"
    (B, 9), "noise" (B, 4, 48), and the discriminators' real samples "real_3d" (B, 16, 3) and
    "real_2d_pose" (B, 16, 3) with "real_2d_camera" (B, 9) (projected here; with `d2d_real="replaced"` first
    moved to the placement drawn by "unit" (B, 6) in [−1, 1]). `ba_center` and `beta` are scalar tensors
    (schedules change them without retracing); feedback and the D update are Python choices between separately
    compiled variants.
    """
    s = settings
    g_vars = augmentor.trainable_variables

    def step(batch, ba_center, beta):
        pose_in, cam = batch["pose_3d"], batch["camera"]
        gb = _global_batch(tf.shape(pose_in)[0])
        m = {}
        with tf.GradientTape() as tape:
            out = augmentor(pose_in, training=True, noise=batch["noise"])
            proj_rt = camera.project(out["pose_rt"], cam)
            total = s.weight_diff * _regularizer(out, s)
            if s.use_d2d:
                adv2d = losses.lsgan_generator_per_example(d2d(proj_rt, training=True))
                total += s.weight_d2d * adv2d
                m["g_adv_2d"] = _mean(adv2d, gb)
            if s.use_d3d:
                adv3d = losses.lsgan_generator_per_example(d3d(out["pose_ba"], training=True))
                total += s.weight_d3d * adv3d
                m["g_adv_3d"] = _mean(adv3d, gb)
            if with_feedback:
                proj_in = camera.project(pose_in, cam)
                proj_ba = camera.project(out["pose_ba"], cam)
                fb, r_ba, r_rt = _feedback_terms(estimator, pose_in, out, proj_in, proj_ba, proj_rt, s, ba_center, beta)
                total += fb
                m.update(g_feedback=_mean(fb, gb), ratio_ba=_mean(r_ba, gb), ratio_rt=_mean(r_rt, gb))
            g_loss = _mean(total, gb)
        m["g_loss"] = g_loss
        m["g_grad_norm"] = apply_clipped(g_optimizer, g_loss, tape, g_vars, s.clip_norm) / tf.cast(
            tf.distribute.get_replica_context().num_replicas_in_sync, tf.float32
        )
        fake_3d = tf.stop_gradient(out["pose_ba"])
        fake_2d = tf.stop_gradient(proj_rt)
        if with_d_update:
            real_2d_pose = batch["real_2d_pose"]
            # DEVIATION(docs/reference.md §1.11) with d2d_real="replaced" (default).
            if s.d2d_real == "replaced":
                # A 2D pose is plausible when it projects a real 3D pose from any plausible viewpoint, not only
                # from the training cameras' viewpoints: the discriminator must not penalise new views.
                real_2d_pose = placement_lib.place(
                    real_2d_pose, batch["unit"][:, :3], batch["unit"][:, 3:], s.placement
                )["pose_rt"]
            real_2d = camera.project(real_2d_pose, batch["real_2d_camera"])
            if s.use_d3d:
                m.update(_d_step(d3d, d3d_optimizer, batch["real_3d"], pool_3d.query(fake_3d), gb, s, "d3d"))
            if s.use_d2d:
                m.update(_d_step(d2d, d2d_optimizer, real_2d, pool_2d.query(fake_2d), gb, s, "d2d"))
        valid = _valid_mask(fake_2d, s)
        m.update(_augmentation_stats(out, fake_2d, valid, gb))
        m.update(
            aug_pose_3d=tf.stop_gradient(out["pose_rt"]), aug_pose_2d=fake_2d, aug_valid=tf.cast(valid, tf.int32)
        )  # int: strategies cannot gather bool tensors
        return m

    return step


def _d_step(disc, optimizer, real, fake, gb, s: GANSettings, tag: str) -> dict:
    with tf.GradientTape() as tape:
        real_scores = disc(real, training=True)
        fake_scores = disc(fake, training=True)
        loss = _mean(losses.lsgan_discriminator_per_example(real_scores, fake_scores), gb)
    apply_clipped(optimizer, loss, tape, disc.trainable_variables, s.clip_norm)
    return {
        f"{tag}_loss": loss,
        f"{tag}_real_score": _mean(tf.reduce_mean(real_scores, -1), gb),
        f"{tag}_fake_score": _mean(tf.reduce_mean(fake_scores, -1), gb),
    }


def scale_2d(pose_2d: tf.Tensor) -> tf.Tensor:
    """(B, J, 2) → (B,) RMS distance of the joints from their centroid (apparent size, normalised units)."""
    centred = pose_2d - tf.reduce_mean(pose_2d, axis=-2, keepdims=True)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(centred), -1), -1))


def _augmentation_stats(out, proj_rt, valid, gb) -> dict:
    """Augmentation magnitudes (collapse indicators), each a share of the global-batch mean."""
    stats = {
        "aug_rot_angle": _mean(placement_lib.rotation_angle(out["rotation_matrix"]), gb),  # effective angle
        "aug_depth": _mean(out["translation"][:, 2], gb),
        "aug_scale_2d": _mean(scale_2d(proj_rt), gb),
        "aug_valid_fraction": _mean(tf.cast(valid, tf.float32), gb),
    }
    if "ba_diff" in out:
        stats.update(
            aug_ba_diff=_mean(tf.reduce_mean(out["ba_diff"], -1), gb),
            aug_blr_abs=_mean(tf.reduce_mean(tf.abs(out["blr"]), -1), gb),
        )
    return stats


def make_random_augment_step(*, placement: placement_lib.Placement, settings: GANSettings) -> Callable:
    """Per-replica step of the non-learned augmentation arm: each (BL-swapped) pose at a uniform random placement.

    Takes a `gan_epoch_dataset` batch and returns the augmented pairs like the GAN step ("aug_pose_3d",
    "aug_pose_2d", "aug_valid") with the same augmentation statistics. The uniform draws come from the batch's
    stateless "unit" (B, 6) tensor, so a resumed epoch draws the same placements.
    """

    def step(batch, ba_center, beta):
        del ba_center, beta  # the GAN step's schedule arguments; unused here
        gb = _global_batch(tf.shape(batch["pose_3d"])[0])
        out = placement_lib.place(batch["pose_3d"], batch["unit"][:, :3], batch["unit"][:, 3:], placement)
        proj = camera.project(out["pose_rt"], batch["camera"])
        valid = _valid_mask(proj, settings)
        return {
            **_augmentation_stats(out, proj, valid, gb),
            "aug_pose_3d": out["pose_rt"],
            "aug_pose_2d": proj,
            "aug_valid": tf.cast(valid, tf.int32),
        }

    return step


GATHERED_GAN_KEYS = ("aug_pose_3d", "aug_pose_2d", "aug_valid")
