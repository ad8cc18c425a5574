"""Viewpoint/position statistics behind the distribution figure, on poses with known rotations and positions."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.reports.plots import canvas, distributions
from tests.fake_workdir import expected_pixel_size, png_size

DEPTH = 5.0


def facing_camera_pose(rng: np.random.Generator) -> np.ndarray:
    """(16, 3) root-relative pose facing the camera, upright: left = +x, up = −y (camera y points down).

    Only Hip, RHip, LHip and Thorax define the torso frame; the other joints are random so that the test also
    shows they do not matter.
    """
    pose = rng.normal(scale=0.3, size=(16, 3))
    pose[0] = 0.0
    pose[1] = [-0.13, 0.0, 0.0]  # right hip: the person's right is the camera's −x
    pose[4] = [0.13, 0.0, 0.0]  # left hip
    pose[8] = [0.0, -0.5, 0.0]  # thorax above the hip
    return pose


def rot_y(deg: float) -> np.ndarray:
    """x' = x cos a + z sin a, z' = −x sin a + z cos a."""
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def rot_x(deg: float) -> np.ndarray:
    """y' = y cos t − z sin t, z' = y sin t + z cos t."""
    t = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])


def on_axis(pose_rel: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotates a root-relative pose about its root and puts the root on the optical axis at DEPTH."""
    return pose_rel @ rotation.T + np.array([0.0, 0.0, DEPTH])


def test_facing_the_camera_is_azimuth_and_elevation_zero(rng):
    azimuth, elevation = distributions.viewpoint_angles(on_axis(facing_camera_pose(rng), np.eye(3))[None])
    np.testing.assert_allclose(azimuth, [0.0], atol=1e-9)
    np.testing.assert_allclose(elevation, [0.0], atol=1e-9)


@pytest.mark.parametrize("yaw", [-170.0, -90.0, -30.0, 45.0, 90.0, 135.0, 179.0])
def test_yaw_about_camera_vertical_gives_that_azimuth(rng, yaw):
    azimuth, elevation = distributions.viewpoint_angles(on_axis(facing_camera_pose(rng), rot_y(yaw))[None])
    np.testing.assert_allclose(azimuth, [yaw], atol=1e-7)
    np.testing.assert_allclose(elevation, [0.0], atol=1e-7)


@pytest.mark.parametrize("pitch", [-75.0, -20.0, 10.0, 60.0])
def test_pitch_about_camera_x_gives_that_elevation(rng, pitch):
    azimuth, elevation = distributions.viewpoint_angles(on_axis(facing_camera_pose(rng), rot_x(pitch))[None])
    np.testing.assert_allclose(elevation, [pitch], atol=1e-7)
    np.testing.assert_allclose(azimuth, [0.0], atol=1e-7)


def test_yaw_then_pitch_gives_both_angles(rng):
    yaws, pitches = np.array([-120.0, -45.0, 30.0, 150.0]), np.array([35.0, -50.0, 15.0, -10.0])
    poses = np.stack([on_axis(facing_camera_pose(rng), rot_x(p) @ rot_y(y)) for y, p in zip(yaws, pitches)])
    azimuth, elevation = distributions.viewpoint_angles(poses)
    np.testing.assert_allclose(azimuth, yaws, atol=1e-7)
    np.testing.assert_allclose(elevation, pitches, atol=1e-7)


def test_off_axis_person_uses_the_line_of_sight(rng):
    """A person facing along −z at x > 0 (right of the optical axis) has the camera on their right, off by the
    ray angle: azimuth = −atan(x / z). The root-relative mode uses the optical axis and ignores the position."""
    pose = facing_camera_pose(rng)
    x = np.array([-2.0, 1.0, 3.0])
    poses = np.stack([pose + np.array([xi, 0.0, DEPTH]) for xi in x])
    azimuth, _ = distributions.viewpoint_angles(poses)
    np.testing.assert_allclose(azimuth, -np.degrees(np.arctan(x / DEPTH)), atol=1e-7)
    azimuth_rel, elevation_rel = distributions.viewpoint_angles(poses, root_relative=True)
    np.testing.assert_allclose(azimuth_rel, 0.0, atol=1e-9)
    np.testing.assert_allclose(elevation_rel, 0.0, atol=1e-9)


def test_angles_ignore_body_scale_and_hip_tilt_within_the_torso_plane(rng):
    pose = on_axis(facing_camera_pose(rng), rot_y(40.0) @ np.eye(3))
    scaled = (pose - pose[0]) * 1.3 + pose[0]
    tilted = pose.copy()
    tilted[4] += 0.05 * (pose[8] - pose[0])  # left hip raised along the spine: the frame is orthogonalised
    azimuth, elevation = distributions.viewpoint_angles(np.stack([pose, scaled, tilted]))
    np.testing.assert_allclose(azimuth, 40.0, atol=1e-7)
    np.testing.assert_allclose(elevation, 0.0, atol=1e-7)


def test_root_position_is_x_and_y_over_z():
    pose = np.zeros((3, 16, 3))
    pose[:, 0] = [[1.0, -0.5, 4.0], [-0.3, 0.2, 2.0], [1.0, 1.0, -1.0]]
    x, y = distributions.root_position(pose)
    np.testing.assert_allclose(x[:2], [0.25, -0.15])
    np.testing.assert_allclose(y[:2], [-0.125, 0.1])
    assert np.isnan(x[2]) and np.isnan(y[2])  # behind the camera: no image position


def test_histograms_share_bins_and_hold_fractions(rng):
    roots = {
        "a": np.array([[0.2, 0.2, 4.0], [0.2, 0.2, 4.0], [-1.0, 0.6, 4.0], [20.0, 0.0, 4.0]]),
        "b": np.array([[0.4, -0.4, 4.0]]),
    }
    pose = facing_camera_pose(rng)
    poses = {name: pose[None] + r[:, None, :] for name, r in roots.items()}
    h = distributions.distribution_histograms(poses, range_sets=["b"])
    assert h["position_ranges"] == ((-0.3, 0.3), (-0.3, 0.3))  # |0.1| < the 0.3 minimum
    edges = np.linspace(-0.3, 0.3, distributions.POSITION_BINS + 1)
    i = np.searchsorted(edges, 0.05, side="right") - 1
    pos_a = h["position"]["a"]
    assert pos_a[i, i] == pytest.approx(0.5)  # two of four samples at x/z = y/z = 0.05
    assert pos_a.sum() == pytest.approx(0.75)  # x/z = 5 is outside the shared range
    assert h["position"]["b"].sum() == pytest.approx(1.0)
    # The viewpoint histogram is the fraction of samples per (azimuth, elevation) bin on the fixed ranges.
    az, el = distributions.viewpoint_angles(poses["a"])
    expected, _, _ = np.histogram2d(az, el, bins=(36, 18), range=((-180, 180), (-90, 90)))
    np.testing.assert_allclose(h["view"]["a"], expected / 4.0)
    assert h["view"]["b"].shape == distributions.VIEW_BINS


def test_on_axis_poses_facing_the_camera_fill_the_zero_bin(rng):
    poses = np.stack([on_axis(facing_camera_pose(rng), rot_x(0.5) @ rot_y(1.0)) for _ in range(5)])
    view = distributions.distribution_histograms({"s": poses})["view"]["s"]
    assert view[18, 9] == pytest.approx(1.0)  # bins [0°, 10°) in azimuth and elevation


def test_position_range_rounds_the_percentile_up():
    assert distributions.position_range([np.full(10, 0.42), np.full(10, -0.1)]) == (-0.5, 0.5)
    assert distributions.position_range([np.array([np.nan, 0.01])]) == (-0.3, 0.3)


def test_bad_shape_and_column_count_raise():
    with pytest.raises(ValueError, match=r"pose_3d.*\(N, 16, 3\)"):
        distributions.viewpoint_angles(np.zeros((4, 17, 3)))
    with pytest.raises(ValueError, match="1 to 5"):
        distributions.distribution_figure({f"s{i}": np.zeros((1, 16, 3)) for i in range(6)})


def test_distribution_figure_png_has_the_fixed_size(tmp_path, rng):
    poses = np.stack([on_axis(facing_camera_pose(rng), rot_y(y)) for y in rng.uniform(-180, 180, 40)])
    fig = distributions.distribution_figure(
        {"source": poses, "relative": poses - poses[:, :1]}, absolute={"relative": False}
    )
    path = canvas.save_png(fig, tmp_path / "d.png")
    assert png_size(path) == expected_pixel_size("distributions")
    assert path.stat().st_size > 5000


def test_distribution_figure_draws_each_sets_histograms(rng):
    """The data behind every panel: the top row shows the viewpoint histogram, the bottom row the position one
    (transposed for imshow, empty bins masked), and a root-relative set has no position image."""
    poses = np.stack([on_axis(facing_camera_pose(rng), rot_y(y)) for y in rng.uniform(-180, 180, 40)])
    sets = {"source": poses, "relative": poses - poses[:, :1]}
    absolute = {"relative": False}
    fig = distributions.distribution_figure(sets, absolute=absolute)
    h = distributions.distribution_histograms(sets, absolute=absolute)
    panels = fig.axes[:4]  # 2 × 2 grid, row-major; the colour bars follow
    for col, name in enumerate(sets):
        (view_image,) = panels[col].get_images()
        np.testing.assert_array_equal(view_image.get_array().filled(0.0), h["view"][name].T)
        assert panels[col].get_title().startswith(f"{name}\nN = 40")
    (position_image,) = panels[2].get_images()
    np.testing.assert_array_equal(position_image.get_array().filled(0.0), h["position"]["source"].T)
    assert h["position"]["relative"] is None and not panels[3].get_images()
    assert position_image.get_extent() == [*h["position_ranges"][0], *h["position_ranges"][1]]
    assert panels[2].yaxis_inverted() and not panels[0].yaxis_inverted()  # image y points down
