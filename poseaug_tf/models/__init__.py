"""Networks of PoseAug: the four 2D→3D estimators, the augmentor and the discriminators.

``build_estimator(name, **options)`` builds one of ``ESTIMATORS`` (PoseAug's ``--posenet_name`` choices):
every estimator maps (B, 16, 2) normalised 2D keypoints to a (B, 16, 3) root-relative pose in metres.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from poseaug_tf.models.augmentor import build_augmentor
from poseaug_tf.models.discriminators import build_discriminator_2d, build_discriminator_3d
from poseaug_tf.models.residual_mlp import ResidualMLP, SimpleBaseline, VideoPose
from poseaug_tf.models.semgcn import SemGCN
from poseaug_tf.models.stgcn import STGCN

ESTIMATORS: dict[str, type[keras.Model]] = {
    "videopose": VideoPose,
    "mlp": SimpleBaseline,
    "semgcn": SemGCN,
    "gcn": SemGCN,  # PoseAug's CLI name
    "stgcn": STGCN,
}

_MODEL_KWARGS = frozenset({"name", "trainable", "dtype"})


def build_estimator(name: str, /, **options: Any) -> keras.Model:
    """Builds a 2D→3D pose estimator by name.

    Args:
      name: One of ``ESTIMATORS``: "videopose", "mlp", "semgcn" (alias "gcn"), "stgcn" (positional-only, so
        ``name=...`` in ``options`` names the Keras model).
      **options: Constructor keyword arguments of the model, e.g. ``dropout_rate`` (None = the reference's
        default for that model), ``synchronized_bn``, ``num_stages`` (mlp), widths. Unknown options raise.

    Returns:
      A functional ``keras.Model`` (weights already built): (B, 16, 2) normalised 2D → (B, 16, 3)
      root-relative metres.

    Raises:
      ValueError: If ``name`` is unknown, an option is not accepted by the model, or an option value is invalid.
    """
    if name not in ESTIMATORS:
        raise ValueError(f"Expected `name` in {sorted(ESTIMATORS)}; received {name!r}.")
    cls = ESTIMATORS[name]
    accepted = {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")}
    accepted |= _MODEL_KWARGS
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"Unknown options {unknown} for estimator {name!r}; expected a subset of {sorted(accepted)}.")
    return cls(**options)


__all__ = [
    "ESTIMATORS",
    "ResidualMLP",
    "STGCN",
    "SemGCN",
    "SimpleBaseline",
    "VideoPose",
    "build_augmentor",
    "build_discriminator_2d",
    "build_discriminator_3d",
    "build_estimator",
]
