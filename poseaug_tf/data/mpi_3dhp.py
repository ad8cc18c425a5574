"""MPI-INF-3DHP test set (2,929 frames of TS1–TS6) → `PoseSet` (docs/reference.md §1.8).

Two layouts are recognised by their keys:
  PoseAug `test_3dhp.npz`: `pose3d` (N, 16, 3) metres root-relative, `pose2d` (N, 16, 2) already normalised.
  SPIN `mpi_inf_3dhp_valid.npz`: `imgname` (N,), `part` (N, 24, 3) pixel x, y, visibility in the full test
    image, `S` (N, 24, 4) metres root-relative + confidence (`center`, `scale` unused). Converted as PoseAug's
    prepare_data_3dhp.py does: rows SPIN_TO_16, 2D normalised with the sequence's image size (2048×2048 for
    TS1–TS4, 1920×1080 for TS5–TS6, read from '/TS5/', '/TS6/' in imgname) and multiplied by visibility.
The action label is the test sequence (TS1..TS6) when known; the 3DHP test set has no intrinsics here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from absl import logging

from poseaug_tf import camera as camera_lib
from poseaug_tf import skeleton
from poseaug_tf.data.generic import check_array, labels, read_npz
from poseaug_tf.data.pose_set import DataFormatError, PoseSet
from poseaug_tf.serving_contract import normalize_pixels

SPIN_TO_16 = (14, 2, 1, 0, 3, 4, 5, 16, 12, 18, 9, 10, 11, 8, 7, 6)
NUM_SPIN_JOINTS = 24
IMAGE_SIZE_TS1_TS4 = (2048, 2048)
IMAGE_SIZE_TS5_TS6 = (1920, 1080)
_SEQUENCE = re.compile(r"(?:^|[/\\])(TS\d+)[/\\]")
_MAX_METRES = 10.0  # a root-relative joint farther than this means the file is not in metres


def load_3dhp(path: str | Path, *, allow_pickle: bool = False) -> PoseSet:
    """Loads the MPI-INF-3DHP test set from PoseAug's or SPIN's npz layout.

    Args:
      path: test_3dhp.npz (PoseAug) or mpi_inf_3dhp_valid.npz (SPIN).
      allow_pickle: allow object arrays (only for trusted files).

    Returns:
      PoseSet, root_relative=True, has_camera=False, action = sequence (TS1..TS6) or "3DHP" when unknown.

    Raises:
      DataFileNotFoundError: no such file.
      DataFormatError: neither layout, wrong shapes, NaN, unknown sequence in imgname, or not metres.
    """
    path = Path(path)
    arrays = read_npz(path, allow_pickle=allow_pickle)
    if {"pose3d", "pose2d"} <= arrays.keys():
        pose3d = check_array(arrays, "pose3d", (None, skeleton.NUM_JOINTS, 3), path)
        pose2d = check_array(arrays, "pose2d", (len(pose3d), skeleton.NUM_JOINTS, 2), path)
        key = "action" if "action" in arrays else "sequence"
        action = labels(arrays, key, len(pose3d), "3DHP", path)
    elif {"imgname", "part", "S"} <= arrays.keys():
        pose3d, pose2d, action = _convert_spin(arrays, path)
    else:
        raise DataFormatError(
            f"{path}: unknown 3DHP layout with keys {sorted(arrays)}; expected "
            "{'pose3d', 'pose2d'} (PoseAug) or {'imgname', 'part', 'S'} (SPIN)."
        )
    return PoseSet(
        pose3d=_root_relative_metres(pose3d, path),
        pose2d=pose2d,
        camera=np.zeros((len(pose3d), camera_lib.INTRINSICS_SIZE), np.float32),
        action=action,
        subject=np.full(len(pose3d), "3DHP", dtype=object),
        name=f"3dhp {path.name}",
        root_relative=True,
        has_camera=False,
    )


def sequence_image_size(imgname: str) -> tuple[str, tuple[int, int]]:
    """'mpi_inf_3dhp_test_set/TS5/imageSequence/img_000001.jpg' → ('TS5', (1920, 1080))."""
    match = _SEQUENCE.search(imgname)
    if match is None:
        raise DataFormatError(f"Cannot find the test sequence (/TS1/../TS6/) in imgname '{imgname}'.")
    name = match.group(1)
    return name, IMAGE_SIZE_TS5_TS6 if name in ("TS5", "TS6") else IMAGE_SIZE_TS1_TS4


def _convert_spin(arrays: dict, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    part = check_array(arrays, "part", (None, NUM_SPIN_JOINTS, 3), path)
    n = len(part)
    joints_3d = check_array(arrays, "S", (n, NUM_SPIN_JOINTS, 4), path)
    imgnames = labels(arrays, "imgname", n, "", path)
    sequences, sizes = zip(*(sequence_image_size(name) for name in imgnames)) if n else ((), ())
    size = np.array(sizes, dtype=np.float32).reshape(n, 2)
    kp_px = part[:, SPIN_TO_16, :2]
    visible = part[:, SPIN_TO_16, 2:3]
    kp_norm = normalize_pixels(kp_px, size)  # the serving endpoint's normalisation, so both see the same input
    return joints_3d[:, SPIN_TO_16, :3], (kp_norm * visible).astype(np.float32), np.array(sequences, object)


def _root_relative_metres(pose3d: np.ndarray, path: Path) -> np.ndarray:
    root = pose3d[:, :1]
    if np.any(np.abs(root) > 1e-4):
        # SPIN's preprocessing already centres S on the pelvis; re-centre if a file does not, so that the
        # root_relative flag is true.
        logging.warning(
            "%s: pose3d root joint is not at the origin (max |root| %.3g); subtracting it.",
            path,
            float(np.abs(root).max()),
        )
        pose3d = pose3d - root
    if pose3d.size and np.abs(pose3d).max() > _MAX_METRES:
        raise DataFormatError(
            f"{path}: 3D joints up to {np.abs(pose3d).max():.1f} from the root; expected "
            "metres (divide millimetres by 1000)."
        )
    return pose3d.astype(np.float32)
