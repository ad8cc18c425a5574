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


@keras.saving.register_keras_serializable(package="poseaug_tf")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose per-variable update is TensorFlow's fused `ResourceApplyAdam` kernel.

    Keras 3 updates each variable with seven element-wise ops (three passes over the moments and the weights
    each); the fused kernel makes one pass. On VideoPose's 8.5M weights the update then takes about a third of
    the time (bench/bench_training.py). The arithmetic is Keras's (and PyTorch's with ε scaled by √(1 − β₂ᵗ),
    docs/reference.md §8): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε),
    rounded in another order. The slot variables are Keras's, so checkpoints are unchanged.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        local_step = tf.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), local_step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), local_step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def adam(learning_rate) -> Adam:
    """Adam with PyTorch's defaults. No `global_clipnorm`: steps clip after the cross-replica reduction."""
    return Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=ADAM_EPSILON)


def build_estimator(
    config: ml_collections.ConfigDict, *, synchronized_bn: bool, stage: str, precision: str | None = None
) -> keras.Model:
    """The configured estimator. ST-GCN uses its per-layer default dropouts for pretraining and dropout 0 in
    PoseAug, as the reference's README does (docs/reference.md §4.3); other models take `model.dropout_rate`.

    `precision` (default `model.precision`): "float32", "mixed_bfloat16" for bf16 computation with float32
    weights (the same weights files load either way; export always rebuilds in float32), or "auto"
    (`resolve_precision`).
    """
    model_config = config.model
    precision = resolve_precision(precision or model_config.get("precision", "float32"), model_config.name)
    if precision != "float32" and model_config.name not in MIXED_PRECISION_MODELS:
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


PRECISIONS = ("float32", "mixed_bfloat16", "auto")
MIXED_PRECISION_MODELS = ("videopose", "mlp")


def _cpu_flags() -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_fast_bfloat16() -> bool:
    """Whether this machine computes bf16 matrix products natively: a GPU with bf16 tensor cores (compute
    capability 8.0 or higher) or, without a GPU, a CPU with AVX512-BF16 or AMX-BF16."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("compute_capability", (0, 0)) >= (8, 0)
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, model_name: str) -> str:
    """The estimator's Keras dtype policy for `model.precision`: "auto" is "mixed_bfloat16" for the models that
    support it on hardware with native bf16 products (`has_fast_bfloat16`), "float32" otherwise.

    Raises:
      ValueError: an unknown precision, or mixed precision for a model that does not support it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown `model.precision` {precision!r}; valid: {', '.join(map(repr, PRECISIONS))}.")
    if precision == "auto":
        fast = model_name in MIXED_PRECISION_MODELS and has_fast_bfloat16()
        return "mixed_bfloat16" if fast else "float32"
    return precision


def pretrain_optimizer(config: ml_collections.ConfigDict) -> Adam:
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
