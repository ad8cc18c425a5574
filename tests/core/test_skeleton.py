"""Tests for poseaug_tf/core/skeleton.py: tables against docs/reference.md and joint names."""

from __future__ import annotations

import numpy as np

from poseaug_tf.core import skeleton
from tests import numpy_reference as ref

# Names of the 32 Human3.6M mocap joints (3d-pose-baseline's H36M_NAMES); unnamed rows are "".
H36M32_NAMES = [""] * 32
for _index, _name in {
    0: "Hip",
    1: "RHip",
    2: "RKnee",
    3: "RFoot",
    6: "LHip",
    7: "LKnee",
    8: "LFoot",
    12: "Spine",
    13: "Thorax",
    14: "Neck/Nose",
    15: "Head",
    17: "LShoulder",
    18: "LElbow",
    19: "LWrist",
    25: "RShoulder",
    26: "RElbow",
    27: "RWrist",
}.items():
    H36M32_NAMES[_index] = _name


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


def test_sh_mpii_reorder_follows_names():
    assert [ref.SH_MPII_NAMES_16[i] for i in skeleton.SH_MPII_TO_16] == list(skeleton.JOINT_NAMES)


def test_bone_length_templates_symmetric():
    templates = np.asarray(skeleton.BONE_LENGTH_TEMPLATES)
    assert templates.shape == (5, 15) and templates.dtype == np.float32
    ratio_map = np.asarray(skeleton.BL_RATIO_MAP)
    for group in np.unique(ratio_map):
        columns = templates[:, ratio_map == group]
        np.testing.assert_array_equal(columns, np.repeat(columns[:, :1], columns.shape[1], axis=1))
    assert np.all((templates > 0.1) & (templates < 0.5))
