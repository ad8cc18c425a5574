"""Tests for poseaug_tf/core/placement.py against closed-form rotations written out in NumPy."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import placement
from tests import numpy_reference as ref


def np_rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def np_rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


PLACEMENT = placement.Placement(
    up_axis=(0.0, -0.98, 0.199),
    depth=(3.0, 7.0),
    image_x=(-0.3, 0.1),
    image_y=(-0.2, 0.2),
    yaw_limit=math.pi,
    pitch_limit=math.radians(30),
    roll_limit=math.radians(10),
)


def test_place_matches_closed_form(rng):
    pose = ref.random_pose(rng, 8)
    unit_rot = rng.uniform(-1, 1, size=(8, 3))
    unit_pos = rng.uniform(-1, 1, size=(8, 3))
    out = placement.place(tf.constant(pose, tf.float64), tf.constant(unit_rot), tf.constant(unit_pos), PLACEMENT)
    up = np.array(PLACEMENT.up_axis) / np.linalg.norm(PLACEMENT.up_axis)
    for i in range(8):
        yaw, pitch, roll = unit_rot[i] * [math.pi, math.radians(30), math.radians(10)]
        matrix = np_rz(roll) @ np_rx(pitch) @ ref.rodrigues(up * yaw)
        depth = 5.0 + 2.0 * unit_pos[i, 2]
        root = np.array([(-0.1 + 0.2 * unit_pos[i, 0]) * depth, 0.2 * unit_pos[i, 1] * depth, depth])
        expected = (pose[i] - pose[i, :1]) @ matrix.T + root
        np.testing.assert_allclose(out["rotation_matrix"][i], matrix, atol=1e-9)
        np.testing.assert_allclose(out["pose_rt"][i], expected, atol=1e-9)
        np.testing.assert_allclose(out["translation"][i], root, atol=1e-12)
    np.testing.assert_allclose(out["rotation"], unit_rot * [math.pi, math.radians(30), math.radians(10)])


def test_yaw_keeps_the_vertical_and_bounds_are_reached(rng):
    pose = ref.random_pose(rng, 4)
    zeros = np.zeros((4, 2))
    yaw_only = np.concatenate([rng.uniform(-1, 1, (4, 1)), zeros], -1)
    out = placement.place(tf.constant(pose, tf.float64), tf.constant(yaw_only), tf.zeros((4, 3), tf.float64), PLACEMENT)
    up = np.array(PLACEMENT.up_axis)
    rel = pose - pose[:, :1]
    # A rotation about `up` keeps every joint's height along `up` and its distance from the root.
    np.testing.assert_allclose((out["pose_rt"].numpy() - out["translation"].numpy()[:, None]) @ up, rel @ up, atol=1e-9)
    np.testing.assert_allclose(
        np.linalg.norm(out["pose_rt"] - out["translation"][:, None], axis=-1), np.linalg.norm(rel, axis=-1), atol=1e-9
    )
    corners = placement.root_position(tf.constant([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]], tf.float64), PLACEMENT)
    np.testing.assert_allclose(corners, [[0.1 * 7, -0.2 * 7, 7.0], [-0.3 * 3, 0.2 * 3, 3.0]], atol=1e-12)


def test_turn_in_place_keeps_the_root_and_the_camera_prior(rng):
    turn = dataclasses.replace(PLACEMENT, pitch_limit=0.0, roll_limit=0.0, position="source")
    pose = ref.random_pose(rng, 6)
    unit_rot = rng.uniform(-1, 1, (6, 3))
    out = placement.place(tf.constant(pose), tf.constant(unit_rot), tf.constant(rng.uniform(-1, 1, (6, 3))), turn)
    up = np.array(turn.up_axis)
    placed = out["pose_rt"].numpy()
    np.testing.assert_allclose(placed[:, 0], pose[:, 0], atol=1e-12)  # the person stays where the camera saw it
    for i in range(6):
        expected = (pose[i] - pose[i, :1]) @ ref.rodrigues(up * math.pi * unit_rot[i, 0]).T + pose[i, :1]
        np.testing.assert_allclose(placed[i], expected, atol=1e-9)
    # Heights along the vertical are kept: no tilt of the camera, whatever the pitch/roll parameters were.
    np.testing.assert_allclose((placed - placed[:, :1]) @ up, (pose - pose[:, :1]) @ up, atol=1e-9)
    assert placement.Placement.from_config(turn.to_config()) == turn
    assert turn.describe() == "the source root (turn in place), yaw ±180°, pitch ±0°, roll ±0°"
    with pytest.raises(ValueError, match="position"):
        dataclasses.replace(PLACEMENT, position="target")


def test_rotation_angle_of_known_rotations():
    angles = np.array([0.0, 0.3, 2.0, math.pi - 1e-3])
    axes = np.array([[1, 0, 0], [0, 1, 0], [0.6, 0, 0.8], [0, 0, 1.0]])
    matrices = np.stack([ref.rodrigues(a * x) for a, x in zip(angles, axes)])
    np.testing.assert_allclose(placement.rotation_angle(tf.constant(matrices)), angles, atol=1e-6)
    # The reference's axis-angle of norm 4 rad is a rotation by 2π − 4.
    np.testing.assert_allclose(
        placement.rotation_angle(tf.constant(ref.rodrigues(np.array([4.0, 0, 0]))[None])),
        [2 * math.pi - 4.0],
        atol=1e-9,
    )


def test_measure_placement_percentiles_and_margin(rng):
    pose = ref.random_pose(rng, 500)
    root = pose[:, 0]
    p = placement.measure_placement(pose, margin=0.5, pitch_limit_deg=20, roll_limit_deg=5)
    low, high = np.percentile(root[:, 2], [1, 99])
    np.testing.assert_allclose(p.depth, (max(low - 0.5 * (high - low), 1.0), high + 0.5 * (high - low)))
    x = root[:, 0] / root[:, 2]
    lo, hi = np.percentile(x, [1, 99])
    np.testing.assert_allclose(p.image_x, (lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)))
    up = pose[:, 8] - pose[:, 0]
    up = (up / np.linalg.norm(up, axis=-1, keepdims=True)).mean(0)
    np.testing.assert_allclose(p.up_axis, up / np.linalg.norm(up), atol=1e-12)
    assert p.pitch_limit == pytest.approx(math.radians(20)) and p.roll_limit == pytest.approx(math.radians(5))
    assert placement.Placement.from_config(p.to_config()) == p


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(depth=(5.0, 3.0)), "depth"),
        (dict(depth=(0.0, 3.0)), "positive depth"),
        (dict(up_axis=(0.0, 0.0, 0.0)), "up_axis"),
        (dict(pitch_limit=4.0), "pitch_limit"),
    ],
)
def test_invalid_placements_are_rejected(bad, match):
    fields = dict(up_axis=(0.0, -1.0, 0.0), depth=(3.0, 6.0), image_x=(-0.1, 0.1), image_y=(-0.1, 0.1)) | bad
    with pytest.raises(ValueError, match=match):
        placement.Placement(**fields)


def test_measure_placement_rejects_root_relative_poses(rng):
    pose = ref.random_pose(rng, 10)
    with pytest.raises(ValueError, match="root depth"):
        placement.measure_placement(pose - pose[:, :1])


def test_anchored_parameters_wrap_the_yaw_and_clip_the_rest(rng):
    noise = rng.standard_normal((500, 3))
    learned = rng.uniform(-1, 1, (500, 3))
    out = placement.anchored(tf.constant(noise), tf.constant(learned), 0.5, wrap_first=True).numpy()
    erf = np.vectorize(math.erf)
    value = erf(noise / math.sqrt(2.0)) + 0.5 * learned
    np.testing.assert_allclose(out[:, 1:], np.clip(value[:, 1:], -1, 1), atol=1e-12)
    np.testing.assert_allclose(out[:, 0], (value[:, 0] + 1) % 2 - 1, atol=1e-12)
    assert out.min() >= -1 and out.max() <= 1
    # With no learned part the anchors are uniform on (−1, 1): mean 0, variance 1/3.
    anchors = placement.anchored(
        tf.constant(rng.standard_normal((20000, 3))), tf.zeros((20000, 3), tf.float64), 0.5
    ).numpy()
    assert abs(anchors.mean()) < 0.02 and abs(anchors.var() - 1 / 3) < 0.01


def test_describe_is_one_readable_line():
    p = placement.Placement(up_axis=(0, -1, 0), depth=(4.0, 6.0), image_x=(-0.1, 0.05), image_y=(-0.07, 0.06))
    assert p.describe() == (
        "depth 4.00–6.00 m, image x -0.100…+0.050, y -0.070…+0.060, yaw ±180°, pitch ±30°, roll ±10°"
    )
