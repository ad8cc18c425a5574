"""Optimisers and learning-rate schedules of both stages (docs/reference.md §6.1, §6.3, §8)."""

from __future__ import annotations

import keras
import ml_collections
import tensorflow as tf

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
