"""Tests of poseaug_tf/training/datasets.py's unlabeled targets: the protocols' built-in ones never touch S9/S11."""

from __future__ import annotations

import numpy as np
import pytest

from configs import protocols
from poseaug_tf.data import load_h36m
from poseaug_tf.data.synthetic import make_synthetic
from poseaug_tf.training.datasets import load_datasets


def h36m_protocol(name, h36m_dir):
    config = protocols.get_config(name)
    config.data.update(dir=str(h36m_dir), stride=200, test_stride=200, target_2d="builtin")
    return config


@pytest.mark.h36m
def test_cross_view_target_is_the_training_subjects_in_the_other_cameras(h36m_dir):
    datasets = load_datasets(h36m_protocol("cross_view", h36m_dir))
    expected = load_h36m(h36m_dir, ["S1", "S5", "S6", "S7", "S8"], stride=200, cameras=[1, 3]).pose2d
    np.testing.assert_array_equal(datasets.target_2d, expected)
    evaluated = datasets.eval_sets["h36m_cross_view"].pose_set.pose2d
    assert not (datasets.target_2d[:, None, :1] == evaluated[None, :, :1]).all(-1).all(-1).any()


@pytest.mark.h36m
def test_detections_protocol_evaluates_and_adapts_on_the_detector(h36m_dir):
    datasets = load_datasets(h36m_protocol("detections", h36m_dir))
    train_detections = load_h36m(h36m_dir, ["S1", "S5", "S6", "S7", "S8"], keypoints="sh_pt_mpii", stride=200)
    np.testing.assert_array_equal(datasets.target_2d, train_detections.pose2d)
    detected = datasets.eval_sets["h36m_sh_pt_mpii"].pose_set
    clean = datasets.eval_sets["h36m"].pose_set
    np.testing.assert_array_equal(detected.pose3d, clean.pose3d)  # same S9/S11 frames, other 2D
    assert 0.005 < np.abs(detected.pose2d - clean.pose2d).mean() < 0.05


def test_synthetic_target_is_a_stream_disjoint_from_the_evaluated_one():
    config = protocols.get_config("synthetic,smoke")
    config.data.target_2d = "builtin"
    datasets = load_datasets(config)
    np.testing.assert_array_equal(
        datasets.target_2d, make_synthetic("target", config.data.synthetic_train, seed=0, stream="train").pose2d
    )
    evaluated = datasets.eval_sets["synthetic_target"].pose_set.pose2d
    assert not np.isin(datasets.target_2d[:, 0, 0], evaluated[:, 0, 0]).any()


def test_builtin_target_of_a_protocol_without_one_is_refused(h36m_dir):
    config = h36m_protocol("standard", h36m_dir)
    with pytest.raises(ValueError, match="'builtin' on Human3.6M needs data.eval_keypoints or data.train_cameras"):
        load_datasets(config)
