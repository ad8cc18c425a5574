"""tf.data pipelines over a `PoseSet`: shuffled training batches and ordered evaluation batches.

Both pipelines move only indices through tf.data and read the rows of a batch straight from the PoseSet's NumPy
arrays (`gather_rows`): the training pipeline permutes the sample indices once per epoch, cuts the permutation into
batches and gathers each batch with one vectorised NumPy `take`. Batch elements instead of per-sample elements
(from_tensor_slices → shuffle → batch) make tf.data do ~1000× less bookkeeping, so the pipeline delivers millions
of samples per second, far more than an estimator step consumes (bench/bench_pipeline.py).

The arrays are never converted to whole tensors: `tf.convert_to_tensor` of a NumPy array copies it, and TF's
allocator keeps that memory, so every pipeline over the 470 MB Human3.6M training set used to add ~0.5–1 GB of
resident memory (bench/bench_full_epoch.py).

Each element is a dict {"pose_3d": (B, 16, 3), "pose_2d": (B, 16, 2), "camera": (B, 9)}, float32.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from poseaug_tf.data.pose_set import PoseSet

_FIELDS = {"pose_3d": "pose3d", "pose_2d": "pose2d", "camera": "camera"}


def _check(pose_set: PoseSet, batch_size: int) -> None:
    if not isinstance(pose_set, PoseSet):
        raise ValueError(f"Expected `pose_set` to be a PoseSet; received {type(pose_set).__name__}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive integer; received {batch_size!r}.")
    if len(pose_set) == 0:
        raise ValueError(f"PoseSet `{pose_set.name}` is empty; cannot build a dataset.")


def gather_rows(arrays: Mapping[str, np.ndarray], indices: tf.Tensor) -> dict[str, tf.Tensor]:
    """Rows `indices` of host arrays as tensors, without copying the arrays into TensorFlow.

    Args:
      arrays: name → (N, ...) NumPy arrays of equal length.
      indices: (b,) int64 row indices (a tf.data element, or any tensor).

    Returns:
      name → (b, ...) tensors of the arrays' dtypes, with static trailing shapes.
    """
    names = list(arrays)

    def take(idx):
        return [np.take(arrays[name], idx, axis=0) for name in names]

    rows = tf.numpy_function(take, [indices], [tf.as_dtype(arrays[n].dtype) for n in names], stateful=False)
    out = {}
    for name, value in zip(names, rows):
        value.set_shape([indices.shape[0], *arrays[name].shape[1:]])
        out[name] = value
    return out


def _arrays(pose_set: PoseSet) -> dict[str, np.ndarray]:
    return {key: pose_set[field] for key, field in _FIELDS.items()}


def train_dataset(pose_set: PoseSet, *, batch_size: int, seed: int, drop_remainder: bool = True) -> tf.data.Dataset:
    """Shuffled training batches; one pass over the dataset is one epoch.

    Each iteration over the returned dataset (each epoch) draws a new uniform permutation of all N samples;
    the sequence of permutations is fixed by `seed`, so two datasets built with the same seed yield the same
    batches epoch after epoch. The permutation is one `stateless_shuffle` of N indices per epoch (12 MB for
    Human3.6M's 1.46M training samples) instead of a per-element shuffle buffer, which is ~8× faster.

    Args:
      pose_set: training samples.
      batch_size: B.
      seed: shuffle seed.
      drop_remainder: drop the last partial batch (keeps a static batch shape, so a tf.function traces once).

    Returns:
      tf.data.Dataset of dicts {"pose_3d": (B, 16, 3), "pose_2d": (B, 16, 2), "camera": (B, 9)} float32.

    Raises:
      ValueError: not a PoseSet, empty, invalid batch_size or not enough samples for one full batch.
    """
    _check(pose_set, batch_size)
    n = len(pose_set)
    if drop_remainder and n < batch_size:
        raise ValueError(
            f"PoseSet `{pose_set.name}` has {n} samples, fewer than `batch_size` {batch_size}, "
            "and drop_remainder=True would yield no batch."
        )
    arrays = _arrays(pose_set)
    num_full = n // batch_size

    def epoch_batches(epoch_seed: tf.Tensor) -> tf.data.Dataset:
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([epoch_seed, tf.constant(0, tf.int64)])
        )
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(perm[: num_full * batch_size], [num_full, batch_size]))
        if not drop_remainder and n % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(perm[num_full * batch_size :]))
        return batches

    # Dataset.random(seed, rerandomize_each_iteration=True) gives one new, seed-determined value per epoch.
    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return (
        epoch_seeds.flat_map(epoch_batches)
        .map(lambda idx: gather_rows(arrays, idx), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def eval_dataset(pose_set: PoseSet, *, batch_size: int) -> tf.data.Dataset:
    """Evaluation batches in PoseSet order (no shuffle, last batch partial), so batch i covers samples
    [i·B, (i+1)·B) and labels can be taken from `pose_set.action` in the same order.

    Args:
      pose_set: evaluation samples.
      batch_size: B.

    Returns:
      tf.data.Dataset of dicts {"pose_3d": (b, 16, 3), "pose_2d": (b, 16, 2), "camera": (b, 9)}, b ≤ B.
    """
    _check(pose_set, batch_size)
    arrays = _arrays(pose_set)
    n = len(pose_set)

    def take(start):
        return gather_rows(arrays, tf.range(start, tf.minimum(start + batch_size, n)))

    return (
        tf.data.Dataset.range(0, n, batch_size)
        .map(take, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
