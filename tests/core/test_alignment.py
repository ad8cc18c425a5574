"""Tests of poseaug_tf/core/alignment.py: root placement from 2D, depth from apparent size, the aligned placement."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import alignment, camera, placement
from poseaug_tf.data import synthetic

FX, FY, CX, CY = 2.3, 2.3, 0.01, -0.02  # square pixels, as the estimator assumes
CAMERA = np.array([FX, FY, CX, CY, 0, 0, 0, 0, 0], np.float32)  # no distortion: projection is u = f x / z + c


def planar_bodies(rng, n, depth, image_x, image_y, offsets):
    """Fronto-parallel bodies (every joint at the root's depth) with the same (16, 2) joint offsets in metres."""
    z = rng.uniform(*depth, n)
    root = np.stack([rng.uniform(*image_x, n) * z, rng.uniform(*image_y, n) * z, z], -1)
    pose = np.repeat(root[:, None], 16, axis=1)
    pose[:, :, :2] += offsets
    return pose.astype(np.float32), root


def project(pose):
    return camera.project(pose, np.broadcast_to(CAMERA, (len(pose), 9))).numpy().astype(np.float64)


def bone_sum(offsets):
    """Summed length of the 15 bones, from the parent table written out here (child: parent)."""
    parents = {1: 0, 2: 1, 3: 2, 4: 0, 5: 4, 6: 5, 7: 0, 8: 7, 9: 8, 10: 8, 11: 10, 12: 11, 13: 8, 14: 13, 15: 14}
    return sum(np.linalg.norm(offsets[c] - offsets[p]) for c, p in parents.items())


def test_root_and_scale_closed_form():
    pose_2d = np.zeros((1, 16, 2))
    pose_2d[0, :, 0] = np.arange(16) * 0.1  # joint j at x = 0.1 j
    pose_2d[0] += [0.3, -0.2]
    root, scale = alignment.root_and_scale(pose_2d)
    np.testing.assert_allclose(root, [[0.3, -0.2]])
    np.testing.assert_allclose(scale, [bone_sum(pose_2d[0])])


def test_planar_bodies_give_their_exact_depth_and_image_position(rng):
    offsets = rng.normal(scale=0.3, size=(16, 2))
    offsets[0] = 0.0  # the root joint is the root
    source, _ = planar_bodies(rng, 500, (4.0, 6.0), (-0.05, 0.05), (-0.05, 0.05), offsets)
    k = alignment.depth_constant(source, project(source), np.broadcast_to(CAMERA, (500, 9)))
    np.testing.assert_allclose(k, bone_sum(offsets), rtol=1e-5)  # s z / f = the bones' summed length, exactly
    target, root = planar_bodies(rng, 300, (2.0, 9.0), (-0.3, 0.3), (-0.1, 0.2), offsets)
    positions = alignment.target_positions(project(target), alignment.reference_camera(CAMERA[None]), k)
    np.testing.assert_allclose(positions[:, 2], root[:, 2], rtol=1e-4)
    np.testing.assert_allclose(positions[:, :2], root[:, :2] / root[:, 2:], atol=1e-5)


def test_aligned_placement_has_the_target_ranges_and_maps_frames_back(rng):
    offsets = rng.normal(scale=0.3, size=(16, 2))
    offsets[0] = 0.0
    source, _ = planar_bodies(rng, 400, (4.0, 6.0), (-0.05, 0.05), (-0.05, 0.05), offsets)
    target, root = planar_bodies(rng, 2000, (2.5, 9.0), (-0.3, 0.3), (-0.1, 0.2), offsets)
    cams = np.broadcast_to(CAMERA, (400, 9))
    base = placement.measure_placement(source)
    aligned = alignment.align_placement(
        base, source_pose_3d=source, source_pose_2d=project(source), source_camera=cams, target_pose_2d=project(target)
    )
    p = aligned.placement
    truth = {"depth": root[:, 2], "image_x": root[:, 0] / root[:, 2], "image_y": root[:, 1] / root[:, 2]}
    for name, values in truth.items():
        np.testing.assert_allclose(getattr(p, name), np.percentile(values, [1, 99]), rtol=1e-3, atol=1e-5)
    # Rotations and the vertical stay the source's.
    assert (p.up_axis, p.yaw_limit, p.pitch_limit) == (base.up_axis, base.yaw_limit, base.pitch_limit)
    # Every frame inside the ranges maps back to its own root position; the others sit on the range's edge.
    unit = aligned.unit_position
    assert unit.shape == (2000, 3) and unit.min() >= -1 and unit.max() <= 1
    back = placement.root_position(tf.constant(unit), p).numpy()
    inside = np.all(np.abs(unit) < 1, axis=-1)
    assert inside.mean() > 0.9
    np.testing.assert_allclose(back[inside], root[inside], rtol=1e-3)
    # A margin widens every range by that fraction of its width on each side.
    wide = alignment.align_placement(
        base,
        source_pose_3d=source,
        source_pose_2d=project(source),
        source_camera=cams,
        target_pose_2d=project(target),
        margin=0.5,
    ).placement
    assert np.isclose(wide.image_x[1] - wide.image_x[0], 2 * (p.image_x[1] - p.image_x[0]), rtol=1e-6)
    assert wide.depth[0] == 1.0  # never closer than min_depth


def test_depth_distribution_of_real_shaped_bodies(rng):
    """Posed, rotated bodies: the per-frame estimate scatters, but the target's depth quantiles are recovered."""
    source = synthetic.make_synthetic("source", 4000, seed=0, stream="train")
    target = synthetic.make_synthetic("target", 4000, seed=0, stream="train")
    k = alignment.depth_constant(source.pose3d, source.pose2d, source.camera)
    positions = alignment.target_positions(target.pose2d, alignment.reference_camera(source.camera), k)
    true_depth = target.pose3d[:, 0, 2]
    # The documented bias: quantiles ≈ 8 % too far (the target's poses are more foreshortened), scatter 0.13.
    for q in (5, 25, 50, 75, 95):
        assert abs(np.percentile(positions[:, 2], q) / np.percentile(true_depth, q) - 1.08) < 0.1, q
    assert np.std(np.log(positions[:, 2] / true_depth)) < 0.16
    # The image position is exact up to lens distortion.
    np.testing.assert_allclose(positions[:, 0], target.pose3d[:, 0, 0] / true_depth, atol=0.02)


def test_non_finite_target_is_rejected(rng):
    base = placement.Placement(up_axis=(0, -1, 0), depth=(4, 6), image_x=(0, 0.1), image_y=(0, 0.1))
    bad = np.zeros((20, 16, 2))
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        alignment.align_placement(
            base, source_pose_3d=None, source_pose_2d=None, source_camera=None, target_pose_2d=bad
        )
