"""PyTorch-parity defaults and small building blocks shared by every network (docs/reference.md §8).

Keras and PyTorch disagree on several defaults that change training dynamics:

* BatchNorm: PyTorch ``momentum=0.1`` (weight of the *new* batch) is Keras ``momentum=0.9`` (weight of the *old*
  moving statistic); PyTorch ``eps=1e-5`` vs Keras ``1e-3``.
* LeakyReLU: PyTorch slope 0.01 vs Keras 0.3.
* Kaiming-normal: PyTorch samples an *untruncated* normal; Keras ``HeNormal`` is truncated.
* Default Linear/Conv init: PyTorch U(±1/√fan_in) for weight and bias; Keras glorot-uniform and zero bias.

Every model in this package takes these values from here, so they are defined exactly once.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from poseaug_tf.core import skeleton

LEAKY_SLOPE = 0.01
"""Negative slope of ``LeakyReLU`` (PyTorch default)."""

BN_MOMENTUM = 0.9
"""Keras BatchNorm momentum equivalent to PyTorch ``momentum=0.1``: new = 0.9·old + 0.1·batch."""

BN_EPSILON = 1e-5
"""PyTorch BatchNorm epsilon."""

NUM_JOINTS = skeleton.NUM_JOINTS
"""Joints of the H36M-16 skeleton every estimator consumes and produces."""


def batch_norm(*, epsilon: float = BN_EPSILON, synchronized: bool = False, **kwargs) -> BatchNorm:
    """Returns a BatchNorm layer with PyTorch's momentum and epsilon over the last axis.

    Statistics are taken over every axis but the last, which for a (B, J, C) tensor is PyTorch's BatchNorm1d over
    (B, C, J): batch and joints.

    Args:
      epsilon: Variance epsilon (PyTorch default 1e-5).
      synchronized: Synchronise batch statistics across replicas under a ``tf.distribute`` strategy.
      **kwargs: Forwarded to ``keras.layers.BatchNormalization`` (e.g. ``name``, ``gamma_initializer``).

    Returns:
      The layer, ``momentum=BN_MOMENTUM``.
    """
    kwargs.setdefault("momentum", BN_MOMENTUM)
    return BatchNorm(epsilon=epsilon, synchronized=synchronized, **kwargs)


@keras.saving.register_keras_serializable(package="poseaug_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training-mode pass is one fused kernel.

    Keras 3 normalises with separate element-wise ops (moments, then scale and shift, each a pass over the tensor,
    and as many again backwards). In training mode over the last axis this layer runs TensorFlow's
    `FusedBatchNormV3` kernel (statistics, normalisation and, backwards, the whole gradient in one op each), which
    takes about a third of the time on a (1024, 1024) tensor on CPU, in float32 and bfloat16
    (bench/bench_models.py). The results are Keras's: biased batch variance for normalisation and for the moving
    variance (the kernel returns the unbiased one; it is rescaled), moving statistics updated as
    ``m ← momentum·m + (1 − momentum)·batch``. Synchronised statistics, masks and inference mode use the Keras
    path.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable):
            return super().call(inputs, training=training, mask=mask)
        if mask is not None or self.synchronized or self.renorm or self.axis not in (-1, len(inputs.shape) - 1):
            return super().call(inputs, training=True, mask=mask)
        # DEVIATION(docs/reference.md §8): the moving variance is updated with the biased batch variance (Keras),
        # PyTorch's `running_var` with the unbiased one (factor n/(n-1): 0.1% at n = 1024). Training-mode outputs
        # are identical; only inference-mode statistics differ, negligibly at PoseAug's batch size.
        channels = inputs.shape[-1]
        x = tf.cast(inputs, self.compute_dtype)
        flat = tf.reshape(x, [-1, 1, 1, channels])
        gamma = self.gamma if self.scale else tf.ones([channels])
        beta = self.beta if self.center else tf.zeros([channels])
        y, mean, unbiased, *_ = tf.raw_ops.FusedBatchNormV3(
            x=flat,
            scale=tf.convert_to_tensor(gamma, tf.float32),
            offset=tf.convert_to_tensor(beta, tf.float32),
            mean=tf.zeros([0]),
            variance=tf.zeros([0]),
            epsilon=self.epsilon,
            is_training=True,
            data_format="NHWC",
        )
        n = tf.cast(tf.shape(flat)[0], tf.float32)
        variance = unbiased * ((n - 1.0) / n)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.reshape(y, tf.shape(x))


def kaiming_normal(seed: int | None = None) -> keras.initializers.Initializer:
    """PyTorch ``kaiming_normal_`` (fan_in, ReLU gain): untruncated N(0, 2/fan_in)."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="untruncated_normal", seed=seed)


def torch_uniform(fan_in: int, seed: int | None = None) -> keras.initializers.Initializer:
    """U(±1/√fan_in): PyTorch's default bias init (and default weight init) for Linear/Conv.

    Args:
      fan_in: Input features of the layer owning the tensor (Linear ``in_features``, Conv ``Cin·kernel``).
      seed: Optional seed.

    Raises:
      ValueError: If ``fan_in`` is not positive.
    """
    if fan_in <= 0:
        raise ValueError(f"Expected `fan_in` > 0; received {fan_in}.")
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(minval=-bound, maxval=bound, seed=seed)


def torch_default_kernel(seed: int | None = None) -> keras.initializers.Initializer:
    """PyTorch default Linear/Conv weight init (kaiming-uniform, a=√5) = U(±1/√fan_in), fan_in from the kernel.

    VarianceScaling's uniform limit is √(3·scale/fan_in); scale 1/3 gives 1/√fan_in. For a Dense kernel of shape
    (Cin, Cout) Keras' fan_in is Cin, matching PyTorch's ``in_features``.
    """
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)


def dense(
    units: int,
    *,
    fan_in: int,
    kernel: str = "kaiming",
    use_bias: bool = True,
    name: str | None = None,
    dtype: str | None = None,
) -> keras.layers.Dense:
    """A Dense layer initialised like a PyTorch ``nn.Linear`` (or a 1x1 ``nn.Conv``).

    Args:
      units: Output features.
      fan_in: Input features (sets the bias bound; the kernel takes its fan from its own shape).
      kernel: "kaiming" (PoseAug's ``init_weights``: untruncated kaiming-normal) or "torch" (PyTorch default
        U(±1/√fan_in)).
      use_bias: Whether to add a bias (always U(±1/√fan_in)).
      name: Optional layer name.
      dtype: Optional dtype policy; output heads use "float32" so that mixed-precision models keep
        full-precision poses (bf16 would round a 1 m coordinate to ±4 mm).

    Returns:
      An unbuilt ``keras.layers.Dense``.

    Raises:
      ValueError: If ``kernel`` is not "kaiming" or "torch", or ``fan_in`` is not positive.
    """
    if kernel == "kaiming":
        kernel_init = kaiming_normal()
    elif kernel == "torch":
        kernel_init = torch_default_kernel()
    else:
        raise ValueError(f"Expected `kernel` in ('kaiming', 'torch'); received {kernel!r}.")
    bias_init = torch_uniform(fan_in) if use_bias else "zeros"
    return keras.layers.Dense(
        units,
        use_bias=use_bias,
        kernel_initializer=kernel_init,
        bias_initializer=bias_init,
        name=name,
        dtype=dtype,
    )


def dropout(rate: float, name: str | None = None) -> keras.layers.Layer:
    """`Dropout(rate)`; identity layer when ``rate`` is 0 (keeps the graph small).

    Raises:
      ValueError: If ``rate`` is outside [0, 1).
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"Expected `dropout_rate` in [0, 1); received {rate}.")
    if rate == 0.0:
        return keras.layers.Identity(name=name)
    return Dropout(rate, name=name)


def _mask_bits(rate: float) -> int:
    """Bits per random draw that represent `rate` exactly: 8 or 16, or 32 for a float32 uniform draw."""
    for bits in (8, 16):
        if (rate * 2**bits).is_integer():
            return bits
    return 32


@keras.saving.register_keras_serializable(package="poseaug_tf")
class Dropout(keras.layers.Layer):
    """Inverted dropout (as `keras.layers.Dropout`/`torch.nn.Dropout`) with a cheaper random mask.

    Each element is kept with probability 1 − rate and scaled by 1/(1 − rate). The mask compares random bytes
    with ``rate·256`` (or 16-bit words with ``rate·65536``), which is exact whenever that product is an integer
    (every rate this package uses, e.g. 0.25 → 64/256), and falls back to a float32 uniform draw otherwise. One
    32-bit Philox draw then decides four elements instead of one. On a 2-core CPU, dropout on a (1024, 1024)
    tensor then takes about half of Keras's time forward+backward (bench/bench_models.py), and VideoPose has 9 of
    them per pass.

    Input/output: any shape, any float dtype. The RNG state is a `keras.random.SeedGenerator`; tf.train.Checkpoint
    does not see inside one, so training checkpoints list it explicitly (`rng_states`).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Expected `rate` in [0, 1); received {rate}.")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _keep(self, shape, seed):
        bits = _mask_bits(self.rate)
        if bits == 32:
            return tf.random.stateless_uniform(shape, seed=seed) >= self.rate
        n = tf.reduce_prod(shape)
        per_word = 32 // bits
        words = tf.random.stateless_uniform(
            [(n + per_word - 1) // per_word], seed=seed, minval=None, maxval=None, dtype=tf.uint32
        )
        dtype = tf.uint8 if bits == 8 else tf.uint16
        draws = tf.reshape(tf.bitcast(words, dtype), [-1])[:n]
        return tf.reshape(draws >= tf.cast(int(self.rate * 2**bits), dtype), shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        seed = self.seed_generator.next()
        if seed.dtype != tf.int32:
            seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), tf.int32.max - 1), tf.int32)
        keep = self._keep(tf.shape(inputs), seed)
        # One multiply by {0, 1/(1 − rate)} (forward and backward), the same values as `x·keep·scale`.
        scale = tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        return inputs * tf.where(keep, scale, tf.zeros([], inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def estimator_input(name: str = "kp_2d_norm") -> keras.KerasTensor:
    """The fixed (B, 16, 2) input of every estimator: normalised screen coordinates, absolute."""
    return keras.Input(shape=(NUM_JOINTS, 2), name=name)


def prepend_zero_hip(joints_1_to_15: keras.KerasTensor) -> keras.KerasTensor:
    """(B, 45) joints 1..15 → (B, 16, 3) root-relative pose with an exact-zero hip (joint 0) prepended."""
    padded = keras.ops.pad(joints_1_to_15, [[0, 0], [3, 0]])
    return keras.layers.Reshape((NUM_JOINTS, 3), name="pose_3d_rel", dtype="float32")(padded)


def residual_mlp(
    inputs: keras.KerasTensor,
    *,
    width: int,
    num_blocks: int,
    dropout_rate: float,
    synchronized_bn: bool,
    kernel: str,
    use_bias: bool,
    names: tuple[str, str, str],
) -> keras.KerasTensor:
    """The residual MLP of VideoPose (1 frame) and SimpleBaseline: (B, 16, 2) → (B, 16, 3), zero hip prepended.

    Flatten (joint-major, as the references' view) → unit(32→C); `num_blocks` × [x + unit(unit(x))]; Dense(C→45)
    in float32. A unit is Dense(no bias unless `use_bias`) → BN → ReLU → Dropout. Layers are created in this
    order, so seeded initialisation matches the estimators' own builds.

    Args:
      inputs: the (B, 16, 2) estimator input.
      width: C.
      num_blocks: residual blocks.
      dropout_rate: rate of every Dropout.
      synchronized_bn: synchronise BatchNorm statistics across replicas.
      kernel, use_bias: of the hidden Dense layers (`dense`); the head always has a bias.
      names: layer-name stems of the first unit, the blocks and the head (weight files use them).
    """
    first, block, head = names

    def unit(x, fan_in, prefix):
        x = dense(width, fan_in=fan_in, kernel=kernel, use_bias=use_bias, name=f"{prefix}_dense")(x)
        x = batch_norm(synchronized=synchronized_bn, name=f"{prefix}_bn")(x)
        x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
        return dropout(dropout_rate, name=f"{prefix}_dropout")(x)

    x = keras.layers.Flatten(name="flatten")(inputs)
    x = unit(x, NUM_JOINTS * 2, first)
    for i in range(num_blocks):
        y = unit(x, width, f"{block}{i}_a")
        y = unit(y, width, f"{block}{i}_b")
        x = keras.layers.Add(name=f"{block}{i}_add")([x, y])
    x = dense((NUM_JOINTS - 1) * 3, fan_in=width, kernel=kernel, name=head, dtype="float32")(x)  # no hip
    return prepend_zero_hip(x)


class Estimator(keras.Model):
    """Base of the functional estimators: `get_config` returns the constructor arguments named in
    `CONFIG_KEYS` (stored as attributes), so `from_config(get_config())` rebuilds the same network."""

    CONFIG_KEYS: tuple[str, ...] = ()

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, **{k: getattr(self, k) for k in self.CONFIG_KEYS}}

    @classmethod
    def from_config(cls, config: dict) -> Estimator:
        return cls(**config)


def rng_states(model: keras.Model) -> list:
    """The state variables of every `keras.random.SeedGenerator` in a model (dropout masks, augmentor noise).

    Keras weight files do not store them and tf.train.Checkpoint does not find them through the model, so a
    training checkpoint adds this list: a run resumed after kill -9 then draws the masks an uninterrupted run
    draws.
    """
    return [v for v in model.non_trainable_variables if v.path.rsplit("/", 1)[-1] == "seed_generator_state"]
