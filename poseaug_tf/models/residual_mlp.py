"""The residual-MLP estimator and its two reference presets: `videopose` (docs/reference.md §4.4) and `mlp` (§4.2).

Both references are the same network, Dense stem → BN → ReLU → Dropout, residual blocks of two [Dense → BN → ReLU →
Dropout], Dense head to 15 joints with the hip (joint 0) prepended as an exact zero; they differ in their weight
initialisation, biases, layer names and default depth. `ResidualMLP` builds it; `VideoPose` and `SimpleBaseline`
fix those choices and keep each reference's argument names, so their configs and weights files stay as they were.
"""

from __future__ import annotations

import keras

from poseaug_tf.models import layers


class ResidualMLP(layers.Estimator):
    """Dense(32→C) → BN → ReLU → Dropout, `num_blocks` × [two (Dense(C→C) → BN → ReLU → Dropout); out = x + y],
    Dense(C→45) with bias; the hip is prepended as an exact zero. BN uses PyTorch's momentum/epsilon.

    Input: (B, 16, 2) normalised 2D keypoints (absolute). Output: (B, 16, 3) root-relative pose, metres.

    A preset subclass sets `KERNEL` ("torch": U(±1/√fan_in); "kaiming": untruncated kaiming-normal), `USE_BIAS`
    (biases of the hidden Dense layers), `LAYER_NAMES` (stem, block, head) and `DEFAULT_DROPOUT`.
    """

    KERNEL: str
    USE_BIAS: bool
    LAYER_NAMES: tuple[str, str, str]
    DEFAULT_DROPOUT = 0.25

    def _build(self, *, width: int, num_blocks: int, dropout_rate, synchronized_bn: bool, kwargs: dict) -> None:
        if width <= 0 or num_blocks < 0:
            widths, depths = self.CONFIG_KEYS[:2]
            raise ValueError(f"Expected `{widths}` > 0 and `{depths}` >= 0; received {width}, {num_blocks}.")
        inputs = layers.estimator_input()
        outputs = layers.residual_mlp(
            inputs,
            width=width,
            num_blocks=num_blocks,
            dropout_rate=self.DEFAULT_DROPOUT if dropout_rate is None else dropout_rate,
            synchronized_bn=synchronized_bn,
            kernel=self.KERNEL,
            use_bias=self.USE_BIAS,
            names=self.LAYER_NAMES,
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.dropout_rate = dropout_rate
        self.synchronized_bn = synchronized_bn


@keras.saving.register_keras_serializable(package="poseaug_tf")
class VideoPose(ResidualMLP):
    """VideoPose3D ``TemporalModelOptimized1f`` with every filter width 1 (every conv a Dense layer): hidden Dense
    layers without bias, PyTorch's default conv init.

    Args:
      channels: Width C (1024 in the reference).
      num_blocks: Residual blocks (4 in the reference: `filter_widths=[1]*5`).
      dropout_rate: Dropout rate; None means the reference's hard-coded 0.25 (which ignores `--dropout`).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    KERNEL, USE_BIAS, LAYER_NAMES = "torch", False, ("expand", "block", "shrink")
    CONFIG_KEYS = ("channels", "num_blocks", "dropout_rate", "synchronized_bn")

    def __init__(
        self,
        *,
        channels: int = 1024,
        num_blocks: int = 4,
        dropout_rate: float | None = None,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("name", "videopose")
        self._build(
            width=channels,
            num_blocks=num_blocks,
            dropout_rate=dropout_rate,
            synchronized_bn=synchronized_bn,
            kwargs=kwargs,
        )
        self.channels = channels
        self.num_blocks = num_blocks


@keras.saving.register_keras_serializable(package="poseaug_tf")
class SimpleBaseline(ResidualMLP):
    """Martinez et al.'s "simple yet effective baseline": every Dense with a bias, kernels by PoseAug's
    ``init_weights`` (untruncated kaiming-normal), biases PyTorch's default U(±1/√fan_in); no max-norm constraint
    (as the reference).

    Args:
      units: Width C (1024 in the reference).
      num_stages: Residual stages (the README runs `--stages 2`).
      dropout_rate: Dropout rate; None means PoseAug's script default 0.25 (Martinez used 0.5).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    KERNEL, USE_BIAS, LAYER_NAMES = "kaiming", True, ("stem", "stage", "head")
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
        kwargs.setdefault("name", "simple_baseline")
        self._build(
            width=units,
            num_blocks=num_stages,
            dropout_rate=dropout_rate,
            synchronized_bn=synchronized_bn,
            kwargs=kwargs,
        )
        self.units = units
        self.num_stages = num_stages
