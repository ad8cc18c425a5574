"""Tests for poseaug_tf/data/cross_lab.py: written BVH clips through Human3.6M's cameras, against a NumPy
re-computation (joint table by name, axes, centring, quaternion camera transform, distorted projection)."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import cross_lab, h36m_cameras
from poseaug_tf.data.bvh import read_joint_positions
from tests import numpy_reference as ref
from tests.data import bvh_files

# Our joint -> the BVH joints it is the mean of, written out by name (Head: see test_head_is_extended).
BY_NAME = {
    "Hip": ("UpperLeg_L", "UpperLeg_R"),
    "RHip": ("UpperLeg_R",),
    "RKnee": ("LowerLeg_R",),
    "RFoot": ("Foot_R",),
    "LHip": ("UpperLeg_L",),
    "LKnee": ("LowerLeg_L",),
    "LFoot": ("Foot_L",),
    "Spine": ("Spine",),
    "Thorax": ("Neck",),
    "LShoulder": ("UpperArm_L",),
    "LElbow": ("LowerArm_L",),
    "LWrist": ("Hand_L",),
    "RShoulder": ("UpperArm_R",),
    "RElbow": ("LowerArm_R",),
    "RWrist": ("Hand_R",),
}
# BVH (x, y up, z) cm -> world (x, -z, y) m, written out per axis.
to_world = lambda p: np.array([p[0], -p[2], p[1]]) / 100.0  # noqa: E731

FRAMES = [((0.0, 0.0), 0.0), ((40.0, -30.0), 90.0), ((-20.0, 10.0), 200.0), ((400.0, 0.0), 0.0)]


@pytest.fixture
def dataset(tmp_path):
    for name in ("dataset-1_bow_happy_001.bvh", "dataset-1_bye_sad_001.bvh"):
        bvh_files.write_bvh(tmp_path / name, [f[0] for f in FRAMES], [f[1] for f in FRAMES])
    return tmp_path


def _expected_world() -> np.ndarray:
    """(4, 16, 3) world metres before centring."""
    out = np.zeros((len(FRAMES), 16, 3))
    for t, (xz, yaw) in enumerate(FRAMES):
        cm = bvh_files.expected_positions(xz, yaw)
        for j, name in enumerate(ref.JOINT_NAMES_16):
            if name == "Head":
                direction = (cm["Head"] - cm["Neck"]) / np.linalg.norm(cm["Head"] - cm["Neck"])
                out[t, j] = to_world(cm["Head"] + 10.0 * direction)
            else:
                out[t, j] = to_world(np.mean([cm[b] for b in BY_NAME[name]], axis=0))
    return out


def test_projection_through_s9_cameras_matches_numpy(dataset):
    ps = cross_lab.load_cross_lab(dataset, "evaluated", stride=1, use_cache=False)
    table = h36m_cameras.builtin_camera_table()
    orientation, translation = h36m_cameras.extrinsics(table, "S9")
    world = _expected_world()
    centre = translation[:, :2].mean(0)
    world[..., :2] += centre - world[:, 0, :2].mean(0)  # the clip's mean root to the cameras' centre
    kept = np.linalg.norm(world[:, 0, :2] - centre, axis=-1) <= 2.0  # the far frame leaves the capture area
    assert kept.tolist() == [True, True, True, False]
    expected_3d, expected_2d = [], []
    for cam, c in enumerate(table["intrinsic"]):
        intr = ref.normalize_intrinsics(
            c["focal_length"], c["center"], c["radial_distortion"], c["tangential_distortion"], c["res_w"], c["res_h"]
        )
        for t in np.flatnonzero(kept):
            pose = ref.world_to_camera(world[t], orientation[cam], translation[cam])
            expected_3d.append(pose)
            expected_2d.append(ref.project_h36m(pose, intr))
    np.testing.assert_allclose(ps.pose3d, np.array(expected_3d), atol=2e-5)
    np.testing.assert_allclose(ps.pose2d, np.array(expected_2d), atol=2e-5)
    assert set(ps.action) == {"bow"} and set(ps.subject) == {"happy"} and len(set(ps.sequence.tolist())) == 4


def test_bone_lengths_are_preserved(dataset):
    ps = cross_lab.load_cross_lab(dataset, "all", stride=1, use_cache=False)
    bone = lambda a, b: np.linalg.norm(ps.pose3d[:, a] - ps.pose3d[:, b], axis=-1)  # noqa: E731
    names = {n: i for i, n in enumerate(ref.JOINT_NAMES_16)}
    for (a, b), offset in {
        ("RHip", "RKnee"): (0.0, -39.0, 1.0),
        ("LKnee", "LFoot"): (0.0, -41.0, -1.0),
        ("LElbow", "LWrist"): (0.0, -22.0, 2.0),
        ("RHip", "LHip"): (14.0, 0.0, 0.0),
    }.items():
        np.testing.assert_allclose(bone(names[a], names[b]), np.linalg.norm(offset) / 100.0, atol=1e-5)
    # Thorax -> Head: the 6.5 cm neck bone of the file plus the 10 cm extension.
    np.testing.assert_allclose(bone(names["Thorax"], names["Head"]), (np.hypot(6.0, 0.5) + 10.0) / 100.0, atol=1e-5)


def test_split_by_content_and_labels(dataset):
    assert cross_lab.split_contents(["walk", "bow", "run", "bow"]) == {
        "bow": "evaluated",
        "run": "unlabeled",
        "walk": "evaluated",
    }
    evaluated = cross_lab.load_cross_lab(dataset, "evaluated", stride=1, use_cache=False)
    unlabeled = cross_lab.load_cross_lab(dataset, "unlabeled", stride=1, use_cache=False)
    assert set(evaluated.action) == {"bow"} and set(unlabeled.action) == {"bye"}
    assert cross_lab.clip_labels("dataset-1_walk-back_not-confident_002.bvh") == ("walk-back", "not-confident")
    with pytest.raises(ValueError, match="part"):
        cross_lab.load_cross_lab(dataset, "test")
    with pytest.raises(FileNotFoundError, match="No Bandai Namco BVH clip"):
        cross_lab.load_cross_lab(dataset / "nothing")


def test_scored_joints_are_the_thirteen_shared_ones():
    names = [ref.JOINT_NAMES_16[j] for j in cross_lab.SCORED_JOINTS]
    assert len(names) == 13 and not {"Hip", "Spine", "Head"} & set(names)


@pytest.mark.slow
def test_real_clips(bandai_namco_dir, data_cache):
    evaluated = cross_lab.load_cross_lab(bandai_namco_dir, "evaluated", cache_dir=data_cache)
    unlabeled = cross_lab.load_cross_lab(bandai_namco_dir, "unlabeled", cache_dir=data_cache)
    assert (len(evaluated), len(unlabeled)) == (15822, 9304)
    assert not set(evaluated.action) & set(unlabeled.action)
    # Constant bone lengths (the data README: thigh 39.1 cm, shin 41.0 cm, forearm 22.3 cm).
    for (a, b), length in {(1, 2): 0.391, (5, 6): 0.410, (11, 12): 0.223}.items():
        np.testing.assert_allclose(
            np.linalg.norm(evaluated.pose3d[:, a] - evaluated.pose3d[:, b], axis=-1), length, atol=2e-3
        )
    # Every joint in the image; roots at Human3.6M's depths.
    assert np.abs(evaluated.pose2d).max() <= 1.0 and 3.0 < np.median(evaluated.pose3d[:, 0, 2]) < 6.5
    # The _L joints are the subject's left: left of the walking direction (a forward walk's displacement).
    raw = read_joint_positions(
        bandai_namco_dir / "data" / "dataset-1_walk_normal_001.bvh", ["UpperLeg_L", "UpperLeg_R"]
    )
    travel = raw[-1].mean(0) - raw[0].mean(0)
    left = np.cross([0.0, 1.0, 0.0], travel / np.linalg.norm(travel))  # BVH y up: up × forward is the left
    assert np.mean(np.sum((raw[:, 0] - raw[:, 1]) * left, axis=-1) > 0) > 0.95
