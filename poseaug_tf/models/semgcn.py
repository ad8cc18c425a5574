"""SemGCN without non-local blocks (docs/reference.md §4.1), the `gcn` / `semgcn` estimator."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from poseaug_tf.core import skeleton
from poseaug_tf.models import layers

_MASK_LOGIT = -9e15  # the reference's "minus infinity" before the softmax


def adjacency_mask(parents: tuple[int, ...] = skeleton.PARENTS) -> np.ndarray:
    """Self-loops plus both directions of every bone: (J, J) bool, 46 True entries for the 16-joint skeleton."""
    num = len(parents)
    mask = np.eye(num, dtype=bool)
    for child, parent in enumerate(parents):
        if parent >= 0:
            mask[child, parent] = mask[parent, child] = True
    return mask


def xavier_uniform_3d_bound(in_channels: int, out_channels: int, gain: float = 1.414) -> float:
    """PyTorch ``xavier_uniform_`` bound for a (2, Cin, Cout) tensor: fan_in = Cin·Cout, fan_out = 2·Cout."""
    fan_in = in_channels * out_channels
    fan_out = 2 * out_channels
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


@keras.saving.register_keras_serializable(package="poseaug_tf")
class SemGraphConv(keras.layers.Layer):
    """Semantic graph convolution over the 16-joint skeleton with learnable edge weights.

    ``A = softmax_row(E)`` where E holds one learnable logit per mask entry (self-loops and both bone directions,
    init 1) and −9e15 elsewhere. ``out = (A∘I)(X W0) + (A∘(1−I))(X W1) + b`` for X (B, J, Cin): the diagonal of A
    scales each joint's own features, the off-diagonal part mixes the neighbours' through a separate kernel.
    W (2, Cin, Cout) is xavier-uniform (gain 1.414, PyTorch 3-D fans); b is U(±1/√Cout).

    Args:
      filters: Output channels Cout.
      **kwargs: Passed to ``keras.layers.Layer``.
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        if filters <= 0:
            raise ValueError(f"Expected `filters` > 0; received {filters}.")
        self.filters = filters
        mask = adjacency_mask()
        self._num_joints = mask.shape[0]
        self._edge_indices = np.argwhere(mask).astype(np.int32)  # row-major order of the non-zeros
        self._outside_mask = np.where(mask, 0.0, _MASK_LOGIT).astype(np.float32)
        self._diagonal = np.eye(self._num_joints, dtype=np.float32)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        bound = xavier_uniform_3d_bound(in_channels, self.filters)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(2, in_channels, self.filters),
            initializer=keras.initializers.RandomUniform(-bound, bound),
        )
        self.edge_logits = self.add_weight(
            name="edge_logits", shape=(len(self._edge_indices),), initializer=keras.initializers.Constant(1.0)
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=layers.torch_uniform(self.filters))

    def adjacency(self) -> tf.Tensor:
        """The (J, J) row-softmax adjacency; rows sum to 1, exactly 0 outside the mask."""
        logits = tf.scatter_nd(self._edge_indices, self.edge_logits, (self._num_joints, self._num_joints))
        return tf.nn.softmax(logits + self._outside_mask, axis=-1)

    def call(self, inputs):
        adjacency = self.adjacency()
        self_weight = tf.linalg.diag_part(adjacency)[:, None]  # (J, 1)
        neighbours = adjacency * (1.0 - self._diagonal)
        # tensordot flattens (B, J) into one 2-D matmul; a 3-D tf.matmul against a 2-D kernel broadcasts the kernel
        # over the batch and is ~3x slower in the backward pass on CPU.
        h_self = tf.tensordot(inputs, self.kernel[0], axes=1)  # (B, J, Cout)
        h_neigh = tf.tensordot(inputs, self.kernel[1], axes=1)
        # (J, J) @ (B, J, Cout) broadcasts the constant-size adjacency: faster than einsum (no transposes).
        return self_weight * h_self + tf.matmul(neighbours, h_neigh) + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="poseaug_tf")
class SemGCN(layers.Estimator):
    """SemGCN as PoseAug runs it (`nodes_group=None`: no non-local layers).

    GraphConv(2→C); ``num_blocks`` × residual [x + GraphConv(C→C)(GraphConv(C→C)(x))]; SemGraphConv(C→3).
    GraphConv = SemGraphConv → BatchNorm over channels (statistics over batch and joints) → ReLU (→ Dropout).
    All 16 joints are predicted (the hip is not forced to 0).

    Input: (B, 16, 2) normalised 2D keypoints (absolute). Output: (B, 16, 3) root-relative pose, metres.

    Args:
      channels: Hidden width C (128 in the reference).
      num_blocks: Residual blocks (4 in the reference).
      dropout_rate: Dropout after each ReLU; None means the README's 0 (no dropout layer).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    DEFAULT_DROPOUT = 0.0

    CONFIG_KEYS = ("channels", "num_blocks", "dropout_rate", "synchronized_bn")

    def __init__(
        self,
        *,
        channels: int = 128,
        num_blocks: int = 4,
        dropout_rate: float | None = None,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        if channels <= 0 or num_blocks < 0:
            raise ValueError(f"Expected `channels` > 0 and `num_blocks` >= 0; received {channels}, {num_blocks}.")
        rate = self.DEFAULT_DROPOUT if dropout_rate is None else dropout_rate

        def graph_conv(x, prefix):
            x = SemGraphConv(channels, name=f"{prefix}_gconv")(x)
            x = layers.batch_norm(synchronized=synchronized_bn, name=f"{prefix}_bn")(x)
            x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
            # The reference applies ReLU, Dropout, ReLU when dropout is set; the second ReLU is a no-op.
            return layers.dropout(rate, name=f"{prefix}_dropout")(x)

        inputs = layers.estimator_input()
        x = graph_conv(inputs, "input")
        for i in range(num_blocks):
            y = graph_conv(x, f"block{i}_a")
            y = graph_conv(y, f"block{i}_b")
            x = keras.layers.Add(name=f"block{i}_add")([x, y])
        outputs = SemGraphConv(3, name="output_gconv")(x)
        kwargs.setdefault("name", "semgcn")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.channels = channels
        self.num_blocks = num_blocks
        self.dropout_rate = dropout_rate
        self.synchronized_bn = synchronized_bn
