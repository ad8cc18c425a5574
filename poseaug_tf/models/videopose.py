"""VideoPose3D with a 1-frame receptive field (docs/reference.md §4.4), the `videopose` estimator."""

from __future__ import annotations

import keras

from poseaug_tf.models import layers


@keras.saving.register_keras_serializable(package="poseaug_tf")
class VideoPose(layers.Estimator):
    """VideoPose3D ``TemporalModelOptimized1f`` with every filter width 1, so every conv is a Dense layer.

    Dense(32→C, no bias) → BN → ReLU → Dropout, then ``num_blocks`` residual blocks of two
    [Dense(C→C, no bias) → BN → ReLU → Dropout], then Dense(C→45, bias); the hip (joint 0) is prepended as an exact
    zero. Weights use PyTorch's default conv init U(±1/√fan_in); BN uses PyTorch momentum/epsilon.

    Input: (B, 16, 2) normalised 2D keypoints (absolute). Output: (B, 16, 3) root-relative pose, metres.

    Args:
      channels: Width C (1024 in the reference).
      num_blocks: Residual blocks (4 in the reference: `filter_widths=[1]*5`).
      dropout_rate: Dropout rate; None means the reference's hard-coded 0.25 (which ignores `--dropout`).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    DEFAULT_DROPOUT = 0.25

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
        if channels <= 0 or num_blocks < 0:
            raise ValueError(f"Expected `channels` > 0 and `num_blocks` >= 0; received {channels}, {num_blocks}.")
        rate = self.DEFAULT_DROPOUT if dropout_rate is None else dropout_rate

        inputs = layers.estimator_input()
        outputs = layers.residual_mlp(
            inputs,
            width=channels,
            num_blocks=num_blocks,
            dropout_rate=rate,
            synchronized_bn=synchronized_bn,
            kernel="torch",
            use_bias=False,
            names=("expand", "block", "shrink"),
        )
        kwargs.setdefault("name", "videopose")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.channels = channels
        self.num_blocks = num_blocks
        self.dropout_rate = dropout_rate
        self.synchronized_bn = synchronized_bn
