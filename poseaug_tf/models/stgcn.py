"""1-frame ST-GCN with part pooling and a non-local block (docs/reference.md §4.3), the `stgcn` estimator.

Layout: PyTorch's (N, C, T=1, V, M=1) becomes channels-last (B, V, C); every 1x1 conv is a Dense layer on the last
axis and every BatchNorm2d a BatchNormalization over (batch, nodes).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from poseaug_tf.models import layers
from poseaug_tf.models import stgcn_graph as graph

# Reference per-layer dropout of `Model_defaultDropout` (used when `--dropout < 0`, i.e. for pretraining).
DEFAULT_DROPOUT = {"block": 0.05, "conv4": 0.25, "conv2": 0.1, "fcn": 0.1}
BODY_CHANNELS = (128, 128, 256)
PART_CHANNELS = 512
DATA_BN_EPSILON = 0.1  # the reference passes momentum positionally into `eps` (docs/reference.md §9.9); replicated


def _torch_dense(units: int, fan_in: int, name: str) -> keras.layers.Dense:
    return layers.dense(units, fan_in=fan_in, kernel="torch", name=name)


@keras.saving.register_keras_serializable(package="poseaug_tf")
class SpatialGraphConv(keras.layers.Layer):
    """ST-GCN graph convolution with T = 1: 1x1 conv Cin → K·Cout, then ``out[w] = Σ_k Σ_v h_k[v] A[k, v, w]``.

    The kernel (Cin, K·Cout) keeps PyTorch's channel order (k-major), init U(±1/√Cin) for weight and bias.

    Args:
      filters: Output channels Cout.
      graph_name: "body" (17 joints) or "parts" (5 pooled parts), a key of ``stgcn_graph.GRAPHS``.
      **kwargs: Passed to ``keras.layers.Layer``.
    """

    def __init__(self, filters: int, graph_name: str, **kwargs):
        super().__init__(**kwargs)
        if graph_name not in graph.GRAPHS:
            raise ValueError(f"Expected `graph_name` in {sorted(graph.GRAPHS)}; received {graph_name!r}.")
        self.filters = filters
        self.graph_name = graph_name
        kernels = graph.GRAPHS[graph_name]  # (K, V, W)
        self._num_kernels, self._num_nodes, _ = kernels.shape
        # (W, V·K) so that a (B, V, K·Cout) activation reshaped to (B, V·K, Cout) is aggregated by one matmul.
        self._aggregation = kernels.transpose(2, 1, 0).reshape(self._num_nodes, -1)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(in_channels, self._num_kernels * self.filters),
            initializer=layers.torch_default_kernel(),
        )
        self.bias = self.add_weight(
            name="bias", shape=(self._num_kernels * self.filters,), initializer=layers.torch_uniform(in_channels)
        )

    def call(self, inputs):
        h = tf.tensordot(inputs, self.kernel, axes=1) + self.bias  # (B, V, K·Cout), one 2-D matmul
        h = tf.reshape(h, (-1, self._num_nodes * self._num_kernels, self.filters))
        return tf.matmul(self._aggregation, h)  # broadcast over the batch: (B, W, Cout)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._num_nodes, self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "graph_name": self.graph_name}


@keras.saving.register_keras_serializable(package="poseaug_tf")
class NonLocalBlock(keras.layers.Layer):
    """Embedded-Gaussian non-local block over the nodes, no sub-sampling.

    θ, φ, g = Dense(C → inter); f = softmax_keys(θ φᵀ); z = BN(Dense(inter → C)(f g)) + x. The BN's γ and β start
    at 0, so the block is the identity at initialisation.

    Args:
      inter_channels: Embedding width (C // 2 in the reference).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.layers.Layer``.
    """

    def __init__(self, inter_channels: int, synchronized_bn: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.inter_channels = inter_channels
        self.synchronized_bn = synchronized_bn
        self.bn = layers.batch_norm(
            synchronized=synchronized_bn, gamma_initializer="zeros", beta_initializer="zeros", name="w_bn"
        )

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.theta = _torch_dense(self.inter_channels, channels, "theta")
        self.phi = _torch_dense(self.inter_channels, channels, "phi")
        self.g = _torch_dense(self.inter_channels, channels, "g")
        self.w = _torch_dense(channels, self.inter_channels, "w")
        for dense in (self.theta, self.phi, self.g):
            dense.build(input_shape)
        self.w.build((*input_shape[:-1], self.inter_channels))
        self.bn.build(input_shape)

    def call(self, inputs, training=None):
        attention = tf.nn.softmax(tf.matmul(self.theta(inputs), self.phi(inputs), transpose_b=True), axis=-1)
        y = tf.matmul(attention, self.g(inputs))  # (B, V, inter)
        return self.bn(self.w(y), training=training) + inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "inter_channels": self.inter_channels,
            "synchronized_bn": self.synchronized_bn,
        }


def _st_gcn_block(x, filters, graph_name, *, residual, rate, sync, prefix):
    """st_gcn(Cin → Cout): ReLU(tcn(gcn(x)) + res), res = 0 / identity / Dense + BN."""
    in_channels = int(x.shape[-1])
    if not residual:
        res = None
    elif in_channels == filters:
        res = x
    else:
        res = _torch_dense(filters, in_channels, f"{prefix}_res_dense")(x)
        res = layers.batch_norm(synchronized=sync, name=f"{prefix}_res_bn")(res)
    y = SpatialGraphConv(filters, graph_name, name=f"{prefix}_gcn")(x)
    y = layers.batch_norm(synchronized=sync, name=f"{prefix}_bn1")(y)
    y = keras.layers.ReLU(name=f"{prefix}_relu1")(y)
    y = layers.dropout(rate, name=f"{prefix}_dropout1")(y)
    y = _torch_dense(filters, filters, f"{prefix}_tcn_dense")(y)
    y = layers.batch_norm(synchronized=sync, name=f"{prefix}_bn2")(y)
    y = layers.dropout(rate, name=f"{prefix}_dropout2")(y)
    if res is not None:
        y = keras.layers.Add(name=f"{prefix}_add")([y, res])
    return keras.layers.ReLU(name=f"{prefix}_relu2")(y)


def _dense_bn_relu_dropout(x, units, *, rate, sync, prefix):
    x = _torch_dense(units, int(x.shape[-1]), f"{prefix}_dense")(x)
    x = layers.batch_norm(synchronized=sync, name=f"{prefix}_bn")(x)
    x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
    return layers.dropout(rate, name=f"{prefix}_dropout")(x)


def _backbone(pose_17, rates, sync, body_channels, part_channels):
    """(B, 17, 2) → (B, 17, 3): the reference's ``Model`` forward."""
    x = keras.layers.Reshape((graph.NUM_JOINTS_17 * 2,), name="data_flatten")(pose_17)  # channel = v·2 + c
    x = layers.batch_norm(epsilon=DATA_BN_EPSILON, synchronized=sync, name="data_bn")(x)
    x = keras.layers.Reshape((graph.NUM_JOINTS_17, 2), name="data_unflatten")(x)
    for i, filters in enumerate(body_channels):
        x = _st_gcn_block(x, filters, "body", residual=i > 0, rate=rates["block"], sync=sync, prefix=f"body{i}")
    body = x  # (B, 17, 256)
    parts = keras.ops.max(keras.ops.take(body, graph.PART_GATHER, axis=1), axis=2)  # (B, 5, 256)
    for i in range(2):
        parts = _st_gcn_block(
            parts, part_channels, "parts", residual=True, rate=rates["block"], sync=sync, prefix=f"parts{i}"
        )
    pooled = keras.ops.max(parts, axis=1, keepdims=True)  # (B, 1, 512)
    pooled = _dense_bn_relu_dropout(pooled, part_channels, rate=rates["conv4"], sync=sync, prefix="conv4")
    pooled = keras.ops.repeat(pooled, graph.NUM_PARTS, axis=1)
    parts = keras.layers.Concatenate(name="part_concat")([pooled, parts])  # (B, 5, 1024)
    parts = _dense_bn_relu_dropout(parts, body_channels[-1], rate=rates["conv2"], sync=sync, prefix="conv2")
    upsampled = keras.ops.take(parts, graph.JOINT_TO_PART, axis=1)  # (B, 17, 256)
    x = keras.layers.Concatenate(name="joint_concat")([body, upsampled])  # (B, 17, 512), body first as the reference
    x = NonLocalBlock(body_channels[-1], synchronized_bn=sync, name="non_local")(x)
    x = layers.dropout(rates["fcn"], name="fcn_dropout")(x)
    return _torch_dense(3, 2 * body_channels[-1], "fcn")(x)


@keras.saving.register_keras_serializable(package="poseaug_tf")
class STGCN(layers.Estimator):
    """PoseAug's 1-frame ST-GCN (after Cai et al. 2019) wrapped for the 16-joint skeleton.

    Input 16 → 17 joints (Nose inserted at 9 = mean(Thorax, Head)), data BN (eps 0.1), three st_gcn blocks on the
    17-joint graph (2→128→128→256), max-pool into 5 parts, two st_gcn blocks on the part graph (→512), global max +
    conv4, concat + conv2, up-sample to joints, concat with the body features, non-local block, Dropout, Dense → 3;
    the Nose is dropped from the output. The hip is predicted, not forced to 0.

    Input: (B, 16, 2) normalised 2D keypoints (absolute). Output: (B, 16, 3) root-relative pose, metres.

    Args:
      body_channels: Widths of the three 17-joint st_gcn blocks (128, 128, 256); the last one also sets conv2, the
        non-local embedding and the up-sampled features.
      part_channels: Width of the two part-graph st_gcn blocks and conv4 (512).
      dropout_rate: None = the reference's per-layer defaults (0.05 in every block, 0.25 conv4, 0.1 conv2, 0.1
        before the last layer; its `--dropout -1`, used for pretraining); a float = that rate everywhere (PoseAug
        stage 2 runs 0).
      synchronized_bn: Synchronise BatchNorm statistics across replicas.
      **kwargs: Passed to ``keras.Model`` (e.g. ``name``).
    """

    CONFIG_KEYS = ("body_channels", "part_channels", "dropout_rate", "synchronized_bn")

    def __init__(
        self,
        *,
        body_channels: tuple[int, int, int] = BODY_CHANNELS,
        part_channels: int = PART_CHANNELS,
        dropout_rate: float | None = None,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        body_channels = tuple(int(c) for c in body_channels)
        if len(body_channels) != 3 or min(body_channels) <= 0 or part_channels <= 0:
            raise ValueError(
                f"Expected `body_channels` of 3 positive ints and `part_channels` > 0; received {body_channels}, "
                f"{part_channels}."
            )
        rates = dict(DEFAULT_DROPOUT) if dropout_rate is None else dict.fromkeys(DEFAULT_DROPOUT, dropout_rate)
        inputs = layers.estimator_input()
        pose_17 = keras.ops.matmul(graph.insertion_matrix_16_to_17(), inputs)  # (B, 17, 2)
        out_17 = _backbone(pose_17, rates, synchronized_bn, body_channels, part_channels)
        outputs = keras.ops.take(out_17, graph.INDICES_17_TO_16, axis=1)
        kwargs.setdefault("name", "stgcn")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.body_channels = body_channels
        self.part_channels = part_channels
        self.dropout_rate = dropout_rate
        self.synchronized_bn = synchronized_bn
