"""Tests for poseaug_tf/data/mpi_3dhp.py on small synthetic files in PoseAug's and SPIN's layouts."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import DataFormatError, load_3dhp
from poseaug_tf.data.mpi_3dhp import sequence_image_size

# docs/reference.md §1.8, written out by name: our joint -> SPIN 24-joint index
SPIN_INDEX = {
    "Hip": 14,
    "RHip": 2,
    "RKnee": 1,
    "RFoot": 0,
    "LHip": 3,
    "LKnee": 4,
    "LFoot": 5,
    "Spine": 16,
    "Thorax": 12,
    "Head": 18,
    "LShoulder": 9,
    "LElbow": 10,
    "LWrist": 11,
    "RShoulder": 8,
    "RElbow": 7,
    "RWrist": 6,
}


def _spin_file(tmp_path, imgnames, *, visible=None):
    n = len(imgnames)
    joint_ids = np.arange(24, dtype=np.float32)
    S = np.zeros((n, 24, 4), np.float32)
    S[..., 0] = joint_ids / 100  # x encodes the SPIN joint index
    S[..., 1] = np.arange(n)[:, None] / 100
    S[..., 2] = 0.05
    S[:, 14, :3] = 0.0  # pelvis at the origin
    part = np.ones((n, 24, 3), np.float32)
    part[..., 0] = 960.0 + joint_ids  # pixel x
    part[..., 1] = 540.0
    if visible is not None:
        part[..., 2] = visible
    path = tmp_path / "mpi_inf_3dhp_valid.npz"
    np.savez(path, imgname=np.array(imgnames), center=np.zeros((n, 2)), scale=np.ones(n), part=part, S=S)
    return path


def test_spin_layout_joint_map_and_per_sequence_normalisation(tmp_path):
    names = [
        "mpi_inf_3dhp_test_set/TS1/imageSequence/img_000001.jpg",
        "mpi_inf_3dhp_test_set/TS5/imageSequence/img_000002.jpg",
    ]
    ps = load_3dhp(_spin_file(tmp_path, names))
    expected_rows = np.array([SPIN_INDEX[n] for n in SPIN_INDEX], dtype=np.float32)
    np.testing.assert_allclose(ps.pose3d[0, 1:, 0], expected_rows[1:] / 100, atol=1e-7)
    np.testing.assert_allclose(ps.pose3d[:, 0], 0.0)
    # TS1: 2048 x 2048 -> x = (960 + j) / 2048 * 2 - 1, y = 540 / 2048 * 2 - 1
    np.testing.assert_allclose(ps.pose2d[0, :, 0], (960 + expected_rows) / 2048 * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(ps.pose2d[0, :, 1], 540 / 2048 * 2 - 1, atol=1e-6)
    # TS5: 1920 x 1080 -> x = (960 + j) / 1920 * 2 - 1, y = 540 / 1920 * 2 - 1080 / 1920 = 0
    np.testing.assert_allclose(ps.pose2d[1, :, 0], expected_rows / 960, atol=1e-6)
    np.testing.assert_allclose(ps.pose2d[1, :, 1], 0.0, atol=1e-6)
    assert list(ps.action) == ["TS1", "TS5"] and ps.root_relative and not ps.has_camera


def test_spin_visibility_mask_zeroes_joints(tmp_path):
    visible = np.ones((1, 24), np.float32)
    visible[0, 6] = 0.0  # SPIN right wrist -> our joint 15
    ps = load_3dhp(_spin_file(tmp_path, ["x/TS3/img.jpg"], visible=visible))
    np.testing.assert_array_equal(ps.pose2d[0, 15], [0.0, 0.0])
    assert np.all(ps.pose2d[0, :15, 0] != 0.0)


def test_poseaug_layout_passes_through(tmp_path, rng):
    pose3d = rng.normal(size=(7, 16, 3)).astype(np.float32) * 0.3
    pose3d[:, 0] = 0.0
    pose2d = rng.uniform(-1, 1, size=(7, 16, 2)).astype(np.float32)
    np.savez(tmp_path / "test_3dhp.npz", pose3d=pose3d, pose2d=pose2d)
    ps = load_3dhp(tmp_path / "test_3dhp.npz")
    np.testing.assert_array_equal(ps.pose3d, pose3d)
    np.testing.assert_array_equal(ps.pose2d, pose2d)
    assert set(ps.action) == {"3DHP"}


def test_sequence_image_sizes():
    assert sequence_image_size("a/TS4/imageSequence/img.jpg") == ("TS4", (2048, 2048))
    assert sequence_image_size("TS6/img.jpg") == ("TS6", (1920, 1080))
    with pytest.raises(DataFormatError, match="TS1"):
        sequence_image_size("a/b/img.jpg")


def test_errors(tmp_path, rng):
    np.savez(tmp_path / "bad.npz", joints=np.zeros((3, 16, 3)))
    with pytest.raises(DataFormatError, match=r"unknown 3DHP layout with keys \['joints'\]"):
        load_3dhp(tmp_path / "bad.npz")
    np.savez(
        tmp_path / "mm.npz", pose3d=np.full((3, 16, 3), 500.0) * np.arange(16)[:, None], pose2d=np.zeros((3, 16, 2))
    )
    with pytest.raises(DataFormatError, match="expected metres"):
        load_3dhp(tmp_path / "mm.npz")
    with pytest.raises(FileNotFoundError):
        load_3dhp(tmp_path / "missing.npz")
