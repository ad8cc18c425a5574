"""Tests for poseaug_tf/data/pipeline.py: coverage, alignment, determinism, order, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.data import PoseSet
from poseaug_tf.data.pipeline import eval_dataset, train_dataset


def _pose_set(n=1000):
    ids = np.arange(n, dtype=np.float32)
    pose3d = np.broadcast_to(ids[:, None, None], (n, 16, 3)).copy()  # every value of sample i is i
    pose2d = np.broadcast_to(-ids[:, None, None], (n, 16, 2)).copy()
    camera = np.broadcast_to(2 * ids[:, None], (n, 9)).copy()
    return PoseSet(
        pose3d=pose3d,
        pose2d=pose2d,
        camera=camera,
        action=np.full(n, "a", dtype=object),
        subject=np.full(n, "S1", dtype=object),
    )


def _epoch_ids(dataset):
    batches = list(dataset.as_numpy_iterator())
    for b in batches:  # the three arrays of a batch come from the same samples
        np.testing.assert_array_equal(b["pose_2d"], -b["pose_3d"][..., :2])
        np.testing.assert_array_equal(b["camera"], 2 * b["pose_3d"][:, 0, :1].repeat(9, axis=1))
        assert all(v.dtype == np.float32 for v in b.values())
    return [b["pose_3d"][:, 0, 0].astype(int) for b in batches]


def test_train_epoch_is_a_permutation_and_reshuffles():
    ds = train_dataset(_pose_set(), batch_size=64, seed=3, drop_remainder=False)
    first, second = np.concatenate(_epoch_ids(ds)), np.concatenate(_epoch_ids(ds))
    np.testing.assert_array_equal(np.sort(first), np.arange(1000))
    np.testing.assert_array_equal(np.sort(second), np.arange(1000))
    assert not np.array_equal(first, second) and not np.array_equal(first, np.arange(1000))


def test_train_is_deterministic_under_seed():
    def two_epochs(seed):
        ds = train_dataset(_pose_set(), batch_size=100, seed=seed)
        return np.concatenate(_epoch_ids(ds) + _epoch_ids(ds))

    np.testing.assert_array_equal(two_epochs(7), two_epochs(7))
    assert not np.array_equal(two_epochs(7), two_epochs(8))


def test_drop_remainder_gives_full_batches_only():
    ids = _epoch_ids(train_dataset(_pose_set(), batch_size=300, seed=0, drop_remainder=True))
    assert [len(b) for b in ids] == [300, 300, 300]
    spec = train_dataset(_pose_set(), batch_size=300, seed=0).element_spec
    assert spec["pose_3d"].shape.as_list() == [300, 16, 3]  # static batch: a tf.function traces once


def test_eval_keeps_order_and_last_partial_batch():
    ids = _epoch_ids(eval_dataset(_pose_set(), batch_size=300))
    assert [len(b) for b in ids] == [300, 300, 300, 100]
    np.testing.assert_array_equal(np.concatenate(ids), np.arange(1000))


@pytest.mark.parametrize(
    "kwargs, match", [({"batch_size": 0}, "batch_size"), ({"batch_size": 2000}, "fewer than `batch_size`")]
)
def test_train_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_dataset(_pose_set(), seed=0, **kwargs)


def test_eval_rejects_non_pose_set():
    with pytest.raises(ValueError, match="Expected `pose_set` to be a PoseSet"):
        eval_dataset({"pose3d": np.zeros((3, 16, 3))}, batch_size=2)


def test_batches_consumed_inside_tf_function():
    ds = eval_dataset(_pose_set(), batch_size=250)

    @tf.function
    def total(dataset):
        acc = tf.constant(0.0)
        for batch in dataset:
            acc += tf.reduce_sum(batch["pose_3d"][:, 0, 0])
        return acc

    assert float(total(ds)) == pytest.approx(999 * 1000 / 2)
