"""Tests of poseaug_tf/data/datasets.py's unlabeled targets: the protocols' built-in ones never touch S9/S11."""

from __future__ import annotations

import numpy as np
import pytest

from configs import protocols
from poseaug_tf.data import load_h36m
from poseaug_tf.data.cross_lab import load_cross_lab
from poseaug_tf.data.datasets import load_datasets
from poseaug_tf.data.mpi_3dhp import load_3dhp_annot
from poseaug_tf.data.synthetic import make_synthetic


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


@pytest.mark.h36m
@pytest.mark.slow
def test_3dhp_folds_adapt_on_one_sequence_and_evaluate_the_other(h36m_dir, mpi_3dhp_dir, data_cache):
    config = h36m_protocol("3dhp", h36m_dir)
    config.data.update(mpi_3dhp=str(mpi_3dhp_dir), cache_dir=str(data_cache), cross_lab="")
    datasets = load_datasets(config)
    evaluated = datasets.eval_sets["3dhp"]
    assert set(evaluated.pose_set.subject) == {"TS6"} and evaluated.use_flip_tta
    np.testing.assert_array_equal(datasets.target_2d, load_3dhp_annot(mpi_3dhp_dir, ["TS5"]).pose2d)
    config.data.mpi_3dhp_target = "TS6"
    other = load_datasets(config)
    assert set(other.eval_sets["3dhp"].pose_set.subject) == {"TS5"}
    config.data.mpi_3dhp_target = "TS5,TS6"
    with pytest.raises(ValueError, match="leaves no 3DHP sequence"):
        load_datasets(config)


@pytest.mark.h36m
@pytest.mark.slow
def test_cross_lab_adapts_on_the_unlabeled_half(h36m_dir, bandai_namco_dir, data_cache):
    config = h36m_protocol("cross_lab", h36m_dir)
    config.data.update(cross_lab=str(bandai_namco_dir), cache_dir=str(data_cache), mpi_3dhp="")
    datasets = load_datasets(config)
    evaluated = datasets.eval_sets["cross_lab"]
    unlabeled = load_cross_lab(bandai_namco_dir, "unlabeled", cache_dir=data_cache)
    np.testing.assert_array_equal(datasets.target_2d, unlabeled.pose2d)
    assert not set(evaluated.pose_set.action) & set(unlabeled.action)  # other motions, hence other frames
    assert list(evaluated.mpjpe_joints) == list(evaluated.joints) and len(evaluated.mpjpe_joints) == 13


@pytest.mark.h36m
def test_detector_sources_mixed_training_noise_pairs_and_missing_joint_sets(h36m_dir):
    config = h36m_protocol("detections", h36m_dir)
    config.data.target_2d = ""
    config.data.keypoints = "gt+sh_pt_mpii"
    config.noise.model = "fitted"
    config.eval.missing_joints = "1,2"
    datasets = load_datasets(config)
    subjects = ["S1", "S5", "S6", "S7", "S8"]
    gt = load_h36m(h36m_dir, subjects, stride=200)
    sh = load_h36m(h36m_dir, subjects, stride=200, keypoints="sh_pt_mpii")
    # Every training frame twice, once per source (validation takes the same tail of both).
    assert len(datasets.train) + len(datasets.validation) == 2 * len(gt)
    detected, clean = datasets.noise_pairs
    np.testing.assert_array_equal(detected, sh.pose2d)
    np.testing.assert_array_equal(clean, gt.pose2d)
    names = set(datasets.eval_sets)
    assert names == {f"{s}{m}" for s in ("h36m", "h36m_sh_pt_mpii") for m in ("", "_miss1", "_miss2")}
    for name in ("h36m", "h36m_sh_pt_mpii"):
        complete = datasets.eval_sets[name].pose_set.pose2d
        for k in (1, 2):
            holes = datasets.eval_sets[f"{name}_miss{k}"].pose_set.pose2d
            missing = np.isnan(holes).all(-1)
            assert (missing.sum(1) == k).all() and not (np.isnan(holes).any(-1) & ~missing).any()
            np.testing.assert_array_equal(holes[~missing], complete[~missing])
            assert missing.sum(0).min() > 0  # every joint goes missing somewhere
    # The same frames miss the same joints whatever the 2D source (one fixed draw).
    np.testing.assert_array_equal(
        np.isnan(datasets.eval_sets["h36m_miss2"].pose_set.pose2d),
        np.isnan(datasets.eval_sets["h36m_sh_pt_mpii_miss2"].pose_set.pose2d),
    )
