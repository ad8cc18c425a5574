"""How a run computes: its distribution strategy and the estimator's precision, and the configured estimator
built under that precision."""

from __future__ import annotations

import os

import keras
import ml_collections
import tensorflow as tf

from poseaug_tf import models

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
    support it on hardware with native bf16 products (`has_fast_bfloat16`), "float32" otherwise (the choices are
    configs/common.py's to check)."""
    if precision == "auto":
        fast = model_name in MIXED_PRECISION_MODELS and has_fast_bfloat16()
        return "mixed_bfloat16" if fast else "float32"
    return precision


def configured_estimator(
    config: ml_collections.ConfigDict, *, synchronized_bn: bool, stage: str, precision: str | None = None
) -> keras.Model:
    """The run's estimator from its config: the one place where config fields become `models.build_estimator`
    options. ST-GCN uses its per-layer default dropouts for pretraining and dropout 0 in
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
