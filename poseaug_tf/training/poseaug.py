"""Stage 2: the PoseAug schedule (docs/reference.md §6.2–6.4) for one arm, resumable, with a collapse guard.

Arms (`run_dir.ARMS`) share everything but where the estimator's augmented pairs come from, so that their difference
is the augmentation alone: same start weights, learning rates and their linear decay, warm-up, estimator passes
and model selection.

  poseaug   the learned augmentor of the GAN pass (the method);
  control   no augmentation: the pairs an identity augmentor would give, (Π(X), X) of the source poses;
  random    non-learned: each (bone-length-swapped) source pose at a uniformly random `placement.Placement`.
"""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Sequence

import ml_collections
import numpy as np
import tensorflow as tf
from absl import logging

from poseaug_tf.core import alignment, camera
from poseaug_tf.core import placement as placement_lib
from poseaug_tf.data import pipeline
from poseaug_tf.data.datasets import Datasets
from poseaug_tf.evaluation import Evaluator
from poseaug_tf.infra import files
from poseaug_tf.training import checkpoints, detector_noise, devices, gan, model_files, optim, reporting, run_dir, steps
from poseaug_tf.training.callbacks import RunCallback
from poseaug_tf.training.passes import NonFiniteLossError, run_pass
from poseaug_tf.training.selection import SelectionState


def uses_placement(config: ml_collections.ConfigDict, arm: str) -> bool:
    aug_config = config.poseaug
    return arm == "random" or aug_config.rt_mode == "bounded" or aug_config.d2d_real in ("replaced", "mix")


def uses_target_2d(config: ml_collections.ConfigDict, arm: str) -> bool:
    """Whether this arm's D2d reads the unlabeled target 2D (the domain-adaptive discriminator)."""
    return arm == "poseaug" and config.poseaug.d2d_real in ("target", "mix")


CALIBRATION_SAMPLES = 65536  # source pairs that calibrate the depth-from-scale estimator (a median)


class CollapseError(RuntimeError):
    """The adversarial game collapsed (e.g. almost no augmented pose stays in the image)."""


def measure_placement(config: ml_collections.ConfigDict, pose_3d) -> placement_lib.Placement:
    aug_config = config.poseaug
    return placement_lib.measure_placement(
        pose_3d,
        margin=aug_config.placement_margin,
        yaw_limit_deg=aug_config.yaw_limit_deg,
        pitch_limit_deg=aug_config.pitch_limit_deg,
        roll_limit_deg=aug_config.roll_limit_deg,
        position=aug_config.position,
    )


def align_to_target(placement: placement_lib.Placement, datasets: Datasets, margin: float):
    """Global position alignment of `placement` to `datasets.target_2d` (alignment.align_placement)."""
    train = datasets.train
    rows = np.random.default_rng(0).permutation(len(train))[:CALIBRATION_SAMPLES]
    pose_3d, cam = train.pose3d[rows], train.camera[rows]
    return alignment.align_placement(
        placement,
        source_pose_3d=pose_3d,
        source_pose_2d=camera.project(pose_3d, cam).numpy(),
        source_camera=cam,
        target_pose_2d=datasets.target_2d,
        margin=margin,
    )


class _Buffer:
    """The epoch's valid augmented pairs (docs/reference.md §6.2 step 2c), collected on the host.

    Preallocated for the whole epoch and filled in place, so that collecting 1.3M Human3.6M pairs holds one copy
    of them (420 MB), not a list of batches plus its concatenation. Cameras are not kept: the estimator pass
    does not read them.
    """

    _SHAPES = {"aug_pose_3d": (16, 3), "aug_pose_2d": (16, 2)}

    def __init__(self, capacity: int):
        self.arrays = {k: np.empty((capacity, *shape), np.float32) for k, shape in self._SHAPES.items()}
        self.size = 0

    def __call__(self, out) -> None:
        valid = out["aug_valid"].numpy().astype(bool)
        count = int(valid.sum())
        for key, array in self.arrays.items():
            array[self.size : self.size + count] = out[key].numpy()[valid]
        self.size += count

    def pose_set(self):
        """The buffer as a PoseSet (views, no copy), or None when no augmented pose was valid."""
        if not self.size:
            return None
        views = {k: v[: self.size] for k, v in self.arrays.items()}
        return pipeline.augmented_pose_set(views["aug_pose_3d"], views["aug_pose_2d"])


def _moving_statistics(model) -> list:
    """The BatchNorm moving means and variances of a model (not its dropout RNG states)."""
    return [v for v in model.non_trainable_variables if v.path.rsplit("/", 1)[-1].startswith("moving_")]


class PoseAugStage:
    """Owns the networks, compiled steps and checkpoint of one arm of the PoseAug stage (`<workdir>/<arm>/`)."""

    def __init__(
        self,
        config,
        workdir: pathlib.Path,
        strategy,
        datasets: Datasets,
        baseline: pathlib.Path,
        *,
        arm: str = "poseaug",
    ):
        if arm not in run_dir.ARMS:
            raise ValueError(f"Unknown arm {arm!r}; valid: {', '.join(run_dir.ARMS)}.")
        self.config, self.strategy, self.datasets, self.arm = config, strategy, datasets, arm
        self.dir = workdir / arm
        self.dir.mkdir(parents=True, exist_ok=True)
        self.restarts_path = self.dir / run_dir.RESTARTS
        self.restarts = files.read_json(self.restarts_path, default=0)
        self.placement, self.target_unit_position = None, None
        if uses_placement(config, arm):
            self.placement = measure_placement(config, datasets.train.pose3d)
            if config.poseaug.align == "target":
                aligned = align_to_target(self.placement, datasets, config.poseaug.placement_margin)
                self.placement, self.target_unit_position = aligned.placement, aligned.unit_position
                logging.info(
                    "%s: placement aligned to %d target frames (k = %.4f).",
                    arm,
                    len(datasets.target_2d),
                    aligned.depth_constant,
                )
            run_dir.write_json(self.dir / run_dir.PLACEMENT, self.placement.to_config())
            logging.info("%s: placement %s (%s).", arm, self.placement.describe(), run_dir.PLACEMENT)
        self._identity = None  # the control's pairs, built on first use
        replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            estimator = devices.configured_estimator(config, synchronized_bn=replicas > 1, stage="poseaug")
            self.nets = gan.build_gan_networks(
                config, estimator, num_replicas=replicas, seed=config.seed, placement=self.placement
            )
        # Host-side bookkeeping, not replicated variables.
        self.state = SelectionState()
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
        self.ckpt = checkpoints.training_checkpoint(
            state=self.state, iteration=self.iteration, **self.nets.checkpoint_items()
        )
        self.manager = tf.train.CheckpointManager(self.ckpt, self.dir / run_dir.CHECKPOINTS, max_to_keep=2)
        if self.manager.latest_checkpoint:
            checkpoints.restore_checkpoint(self.ckpt, self.manager.latest_checkpoint)
            logging.info("%s: resumed from %s (epoch %d).", arm, self.manager.latest_checkpoint, int(self.state.epoch))
        else:
            start = config.poseaug.pretrained or baseline
            model_files.load_start_weights(estimator, start)
            logging.info("%s: estimator initialised from %s.", arm, start)
            self.manager.save()  # epoch 0: the rollback target of a collapse in epoch 1
        self.settings = gan.GANSettings.from_config(config.poseaug, self.placement)
        self._random_step = None
        # Detector noise (config `noise`): on every augmented pair, on real pairs as `detector_noise.on_real`.
        self.noise = detector_noise.build(config, datasets, workdir)
        self.noise_on_real = detector_noise.on_real(config)
        self.p_step = steps.distribute(
            steps.make_estimator_step(
                estimator,
                self.nets.p_optimizer,
                clip_norm=config.poseaug.clip_norm,
                noise=self.noise,
                noise_seed=detector_noise.seed(config, "poseaug"),
            ),
            strategy,
        )
        self.gan_steps = gan.GANSteps(
            self.nets,
            self.settings,
            strategy,
            d2d_noise=self.noise if config.noise.d2d == "noisy" else None,
            noise_seed=detector_noise.seed(config, "d2d"),
        )
        self.evaluator = Evaluator(estimator, datasets, batch_size=config.eval.batch_size)

    def _schedules(self, epoch: int) -> tuple[float, float]:
        """(BA band centre, paper β) of this epoch: linear from start to end over the epochs."""
        aug_config = self.config.poseaug
        frac = epoch / aug_config.epochs
        return (
            aug_config.ba_center_start + (aug_config.ba_center_end - aug_config.ba_center_start) * frac,
            aug_config.paper_beta_start + (aug_config.paper_beta_end - aug_config.paper_beta_start) * frac,
        )

    def _set_learning_rates(self, epoch: int) -> None:
        aug_config, nets = self.config.poseaug, self.nets
        for opt, base in (
            (nets.g_optimizer, aug_config.lr_g),
            (nets.d3d_optimizer, aug_config.lr_d),
            (nets.d2d_optimizer, aug_config.lr_d),
            (nets.p_optimizer, aug_config.lr_p),
        ):
            opt.learning_rate.assign(optim.poseaug_learning_rate(base, epoch, aug_config.epochs))

    def _gan_dataset(self, epoch: int, seed: int) -> tf.data.Dataset:
        aug_config, train = self.config.poseaug, self.datasets.train
        rng = np.random.default_rng([seed, epoch, 1])
        swap = pipeline.swap_rows(len(train), rng) if aug_config.bl_swap else None
        return pipeline.gan_epoch_dataset(
            train.pose3d,
            train.camera,
            batch_size=aug_config.batch_size,
            seed=seed,
            epoch=epoch,
            swap=swap,
            limb_swap=aug_config.limb_swap,
            body_scale=aug_config.body_scale,
            proportions=aug_config.proportions,
            mirror=aug_config.mirror,
            target_2d=self.datasets.target_2d if uses_target_2d(self.config, self.arm) else None,
            target_unit_position=self.target_unit_position,
        )

    def _random_pass(self, epoch: int, seed: int) -> tuple[dict, _Buffer | None]:
        """The random arm's augmentation pass: a uniform random placement of every (swapped) source pose."""
        aug_config = self.config.poseaug
        if epoch <= aug_config.warmup:
            return {}, None
        if self._random_step is None:
            self._random_step = steps.distribute(
                gan.make_random_augment_step(placement=self.placement, settings=self.settings),
                self.strategy,
                gather_keys=gan.GATHERED_GAN_KEYS,
            )
        total = len(self.datasets.train) // aug_config.batch_size
        buffer = _Buffer(total * aug_config.batch_size)
        zero = tf.constant(0.0, tf.float32)
        metrics = run_pass(
            self._random_step,
            self.strategy.experimental_distribute_dataset(self._gan_dataset(epoch, seed)),
            total=total,
            desc=f"random {epoch}/{aug_config.epochs} augment",
            step_args=(zero, zero),
            on_output=buffer,
        )
        return metrics, buffer

    def _gan_pass(self, epoch: int, seed: int) -> tuple[dict, _Buffer | None]:
        aug_config, train = self.config.poseaug, self.datasets.train
        ds = self._gan_dataset(epoch, seed)
        with_feedback = epoch > aug_config.warmup and aug_config.feedback != "none"
        ba_center, beta = self._schedules(epoch)
        total = len(train) // aug_config.batch_size
        # Warm-up epochs train no estimator, so their augmented pairs are not kept.
        buffer = _Buffer(total * aug_config.batch_size) if epoch > aug_config.warmup else None
        # DEVIATION(docs/reference.md §9.5): the feedback runs the frozen estimator in training mode (batch
        # statistics, as the reference), which also moves its BN running statistics towards augmented poses.
        # With few batches per epoch the following real pass cannot wash that out and inference-mode accuracy
        # drops; so the statistics are restored after the GAN pass unless protect_estimator_bn=False.
        bn_stats = _moving_statistics(self.nets.estimator) if aug_config.protect_estimator_bn else []
        saved = [v.numpy() for v in bn_stats]
        start = int(self.iteration)
        iterations = itertools.count(start)

        def step(batch, ba_center, beta):
            # D steps every `d_interval` iterations of a global counter (docs/reference.md §6.2 step 2b).
            with_d_update = next(iterations) % aug_config.d_interval == 0
            return self.gan_steps(batch, ba_center, beta, with_feedback=with_feedback, with_d_update=with_d_update)

        metrics = run_pass(
            step,
            self.strategy.experimental_distribute_dataset(ds),
            total=total,
            desc=f"poseaug {epoch}/{aug_config.epochs} GAN",
            step_args=(tf.constant(ba_center, tf.float32), tf.constant(beta, tf.float32)),
            on_output=buffer,
            first_step=start,
        )
        self.iteration.assign(next(iterations))  # the first iteration of the next pass
        for variable, value in zip(bn_stats, saved):
            variable.assign(value)
        return metrics, buffer

    def _estimator_pass(self, pose_set, epoch: int, seed: int, tag: str) -> dict:
        bs = self.config.poseaug.batch_size
        if pose_set is None or len(pose_set) < bs:
            logging.warning(
                "%s epoch %d: %s pass skipped (%d samples < batch %d).",
                self.arm,
                epoch,
                tag,
                0 if pose_set is None else len(pose_set),
                bs,
            )
            return {}
        ds = self._with_noise_flags(
            pipeline.train_dataset(pose_set, batch_size=bs, seed=seed * 1013 + epoch),
            tag == "real" or self.arm == "control",
        )
        out = run_pass(
            self.p_step,
            self.strategy.experimental_distribute_dataset(ds),
            total=len(pose_set) // bs,
            desc=f"{self.arm} {epoch} estimator/{tag}",
        )
        return {f"p_{k}_{tag}": v for k, v in out.items()}

    def _with_noise_flags(self, ds: tf.data.Dataset, real: bool) -> tf.data.Dataset:
        """Adds the estimator step's "noisy" (B,) flags when noise is on: augmented pairs always get noise, real
        ones (and the control's pairs, which are real) as `noise_on_real`."""
        if self.noise is None:
            return ds
        flag = self.noise_on_real or not real
        return ds.map(lambda b: {**b, "noisy": tf.fill(tf.shape(b["pose_2d"])[:1], flag)})

    def _mixed_pass(self, aug, epoch: int, seed: int) -> dict:
        """Estimator steps whose batches hold real and augmented pairs together.

        "mixed": one pass over the real pairs in batches of B, of which `augmented_fraction` are augmented
        (2N/B steps of B samples for the default 0.5, as the two separate passes).
        "added": the two passes over the real pairs in batches of B, each batch joined by
        round(`augmented_per_real` · B) augmented pairs: the control's steps and real batches, with the
        augmented pairs added on top.
        """
        aug_config, real = self.config.poseaug, self.datasets.train
        if aug_config.estimator_batches == "added":
            n_real, n_aug, passes = (
                aug_config.batch_size,
                int(round(aug_config.batch_size * aug_config.augmented_per_real)),
                2,
            )
        else:
            n_aug = int(round(aug_config.batch_size * aug_config.augmented_fraction))
            n_real, passes = aug_config.batch_size - n_aug, 1
        if aug is None or len(aug) < n_aug:
            logging.warning(
                "%s epoch %d: %d augmented pairs < %d per batch; estimator trained on real pairs only.",
                self.arm,
                epoch,
                0 if aug is None else len(aug),
                n_aug,
            )
            return self._estimator_pass(real, epoch, seed, "real")
        real_ds = pipeline.train_dataset(real, batch_size=n_real, seed=seed * 1013 + epoch).repeat(passes)
        aug_ds = pipeline.train_dataset(aug, batch_size=n_aug, seed=seed * 1019 + epoch).repeat()
        ds = tf.data.Dataset.zip(
            self._with_noise_flags(real_ds, True), self._with_noise_flags(aug_ds, self.arm == "control")
        ).map(lambda r, f: {k: tf.concat([r[k], f[k]], 0) for k in ("pose_2d", "pose_3d", "noisy") if k in r})
        out = run_pass(
            self.p_step,
            self.strategy.experimental_distribute_dataset(ds),
            total=passes * (len(real) // n_real),
            desc=f"{self.arm} {epoch} estimator/mixed",
        )
        return {f"p_{k}_mixed": v for k, v in out.items()}

    def _augmented_pairs(self, epoch: int, seed: int) -> tuple[dict, object]:
        """(training means, PoseSet of this epoch's augmented pairs or None) of the arm's augmentation pass."""
        aug_config = self.config.poseaug
        if self.arm == "control":
            if epoch <= aug_config.warmup:
                return {}, None
            if self._identity is None:
                self._identity = pipeline.identity_pose_set(self.datasets.train)
            return {}, self._identity
        train, buffer = (self._gan_pass if self.arm == "poseaug" else self._random_pass)(epoch, seed)
        if epoch > aug_config.warmup and train.get("aug_valid_fraction", 1.0) < aug_config.min_valid_fraction:
            raise CollapseError(
                f"only {train['aug_valid_fraction']:.1%} of the augmented poses of epoch "
                f"{epoch} project inside the image (< {aug_config.min_valid_fraction:.0%})"
            )
        return train, None if buffer is None else buffer.pose_set()

    def run_epoch(self, epoch: int) -> tuple[dict, dict]:
        aug_config = self.config.poseaug
        seed = self.config.seed + 7919 * self.restarts
        self._set_learning_rates(epoch)
        train, aug = self._augmented_pairs(epoch, seed)
        if epoch > aug_config.warmup:
            train["buffer_size"] = 0 if aug is None else len(aug)
            # DEVIATION(docs/reference.md §6.2) unless estimator_batches="separate": real and augmented pairs
            # share batches instead of alternating whole passes.
            if aug_config.estimator_batches in ("mixed", "added"):
                train.update(self._mixed_pass(aug, epoch, seed))
            else:
                train.update(self._estimator_pass(aug, epoch, seed, "fake"))
                train.update(self._estimator_pass(self.datasets.train, epoch, seed, "real"))
        return train, self.evaluator.all()

    def rollback(self, epoch: int, error: Exception) -> None:
        """Restores the last checkpoint and changes the seed; raises once `max_restarts` is exhausted."""
        self.restarts += 1
        if self.restarts > self.config.poseaug.max_restarts:
            raise type(error)(
                f"{str(error).rstrip('.')}; gave up after {self.config.poseaug.max_restarts} rollbacks."
            ) from error
        run_dir.write_json(self.restarts_path, self.restarts)
        checkpoints.restore_checkpoint(self.ckpt, self.manager.latest_checkpoint)
        logging.warning(
            "%s epoch %d: %s. Rolled back to epoch %d with a new seed (restart %d of %d).",
            self.arm,
            epoch,
            error,
            int(self.state.epoch),
            self.restarts,
            self.config.poseaug.max_restarts,
        )


def run_poseaug(
    config,
    workdir: pathlib.Path,
    strategy,
    datasets: Datasets,
    history: run_dir.History,
    writer: tf.summary.SummaryWriter,
    baseline: pathlib.Path,
    *,
    arm: str = "poseaug",
    callbacks: Sequence[RunCallback] = (),
) -> None:
    """Runs (or resumes) one arm's epochs and writes `<workdir>/<arm>.weights.h5` (the selected model)."""
    stage = PoseAugStage(config, workdir, strategy, datasets, baseline, arm=arm)
    history.truncate(arm, int(stage.state.epoch))
    if not history.stage(arm):
        results = stage.evaluator.all()
        history.append(reporting.epoch_record(arm, 0, {}, results))
    epochs = config.poseaug.epochs
    while int(stage.state.epoch) < epochs:
        epoch = int(stage.state.epoch) + 1
        try:
            train, results = stage.run_epoch(epoch)
        except (NonFiniteLossError, CollapseError) as error:
            stage.rollback(epoch, error)
            history.truncate(arm, int(stage.state.epoch))
            continue
        reporting.record_epoch(history, writer, stage=arm, epoch=epoch, epochs=epochs, train=train, results=results)
        for callback in callbacks:
            callback.on_arm_epoch_end(
                arm=arm, epoch=epoch, workdir=workdir, writer=writer, augmentor=stage.nets.augmentor, datasets=datasets
            )
        # Warm-up epochs leave the estimator untrained (only BN statistics move), so a PoseAug model is
        # selected among the epochs that trained it.
        stage.state.update(
            stage.dir, stage.nets.estimator, epoch, results["validation"].mpjpe, eligible=epoch > config.poseaug.warmup
        )
        stage.manager.save()
    stage.state.publish(stage.nets.estimator, stage.dir, workdir, name=arm, selection=config.selection)
