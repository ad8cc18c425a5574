"""Tests for poseaug_tf/data/pose_set.py: PoseSet container and split_validation."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import DataFormatError, PoseSet, split_validation


def _pose_set(lengths=(40, 24, 56), subjects=("S1", "S1", "S5"), name="toy"):
    n = sum(lengths)
    frame = np.arange(n, dtype=np.float32)
    pose3d = np.zeros((n, 16, 3), np.float32)
    pose3d[:, 0, 0] = frame  # sample id, to check which samples end where
    return PoseSet(
        pose3d=pose3d,
        pose2d=np.zeros((n, 16, 2), np.float32),
        camera=np.zeros((n, 9), np.float32),
        action=np.repeat(np.array(["Walking", "Eating", "Walking"], dtype=object), lengths),
        subject=np.repeat(np.array(subjects, dtype=object), lengths),
        name=name,
    )


def test_default_sequence_ids_are_runs_of_subject_and_action():
    ps = _pose_set()
    np.testing.assert_array_equal(ps.sequence, np.repeat([0, 1, 2], [40, 24, 56]))
    assert len(ps) == 120 and ps["pose3d"] is ps.pose3d


def test_subset_and_concatenate():
    ps = _pose_set()
    sub = ps.subset(np.arange(120) % 3 == 0)
    np.testing.assert_array_equal(sub.pose3d[:, 0, 0], np.arange(0, 120, 3))
    both = PoseSet.concatenate([ps, sub])
    assert len(both) == 160
    np.testing.assert_array_equal(np.unique(both.sequence), np.arange(6))  # ids offset, not merged
    np.testing.assert_array_equal(both.subject[120:], sub.subject)


def test_tail_split_holds_out_the_end_of_every_sequence():
    train, val = split_validation(_pose_set(), fraction=0.1)
    # 10% (rounded up) of 40, 24, 56 frames: 4, 3, 6 frames at the end of each sequence
    expected = np.concatenate([np.arange(36, 40), np.arange(61, 64), np.arange(114, 120)])
    np.testing.assert_array_equal(val.pose3d[:, 0, 0], expected)
    assert len(train) + len(val) == 120
    assert not set(train.pose3d[:, 0, 0]) & set(val.pose3d[:, 0, 0])


def test_tail_split_with_interleaved_sequence_ids():
    ps = _pose_set()
    shuffled = ps.subset(np.random.default_rng(0).permutation(len(ps)))
    _, val = split_validation(shuffled, fraction=0.25)
    # within each sequence the held-out samples are the last quarter in the set's order
    for seq in range(3):
        order = shuffled.pose3d[shuffled.sequence == seq, 0, 0]
        held = val.pose3d[val.sequence == seq, 0, 0]
        np.testing.assert_array_equal(held, order[len(order) - len(held) :])
        assert len(held) == int(np.ceil(0.25 * len(order)))


def test_subject_and_random_splits():
    train, val = split_validation(_pose_set(), method="subject", holdout_subjects=("S5",))
    assert set(val.subject) == {"S5"} and set(train.subject) == {"S1"}
    a = split_validation(_pose_set(), method="random", fraction=0.3, seed=1)[1]
    b = split_validation(_pose_set(), method="random", fraction=0.3, seed=1)[1]
    np.testing.assert_array_equal(a.pose3d, b.pose3d)
    assert 15 < len(a) < 60


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fraction": 1.0}, "fraction"),
        ({"method": "x"}, "Unknown split"),
        ({"method": "subject", "holdout_subjects": ("S9",)}, "holdout"),
    ],
)
def test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_validation(_pose_set(), **kwargs)


def test_shape_errors_name_the_field():
    with pytest.raises(DataFormatError, match=r"`pose2d` of shape \(3, 16, 2\); received \(3, 17, 2\)"):
        PoseSet(
            pose3d=np.zeros((3, 16, 3)),
            pose2d=np.zeros((3, 17, 2)),
            camera=np.zeros((3, 9)),
            action=np.array(["a"] * 3),
            subject=np.array(["s"] * 3),
        )
    with pytest.raises(KeyError, match="valid keys"):
        _pose_set()["pose_3d"]
