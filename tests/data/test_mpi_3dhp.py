"""Tests for poseaug_tf/data/mpi_3dhp.py on small synthetic files in PoseAug's, SPIN's and the official layouts."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from poseaug_tf.data import DataFormatError, load_3dhp
from poseaug_tf.data.mpi_3dhp import annot_sequences, load_3dhp_annot, sequence_image_size

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


# --- the official per-sequence format (TS<n>/annot_data.mat) ------------------------------------------------------

# mpii_get_joints('relevant') order of annot_data.mat, written out by name: our joint -> its row
ANNOT_INDEX = {
    "Hip": 14,  # pelvis
    "RHip": 8,
    "RKnee": 9,
    "RFoot": 10,
    "LHip": 11,
    "LKnee": 12,
    "LFoot": 13,
    "Spine": 15,
    "Thorax": 1,  # neck
    "Head": 0,  # head_top
    "LShoulder": 5,
    "LElbow": 6,
    "LWrist": 7,
    "RShoulder": 2,
    "RElbow": 3,
    "RWrist": 4,
}


def _annot_file(root, sequence, valid, *, scale=1.0):
    """A fake annot_data.mat as h5py reads MATLAB 7.3 files: x of joint j = 10·j + 1000·frame millimetres."""
    n = len(valid)
    j = np.arange(17, dtype=np.float64)
    frame = np.arange(n, dtype=np.float64)[:, None]
    annot3 = np.zeros((n, 1, 17, 3))
    annot3[:, 0, :, 0] = 10.0 * j + 1000.0 * frame
    annot3[:, 0, :, 2] = 4000.0
    annot2 = np.zeros((n, 1, 17, 2))
    annot2[:, 0, :, 0] = 100.0 + j
    annot2[:, 0, :, 1] = 50.0 + frame
    folder = root / sequence
    folder.mkdir(parents=True)
    with h5py.File(folder / "annot_data.mat", "w") as handle:
        handle["annot2"] = annot2
        handle["annot3"] = annot3
        handle["univ_annot3"] = annot3 * scale
        handle["valid_frame"] = np.asarray(valid, np.float64)[:, None]
        handle["activity_annotation"] = np.ones((n, 1))


def test_annot_format_joint_map_valid_frames_and_normalisation(tmp_path):
    _annot_file(tmp_path, "TS1", [1, 0, 1])
    _annot_file(tmp_path, "TS5", [0, 1])
    ps = load_3dhp_annot(tmp_path)
    rows = np.array([ANNOT_INDEX[n] for n in ANNOT_INDEX], dtype=np.float64)
    assert len(ps) == 3 and list(ps.subject) == ["TS1", "TS1", "TS5"]
    assert list(ps.action) == ["GS", "GS", "Outdoor"] and ps.root_relative and not ps.has_camera
    # Valid frames 0 and 2 of TS1 and 1 of TS5; x is 10·row + 1000·frame mm, root-relative in metres.
    np.testing.assert_allclose(ps.pose3d[:, :, 0], np.tile((10.0 * rows - 140.0) / 1000.0, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(ps.pose3d[:, :, 2], 0.0, atol=1e-6)
    # 2D: TS1 is 2048×2048, TS5 1920×1080 (p / w · 2 − [1, h / w]); y encodes the kept frame.
    np.testing.assert_allclose(ps.pose2d[0, :, 0], (100.0 + rows) / 2048 * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(ps.pose2d[:, 0, 1], [50 / 1024 - 1, 52 / 1024 - 1, 51 / 960 - 1080 / 1920], atol=1e-6)
    assert len(set(ps.sequence.tolist())) == 2


def test_annot_format_universal_or_own_skeleton_and_sequence_choice(tmp_path):
    _annot_file(tmp_path, "TS6", [1, 1], scale=0.5)
    universal = load_3dhp_annot(tmp_path)
    own = load_3dhp_annot(tmp_path, ["TS6"], pose_3d="annot3")
    np.testing.assert_allclose(universal.pose3d, 0.5 * own.pose3d, atol=1e-6)
    np.testing.assert_array_equal(universal.pose2d, own.pose2d)
    assert annot_sequences(tmp_path) == ["TS6"]


def test_annot_format_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No MPI-INF-3DHP test sequence"):
        load_3dhp_annot(tmp_path)
    _annot_file(tmp_path, "TS2", [1])
    with pytest.raises(FileNotFoundError, match="TS3"):
        load_3dhp_annot(tmp_path, ["TS3"])
    with pytest.raises(DataFormatError, match="Unknown MPI-INF-3DHP test sequence 'TS9'"):
        load_3dhp_annot(tmp_path, ["TS9"])
    (tmp_path / "TS4").mkdir()
    (tmp_path / "TS4" / "annot_data.mat").write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match="TS4/annot_data.mat: not a readable"):
        load_3dhp_annot(tmp_path, ["TS4"])
    with h5py.File(tmp_path / "TS2" / "annot_data.mat", "r+") as handle:
        del handle["univ_annot3"]
    with pytest.raises(DataFormatError, match="missing key 'univ_annot3'"):
        load_3dhp_annot(tmp_path, ["TS2"])


def test_real_outdoor_sequences(mpi_3dhp_dir):
    ps = load_3dhp_annot(mpi_3dhp_dir)
    assert len(ps) == 668 and sorted(set(ps.subject)) == ["TS5", "TS6"]  # valid frames: 276 + 392
    own = load_3dhp_annot(mpi_3dhp_dir, pose_3d="annot3")
    # The universal skeleton rescales about the pelvis: bone directions are kept, lengths change.
    cosine = np.sum(ps.pose3d[:, 1:] * own.pose3d[:, 1:], -1) / (
        np.linalg.norm(ps.pose3d[:, 1:], axis=-1) * np.linalg.norm(own.pose3d[:, 1:], axis=-1)
    )
    assert np.median(cosine) > 0.999
    assert not np.allclose(ps.pose3d, own.pose3d)
    # annot2 is the undistorted pinhole projection of annot3 (the README's intrinsics, in pixels): our 2D and
    # 3D rows stay paired. Read the file directly for the absolute 3D.
    with h5py.File(mpi_3dhp_dir / "TS5" / "annot_data.mat", "r") as handle:
        annot3 = np.asarray(handle["annot3"])[:, 0]
        annot2 = np.asarray(handle["annot2"])[:, 0]
    fx, fy, cx, cy = 1683.98, 1672.59, 939.86, 560.14  # ts5-6cameras.calib in pixels (README: ≈ 1684, 1673, 940, 560)
    u = fx * annot3[..., 0] / annot3[..., 2] + cx
    v = fy * annot3[..., 1] / annot3[..., 2] + cy
    assert np.median(np.hypot(u - annot2[..., 0], v - annot2[..., 1])) < 2.0
