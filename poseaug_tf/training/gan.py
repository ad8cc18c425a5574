"""The PoseAug GAN: its settings, its networks and the compiled steps of one iteration, in one place.

`GANSettings` holds the generator and discriminator steps' loss weights and switches, read from `config.poseaug`
(configs/common.py lists every field and its default; `from_config` fails on a missing one, e.g. a config.json of
an older version). `build_gan_networks` builds the augmentor, both discriminators, the four optimisers and the fake
pools. `GANSteps` compiles the iteration's variants (feedback on/off × discriminator update on/off) from one
settings object: the augmentor's step (adversarial + feedback + regulariser losses), then D3d's and D2d's steps on
the pools. The estimator's update on the augmented pairs is `steps.make_estimator_step`, run by
training/poseaug.py's estimator pass on batches mixing real and augmented pairs.

Every step is a per-replica function run through `strategy.run` inside one `tf.function` (`steps.distribute`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import keras
import ml_collections
import tensorflow as tf

from poseaug_tf import models
from poseaug_tf.core import camera, losses
from poseaug_tf.core import placement as placement_lib
from poseaug_tf.core.keypoint_noise import KeypointNoise
from poseaug_tf.models.augmentor import valid_projection_mask
from poseaug_tf.training.optim import adam
from poseaug_tf.training.pools import FakePool
from poseaug_tf.training.steps import apply_clipped, distribute, global_batch_size, noisy_input, replica_mean


@dataclasses.dataclass(frozen=True)
class GANSettings:
    """Hyper-parameters of the generator and discriminator steps (`make_gan_step`); see `config.poseaug`."""

    weight_d2d: float
    weight_d3d: float
    weight_diff: float
    use_d2d: bool
    use_d3d: bool
    feedback: str
    ba_half_width: float
    rt_center: float
    rt_half_width: float
    feedback_weight_ba: float
    feedback_weight_rt: float
    paper_feedback_weight: float
    regularizer: str
    ba_range_center: float
    ba_range_half_width: float
    bl_limit: float
    paper_ba_threshold: float
    clip_norm: float
    valid_bound: float
    two_sided_filter: bool
    d2d_real: str
    placement: placement_lib.Placement | None = None  # the ranges of d2d_real="replaced"; measured, not a config field

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The fields read from `config.poseaug`."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "placement")

    @classmethod
    def from_config(cls, poseaug: Mapping, placement: placement_lib.Placement | None = None) -> GANSettings:
        """The settings of a `config.poseaug` section (which holds other fields too).

        Raises:
          ValueError: a field of `field_names()` is missing from the section.
        """
        names = cls.field_names()
        missing = [name for name in names if name not in poseaug]
        if missing:
            raise ValueError(f"config.poseaug: missing {', '.join(missing)}; expected every GANSettings field.")
        values = {name: poseaug[name] for name in names}
        # DEVIATION(docs/reference.md §3.1) with use_ba=False (default): D3d judges the BA pose, which without BA
        # is the source pose itself: nothing for it to learn or to teach the generator, so it is not run.
        values["use_d3d"] = values["use_d3d"] and poseaug["use_ba"]
        return cls(**values, placement=placement)


@dataclasses.dataclass
class GANNetworks:
    """Everything the PoseAug stage trains or samples from, for the steps and the checkpoint."""

    augmentor: keras.Model
    estimator: keras.Model
    d3d: keras.Model
    d2d: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    d3d_optimizer: keras.optimizers.Optimizer
    d2d_optimizer: keras.optimizers.Optimizer
    p_optimizer: keras.optimizers.Optimizer
    pool_3d: FakePool
    pool_2d: FakePool

    def checkpoint_items(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# The augmentor's fields of `config.poseaug`, with the value a run whose config predates the field trained with.
_AUGMENTOR_FIELDS = {
    "use_ba": True,
    "use_bl": True,
    "use_rt": True,
    "depth_guard": "min_depth",
    "rt_mode": "reference",
    "rt_anchor": "noise",
    "rt_offset": 0.25,
}


def augmentor_options(poseaug: Mapping) -> dict:
    """`models.build_augmentor` keyword arguments of a `config.poseaug` (a ConfigDict or a run's config.json)."""
    return {k: poseaug[k] if k in poseaug else default for k, default in _AUGMENTOR_FIELDS.items()}


def build_gan_networks(
    config: ml_collections.ConfigDict,
    estimator: keras.Model,
    *,
    num_replicas: int,
    seed: int,
    placement: placement_lib.Placement | None = None,
) -> GANNetworks:
    """Augmentor, discriminators, their optimisers and the fake pools (call inside `strategy.scope()`).

    `placement` bounds the augmentor's RT when `poseaug.rt_mode="bounded"`.
    """
    aug_config = config.poseaug
    sync = num_replicas > 1
    augmentor = models.build_augmentor(
        **augmentor_options(aug_config),
        seed=seed,
        synchronized_bn=sync,
        placement=None if placement is None else placement.to_config(),
    )
    nets = GANNetworks(
        augmentor=augmentor,
        estimator=estimator,
        d3d=models.build_discriminator_3d(kcs=aug_config.kcs),
        d2d=models.build_discriminator_2d(),
        g_optimizer=adam(aug_config.lr_g),
        d3d_optimizer=adam(aug_config.lr_d),
        d2d_optimizer=adam(aug_config.lr_d),
        p_optimizer=adam(aug_config.lr_p),
        pool_3d=FakePool(aug_config.pool_size, (16, 3), seed=seed + 1, num_replicas=num_replicas, name="pool_3d"),
        pool_2d=FakePool(aug_config.pool_size, (16, 2), seed=seed + 2, num_replicas=num_replicas, name="pool_2d"),
    )
    # Build optimiser slots now, so that a checkpoint restored before the first step finds them.
    for opt, model in (
        (nets.g_optimizer, augmentor),
        (nets.d3d_optimizer, nets.d3d),
        (nets.d2d_optimizer, nets.d2d),
        (nets.p_optimizer, estimator),
    ):
        opt.build(model.trainable_variables)
    return nets


def _feedback_terms(estimator, pose_in, out, proj_in, proj_ba, proj_rt, settings: GANSettings, ba_center, beta):
    """Per-example feedback loss and the mean error ratios (for logging), docs/reference.md §5.3 / paper Eq. 9."""
    # The frozen estimator runs in training mode as in the reference (batch-statistics BN, dropout on): three
    # calls, on the original, BA and RT poses. One call on the stacked (3B, 16, 2) batch with per-segment BN
    # statistics and dropout masks gives the same numbers but measured 11 % slower on CPU (docs/performance.md):
    # the split and concatenation around every BN and dropout cost more than taller products gain.
    pred_orig = estimator(proj_in, training=True)
    pred_ba = estimator(proj_ba, training=True)
    pred_rt = estimator(proj_rt, training=True)
    err_orig = losses.grouped_joint_error(pred_orig, pose_in)
    err_ba = losses.grouped_joint_error(pred_ba, out["pose_ba"])
    err_rt = losses.grouped_joint_error(pred_rt, out["pose_rt"])
    ratio_ba = err_ba / (err_orig + losses.RATIO_EPSILON)
    ratio_rt = err_rt / (err_orig + losses.RATIO_EPSILON)
    if settings.feedback == "code":
        fb = losses.code_feedback_per_example(
            err_orig,
            err_ba,
            err_rt,
            ba_center=ba_center,
            ba_half_width=settings.ba_half_width,
            rt_center=settings.rt_center,
            rt_half_width=settings.rt_half_width,
            ba_weight=settings.feedback_weight_ba,
            rt_weight=settings.feedback_weight_rt,
        )
    else:
        fb = settings.paper_feedback_weight * losses.paper_feedback_per_example(
            tf.reduce_mean(err_orig, -1), tf.reduce_mean(err_rt, -1), beta=beta
        )
    return fb, tf.reduce_mean(ratio_ba, -1), tf.reduce_mean(ratio_rt, -1)


def _regularizer(out, settings: GANSettings) -> tf.Tensor:
    if settings.regularizer == "code":
        return losses.ba_range_per_example(
            out["ba_diff"], center=settings.ba_range_center, half_width=settings.ba_range_half_width
        ) + losses.bl_rectified_per_example(out["blr"], limit=settings.bl_limit)
    return losses.paper_rectified_per_example(
        out["ba_diff"], threshold=settings.paper_ba_threshold
    ) + losses.paper_rectified_per_example(out["blr"], threshold=settings.bl_limit)


def make_gan_step(
    nets: GANNetworks,
    settings: GANSettings,
    *,
    with_feedback: bool,
    with_d_update: bool,
    d2d_noise: KeypointNoise | None = None,
    noise_seed: int = 0,
) -> Callable:
    """Per-replica PoseAug GAN iteration: generator step, then (optionally) the D3d and D2d steps.

    With `d2d_noise` (config noise.d2d="noisy"), D2d judges noisy 2D on both sides: the augmented projections and
    the projected real samples get detector noise (unlabeled target 2D is a detector's already); the augmented
    pairs handed to the estimator stay clean (its step adds its own noise).

    The batch dict holds "pose_3d" (B, 16, 3) BL-swapped absolute camera-frame poses with their "camera"
    (B, 9), "noise" (B, 4, 48), and the discriminators' real samples "real_3d" (B, 16, 3) and
    "d2d_real_3d" (B, 16, 3) with "d2d_real_camera" (B, 9) (projected here; with `d2d_real="replaced"` first
    moved to the placement drawn by "unit" (B, 6) in [−1, 1]). `ba_center` and `beta` are scalar tensors
    (schedules change them without retracing); feedback and the D update are Python choices between separately
    compiled variants.
    """
    augmentor, estimator, d3d, d2d = nets.augmentor, nets.estimator, nets.d3d, nets.d2d
    g_optimizer, d3d_optimizer, d2d_optimizer = nets.g_optimizer, nets.d3d_optimizer, nets.d2d_optimizer
    pool_3d, pool_2d = nets.pool_3d, nets.pool_2d
    g_vars = augmentor.trainable_variables

    def step(batch, ba_center, beta):
        pose_in, cam = batch["pose_3d"], batch["camera"]
        global_batch = global_batch_size(tf.shape(pose_in)[0])
        metrics = {}
        with tf.GradientTape() as tape:
            out = augmentor(pose_in, training=True, noise=batch["noise"])
            proj_rt = camera.project(out["pose_rt"], cam)
            seen_2d = (
                proj_rt if d2d_noise is None else noisy_input(proj_rt, d2d_noise, noise_seed, g_optimizer.iterations)
            )
            total = settings.weight_diff * _regularizer(out, settings)
            if settings.use_d2d:
                adv2d = losses.lsgan_generator_per_example(d2d(seen_2d, training=True))
                total += settings.weight_d2d * adv2d
                metrics["g_adv_2d"] = replica_mean(adv2d, global_batch)
            if settings.use_d3d:
                adv3d = losses.lsgan_generator_per_example(d3d(out["pose_ba"], training=True))
                total += settings.weight_d3d * adv3d
                metrics["g_adv_3d"] = replica_mean(adv3d, global_batch)
            if with_feedback:
                proj_in = camera.project(pose_in, cam)
                proj_ba = camera.project(out["pose_ba"], cam)
                fb, r_ba, r_rt = _feedback_terms(
                    estimator, pose_in, out, proj_in, proj_ba, proj_rt, settings, ba_center, beta
                )
                total += fb
                metrics.update(
                    g_feedback=replica_mean(fb, global_batch),
                    ratio_ba=replica_mean(r_ba, global_batch),
                    ratio_rt=replica_mean(r_rt, global_batch),
                )
            g_loss = replica_mean(total, global_batch)
        metrics["g_loss"] = g_loss
        metrics["g_grad_norm"] = apply_clipped(g_optimizer, g_loss, tape, g_vars, settings.clip_norm) / tf.cast(
            tf.distribute.get_replica_context().num_replicas_in_sync, tf.float32
        )
        fake_3d = tf.stop_gradient(out["pose_ba"])
        fake_2d = tf.stop_gradient(proj_rt)
        if with_d_update:
            real_2d = d2d_real_samples(batch, settings)
            fake_seen = tf.stop_gradient(seen_2d)
            if d2d_noise is not None and settings.d2d_real != "target":
                # Projected real poses ("mix": its target half is noised too, a detector's 2D twice).
                real_2d = noisy_input(real_2d, d2d_noise, noise_seed + 2**20, g_optimizer.iterations)
            if settings.use_d3d:
                metrics.update(
                    _d_step(d3d, d3d_optimizer, batch["real_3d"], pool_3d.query(fake_3d), global_batch, settings, "d3d")
                )
            if settings.use_d2d:
                metrics.update(
                    _d_step(d2d, d2d_optimizer, real_2d, pool_2d.query(fake_seen), global_batch, settings, "d2d")
                )
        valid = valid_projection_mask(fake_2d, bound=settings.valid_bound, two_sided=settings.two_sided_filter)
        metrics.update(_augmentation_stats(out, fake_2d, valid, global_batch))
        metrics.update(
            aug_pose_3d=tf.stop_gradient(out["pose_rt"]), aug_pose_2d=fake_2d, aug_valid=tf.cast(valid, tf.int32)
        )  # int: strategies cannot gather bool tensors
        return metrics

    return step


class GANSteps:
    """The PoseAug GAN iteration of one set of networks, compiled and distributed: the one way the stage, the
    benchmarks and the tests run it.

    `steps(batch, ba_center, beta, with_feedback=..., with_d_update=...)` runs the variant of those two Python
    choices; each of the four variants is compiled on first use (`make_gan_step`), with the gathered keys of
    GATHERED_GAN_KEYS.
    """

    def __init__(
        self,
        nets: GANNetworks,
        settings: GANSettings,
        strategy: tf.distribute.Strategy,
        *,
        d2d_noise: KeypointNoise | None = None,
        noise_seed: int = 0,
    ):
        self.nets, self.settings, self.strategy = nets, settings, strategy
        self.d2d_noise, self.noise_seed = d2d_noise, noise_seed
        self._variants: dict[tuple[bool, bool], Callable] = {}

    def variant(self, with_feedback: bool, with_d_update: bool) -> Callable:
        key = (with_feedback, with_d_update)
        if key not in self._variants:
            fn = make_gan_step(
                self.nets,
                self.settings,
                with_feedback=with_feedback,
                with_d_update=with_d_update,
                d2d_noise=self.d2d_noise,
                noise_seed=self.noise_seed,
            )
            self._variants[key] = distribute(fn, self.strategy, gather_keys=GATHERED_GAN_KEYS)
        return self._variants[key]

    def __call__(self, batch, ba_center, beta, *, with_feedback: bool, with_d_update: bool) -> dict:
        return self.variant(with_feedback, with_d_update)(batch, ba_center, beta)


def d2d_real_samples(batch, settings: GANSettings) -> tf.Tensor:
    """(B, 16, 2) real samples of D2d (`GANSettings.d2d_real`)."""
    if settings.d2d_real == "target":
        return batch["target_2d"]
    d2d_real_3d = batch["d2d_real_3d"]
    # DEVIATION(docs/reference.md §1.11) with d2d_real="replaced" (default) or "mix".
    if settings.d2d_real in ("replaced", "mix"):
        # A 2D pose is plausible when it projects a real 3D pose from any plausible viewpoint, not only
        # from the training cameras' viewpoints: the discriminator must not penalise new views.
        d2d_real_3d = placement_lib.place(d2d_real_3d, batch["unit"][:, :3], batch["unit"][:, 3:], settings.placement)[
            "pose_rt"
        ]
    real_2d = camera.project(d2d_real_3d, batch["d2d_real_camera"])
    if settings.d2d_real == "mix":
        half = tf.shape(real_2d)[0] // 2
        real_2d = tf.concat([batch["target_2d"][:half], real_2d[half:]], axis=0)
    return real_2d


def _d_step(disc, optimizer, real, fake, global_batch, settings: GANSettings, tag: str) -> dict:
    with tf.GradientTape() as tape:
        real_scores = disc(real, training=True)
        fake_scores = disc(fake, training=True)
        loss = replica_mean(losses.lsgan_discriminator_per_example(real_scores, fake_scores), global_batch)
    apply_clipped(optimizer, loss, tape, disc.trainable_variables, settings.clip_norm)
    return {
        f"{tag}_loss": loss,
        f"{tag}_real_score": replica_mean(tf.reduce_mean(real_scores, -1), global_batch),
        f"{tag}_fake_score": replica_mean(tf.reduce_mean(fake_scores, -1), global_batch),
    }


def scale_2d(pose_2d: tf.Tensor) -> tf.Tensor:
    """(B, J, 2) → (B,) RMS distance of the joints from their centroid (apparent size, normalised units)."""
    centred = pose_2d - tf.reduce_mean(pose_2d, axis=-2, keepdims=True)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(centred), -1), -1))


def _augmentation_stats(out, proj_rt, valid, global_batch) -> dict:
    """Augmentation magnitudes (collapse indicators), each a share of the global-batch mean."""
    stats = {
        # The effective rotation angle, whatever the branch's parametrisation.
        "aug_rot_angle": replica_mean(placement_lib.rotation_angle(out["rotation_matrix"]), global_batch),
        "aug_depth": replica_mean(out["translation"][:, 2], global_batch),
        "aug_scale_2d": replica_mean(scale_2d(proj_rt), global_batch),
        "aug_valid_fraction": replica_mean(tf.cast(valid, tf.float32), global_batch),
    }
    if "ba_diff" in out:
        stats.update(
            aug_ba_diff=replica_mean(tf.reduce_mean(out["ba_diff"], -1), global_batch),
            aug_blr_abs=replica_mean(tf.reduce_mean(tf.abs(out["blr"]), -1), global_batch),
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
        global_batch = global_batch_size(tf.shape(batch["pose_3d"])[0])
        out = placement_lib.place(batch["pose_3d"], batch["unit"][:, :3], batch["unit"][:, 3:], placement)
        proj = camera.project(out["pose_rt"], batch["camera"])
        valid = valid_projection_mask(proj, bound=settings.valid_bound, two_sided=settings.two_sided_filter)
        return {
            **_augmentation_stats(out, proj, valid, global_batch),
            "aug_pose_3d": out["pose_rt"],
            "aug_pose_2d": proj,
            "aug_valid": tf.cast(valid, tf.int32),
        }

    return step


GATHERED_GAN_KEYS = ("aug_pose_3d", "aug_pose_2d", "aug_valid")
