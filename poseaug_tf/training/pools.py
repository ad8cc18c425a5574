"""History pool of past fakes for the discriminators (Shrivastava et al.; PoseAug's `Pool`), in TF variables."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


class FakePool(tf.Module):
    """Fixed-capacity pool of generated samples that the discriminator sees instead of only the newest ones.

    Semantics per incoming sample (docs/reference.md §6.4): while the pool has free slots the sample is stored and
    returned; once full, with probability 0.5 a uniformly chosen stored sample is returned and replaced by the
    new one, otherwise the new sample is returned. A batch is processed at once (vectorised): the replacement
    draws of one batch read the pool as it was before that batch, which differs from the sequential reference
    only when two samples of a batch pick the same slot.

    Under a `tf.distribute` strategy each replica keeps its own pool of `capacity / replicas` slots
    (ON_READ variables), so no cross-device traffic happens in the hot loop; checkpoints store replica 0's.

    Args:
      capacity: total number of stored samples (4096 in the reference).
      sample_shape: shape of one sample, e.g. (16, 3).
      seed: seed of the pool's random generator (its state is checkpointed with the pool).
      num_replicas: replicas of the strategy the pool is created under.
    """

    def __init__(
        self, capacity: int, sample_shape: Sequence[int], *, seed: int, num_replicas: int = 1, name: str | None = None
    ):
        super().__init__(name=name)
        if capacity <= 0 or capacity % num_replicas:
            raise ValueError(
                f"Expected `capacity` > 0 and divisible by the {num_replicas} replicas; received {capacity}."
            )
        self.capacity = capacity // num_replicas
        local = dict(
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            trainable=False,
        )
        self.items = tf.Variable(tf.zeros([self.capacity, *sample_shape]), name="items", **local)
        self.count = tf.Variable(0, dtype=tf.int32, name="count", **local)
        self.generator = tf.random.Generator.from_seed(seed)

    def query(self, fakes: tf.Tensor) -> tf.Tensor:
        """Stores a batch of fakes and returns the batch the discriminator should see.

        Args:
          fakes: (B, *sample_shape) float32, already detached from the generator.

        Returns:
          (B, *sample_shape): fill-phase samples unchanged, then each later sample replaced by a stored one
          with probability 0.5.
        """
        batch = tf.shape(fakes)[0]
        count = self.count.read_value()
        n_fill = tf.minimum(batch, self.capacity - count)
        fill_slots = count + tf.range(n_fill)
        # assign(tensor_scatter_nd_update) rather than scatter_nd_update: ON_READ (per-replica) variables
        # implement only assignments; the copy is < 1 MB per step.
        items = tf.tensor_scatter_nd_update(self.items.read_value(), fill_slots[:, None], fakes[:n_fill])
        self.count.assign_add(n_fill)

        rest = fakes[n_fill:]
        n_rest = batch - n_fill
        swap = self.generator.uniform([n_rest]) > 0.5
        slots = self.generator.uniform([n_rest], minval=0, maxval=self.capacity, dtype=tf.int32)
        stored = tf.gather(items, slots)
        swap_b = tf.reshape(swap, tf.concat([[n_rest], tf.ones(tf.rank(fakes) - 1, tf.int32)], 0))
        returned = tf.where(swap_b, stored, rest)
        self.items.assign(
            tf.tensor_scatter_nd_update(items, tf.boolean_mask(slots, swap)[:, None], tf.boolean_mask(rest, swap))
        )
        return tf.concat([fakes[:n_fill], returned], axis=0)
