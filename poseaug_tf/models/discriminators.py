"""PoseAug discriminators: part-aware KCS 3D discriminator and absolute-2D discriminator (docs/reference.md §3).

Both are linear-output critics for the LS-GAN losses. Init as the generator (docs/reference.md §3.3): kaiming-normal
(untruncated, fan_in) Dense kernels, PyTorch-default U(±1/√fan_in) biases; LeakyReLU 0.01; no BN, no dropout.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from poseaug_tf.core import geometry, shapes, skeleton
from poseaug_tf.models import layers

KCS_MODES = ("part", "full")
"""`kcs` choices of `KCSDiscriminator3D`: the paper's part-aware KCS (5 parts) or the whole-body KCS (Table 7)."""

_KCS_DIM = skeleton.NUM_BONES * skeleton.NUM_BONES


def kcs_features(pose_3d, *, kcs: str = "part") -> tf.Tensor:
    """The 3D discriminator's input: flattened KCS matrices of the unit bones.

    Depends only on bone directions up to a global rotation (Gram matrices of unit vectors), so it is invariant
    to bone lengths, global translation and global rotation (docs/reference.md §3.1). Bones are divided by their
    length without epsilon, as in the reference (real and generated bones are never zero long).

    Args:
      pose_3d: (B, 16, 3) pose, absolute or root-relative.
      kcs: "part": the five zero-padded 15×15 part Gram matrices in skeleton.KCS_PARTS order; "full": the
        whole-body 15×15 Gram matrix.

    Returns:
      (B, 5, 225) for "part", (B, 1, 225) for "full", row-major flattening.

    Raises:
      ValueError: If `kcs` is unknown.
    """
    if kcs not in KCS_MODES:
        raise ValueError(f"Expected `kcs` in {KCS_MODES}; received {kcs!r}.")
    unit = geometry.unit_bones(pose_3d)
    matrices = geometry.part_kcs(unit) if kcs == "part" else geometry.kcs_matrix(unit)[..., None, :, :]
    return tf.reshape(matrices, tf.concat([tf.shape(matrices)[:-2], [_KCS_DIM]], axis=0))


@keras.saving.register_keras_serializable(package="poseaug_tf")
class PartDense(keras.layers.Layer):
    """`num_parts` independent Dense layers applied at once: (B, P, in) → (B, P, units) by one einsum.

    Kernel (P, in, units) and bias (P, units); each part's slice is initialised exactly like an independent
    PyTorch Linear under PoseAug's `init_weights`: untruncated N(0, 2/in) kernel, U(±1/√in) bias. (Keras'
    VarianceScaling would take fan_in = P·in from a 3-D shape, hence the explicit normal.)

    Args:
      num_parts: Number of independent parts P.
      units: Output features per part.
    """

    def __init__(self, num_parts: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.num_parts = num_parts
        self.units = units

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_parts, fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=math.sqrt(2.0 / fan_in)),
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_parts, self.units), initializer=layers.torch_uniform(fan_in)
        )

    def call(self, inputs):
        return tf.einsum("bpi,pio->bpo", inputs, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(num_parts=self.num_parts, units=self.units)
        return config


def _lrelu(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.leaky_relu(x, alpha=layers.LEAKY_SLOPE)


@keras.saving.register_keras_serializable(package="poseaug_tf")
class KCSDiscriminator3D(keras.Model):
    """3D pose discriminator on (part-aware) KCS features (docs/reference.md §3.1).

    One "KCS path" MLP per part, all parts evaluated together with batched (P, in, out) weights:
    h1 = LReLU(D 225→w); h2 = LReLU(D w→w)(h1); h3 = D w→w (h2) + h1 (no activation after the add);
    h4 = LReLU(D w→m)(h3); score = D m→1 (h4). Call: (B, 16, 3) pose → (B, 5) part scores ("part") or
    (B, 1) ("full": one path on the whole-body 15×15 KCS, the paper's Table 7 ablation).

    Args:
      kcs: "part" (default, 1,076,205 parameters) or "full" (215,241).
      hidden_units: Width w of the KCS path (reference `kcs_channel` 256).
      mid_units: Width m before the output (reference 100).
    """

    def __init__(self, *, kcs: str = "part", hidden_units: int = 256, mid_units: int = 100, **kwargs):
        super().__init__(**kwargs)
        if kcs not in KCS_MODES:
            raise ValueError(f"Expected `kcs` in {KCS_MODES}; received {kcs!r}.")
        self.kcs, self.hidden_units, self.mid_units = kcs, hidden_units, mid_units
        self.num_parts = skeleton.NUM_PARTS if kcs == "part" else 1
        self.dense1 = PartDense(self.num_parts, hidden_units, name="dense1")
        self.dense2 = PartDense(self.num_parts, hidden_units, name="dense2")
        self.dense3 = PartDense(self.num_parts, hidden_units, name="dense3")
        self.dense4 = PartDense(self.num_parts, mid_units, name="dense4")
        self.dense_out = PartDense(self.num_parts, 1, name="dense_out")

    def build(self, input_shape=None):
        self.dense1.build((None, self.num_parts, _KCS_DIM))
        for layer in (self.dense2, self.dense3, self.dense4):
            layer.build((None, self.num_parts, self.hidden_units))
        self.dense_out.build((None, self.num_parts, self.mid_units))

    def call(self, pose_3d):
        pose_3d = tf.convert_to_tensor(pose_3d, dtype=self.compute_dtype)
        shapes.check_batch_shape(pose_3d, (skeleton.NUM_JOINTS, 3), "pose_3d")
        h1 = _lrelu(self.dense1(kcs_features(pose_3d, kcs=self.kcs)))
        h2 = _lrelu(self.dense2(h1))
        h3 = self.dense3(h2) + h1  # PoseAug PosDiscriminator.py: no activation after the residual add.
        h4 = _lrelu(self.dense4(h3))
        return self.dense_out(h4)[..., 0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_parts)

    def get_config(self):
        config = super().get_config()
        config.update(kcs=self.kcs, hidden_units=self.hidden_units, mid_units=self.mid_units)
        return config


@keras.saving.register_keras_serializable(package="poseaug_tf")
class Discriminator2D(keras.Model):
    """2D pose discriminator on the absolute normalised 2D pose flattened to 32 (docs/reference.md §3.2).

    No KCS, root-centring or scaling: it judges image position, body size and view together.
    d1 = LReLU(D 32→w); d2 = LReLU(D w→w)(d1); d3 = LReLU(D w→w (d2) + d1); d4 = D w→w (d3);
    d5 = LReLU(D w→w)(d4); score = D w→1 (d5). Call: (B, 16, 2) → (B, 1).

    Args:
      hidden_units: Width w (reference 100; 43,801 parameters).
    """

    def __init__(self, *, hidden_units: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        in_dim = skeleton.NUM_JOINTS * 2
        self.dense_layers = [
            layers.dense(hidden_units, fan_in=in_dim if i == 0 else hidden_units, name=f"dense{i}") for i in range(5)
        ]
        self.dense_out = layers.dense(1, fan_in=hidden_units, name="dense_out")

    def build(self, input_shape=None):
        self.dense_layers[0].build((None, skeleton.NUM_JOINTS * 2))
        for layer in self.dense_layers[1:] + [self.dense_out]:
            layer.build((None, self.hidden_units))

    def call(self, pose_2d):
        pose_2d = tf.convert_to_tensor(pose_2d, dtype=self.compute_dtype)
        shapes.check_batch_shape(pose_2d, (skeleton.NUM_JOINTS, 2), "pose_2d")
        dense1, dense2, dense3, dense4, dense5 = self.dense_layers
        d1 = _lrelu(dense1(tf.reshape(pose_2d, (-1, skeleton.NUM_JOINTS * 2))))
        d2 = _lrelu(dense2(d1))
        d3 = _lrelu(dense3(d2) + d1)
        d4 = dense4(d3)  # PoseAug PosDiscriminator.py: linear layer without activation.
        d5 = _lrelu(dense5(d4))
        return self.dense_out(d5)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units)
        return config


def _build(model_class: type[keras.Model], options: dict, valid: tuple[str, ...], what: str) -> keras.Model:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Unknown {what} option(s) {unknown}; valid options are {list(valid)}.")
    built = model_class(**options)
    built.build(None)
    return built


def build_discriminator_3d(**options) -> KCSDiscriminator3D:
    """Builds the 3D discriminator (reference sizes: 1,076,205 parameters part-aware, 215,241 with kcs="full").

    Args:
      **options: `KCSDiscriminator3D` keyword arguments (kcs, hidden_units, mid_units, name).

    Returns:
      The built model: (B, 16, 3) → (B, 5) or (B, 1).

    Raises:
      ValueError: On an unknown option or `kcs` value.
    """
    return _build(KCSDiscriminator3D, options, ("kcs", "hidden_units", "mid_units", "name"), "3D discriminator")


def build_discriminator_2d(**options) -> Discriminator2D:
    """Builds the 2D discriminator (reference size: 43,801 parameters).

    Args:
      **options: `Discriminator2D` keyword arguments (hidden_units, name).

    Returns:
      The built model: (B, 16, 2) → (B, 1).

    Raises:
      ValueError: On an unknown option.
    """
    return _build(Discriminator2D, options, ("hidden_units", "name"), "2D discriminator")
