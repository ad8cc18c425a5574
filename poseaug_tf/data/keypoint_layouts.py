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

Reading keypoint files (JSON, CSV, NPZ) and image sizes: keypoint_files.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from poseaug_tf.core import skeleton
from poseaug_tf.infra.user_errors import InputError

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


def _coco_like(name, num_joints, nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles):
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


# The COCO-like layouts' keypoint indices, pairs as (left, right), from each format's documentation:
#   joints, nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles
_COCO_LIKE = {
    "coco17": (17, 0, (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    "mediapipe33": (33, 0, (2, 5), (7, 8), (11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28)),
    "body25": (25, 0, (16, 15), (18, 17), (5, 2), (6, 3), (7, 4), (12, 9), (13, 10), (14, 11)),
}
LAYOUTS = {
    **{name: _coco_like(name, *row) for name, row in _COCO_LIKE.items()},
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
