"""Tests for poseaug_tf/skeleton.py: tables against docs/reference.md and joint names, conversions, flip."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf import skeleton
from tests import numpy_reference as ref

# Names of the 32 Human3.6M mocap joints (3d-pose-baseline's H36M_NAMES); unnamed rows are "".
H36M32_NAMES = [""] * 32
for _index, _name in {0: "Hip", 1: "RHip", 2: "RKnee", 3: "RFoot", 6: "LHip", 7: "LKnee", 8: "LFoot",
                      12: "Spine", 13: "Thorax", 14: "Neck/Nose", 15: "Head", 17: "LShoulder", 18: "LElbow",
                      19: "LWrist", 25: "RShoulder", 26: "RElbow", 27: "RWrist"}.items():
    H36M32_NAMES[_index] = _name

# data README: joint order of data_2d_h36m_sh_pt_mpii.npz.
SH_MPII_NAMES = ("RFoot", "RKnee", "RHip", "LHip", "LKnee", "LFoot", "Hip", "Spine", "Thorax", "Head",
                 "RWrist", "RElbow", "RShoulder", "LShoulder", "LElbow", "LWrist")


def test_tables_match_reference():
    assert skeleton.NUM_JOINTS == 16 and skeleton.NUM_BONES == 15 and skeleton.NUM_PARTS == 5
    assert tuple(skeleton.PARENTS) == ref.PARENTS_16
    assert tuple(zip(skeleton.BONE_PARENTS, skeleton.BONE_CHILDREN)) == ref.BONES_16
    assert tuple(tuple(p) for p in skeleton.KCS_PARTS) == ref.KCS_PART_BONES
    assert tuple(skeleton.SPINE_BONES) == (6, 7)
    assert tuple(skeleton.JOINTS_LEFT) == (4, 5, 6, 10, 11, 12)
    assert tuple(skeleton.JOINTS_RIGHT) == (1, 2, 3, 13, 14, 15)
    assert all(skeleton.JOINT_NAMES[j].startswith("L") for j in skeleton.JOINTS_LEFT)
    assert all(skeleton.JOINT_NAMES[j].startswith("R") for j in skeleton.JOINTS_RIGHT)


def test_32_17_16_indices_follow_joint_names():
    assert tuple(skeleton.H36M32_TO_16) == ref.H36M32_KEPT_16
    assert [H36M32_NAMES[i] for i in skeleton.H36M32_TO_17] == list(skeleton.JOINT_NAMES_17)
    assert [H36M32_NAMES[i] for i in skeleton.H36M32_TO_16] == list(skeleton.JOINT_NAMES)
    assert [skeleton.JOINT_NAMES_17[i] for i in skeleton.H17_TO_16] == list(skeleton.JOINT_NAMES)
    assert skeleton.JOINT_NAMES_17[9] == "Neck/Nose" and "Neck/Nose" not in skeleton.JOINT_NAMES


def test_convert_32_to_16_picks_rows(rng):
    pose32 = rng.normal(size=(3, 32, 2)).astype(np.float32)
    pose16 = skeleton.convert_32_to_16(pose32).numpy()
    for j, source in enumerate(ref.H36M32_KEPT_16):
        np.testing.assert_array_equal(pose16[:, j], pose32[:, source])
    via17 = skeleton.convert_17_to_16(pose32[:, list(skeleton.H36M32_TO_17)]).numpy()
    np.testing.assert_array_equal(via17, pose16)


def test_convert_16_to_17_inserts_neck_mean(rng):
    pose16 = rng.normal(size=(2, 5, 16, 3)).astype(np.float32)
    pose17 = skeleton.convert_16_to_17(pose16).numpy()
    assert pose17.shape == (2, 5, 17, 3)
    np.testing.assert_allclose(pose17[..., 9, :], (pose16[..., 8, :] + pose16[..., 9, :]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(np.delete(pose17, 9, axis=-2), pose16)
    np.testing.assert_array_equal(skeleton.convert_17_to_16(pose17).numpy(), pose16)


def test_sh_mpii_reorder_follows_names():
    assert [SH_MPII_NAMES[i] for i in skeleton.SH_MPII_TO_16] == list(skeleton.JOINT_NAMES)


def test_flip_twice_is_identity(rng):
    for channels in (2, 3):
        pose = rng.normal(size=(4, 16, channels)).astype(np.float32)
        np.testing.assert_array_equal(skeleton.flip_pose(skeleton.flip_pose(pose)).numpy(), pose)


def test_flip_swaps_sides_and_negates_x(rng):
    pose = rng.normal(size=(3, 16, 3)).astype(np.float32)
    flipped = skeleton.flip_pose(pose).numpy()
    names = list(skeleton.JOINT_NAMES)
    for j, name in enumerate(names):
        mirror = {"L": "R", "R": "L"}[name[0]] + name[1:] if name[0] in "LR" else name
        source = names.index(mirror)
        np.testing.assert_array_equal(flipped[:, j], pose[:, source] * np.array([-1.0, 1.0, 1.0], np.float32))
    flipped_y = skeleton.flip_pose(pose, mirror_axis=1).numpy()
    np.testing.assert_array_equal(flipped_y[:, 0], pose[:, 0] * np.array([1.0, -1.0, 1.0], np.float32))


def test_bone_length_templates_symmetric():
    templates = np.asarray(skeleton.BONE_LENGTH_TEMPLATES)
    assert templates.shape == (5, 15) and templates.dtype == np.float32
    ratio_map = np.asarray(skeleton.BL_RATIO_MAP)
    for group in np.unique(ratio_map):
        columns = templates[:, ratio_map == group]
        np.testing.assert_array_equal(columns, np.repeat(columns[:, :1], columns.shape[1], axis=1))
    assert np.all((templates > 0.1) & (templates < 0.5))


def test_conversions_graph_equals_eager(rng):
    pose16 = tf.constant(rng.normal(size=(4, 16, 3)), tf.float32)
    for fn in (skeleton.convert_16_to_17, skeleton.flip_pose):
        graph_fn = tf.function(fn)
        np.testing.assert_array_equal(graph_fn(pose16).numpy(), fn(pose16).numpy())
        assert graph_fn.experimental_get_tracing_count() == 1


def test_bad_joint_counts():
    with pytest.raises(ValueError, match="32 joints"):
        skeleton.convert_32_to_16(np.zeros((2, 17, 3), np.float32))
    with pytest.raises(ValueError, match="17 joints"):
        skeleton.convert_17_to_16(np.zeros((2, 16, 3), np.float32))
    with pytest.raises(ValueError, match="16 joints"):
        skeleton.convert_16_to_17(np.zeros((2, 17, 3), np.float32))
