"""Martinez et al. "simple yet effective baseline" MLP (docs/reference.md §4.2), the `mlp` estimator."""

from __future__ import annotations

import keras

from poseaug_tf.models import layers


@keras.saving.register_keras_serializable(package="poseaug_tf")
class SimpleBaseline(layers.Estimator):
    """SimpleBaseline MLP: Dense → BN → ReLU → Dropout, residual stages, Dense to 15 joints, zero hip prepended.

    Stem Dense(32→C) → BN → ReLU → Dropout; ``num_stages`` × [Dense(C→C) → BN → ReLU → Dropout → Dense(C→C) → BN →
    ReLU → Dropout; out = x + y]; Dense(C→45). Every Dense has a bias. Kernels use PoseAug's ``init_weights``
    (untruncated kaiming-normal), biases PyTorch's default U(±1/√fan_in). No max-norm constraint (as the reference).

    Input: (B, 16, 2) normalised 2D keypoints (absolute). Output: (B, 16, 3) root-relative pose, metres.

    Args:
      units: Width C (1024 in the reference).
      num_stages: Residual stages (the README runs `--stages 2`).
      dropout_rate: Dropout rate; None means PoseAug's script default 0.25 (Martinez used 0.5).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    DEFAULT_DROPOUT = 0.25

    CONFIG_KEYS = ("units", "num_stages", "dropout_rate", "synchronized_bn")

    def __init__(
        self,
        *,
        units: int = 1024,
        num_stages: int = 2,
        dropout_rate: float | None = None,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        if units <= 0 or num_stages < 0:
            raise ValueError(f"Expected `units` > 0 and `num_stages` >= 0; received {units}, {num_stages}.")
        rate = self.DEFAULT_DROPOUT if dropout_rate is None else dropout_rate

        inputs = layers.estimator_input()
        outputs = layers.residual_mlp(
            inputs,
            width=units,
            num_blocks=num_stages,
            dropout_rate=rate,
            synchronized_bn=synchronized_bn,
            kernel="kaiming",
            use_bias=True,
            names=("stem", "stage", "head"),
        )
        kwargs.setdefault("name", "simple_baseline")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.units = units
        self.num_stages = num_stages
        self.dropout_rate = dropout_rate
        self.synchronized_bn = synchronized_bn
