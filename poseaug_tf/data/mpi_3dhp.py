"""MPI-INF-3DHP test set (2,929 frames of TS1–TS6) → `PoseSet` (docs/reference.md §1.8).

The official release is a folder with one `TS<n>/annot_data.mat` per test sequence (`load_3dhp_annot`, MATLAB 7.3
= HDF5): `annot2` (N, 1, 17, 2) pixels, `annot3` / `univ_annot3` (N, 1, 17, 3) camera-frame millimetres (the
universal skeleton rescaled to Human3.6M's height, what published tables score), `valid_frame` (N, 1). Only valid
frames are kept, as the official evaluation does. The action label is the scene of the standard per-scene table
(TS1–TS2 "GS", green screen; TS3–TS4 "noGS"; TS5–TS6 "Outdoor"), the subject label the sequence.

Two npz layouts are recognised by their keys:
  PoseAug `test_3dhp.npz`: `pose3d` (N, 16, 3) metres root-relative, `pose2d` (N, 16, 2) already normalised.
  SPIN `mpi_inf_3dhp_valid.npz`: `imgname` (N,), `part` (N, 24, 3) pixel x, y, visibility in the full test
    image, `S` (N, 24, 4) metres root-relative + confidence (`center`, `scale` unused). Converted as PoseAug's
    prepare_data_3dhp.py does: rows SPIN_TO_16, 2D normalised with the sequence's image size (2048×2048 for
    TS1–TS4, 1920×1080 for TS5–TS6, read from '/TS5/', '/TS6/' in imgname) and multiplied by visibility.
The action label is the test sequence (TS1..TS6) when known; the 3DHP test set has no intrinsics here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from absl import logging

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.core import skeleton
from poseaug_tf.core.pixels import normalize_pixels
from poseaug_tf.data.generic import check_array, labels, read_npz
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError, PoseSet

SPIN_TO_16 = (14, 2, 1, 0, 3, 4, 5, 16, 12, 18, 9, 10, 11, 8, 7, 6)
NUM_SPIN_JOINTS = 24
IMAGE_SIZE_TS1_TS4 = (2048, 2048)
IMAGE_SIZE_TS5_TS6 = (1920, 1080)
_SEQUENCE = re.compile(r"(?:^|[/\\])(TS\d+)[/\\]")
SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
SCENES = {"TS1": "GS", "TS2": "GS", "TS3": "noGS", "TS4": "noGS", "TS5": "Outdoor", "TS6": "Outdoor"}
ANNOT_FILE = "annot_data.mat"
POSE_3D_KEYS = ("univ_annot3", "annot3")
# The 17 joints of annot_data.mat (mpii_get_joints('relevant')): 0 head_top, 1 neck, 2-4 right shoulder, elbow,
# wrist, 5-7 left shoulder, elbow, wrist, 8-10 right hip, knee, ankle, 11-13 left hip, knee, ankle, 14 pelvis,
# 15 spine, 16 head. Row j of our 16-joint pose comes from row ANNOT_TO_16[j]: Head from head_top, Thorax from
# neck (as PoseAug's prepare_data_3dhp.py maps them).
ANNOT_TO_16 = (14, 8, 9, 10, 11, 12, 13, 15, 1, 0, 5, 6, 7, 2, 3, 4)
NUM_ANNOT_JOINTS = 17
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


def annot_sequences(root: str | Path) -> list[str]:
    """The test sequences (TS1..TS6) that have a `TS<n>/annot_data.mat` under `root`, in order."""
    return [name for name in SEQUENCES if (Path(root) / name / ANNOT_FILE).is_file()]


def load_3dhp_annot(
    root: str | Path, sequences: Sequence[str] | None = None, *, pose_3d: str = "univ_annot3"
) -> PoseSet:
    """Loads the official MPI-INF-3DHP test annotations (`<root>/TS<n>/annot_data.mat`), valid frames only.

    Args:
      root: folder holding TS1/…/TS6 (any subset).
      sequences: e.g. ("TS5",); None for every sequence present.
      pose_3d: "univ_annot3" (the universal skeleton, as published tables) or "annot3" (the subject's own size).

    Returns:
      PoseSet: pose3d (N, 16, 3) root-relative metres; pose2d (N, 16, 2) normalised by the sequence's image size
      (2048×2048 for TS1–TS4, 1920×1080 for TS5–TS6); action = scene (GS, noGS, Outdoor); subject = sequence;
      root_relative=True, has_camera=False; one `sequence` id per test sequence.

    Raises:
      DataFileNotFoundError: `root` or a requested sequence's file is missing.
      DataFormatError: unreadable file, missing key, wrong shape, non-finite valid frames, unknown sequence.
    """
    root = Path(root)
    if pose_3d not in POSE_3D_KEYS:
        raise ValueError(f"Expected `pose_3d` in {POSE_3D_KEYS}; received {pose_3d!r}.")
    present = annot_sequences(root) if root.is_dir() else []
    if not present:
        raise DataFileNotFoundError(f"No MPI-INF-3DHP test sequence under {root} (expected TS<n>/{ANNOT_FILE}).")
    wanted = present if sequences is None else list(sequences)
    for name in wanted:
        if name not in SEQUENCES:
            raise DataFormatError(f"Unknown MPI-INF-3DHP test sequence {name!r}; expected one of {SEQUENCES}.")
        if name not in present:
            raise DataFileNotFoundError(f"MPI-INF-3DHP file {root / name / ANNOT_FILE} does not exist.")
    parts = [_read_annot(root / name / ANNOT_FILE, name, pose_3d) for name in wanted]
    pose3d = np.concatenate([p[0] for p in parts])
    return PoseSet(
        pose3d=pose3d - pose3d[:, :1],
        pose2d=np.concatenate([p[1] for p in parts]),
        camera=np.zeros((len(pose3d), camera_lib.INTRINSICS_SIZE), np.float32),
        action=np.concatenate([np.full(len(p[0]), SCENES[n], dtype=object) for p, n in zip(parts, wanted)]),
        subject=np.concatenate([np.full(len(p[0]), n, dtype=object) for p, n in zip(parts, wanted)]),
        sequence=np.concatenate([np.full(len(p[0]), i, np.int32) for i, p in enumerate(parts)]),
        name=f"3dhp {','.join(wanted)} {pose_3d}",
        root_relative=True,
        has_camera=False,
    )


def _read_annot(path: Path, name: str, pose_3d: str) -> tuple[np.ndarray, np.ndarray]:
    """One annot_data.mat → (valid-frame 3D (N, 16, 3) metres, 2D (N, 16, 2) normalised)."""
    try:
        with h5py.File(path, "r") as handle:
            arrays = {k: np.asarray(handle[k]) for k in ("annot2", pose_3d, "valid_frame") if k in handle}
    except OSError as error:
        raise DataFormatError(f"{path}: not a readable MATLAB 7.3 (HDF5) file ({error}).") from None
    for key, shape in (("annot2", (NUM_ANNOT_JOINTS, 2)), (pose_3d, (NUM_ANNOT_JOINTS, 3))):
        if key not in arrays:
            raise DataFormatError(f"{path}: missing key '{key}'.")
        if arrays[key].ndim != 4 or arrays[key].shape[1:] != (1, *shape):
            raise DataFormatError(
                f"{path}: '{key}' should be (N, 1, {shape[0]}, {shape[1]}); received {arrays[key].shape}."
            )
    n = len(arrays["annot2"])
    valid = arrays.get("valid_frame")
    if valid is None or valid.size != n or len(arrays[pose_3d]) != n:
        raise DataFormatError(f"{path}: 'valid_frame', 'annot2' and '{pose_3d}' should have one row per frame ({n}).")
    keep = valid.reshape(n) > 0.5
    pose3d = arrays[pose_3d][keep, 0][:, list(ANNOT_TO_16)] / 1000.0
    kp_px = arrays["annot2"][keep, 0][:, list(ANNOT_TO_16)]
    if not (np.isfinite(pose3d).all() and np.isfinite(kp_px).all()):
        raise DataFormatError(f"{path}: valid frames contain NaN or infinite joints.")
    size = IMAGE_SIZE_TS5_TS6 if name in ("TS5", "TS6") else IMAGE_SIZE_TS1_TS4
    return pose3d.astype(np.float32), normalize_pixels(kp_px, size)


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
