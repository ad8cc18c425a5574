"""Tests for poseaug_tf/data/generic.py: the generic npz test-set format (3DPW and others)."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import DataFormatError, load_generic


def _write(tmp_path, **arrays):
    path = tmp_path / "set.npz"
    np.savez(path, **arrays)
    return path


def _poses(rng, n=6):
    pose3d = rng.normal(size=(n, 16, 3)).astype(np.float32) * 0.2 + [0, 0, 4]
    return pose3d, rng.uniform(0, 1000, size=(n, 16, 2)).astype(np.float32)


def test_landscape_pixels_follow_reference_normalisation(tmp_path, rng):
    pose3d, px = _poses(rng)
    ps = load_generic(_write(tmp_path, pose3d=pose3d, pose2d=px, image_size=np.array([1920, 1080])))
    expected = np.stack([px[..., 0] / 1920 * 2 - 1, px[..., 1] / 1920 * 2 - 1080 / 1920], -1)
    np.testing.assert_allclose(ps.pose2d, expected, atol=1e-6)
    np.testing.assert_allclose(ps.pose3d, pose3d)
    assert not ps.root_relative and not ps.has_camera and not ps.camera.any()
    assert list(ps.action) == ["all"] * 6


def test_portrait_pixels_are_normalised_by_height(tmp_path, rng):
    pose3d, _ = _poses(rng, 3)
    w, h = 1080, 1920
    px = np.zeros((3, 16, 2), np.float32)
    px[0] = [w / 2, h / 2]  # centre -> 0
    px[1] = [0, 0]  # top-left -> (-w/h, -1)
    px[2] = [w, h]  # bottom-right -> (w/h, 1)
    sizes = np.array([[w, h]] * 3)
    ps = load_generic(_write(tmp_path, pose3d=pose3d, pose2d=px, image_size=sizes))
    np.testing.assert_allclose(ps.pose2d[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(ps.pose2d[1], np.tile([-w / h, -1.0], (16, 1)), atol=1e-6)
    np.testing.assert_allclose(ps.pose2d[2], np.tile([w / h, 1.0], (16, 1)), atol=1e-6)


def test_normalized_flag_labels_camera_and_root(tmp_path, rng):
    pose3d, _ = _poses(rng)
    pose3d -= pose3d[:, :1]
    kp = rng.uniform(-1, 1, size=(6, 16, 2)).astype(np.float32)
    seq = np.array(["courtyard_a"] * 3 + ["office_b"] * 3)
    ps = load_generic(
        _write(tmp_path, pose3d=pose3d, pose2d=kp, normalized=True, sequence=seq, camera=np.arange(9, dtype=np.float32))
    )
    np.testing.assert_array_equal(ps.pose2d, kp)
    assert ps.root_relative and ps.has_camera
    np.testing.assert_array_equal(ps.camera, np.tile(np.arange(9), (6, 1)))
    np.testing.assert_array_equal(ps.action, seq)
    np.testing.assert_array_equal(ps.sequence, [0, 0, 0, 1, 1, 1])


@pytest.mark.parametrize(
    "change, match",
    [
        ({"image_size": None}, "missing key 'image_size'"),
        ({"pose2d": np.zeros((6, 17, 2))}, r"'pose2d' should have shape \(6, 16, 2\); received \(6, 17, 2\)"),
        ({"pose3d": np.full((6, 16, 3), np.nan)}, "'pose3d' contains NaN"),
        ({"image_size": np.array([0, 10])}, "must be positive"),
        ({"action": np.array(["a"] * 5)}, r"'action' should have shape \(6,\)"),
    ],
)
def test_errors_name_file_and_key(tmp_path, rng, change, match):
    pose3d, px = _poses(rng)
    arrays = {"pose3d": pose3d, "pose2d": px, "image_size": np.array([1000, 1000]), **change}
    with pytest.raises(DataFormatError, match=match):
        load_generic(_write(tmp_path, **{k: v for k, v in arrays.items() if v is not None}))


def test_missing_file_and_pickles(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_generic(tmp_path / "nope.npz")
    pose3d, px = _poses(rng)
    path = _write(
        tmp_path,
        pose3d=pose3d,
        pose2d=px,
        image_size=np.array([1000, 1000]),
        action=np.array(["a", None, "b", "c", "d", "e"], dtype=object),
    )
    with pytest.raises(DataFormatError, match="allow_pickle=True"):
        load_generic(path)
    assert load_generic(path, allow_pickle=True).action[2] == "b"
