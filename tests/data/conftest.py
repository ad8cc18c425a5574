"""Fixtures for the data tests: a small fake Human3.6M folder in the VideoPose3D npz layout.

The fake files are built from first principles here (joint tables written out by name, the NumPy projection
of tests/numpy_reference.py), so the loader is checked against an independent computation.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from poseaug_tf.data import h36m_cameras
from tests import numpy_reference as ref

OUR_NAMES = ref.JOINT_NAMES_16
FAKE_SEQUENCES = {
    "S1": {"Walking": 30, "Walking 1": 41, "WalkDog": 12, "Eating 2": 20},
    "S9": {"Walking": 25, "Directions 1": 18},
}
EXTRA_2D_ONLY = {"S1": "Discussion 2"}  # in the 2D files only: must be skipped with a warning
EXTRA_2D_FRAMES = 5  # the 2D tracks are longer than the mocap: must be trimmed


class FakeH36M:
    """A fake data folder plus the expected (independently computed) camera-frame 3D and normalised 2D."""

    def __init__(self, root: pathlib.Path, rng: np.random.Generator):
        self.root = root
        self.table = h36m_cameras.builtin_camera_table()
        self.world = {s: {a: self._world_pose(rng, n) for a, n in acts.items()} for s, acts in FAKE_SEQUENCES.items()}
        np.savez(root / "data_3d_h36m.npz", positions_3d=np.array(self.world, dtype=object))

    @staticmethod
    def _world_pose(rng, n):
        pose = rng.uniform(-0.4, 0.4, size=(n, 32, 3)) + np.array([0.0, 0.0, 1.0])  # around the capture centre
        return pose.astype(np.float32)

    def camera(self, subject, cam):
        intr = self.table["intrinsic"][cam]
        ext = self.table["extrinsic"][subject][cam]
        k = ref.normalize_intrinsics(
            intr["focal_length"],
            intr["center"],
            intr["radial_distortion"],
            intr["tangential_distortion"],
            intr["res_w"],
            intr["res_h"],
        )
        return k, np.array(ext["orientation"]), np.array(ext["translation"]) / 1000.0, intr["res_w"], intr["res_h"]

    def expected(self, subject, action, cam):
        """((N, 16, 3) camera-frame metres, (N, 16, 2) normalised distorted projection), float64."""
        k, q, t, _, _ = self.camera(subject, cam)
        world16 = self.world[subject][action][:, list(ref.H36M32_KEPT_16)].reshape(-1, 3)
        cam3d = ref.world_to_camera(world16, q, t)
        return cam3d.reshape(-1, 16, 3), ref.project_h36m(cam3d, k).reshape(-1, 16, 2)

    def pixels(self, subject, action, cam):
        _, _, _, w, h = self.camera(subject, cam)
        return ref.image_coordinates(self.expected(subject, action, cam)[1], w, h)

    def write_2d(self, keypoints: str, *, layout: str, extra_frames: int = EXTRA_2D_FRAMES, overrides=None):
        """Writes data_2d_h36m_<keypoints>.npz in layout 'h16' (ours), 'h17' (Neck/Nose at 9) or 'mpii'."""
        positions = {}
        for subject, actions in FAKE_SEQUENCES.items():
            positions[subject] = {}
            for action in list(actions) + ([EXTRA_2D_ONLY[subject]] if subject in EXTRA_2D_ONLY else []):
                tracks = []
                for cam in range(4):
                    px = self.pixels(subject, action if action in actions else "Walking", cam)
                    px = np.concatenate([px, np.repeat(px[-1:], extra_frames, axis=0)])
                    tracks.append(_to_layout(px, layout).astype(np.float32))
                positions[subject][action] = tracks
        for (subject, action), tracks in (overrides or {}).items():
            positions[subject][action] = tracks
        meta = {"num_joints": 17 if layout == "h17" else 16}
        np.savez(
            self.root / f"data_2d_h36m_{keypoints}.npz",
            positions_2d=np.array(positions, dtype=object),
            metadata=np.array(meta, dtype=object),
        )


def _to_layout(px, layout):
    if layout == "mpii":
        return px[:, [OUR_NAMES.index(name) for name in ref.SH_MPII_NAMES_16]]
    if layout == "h17":
        neck = np.full_like(px[:, :1], 123.0)  # a value the loader must drop
        return np.concatenate([px[:, :9], neck, px[:, 9:]], axis=1)
    return px


@pytest.fixture
def fake_h36m(tmp_path, rng) -> FakeH36M:
    root = tmp_path / "h36m"
    root.mkdir()
    return FakeH36M(root, rng)
