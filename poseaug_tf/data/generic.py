"""Generic npz test sets (3DPW and others) → `PoseSet`.

Format (one npz, no pickle needed):
  pose3d      (N, 16, 3) float, metres, camera frame, joint order of docs/reference.md §1.2 (absolute or root-relative).
  pose2d      (N, 16, 2) float, pixels (x right, y down, origin top-left) ... unless `normalized` is True, in
              which case they are already normalised screen coordinates.
  image_size  (N, 2) or (2,) [width, height] in pixels; required unless `normalized` is True.
  normalized  optional bool scalar, default False.
  root_relative optional bool scalar; default: True when every pose3d root (joint 0) is at the origin.
  camera      optional (N, 9) or (9,) normalised intrinsics (see poseaug_tf.core.camera); zeros when absent.
  action / sequence / subject  optional (N,) string labels; the action label defaults to `sequence`, then "all".

Pixels are normalised by s = max(w, h): p_norm = p_px / s · 2 − [w / s, h / s]. For landscape images (w ≥ h)
this is exactly docs/reference.md §1.6 (x ∈ [−1, 1], y ∈ [−h/w, h/w]); for portrait images (3DPW phone videos) it
keeps y ∈ [−1, 1] and x ∈ [−w/h, w/h], as the PoseAug authors did for 3DPW (docs/reference.md §1.9), so no
coordinate leaves the [−1, 1] range the estimators were trained on and the aspect ratio is preserved.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.core import skeleton
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError, PoseSet

_ROOT_TOLERANCE = 1e-6


def read_npz(path: str | Path, *, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Reads every array of an npz file; pickled (object) arrays only with allow_pickle=True."""
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"Data file {path} does not exist.")
    try:
        with np.load(path, allow_pickle=allow_pickle) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataFormatError(
                f"{path} holds pickled object arrays; pass allow_pickle=True if, and only if, "
                "you trust the file (unpickling can execute code)."
            ) from error
        raise DataFormatError(f"{path}: not a readable npz file ({error}).") from error
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataFormatError(f"{path}: not a readable npz file ({type(error).__name__}: {error}).") from None


def check_array(arrays: dict, key: str, shape: tuple, path: Path) -> np.ndarray:
    """Returns arrays[key] as float32 after checking its shape (None = any size) and finiteness."""
    if key not in arrays:
        raise DataFormatError(f"{path}: missing key '{key}'; found {sorted(arrays)}.")
    value = np.asarray(arrays[key])
    if value.ndim != len(shape) or any(e is not None and e != r for e, r in zip(shape, value.shape)):
        expected = tuple("N" if e is None else e for e in shape)
        raise DataFormatError(f"{path}: key '{key}' should have shape {expected}; received {value.shape}.")
    value = value.astype(np.float32)
    if not np.all(np.isfinite(value)):
        raise DataFormatError(f"{path}: key '{key}' contains NaN or infinite values.")
    return value


def normalize_by_longer_side(kp_px: np.ndarray, image_size: np.ndarray) -> np.ndarray:
    """(N, J, 2) pixels, (N, 2) [w, h] → (N, J, 2) p / s · 2 − [w/s, h/s] with s = max(w, h)."""
    image_size = image_size.astype(np.float32)
    scale = image_size.max(axis=-1, keepdims=True)[:, None, :]  # (N, 1, 1)
    return kp_px / scale * 2.0 - image_size[:, None, :] / scale


def labels(arrays: dict, key: str, n: int, default: str, path: Path) -> np.ndarray:
    """(N,) object array of str from arrays[key], or `default` everywhere when the key is absent."""
    if key not in arrays:
        return np.full(n, default, dtype=object)
    value = np.asarray(arrays[key])
    if value.shape != (n,):
        raise DataFormatError(f"{path}: key '{key}' should have shape ({n},); received {value.shape}.")
    return value.astype(str).astype(object)


def load_generic(path: str | Path, *, allow_pickle: bool = False) -> PoseSet:
    """Loads a test set in the generic npz format of the module docstring.

    Args:
      path: the npz file.
      allow_pickle: allow object arrays (only for trusted files).

    Returns:
      PoseSet with pose3d in metres (root_relative per the file), pose2d normalised, camera zeros unless given.

    Raises:
      DataFileNotFoundError: no such file.
      DataFormatError: missing key, wrong shape or joint count, NaN, non-positive image size.
    """
    path = Path(path)
    arrays = read_npz(path, allow_pickle=allow_pickle)
    pose3d = check_array(arrays, "pose3d", (None, skeleton.NUM_JOINTS, 3), path)
    n = len(pose3d)
    pose2d = check_array(arrays, "pose2d", (n, skeleton.NUM_JOINTS, 2), path)
    if not bool(arrays.get("normalized", False)):
        pose2d = normalize_by_longer_side(pose2d, _image_size(arrays, n, path))
    camera, has_camera = np.zeros((n, camera_lib.INTRINSICS_SIZE), np.float32), "camera" in arrays
    if has_camera:
        shape = (camera_lib.INTRINSICS_SIZE,) if np.ndim(arrays["camera"]) == 1 else (n, camera_lib.INTRINSICS_SIZE)
        camera[:] = check_array(arrays, "camera", shape, path)
    root_at_origin = bool(np.all(np.abs(pose3d[:, 0]) <= _ROOT_TOLERANCE))
    root_relative = bool(arrays["root_relative"]) if "root_relative" in arrays else root_at_origin
    sequence_labels = labels(arrays, "sequence", n, "all", path)
    action = labels(arrays, "action", n, "", path) if "action" in arrays else sequence_labels
    return PoseSet(
        pose3d=pose3d,
        pose2d=pose2d,
        camera=camera,
        action=action,
        subject=labels(arrays, "subject", n, "", path),
        name=f"generic {path.name}",
        root_relative=root_relative,
        has_camera=has_camera,
    )


def _image_size(arrays: dict, n: int, path: Path) -> np.ndarray:
    if "image_size" not in arrays:
        raise DataFormatError(
            f"{path}: missing key 'image_size' ((N, 2) or (2,) [width, height] in pixels), "
            "required unless the file sets normalized=True."
        )
    shape = (2,) if np.ndim(arrays["image_size"]) == 1 else (n, 2)
    size = np.broadcast_to(check_array(arrays, "image_size", shape, path), (n, 2))
    if np.any(size <= 0):
        raise DataFormatError(
            f"{path}: key 'image_size' must be positive [width, height]; received {size[np.any(size <= 0, axis=1)][0]}."
        )
    return size
