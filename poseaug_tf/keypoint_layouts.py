"""2D keypoint layouts of common detectors, mapped to PoseAug's 16-joint Human3.6M skeleton.

Layouts (`LAYOUTS`, aliases in `ALIASES`):
  coco17       COCO-17: MMPose, Detectron2, YOLO-pose (Ultralytics), ViTPose, RTMPose.
  mediapipe33  MediaPipe Pose / BlazePose 33 landmarks (pixels: multiply MediaPipe's [0, 1] x by w and y by h).
  body25       OpenPose BODY_25.
  h36m17       Human3.6M 17 joints (VideoPose3D / CPN / Detectron files): Neck/Nose (index 9) dropped.
  h36m16       PoseAug's own order (identity).
  mpii16       Stacked-Hourglass / MPII order of data_2d_h36m_sh_pt_mpii.npz: reordered.

The COCO-like layouts (coco17, mediapipe33, body25) give hips, knees, ankles, shoulders, elbows and wrists
directly. The other four joints are synthesised (fractions measured on Human3.6M S1, S5, S6, S7, S8, one frame in
50, 3D mocap, with shoulder_mid = mean of both shoulders, hip_mid = mean of both hips):
  Hip    = hip_mid (Human3.6M's pelvis is exactly the hip midpoint: mean distance 0.0004 mm).
  Thorax = hip_mid + THORAX_FRACTION · (shoulder_mid − hip_mid), THORAX_FRACTION = 1.125 (measured 1.126 ±
           0.039): Human3.6M's Thorax marker sits at the neck base, 53 mm above the shoulder midpoint; plain
           mid-shoulders would put it ~12 % of the torso too low.
  Spine  = hip_mid + SPINE_FRACTION · (shoulder_mid − hip_mid), SPINE_FRACTION = 0.545 (measured 0.545 ±
           0.025; i.e. 0.484 of the Hip→Thorax segment; the marker lies ~38 mm behind that line).
  Head   = head top: ear_mid + HEAD_EXTENSION · (ear_mid − shoulder_mid), HEAD_EXTENSION = 0.5. Human3.6M's
           Head is 229 mm from the shoulder midpoint (207 mm above it); ears sit ~150 mm above the shoulder
           line (anthropometric tragus height), so Head ≈ ear_mid + 0.5 · (ear_mid − shoulder_mid). When an ear
           is missing the eye midpoint, then a single ear or eye, then the nose (MediaPipe/COCO) replace ear_mid.
           Limits: it assumes the head is aligned with the torso axis in the image; a tilted or bowed head, a
           profile view (ears overlap) or a far-from-upright body makes it wrong by up to ~10 cm.
Detector hips (COCO "left_hip" etc., near the greater trochanters) sit higher and wider than Human3.6M's hip
joint centres; no correction is applied, so expect a small domain gap on detector input.
body25 uses the same synthesis from its shoulders and hips (its Neck and MidHip are not used), for consistency.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
import zipfile
import zlib

import numpy as np

from poseaug_tf import serving_contract as contract
from poseaug_tf import skeleton
from poseaug_tf.user_errors import InputError

THORAX_FRACTION = 1.125
SPINE_FRACTION = 0.545
HEAD_EXTENSION = 0.5


@dataclasses.dataclass(frozen=True)
class Layout:
    """A keypoint layout.

    Attributes:
      name: canonical name. num_joints: J.
      direct: for each of the 16 joints, the source index or None when synthesised.
      hips, shoulders: (left, right) source indices (COCO-like layouts), else None.
      head_sources: candidate groups for the head top, in order of preference; a group is used when all of its
        joints are confident, and its mean stands for the ear midpoint.
    """

    name: str
    num_joints: int
    direct: tuple
    hips: tuple | None = None
    shoulders: tuple | None = None
    head_sources: tuple = ()


def _coco_like(name, num_joints, *, nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles):
    """Layout for a detector with COCO's body keypoints; each pair argument is (left, right)."""
    left, right = 0, 1
    direct = (
        None,
        hips[right],
        knees[right],
        ankles[right],
        hips[left],
        knees[left],
        ankles[left],
        None,
        None,
        None,
        shoulders[left],
        elbows[left],
        wrists[left],
        shoulders[right],
        elbows[right],
        wrists[right],
    )
    heads = (
        (ears[left], ears[right]),
        (eyes[left], eyes[right]),
        (ears[left],),
        (ears[right],),
        (eyes[left],),
        (eyes[right],),
        (nose,),
    )
    return Layout(name, num_joints, direct, hips=tuple(hips), shoulders=tuple(shoulders), head_sources=heads)


LAYOUTS = {
    "coco17": _coco_like(
        "coco17",
        17,
        nose=0,
        eyes=(1, 2),
        ears=(3, 4),
        shoulders=(5, 6),
        elbows=(7, 8),
        wrists=(9, 10),
        hips=(11, 12),
        knees=(13, 14),
        ankles=(15, 16),
    ),
    "mediapipe33": _coco_like(
        "mediapipe33",
        33,
        nose=0,
        eyes=(2, 5),
        ears=(7, 8),
        shoulders=(11, 12),
        elbows=(13, 14),
        wrists=(15, 16),
        hips=(23, 24),
        knees=(25, 26),
        ankles=(27, 28),
    ),
    "body25": _coco_like(
        "body25",
        25,
        nose=0,
        eyes=(16, 15),
        ears=(18, 17),
        shoulders=(5, 2),
        elbows=(6, 3),
        wrists=(7, 4),
        hips=(12, 9),
        knees=(13, 10),
        ankles=(14, 11),
    ),
    "h36m17": Layout("h36m17", 17, skeleton.H17_TO_16),
    "h36m16": Layout("h36m16", 16, tuple(range(16))),
    "mpii16": Layout("mpii16", 16, skeleton.SH_MPII_TO_16),
}
ALIASES = {
    "coco": "coco17",
    "mmpose": "coco17",
    "detectron2": "coco17",
    "yolo": "coco17",
    "yolo-pose": "coco17",
    "vitpose": "coco17",
    "rtmpose": "coco17",
    "mediapipe": "mediapipe33",
    "blazepose": "mediapipe33",
    "openpose": "body25",
    "body_25": "body25",
    "h36m": "h36m17",
    "human36m": "h36m17",
    "h36m_17": "h36m17",
    "h36m_16": "h36m16",
    "sh": "mpii16",
    "mpii": "mpii16",
}


class KeypointError(InputError):
    """Unusable 2D keypoints; the message names the source, frame and joint."""


def resolve_layout(name: str, where: str = "layout") -> Layout:
    """The Layout called `name` (case-insensitive, aliases accepted).

    Raises:
      KeypointError: unknown name; the message starts with `where` (the flag or file field it came from).
    """
    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in LAYOUTS:
        raise KeypointError(
            f"{where}: unknown layout {name!r}; valid: {', '.join(sorted(LAYOUTS))} or the aliases "
            f"{', '.join(sorted(ALIASES))}."
        )
    return LAYOUTS[key]


def layout_for_count(num_joints: int, source: str = "keypoints") -> str:
    """The layout implied by a joint count when unambiguous (16 → h36m16, 17 → coco17, 25, 33)."""
    guesses = {16: "h36m16", 17: "coco17", 25: "body25", 33: "mediapipe33"}
    if num_joints not in guesses:
        raise KeypointError(
            f"{source}: cannot infer the layout of {num_joints} keypoints; expected 16, 17, 25 or "
            f"33 per frame, or a layout (--layout or the file's 'layout')."
        )
    return guesses[num_joints]


def _first_missing(ok: np.ndarray) -> tuple[int, int]:
    frame, joint = np.argwhere(~ok)[0]
    return int(frame), int(joint)


def to_h36m16(
    keypoints: np.ndarray,
    layout: str,
    *,
    scores: np.ndarray | None = None,
    min_confidence: float = 0.0,
    source: str = "keypoints",
) -> np.ndarray:
    """Maps keypoints of `layout` to PoseAug's 16 joints (module docstring), any 2D units (e.g. pixels).

    A keypoint that is NaN or scores below `min_confidence` is missing; a joint that needs it (directly or to
    synthesise) comes out NaN, and the exported model fills it (`keypoint_noise.fill_missing`).

    Args:
      keypoints: (N, J, 2) float, J = the layout's joint count; NaN for a keypoint the detector did not give.
      layout: a name of LAYOUTS or ALIASES.
      scores: (N, J) confidences, or None (all confident).
      min_confidence: a keypoint with score < min_confidence counts as missing.
      source: name of the input (a file) for error messages.

    Returns:
      (N, 16, 2) float32 in the input's units, NaN for missing joints.

    Raises:
      KeypointError: wrong joint count, an infinite coordinate, or a frame without any keypoint; the message names
        the source and frame.
    """
    spec = resolve_layout(layout)
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (spec.num_joints, 2):
        raise KeypointError(
            f"{source}: expected keypoints of shape (frames, {spec.num_joints}, 2) for layout "
            f"{spec.name!r}; received {keypoints.shape}."
        )
    if np.isinf(keypoints).any():
        frame, joint = _first_missing(~np.isinf(keypoints).any(-1))
        raise KeypointError(
            f"{source}: frame {frame}, keypoint {joint}: non-finite coordinate "
            f"{keypoints[frame, joint].tolist()}; expected finite numbers (NaN for a missing keypoint)."
        )
    ok = np.isfinite(keypoints).all(-1)
    if scores is not None:
        ok &= np.asarray(scores) >= min_confidence
    out = np.full((len(keypoints), skeleton.NUM_JOINTS, 2), np.nan)
    for target, index in enumerate(spec.direct):
        if index is not None:
            out[:, target] = np.where(ok[:, index, None], keypoints[:, index], np.nan)
    if spec.hips is not None:
        _synthesise(np.where(ok[..., None], keypoints, np.nan), ok, spec, out)
    empty = np.isnan(out).any(-1).all(-1)
    if empty.any():
        raise KeypointError(
            f"{source}: frame {int(np.argmax(empty))}: no keypoint is present (all NaN or below min_confidence "
            f"{min_confidence:g}); expected at least one."
        )
    return out.astype(np.float32)


def _synthesise(keypoints: np.ndarray, ok: np.ndarray, spec: Layout, out: np.ndarray) -> None:
    """Fills Hip, Spine, Thorax and Head (indices 0, 7, 8, 9) of `out` in place; NaN where a source is missing."""
    hip_mid = keypoints[:, list(spec.hips)].mean(axis=1)
    shoulder_mid = keypoints[:, list(spec.shoulders)].mean(axis=1)
    torso = shoulder_mid - hip_mid
    out[:, 0] = hip_mid
    out[:, 7] = hip_mid + SPINE_FRACTION * torso
    out[:, 8] = hip_mid + THORAX_FRACTION * torso
    ear_mid = np.full_like(hip_mid, np.nan)
    for group in spec.head_sources:
        use = np.isnan(ear_mid[:, 0]) & ok[:, list(group)].all(axis=1)
        ear_mid[use] = keypoints[use][:, list(group)].mean(axis=1)
    out[:, 9] = ear_mid + HEAD_EXTENSION * (ear_mid - shoulder_mid)


# --- reading keypoint files -------------------------------------------------------------------------------------
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
    """Reads 2D keypoints from .json, .csv or .npz (formats in poseaug_tf/predict.py's docstring).

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
    if size.shape != (2,) or not contract.plausible_image_size(size):
        raise KeypointError(
            f"{where}: expected image_size [width, height] of 1 to {contract.MAX_IMAGE_SIDE_PX:g} "
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
