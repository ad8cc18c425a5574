"""Networks and optimisers of a run, built from the config under the run's distribution strategy."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import keras
import ml_collections
import tensorflow as tf
from absl import logging

from poseaug_tf import models
from poseaug_tf.models.layers import rng_states
from poseaug_tf.placement import Placement
from poseaug_tf.training.pools import FakePool

ADAM_EPSILON = 1e-8  # PyTorch's default; Keras' is 1e-7 (docs/reference.md §8)


def adam(learning_rate) -> keras.optimizers.Adam:
    """Adam with PyTorch's defaults. No `global_clipnorm`: steps clip after the cross-replica reduction."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=ADAM_EPSILON)


def build_estimator(
    config: ml_collections.ConfigDict, *, synchronized_bn: bool, stage: str, precision: str | None = None
) -> keras.Model:
    """The configured estimator. ST-GCN uses its per-layer default dropouts for pretraining and dropout 0 in
    PoseAug, as the reference's README does (docs/reference.md §4.3); other models take `model.dropout_rate`.

    `precision` (default `model.precision`): "float32", or "mixed_bfloat16" for bf16 computation with float32
    weights (the same weights files load either way; export always rebuilds in float32).
    """
    model_config = config.model
    precision = precision or model_config.get("precision", "float32")
    if precision not in ("float32", "mixed_bfloat16"):
        raise ValueError(f"Unknown `model.precision` {precision!r}; valid: 'float32', 'mixed_bfloat16'.")
    if precision != "float32" and model_config.name not in ("videopose", "mlp"):
        raise ValueError(
            f"`model.precision={precision}` is supported for videopose and mlp; received {model_config.name!r}."
        )
    options = {"synchronized_bn": synchronized_bn}
    if model_config.dropout_rate is not None:
        options["dropout_rate"] = model_config.dropout_rate
    elif model_config.name == "stgcn" and stage == "poseaug":
        options["dropout_rate"] = 0.0
    if model_config.name == "mlp":
        options["num_stages"] = model_config.num_stages
    if model_config.width is not None:
        if model_config.name == "stgcn":
            raise ValueError("`model.width` is not supported for stgcn (its channel plan is fixed).")
        options["units" if model_config.name == "mlp" else "channels"] = model_config.width
    if model_config.num_blocks is not None and model_config.name in ("videopose", "semgcn", "gcn"):
        options["num_blocks"] = model_config.num_blocks
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        return models.build_estimator(model_config.name, **options)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def pretrain_optimizer(config: ml_collections.ConfigDict) -> keras.optimizers.Adam:
    """Adam with the reference's staircase decay lr0·0.96^⌊step/100000⌋ (docs/reference.md §6.1)."""
    pretrain_config = config.pretrain
    schedule = keras.optimizers.schedules.ExponentialDecay(
        pretrain_config.lr,
        decay_steps=pretrain_config.lr_decay_steps,
        decay_rate=pretrain_config.lr_decay_rate,
        staircase=True,
    )
    return adam(schedule)


def poseaug_learning_rate(base: float, epoch: int, epochs: int) -> float:
    """The reference's LambdaLR: lr0·(1 − (e − 1)/(epochs + 1)) during epoch e = 1..epochs."""
    return base * (1.0 - (epoch - 1) / (epochs + 1))


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
    placement: Placement | None = None,
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


def training_checkpoint(**objects) -> tf.train.Checkpoint:
    """A tf.train.Checkpoint of `objects` plus the RNG states of every Keras model among them (dropout masks),
    which tf.train does not find through a model (`models.layers.rng_states`)."""
    states = [v for o in objects.values() if isinstance(o, keras.Model) for v in rng_states(o)]
    return tf.train.Checkpoint(rng_states=states, **objects)


def restore_checkpoint(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restores `path` and checks that every object found its values.

    Checkpoints written before the RNG states were saved restore too (their dropout masks then differ from an
    uninterrupted run's); any other mismatch raises.

    Raises:
      AssertionError: the checkpoint does not match the networks (e.g. another model size).
    """
    status = checkpoint.restore(path)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        unmatched = str(error).count("<Variable path=")
        if not unmatched or str(error).count("seed_generator_state") < unmatched:
            raise
        logging.warning("%s predates saved dropout RNG states: the resumed run draws new dropout masks.", path)


def get_strategy(name: str) -> tf.distribute.Strategy:
    """ "default": one device; "mirrored": all local GPUs (or CPUs); "auto": multi-worker when TF_CONFIG is
    set, mirrored on more than one GPU, else the default strategy."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name != "auto":
        raise ValueError(f"Unknown `distribute` {name!r}; valid: 'auto', 'default', 'mirrored'.")
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
