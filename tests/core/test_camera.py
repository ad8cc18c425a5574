"""Tests for poseaug_tf/core/camera.py: closed-form projection, NumPy reference, round trips, real H36M data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import camera, skeleton
from tests import numpy_reference as ref

RTOL32 = 1e-5
# A made-up camera with every distortion term non-zero: [fx, fy, cx, cy, k1, k2, k3, p1, p2].
TOY_INTRINSICS = np.array([2.0, 2.2, 0.1, -0.05, 0.1, 0.01, 0.001, 0.002, -0.003])
# docs/reference.md §1.5, camera 0 (54138969), 1000x1002 pixels.
CAM0_PX = dict(
    focal=(1145.0494, 1143.7811),
    center=(512.5415, 515.4515),
    radial=(-0.207099, 0.247775, -0.003075),
    tangential=(-0.000976, -0.001424),
    width=1000,
    height=1002,
)
CAM0_NORMALISED_FC = (2.290099, 2.287562, 0.025083, 0.028903)


def _cam0() -> np.ndarray:
    return ref.normalize_intrinsics(
        CAM0_PX["focal"],
        CAM0_PX["center"],
        CAM0_PX["radial"],
        CAM0_PX["tangential"],
        CAM0_PX["width"],
        CAM0_PX["height"],
    )


def test_project_hand_computed_point():
    # X/Z = 0.2, Y/Z = -0.1; r2 = 0.05; radial = 1 + 0.1*0.05 + 0.01*0.05^2 + 0.001*0.05^3 = 1.005025125;
    # tan = 0.002*0.2 - 0.003*-0.1 = 0.0007; a' = 0.2*1.005725125 + 0.002*0.05 = 0.201245025;
    # b' = -0.1*1.005725125 - 0.003*0.05 = -0.1007225125; u = 2*a' + 0.1; v = 2.2*b' - 0.05.
    point = np.array([[[0.4, -0.2, 2.0]]])
    expected = np.array([0.50249005, -0.2715895275])
    np.testing.assert_allclose(camera.project(point, TOY_INTRINSICS).numpy()[0, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(ref.project_h36m(point[0], TOY_INTRINSICS)[0], expected, rtol=1e-12)
    got32 = camera.project(point.astype(np.float32), TOY_INTRINSICS.astype(np.float32)).numpy()[0, 0]
    np.testing.assert_allclose(got32, expected, rtol=RTOL32)


def test_project_clamps_before_distortion():
    # X/Z = 3 -> clamped to 1; Y/Z = -5 -> -1: the result is the projection of (1, -1, 1).
    far = camera.project(np.array([[[6.0, -10.0, 2.0]]]), TOY_INTRINSICS).numpy()
    edge = ref.project_h36m(np.array([[1.0, -1.0, 1.0]]), TOY_INTRINSICS)
    np.testing.assert_allclose(far[0], edge, rtol=1e-12)
    point = tf.constant([[[6.0, 0.2, 2.0]]])
    with tf.GradientTape() as tape:
        tape.watch(point)
        u = camera.project(point, TOY_INTRINSICS.astype(np.float32))[..., 0]
    np.testing.assert_array_equal(tape.gradient(u, point).numpy()[..., 0], 0.0)


def test_project_matches_reference_on_random_points(rng):
    points = ref.random_pose(rng, 24).astype(np.float32)
    intrinsics = np.stack([_cam0() + rng.normal(scale=0.01, size=9) for _ in range(24)]).astype(np.float32)
    got = camera.project(points, intrinsics).numpy()
    expected = ref.project_h36m_batch(points, intrinsics)
    np.testing.assert_allclose(got, expected, rtol=RTOL32, atol=1e-6)
    # The NumPy twin (float64 inside, float32 out) on the same points, clamped ones included.
    far = points.copy()
    far[:, 3, 0] = 3.0 * far[:, 3, 2]  # x/z = 3: clamped to 1 before distortion
    np.testing.assert_allclose(
        camera.project_numpy(far, intrinsics), ref.project_h36m_batch(far, intrinsics), rtol=1e-6, atol=1e-7
    )


def test_normalize_intrinsics_matches_reference_table():
    got = camera.normalize_intrinsics(
        CAM0_PX["focal"],
        CAM0_PX["center"],
        CAM0_PX["radial"],
        CAM0_PX["tangential"],
        CAM0_PX["width"],
        CAM0_PX["height"],
    )
    assert got.shape == (camera.INTRINSICS_SIZE,) and got.dtype == np.float32
    np.testing.assert_allclose(got[:4], CAM0_NORMALISED_FC, atol=1e-6)
    np.testing.assert_allclose(got, _cam0(), rtol=1e-6)


@pytest.mark.parametrize("width,height", [(1000, 1002), (1000, 1000), (640, 480)])
def test_screen_normalisation_round_trip(rng, width, height):
    kp_px = rng.uniform(0, width, size=(5, 16, 2)).astype(np.float32)
    kp_norm = camera.normalize_screen(kp_px, width, height).numpy()
    np.testing.assert_allclose(kp_norm, ref.normalize_screen(kp_px, width, height), rtol=RTOL32, atol=1e-6)
    corners = camera.normalize_screen(np.array([[[0.0, 0.0], [width, height]]]), width, height).numpy()[0]
    np.testing.assert_allclose(corners, [[-1.0, -height / width], [1.0, height / width]], atol=1e-12)


def test_screen_normalisation_per_sample_sizes(rng):
    widths, heights = np.array([1000.0, 640.0]), np.array([1002.0, 480.0])
    kp_px = rng.uniform(0, 600, size=(2, 16, 2))
    got = camera.normalize_screen(kp_px, widths, heights).numpy()
    for i in range(2):
        np.testing.assert_allclose(got[i], ref.normalize_screen(kp_px[i], widths[i], heights[i]), rtol=1e-12)


def _random_unit_quaternion(rng) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def test_qrot_matches_hamilton_product(rng):
    q = _random_unit_quaternion(rng)
    v = rng.normal(size=(16, 3))
    np.testing.assert_allclose(camera.qrot(q, v).numpy(), ref.quaternion_rotate(q, v), atol=1e-12)


def test_world_to_camera_matches_reference(rng):
    orientation, translation = _random_unit_quaternion(rng), rng.normal(scale=3.0, size=3)
    points = rng.normal(size=(4, 16, 3)).astype(np.float32)
    cam = camera.world_to_camera(points, orientation, translation).numpy()
    np.testing.assert_allclose(
        cam.reshape(-1, 3), ref.world_to_camera(points.reshape(-1, 3), orientation, translation), rtol=RTOL32, atol=1e-5
    )


@pytest.mark.parametrize("name", ["project", "world_to_camera"])
def test_graph_equals_eager(name, rng):
    points = tf.constant(ref.random_pose(rng, 8), tf.float32)
    args = (_cam0().astype(np.float32),) if name == "project" else (_random_unit_quaternion(rng), [0.1, 0.2, 0.3])
    fn = getattr(camera, name)
    graph_fn = tf.function(lambda x: fn(x, *args))
    np.testing.assert_allclose(graph_fn(points).numpy(), fn(points, *args).numpy(), rtol=1e-6, atol=1e-6)
    assert graph_fn.experimental_get_tracing_count() == 1
    mapped = next(iter(tf.data.Dataset.from_tensor_slices(points).map(lambda x: fn(x, *args)).batch(8)))
    np.testing.assert_allclose(mapped.numpy(), fn(points, *args).numpy(), rtol=1e-6, atol=1e-6)


def test_bad_shapes():
    with pytest.raises(ValueError, match="intrinsics"):
        camera.project(np.ones((2, 16, 3), np.float32), np.ones((2, 8), np.float32))
    with pytest.raises(ValueError, match="points_cam"):
        camera.project(np.ones((2, 16, 2), np.float32), np.ones((2, 9), np.float32))
    with pytest.raises(ValueError, match="kp_px"):
        camera.normalize_screen(np.ones((2, 16, 3), np.float32), 1000, 1000)


@pytest.mark.h36m
def test_projected_ground_truth_matches_sh_detections(h36m_dir):
    """World 3D -> camera -> distorted projection lands ~9 px from the Stacked-Hourglass detections."""
    detections_file = h36m_dir / "data_2d_h36m_sh_pt_mpii.npz"
    if not detections_file.is_file():
        pytest.skip(f"{detections_file} not found")
    cameras = json.loads((h36m_dir / "h36m_cameras.json").read_text())
    positions_3d = np.load(h36m_dir / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item()
    positions_2d = np.load(detections_file, allow_pickle=True)["positions_2d"].item()
    distances = []
    for subject, action in (("S9", "Walking 1"), ("S1", "Directions 1")):
        world = positions_3d[subject][action][::25][:, list(skeleton.H36M32_TO_16)]
        for cam_index, intrinsic in enumerate(cameras["intrinsic"]):
            extrinsic = cameras["extrinsic"][subject][cam_index]
            width, height = intrinsic["res_w"], intrinsic["res_h"]
            intrinsics = camera.normalize_intrinsics(
                intrinsic["focal_length"],
                intrinsic["center"],
                intrinsic["radial_distortion"],
                intrinsic["tangential_distortion"],
                width,
                height,
            )
            cam = camera.world_to_camera(world, extrinsic["orientation"], np.asarray(extrinsic["translation"]) / 1000.0)
            assert np.all(cam.numpy()[..., 2] > 2.0), "points must lie in front of the camera"
            kp_px = ref.image_coordinates(camera.project(cam, intrinsics).numpy(), width, height)
            sh = positions_2d[subject][action][cam_index][::25][:, list(skeleton.SH_MPII_TO_16)]
            count = min(len(sh), len(kp_px))
            distances.append(np.linalg.norm(kp_px[:count] - sh[:count], axis=-1).ravel())
            reference_px = ref.image_coordinates(
                np.stack(
                    [
                        ref.project_h36m(
                            ref.world_to_camera(
                                p, extrinsic["orientation"], np.asarray(extrinsic["translation"]) / 1000.0
                            ),
                            intrinsics,
                        )
                        for p in world[:3]
                    ]
                ),
                width,
                height,
            )
            np.testing.assert_allclose(kp_px[:3], reference_px, atol=0.02)  # 0.02 px: float32 vs float64
    median = float(np.median(np.concatenate(distances)))
    assert 5.0 < median < 15.0, f"median distance to the SH detections {median:.2f} px (README: about 9.2 px)"
