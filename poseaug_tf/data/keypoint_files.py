"""Keypoint files as users bring them (JSON, CSV, NPZ of any layout in keypoint_layouts.py), read into PoseAug's
16 joints in pixels with their image sizes: the predict CLI's and `data.target_2d`'s one reader (`read_keypoints`,
`prepare`)."""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
import zipfile
import zlib

import numpy as np

from poseaug_tf.core import pixels, skeleton
from poseaug_tf.data.keypoint_layouts import KeypointError, layout_for_count, resolve_layout, to_h36m16


@dataclasses.dataclass(frozen=True)
class KeypointInput:
    """2D keypoints read from a file: keypoints (N, J, 2) pixels, scores (N, J) or None, image_size (N, 2) or
    (2,) or None, layout name or None."""

    keypoints: np.ndarray
    scores: np.ndarray | None
    image_size: np.ndarray | None
    layout: str | None


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeypointError(f"{where}: expected a number; received {value!r}.")
    return float(value)


def _split_columns(values: np.ndarray, num_joints: int | None, where: str):
    """Flat rows (N, C) → keypoints (N, J, 2) and scores (N, J) or None: C = 3J (x, y, score) or 2J (x, y)."""
    cols = values.shape[1]
    if num_joints is None:
        counts = (16, 17, 25, 33)
        num_joints = next((cols // k for k in (3, 2) if cols % k == 0 and cols // k in counts), None)
        if num_joints is None:
            raise KeypointError(
                f"{where}: {cols} values per frame; expected 2 or 3 per joint for 16, 17, 25 or 33 joints."
            )
    if cols not in (2 * num_joints, 3 * num_joints):
        raise KeypointError(
            f"{where}: {cols} values per frame; expected {2 * num_joints} (x, y) or "
            f"{3 * num_joints} (x, y, score) for {num_joints} joints."
        )
    per_joint = values.reshape(len(values), num_joints, cols // num_joints)
    return per_joint[..., :2], (per_joint[..., 2] if per_joint.shape[-1] == 3 else None)


def _json_frame(frame, index: int, num_joints: int | None, source: str):
    where = f"{source}: frame {index}"
    if not isinstance(frame, dict) or "keypoints" not in frame:
        raise KeypointError(f"{where}: expected an object with 'keypoints'; received {type(frame).__name__}.")
    points = frame["keypoints"]
    if not isinstance(points, list) or not points:
        raise KeypointError(f"{where}, field 'keypoints': expected a non-empty list; received {points!r:.60}.")
    if not isinstance(points[0], (list, type(None))):  # flat COCO-results form [x0, y0, v0, x1, ...]
        flat = np.array([[_number(v, f"{where}, field 'keypoints'[{i}]") for i, v in enumerate(points)]])
        xy, scores = _split_columns(flat, num_joints, f"{where}, field 'keypoints'")
        xy, scores = xy[0], None if scores is None else scores[0]
    else:
        width = next((len(p) for p in points if isinstance(p, list)), 2)  # the first present joint sets the form
        xy, scores = np.zeros((len(points), 2)), np.ones(len(points))
        for j, point in enumerate(points):
            if point is None:  # a joint the detector did not output
                scores[j] = 0.0
                continue
            if not isinstance(point, list) or len(point) != width or width not in (2, 3):
                raise KeypointError(
                    f"{where}, keypoint {j}: expected [x, y] or [x, y, score] like the others; received {point!r}."
                )
            values = [_number(v, f"{where}, keypoint {j}") for v in point]
            xy[j] = values[:2]
            scores[j] = values[2] if width == 3 else scores[j]
    if "keypoint_scores" in frame:
        raw = frame["keypoint_scores"]
        if not isinstance(raw, list) or len(raw) != len(xy):
            raise KeypointError(f"{where}, field 'keypoint_scores': expected {len(xy)} numbers; received {raw!r:.60}.")
        scores = np.array([_number(v, f"{where}, field 'keypoint_scores'[{j}]") for j, v in enumerate(raw)])
    return xy, scores, frame.get("image_size")


def _read_json(path: pathlib.Path, num_joints: int | None) -> KeypointInput:
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise KeypointError(f"{path}: not valid JSON ({error}).") from None
    image_size = layout = None
    if isinstance(doc, dict):
        if "frames" not in doc:
            raise KeypointError(f"{path}: expected key 'frames' (or a top-level list of frames); found {sorted(doc)}.")
        frames, image_size, layout = doc["frames"], doc.get("image_size"), doc.get("layout")
    else:
        frames = doc
    if not isinstance(frames, list) or not frames:
        raise KeypointError(f"{path}: expected a non-empty list of frames; received {frames!r:.60}.")
    parsed = [_json_frame(frame, i, num_joints, str(path)) for i, frame in enumerate(frames)]
    counts = {len(xy) for xy, _, _ in parsed}
    if len(counts) > 1:
        frame = next(i for i, (xy, _, _) in enumerate(parsed) if len(xy) != len(parsed[0][0]))
        raise KeypointError(
            f"{path}: frame {frame}: {len(parsed[frame][0])} keypoints; expected {len(parsed[0][0])} like frame 0."
        )
    keypoints = np.stack([xy for xy, _, _ in parsed])
    scores = (
        None
        if all(s is None for _, s, _ in parsed)
        else np.stack([np.ones(len(xy)) if s is None else s for xy, s, _ in parsed])
    )
    if any(size is not None for _, _, size in parsed):
        image_size = [image_size if size is None else size for _, _, size in parsed]
        if any(size is None for size in image_size):
            raise KeypointError(f"{path}: some frames have 'image_size' and others do not (and no top-level one).")
    return KeypointInput(keypoints, scores, _size_array(image_size, str(path)), layout)


def _size_array(size, where: str) -> np.ndarray | None:
    if size is None:
        return None
    try:  # numbers only: NumPy would also turn the strings "1920" or "nan" into floats
        array = np.asarray(size)
        if array.dtype.kind not in "iuf":
            raise TypeError
        array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise KeypointError(f"{where}: 'image_size' must be numbers [width, height]; received {size!r:.60}.") from None
    if array.shape[-1:] != (2,) or array.ndim > 2:
        raise KeypointError(
            f"{where}: expected 'image_size' [width, height] or one per frame; received shape {array.shape}."
        )
    return array


def _read_text(path: pathlib.Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise KeypointError(
            f"{path}: not a text file (byte {error.start} is not UTF-8); expected "
            f"{path.suffix.lstrip('.').upper()} text."
        ) from None


def _read_csv(path: pathlib.Path, num_joints: int | None) -> KeypointInput:
    lines = csv.reader(_read_text(path).splitlines())
    rows = [(i + 1, row) for i, row in enumerate(lines) if any(cell.strip() for cell in row)]
    if rows and all(not _is_number(cell) for cell in rows[0][1]):
        rows = rows[1:]  # header
    if not rows:
        raise KeypointError(f"{path}: no data rows; expected one row of x0,y0[,s0],x1,... per frame.")
    width = len(rows[0][1])
    values = np.zeros((len(rows), width))
    for frame, (line, row) in enumerate(rows):
        if len(row) != width:
            raise KeypointError(f"{path}: line {line} (frame {frame}): {len(row)} fields; expected {width}.")
        for col, cell in enumerate(row):
            if not _is_number(cell):
                raise KeypointError(
                    f"{path}: line {line} (frame {frame}), column {col}: expected a number; received {cell!r}."
                )
            values[frame, col] = float(cell)
    keypoints, scores = _split_columns(values, num_joints, str(path))
    return KeypointInput(keypoints, scores, None, None)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _npz_arrays(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Every array of an npz file, read without pickle; a truncated, garbage or pickled file is a KeypointError."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise KeypointError(f"{path}: not a readable npz file of plain arrays ({error}).") from None


def _read_npz(path: pathlib.Path) -> KeypointInput:
    arrays = _npz_arrays(path)
    if "keypoints" not in arrays:
        raise KeypointError(f"{path}: expected array 'keypoints' (N, J, 2|3); found {sorted(arrays)}.")
    raw = arrays["keypoints"]
    if raw.dtype.kind not in "fiu" or raw.ndim != 3 or raw.shape[-1] not in (2, 3) or not raw.size:
        raise KeypointError(
            f"{path}, array 'keypoints': expected numbers of shape (N, J, 2|3); received {raw.dtype} {raw.shape}."
        )
    scores = arrays["scores"].astype(np.float64) if "scores" in arrays else None
    scores = raw[..., 2].astype(np.float64) if scores is None and raw.shape[-1] == 3 else scores
    if scores is not None and scores.shape != raw.shape[:2]:
        raise KeypointError(f"{path}, array 'scores': expected shape {raw.shape[:2]}; received {scores.shape}.")
    size = _size_array(arrays["image_size"], str(path)) if "image_size" in arrays else None
    layout = str(arrays["layout"]) if "layout" in arrays else None
    return KeypointInput(raw[..., :2].astype(np.float64), scores, size, layout)


def read_keypoints(path, *, layout: str | None = None) -> KeypointInput:
    """Reads 2D keypoints from .json, .csv or .npz (formats in poseaug_tf/cli/predict.py's docstring).

    Args:
      path: the input file. layout: known layout (fixes the joint count of flat rows).

    Raises:
      KeypointError: missing or empty file, unknown extension, malformed content (names the file, frame, field).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise KeypointError(f"{path}: input file does not exist.")
    if path.stat().st_size == 0:
        raise KeypointError(f"{path}: the file is empty.")
    num_joints = resolve_layout(layout, "--layout").num_joints if layout else None
    readers = {
        ".json": lambda: _read_json(path, num_joints),
        ".csv": lambda: _read_csv(path, num_joints),
        ".npz": lambda: _read_npz(path),
    }
    if path.suffix.lower() not in readers:
        raise KeypointError(f"{path}: unknown extension {path.suffix!r}; expected one of {sorted(readers)}.")
    return readers[path.suffix.lower()]()


# --- pixels and image sizes ------------------------------------------------------------------------------------
DEFAULT_MIN_CONFIDENCE = 0.3
OUTSIDE_MARGIN = 0.5  # keypoints may lie up to half an image outside the frame (detectors extrapolate)


def parse_image_size(text: str) -> tuple[float, float]:
    """'WxH' (e.g. '1920x1080') → (width, height). Raises KeypointError."""
    parts = str(text).lower().split("x")
    try:
        width, height = (float(p) for p in parts)
    except ValueError:
        raise KeypointError(
            f"--image-size: expected WIDTHxHEIGHT in pixels, e.g. 1920x1080; received {text!r}."
        ) from None
    return check_image_size((width, height), "--image-size")


def check_image_size(size, where: str) -> tuple[float, float]:
    size = np.asarray(size, dtype=np.float64).reshape(-1)
    if size.shape != (2,) or not pixels.plausible_image_size(size):
        raise KeypointError(
            f"{where}: expected image_size [width, height] of 1 to {pixels.MAX_IMAGE_SIDE_PX:g} "
            f"pixels; received {size.tolist()}."
        )
    return float(size[0]), float(size[1])


def _check_in_image(kp_px: np.ndarray, size: np.ndarray, source: str) -> None:
    """Catches a wrong image size or non-pixel coordinates (e.g. MediaPipe's [0, 1] values)."""
    lo, hi = -OUTSIDE_MARGIN * size[:, None, :], (1 + OUTSIDE_MARGIN) * size[:, None, :]
    outside = np.any((kp_px < lo) | (kp_px > hi), axis=-1)  # NaN (missing) compares False
    if outside.any():
        frame, joint = (int(i) for i in np.argwhere(outside)[0])
        raise KeypointError(
            f"{source}: frame {frame}, joint {skeleton.JOINT_NAMES[joint]!r} at {kp_px[frame, joint].tolist()} px "
            f"lies far outside the {size[frame, 0]:g}x{size[frame, 1]:g} image: wrong image size?"
        )
    extent = (np.nanmax(kp_px, axis=1) - np.nanmin(kp_px, axis=1)).max(axis=-1)
    tiny = (extent < 2.0) & (size.min(axis=-1) >= 64) & (np.isfinite(kp_px).all(-1).sum(-1) > 1)
    if tiny.any():
        frame = int(np.argmax(tiny))
        raise KeypointError(
            f"{source}: frame {frame}: all keypoints lie within 2 px in a {size[frame, 0]:g}x"
            f"{size[frame, 1]:g} image; expected pixel coordinates (multiply normalised [0, 1] "
            f"coordinates by the width and height)."
        )


def prepare(
    data: KeypointInput,
    *,
    source: str,
    layout: str | None = None,
    image_size=None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Maps read keypoints to (N, 16, 2) pixels and (N, 2) image sizes; `layout`/`image_size` override the file's.

    Raises:
      KeypointError: unknown layout, a `layout` that contradicts the file's, missing image size, unusable or
        out-of-image keypoints.
    """
    if layout and data.layout:
        given, declared = (
            resolve_layout(layout, "--layout").name,
            resolve_layout(data.layout, f"{source}, field 'layout'").name,
        )
        if given != declared:
            # Same joint count, other joint order (mpii16 and h36m16): lifting would silently return wrong poses.
            raise KeypointError(
                f"{source}: the file says layout '{data.layout}' but --layout is '{layout}'; drop --layout or fix "
                "the file."
            )
    if layout:
        name = resolve_layout(layout, "--layout").name
    elif data.layout:
        name = resolve_layout(data.layout, f"{source}, field 'layout'").name
    else:
        name = layout_for_count(data.keypoints.shape[1], source)
    if image_size is not None:
        size = check_image_size(image_size, "image_size")
    elif data.image_size is not None:
        size = data.image_size
    else:
        raise KeypointError(f"{source}: no image size; expected 'image_size' in the file or --image-size WxH.")
    try:
        size = np.broadcast_to(np.asarray(size, np.float64), (len(data.keypoints), 2))
    except ValueError:
        raise KeypointError(
            f"{source}: image_size of shape {np.shape(size)}; expected (2,) or one [width, height] "
            f"per frame ({len(data.keypoints)}, 2)."
        ) from None
    for frame, row in enumerate(size):
        check_image_size(row, f"{source}: frame {frame}: image_size")
    kp_px = to_h36m16(data.keypoints, name, scores=data.scores, min_confidence=min_confidence, source=source)
    _check_in_image(kp_px, size, source)
    return kp_px, size.astype(np.float32), name
