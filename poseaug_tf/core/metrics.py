"""3D pose metrics: MPJPE, PA-MPJPE, PCK, AUC and their aggregation.

Every metric returns one value per frame, shape `(N,)`, so callers choose how to reduce (`aggregate`). Poses are
compared exactly as given: no metric subtracts the root joint itself (docs/reference.md §7: the evaluation code
makes both poses root-relative first; do the same before calling `mpjpe`).

Each function takes NumPy arrays or TensorFlow tensors. NumPy inputs are computed in float64 and return float64
NumPy arrays (the path for final result tables). If either input is a `tf.Tensor`, the computation uses TF ops in the
tensor's float dtype and returns a `tf.Tensor`; this path works inside `tf.function` (training-time logging).

Units: `mpjpe` and `pa_mpjpe` return errors in the units of their inputs (metres in, metres out; multiply by 1000
for `*_mm` values). `pck` and `auc` take thresholds in millimetres and `mm_per_unit` (1.0 for poses in millimetres,
1000.0 for poses in metres).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

NUM_JOINTS = 16

# All 16 joints, hip included (its error is 0 after root alignment), as the reference's compute_PCK default and
# its MPJPE (docs/reference.md §7).
JOINTS_ALL: tuple[int, ...] = tuple(range(NUM_JOINTS))

# The usual MPI-INF-3DHP 14-joint evaluation set (mpii_get_joint_set('relevant') minus pelvis, spine and head/nose):
# head top, neck/thorax, shoulders, elbows, wrists, hips, knees, ankles. In our 16-joint order that is everything
# except Hip (0, the root) and Spine (7).
JOINTS_3DHP_14: tuple[int, ...] = tuple(j for j in range(NUM_JOINTS) if j not in (0, 7))

PCK_THRESHOLD_MM = 150.0
# mpii_compute_3d_pck.m: PCK at 0, 5, ..., 150 mm (31 thresholds), averaged.
AUC_THRESHOLDS_MM: tuple[float, ...] = tuple(float(t) for t in range(0, 151, 5))

ArrayLike = np.ndarray | tf.Tensor


def _uses_tf(*values) -> bool:
    return any(tf.is_tensor(v) or isinstance(v, tf.Variable) for v in values)


def _check_pair(pred, target, *, coords: int | None) -> None:
    """Raises ValueError unless pred and target share a static shape (..., J, C) with C == coords."""
    if tf.is_tensor(pred) and (pred.shape.rank is None or target.shape.rank is None):
        return  # unknown rank inside tf.function: nothing to check at trace time
    pred_shape = tuple(pred.shape)
    target_shape = tuple(target.shape)
    if len(pred_shape) < 2:
        raise ValueError(f"Expected `pred` of shape (N, J, C); received {pred_shape}.")
    if pred_shape != target_shape:
        raise ValueError(f"Expected `pred` and `target` of the same shape; received {pred_shape} and {target_shape}.")
    if coords is not None and pred_shape[-1] not in (coords, None):
        raise ValueError(f"Expected `pred` of shape (N, J, {coords}); received {pred_shape}.")


def _as_pair(pred, target, *, coords: int | None):
    """Converts both inputs to float64 NumPy arrays, or to tensors of one float dtype when either is a tensor."""
    if _uses_tf(pred, target):
        dtype = next((v.dtype for v in (pred, target) if tf.is_tensor(v) and v.dtype.is_floating), tf.float32)
        pred = tf.convert_to_tensor(pred, dtype=dtype)
        target = tf.convert_to_tensor(target, dtype=dtype)
    else:
        pred = np.asarray(pred, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
    _check_pair(pred, target, coords=coords)
    return pred, target


def _joint_errors(pred, target):
    """Euclidean distance per joint, (..., J, C) -> (..., J)."""
    if tf.is_tensor(pred):
        return tf.norm(pred - target, axis=-1)
    return np.linalg.norm(pred - target, axis=-1)


def mpjpe(pred: ArrayLike, target: ArrayLike) -> ArrayLike:
    """Mean per-joint position error (protocol #1), one value per frame.

    Args:
      pred: (N, J, C) predicted joints (C = 3 for 3D; any C works), same frame and units as `target`.
      target: (N, J, C) ground-truth joints.

    Returns:
      (N,) mean Euclidean joint distance over the J joints, in the input units: float64 NumPy for NumPy inputs,
      a tensor of the input dtype otherwise.

    Raises:
      ValueError: if the shapes differ or have fewer than 2 dimensions.
    """
    pred, target = _as_pair(pred, target, coords=None)
    errors = _joint_errors(pred, target)
    if tf.is_tensor(errors):
        return tf.reduce_mean(errors, axis=-1)
    return errors.mean(axis=-1)


def _procrustes_numpy(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Aligns pred (N, J, 3) to target by a similarity transform without reflection (float64)."""
    mu_pred = pred.mean(axis=-2, keepdims=True)
    mu_target = target.mean(axis=-2, keepdims=True)
    pred0, target0 = pred - mu_pred, target - mu_target
    # Row-vector convention: minimise |target0 - s * pred0 @ R|; M = pred0^T target0 = U S V^T gives R = U D V^T.
    u, s, vt = np.linalg.svd(np.swapaxes(pred0, -1, -2) @ target0)
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0.0, 1.0, sign)
    d = np.ones_like(s)
    d[..., -1] = sign
    rotation = (u * d[..., None, :]) @ vt
    norm_sq = np.sum(pred0**2, axis=(-2, -1))
    scale = np.sum(s * d, axis=-1) / np.where(norm_sq > 0.0, norm_sq, 1.0)
    return scale[..., None, None] * (pred0 @ rotation) + mu_target


def _procrustes_tf(pred: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """TF twin of `_procrustes_numpy` (batched tf.linalg.svd), usable inside tf.function."""
    mu_pred = tf.reduce_mean(pred, axis=-2, keepdims=True)
    mu_target = tf.reduce_mean(target, axis=-2, keepdims=True)
    pred0, target0 = pred - mu_pred, target - mu_target
    # tf.linalg.svd returns s, u, v with M = u diag(s) v^T (v, not v^T).
    s, u, v = tf.linalg.svd(tf.linalg.matmul(pred0, target0, transpose_a=True))
    sign = tf.sign(tf.linalg.det(tf.linalg.matmul(u, v, transpose_b=True)))
    sign = tf.where(tf.equal(sign, 0.0), tf.ones_like(sign), sign)
    d = tf.concat([tf.ones_like(s[..., :-1]), sign[..., None]], axis=-1)
    rotation = tf.linalg.matmul(u * d[..., None, :], v, transpose_b=True)
    norm_sq = tf.reduce_sum(tf.square(pred0), axis=[-2, -1])
    scale = tf.reduce_sum(s * d, axis=-1) / tf.where(norm_sq > 0.0, norm_sq, tf.ones_like(norm_sq))
    return scale[..., None, None] * tf.linalg.matmul(pred0, rotation) + mu_target


def procrustes_align(pred: ArrayLike, target: ArrayLike) -> ArrayLike:
    """Aligns `pred` to `target` with the best rotation, uniform scale and translation (no reflection).

    Args:
      pred: (N, J, 3) poses to align.
      target: (N, J, 3) reference poses, same units.

    Returns:
      (N, J, 3) aligned `pred` (float64 NumPy or a tensor of the input dtype).

    Raises:
      ValueError: if the shapes differ or the last dimension is not 3.
    """
    pred, target = _as_pair(pred, target, coords=3)
    if tf.is_tensor(pred):
        return _procrustes_tf(pred, target)
    return _procrustes_numpy(pred, target)


def pa_mpjpe(pred: ArrayLike, target: ArrayLike) -> ArrayLike:
    """Procrustes-aligned MPJPE (protocol #2, "P-MPJPE"), one value per frame.

    `pred` is aligned to `target` by a similarity transform (rotation with det +1, uniform scale, translation)
    before the MPJPE; reflections are excluded, as in the reference (docs/reference.md §7). The closed form used here
    (scale = trace(D S) / |pred0|^2) equals the reference's normalise-then-rescale formulation. The TF path goes
    through `tf.linalg.svd`; it is meant for logging, not as a training loss (SVD gradients are unstable for
    repeated singular values).

    Args:
      pred: (N, J, 3) predicted joints.
      target: (N, J, 3) ground-truth joints, same units.

    Returns:
      (N,) aligned mean joint error in the input units.

    Raises:
      ValueError: if the shapes differ or the last dimension is not 3.
    """
    pred, target = _as_pair(pred, target, coords=3)
    return mpjpe(procrustes_align(pred, target), target)


def size_ratio(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """How much larger the predicted person is than the true one, one value per frame (a diagnostic: PA-MPJPE
    removes size, MPJPE mixes it with everything else).

    Args:
      pred: (N, J, 3) predicted joints.
      target: (N, J, 3) ground-truth joints, same units (any origin).

    Returns:
      (N,) root-mean-square distance of the joints from their centroid, predicted over true.
    """
    pred, target = _as_pair(np.asarray(pred, np.float64), np.asarray(target, np.float64), coords=3)

    def spread(pose):
        return np.sqrt(np.mean(np.sum((pose - pose.mean(axis=1, keepdims=True)) ** 2, axis=-1), axis=1))

    return spread(pred) / spread(target)


def _select_joints(errors, joints: Sequence[int] | None):
    """Keeps the joint columns `joints` of (..., J) errors; validates the indices."""
    if joints is None:
        return errors
    joints = [int(j) for j in joints]
    num_joints = errors.shape[-1]
    if not joints or (num_joints is not None and not all(0 <= j < num_joints for j in joints)):
        raise ValueError(f"Expected `joints` as a non-empty list of indices in [0, {num_joints}); received {joints}.")
    if tf.is_tensor(errors):
        return tf.gather(errors, joints, axis=-1)
    return errors[..., joints]


def _fraction_below(errors, thresholds: np.ndarray):
    """Per-frame mean over joints and thresholds of 1[error < threshold]; errors (..., J) -> (...)."""
    if tf.is_tensor(errors):
        limits = tf.constant(thresholds, dtype=errors.dtype)
        hits = tf.cast(errors[..., None] < limits, errors.dtype)
        return tf.reduce_mean(hits, axis=[-2, -1])
    return np.mean(errors[..., None] < thresholds, axis=(-2, -1))


def _check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"Expected `{name}` > 0; received {value}.")


def pck(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    threshold_mm: float = PCK_THRESHOLD_MM,
    joints: Sequence[int] | None = None,
    mm_per_unit: float = 1.0,
) -> ArrayLike:
    """Percentage of correct keypoints as a per-frame fraction: share of joints with error < `threshold_mm`.

    Follows the reference's compute_PCK (strict `<`, default all 16 joints). Because every frame has the same
    number of joints, the frame-weighted mean of this (`aggregate(...).frame_mean`) is the PCK over all joints;
    multiply by 100 for the percentage papers report.

    Args:
      pred: (N, J, 3) predicted joints, already root-aligned by the caller.
      target: (N, J, 3) ground-truth joints.
      threshold_mm: correctness threshold in millimetres.
      joints: joint indices to score, e.g. `JOINTS_ALL` or `JOINTS_3DHP_14`; None scores all J joints.
      mm_per_unit: millimetres per input unit (1.0 for mm poses, 1000.0 for poses in metres).

    Returns:
      (N,) fractions in [0, 1] (float64 NumPy, or a tensor of the input dtype).

    Raises:
      ValueError: on mismatched shapes, out-of-range `joints` or non-positive `mm_per_unit`.
    """
    return auc(pred, target, thresholds_mm=(threshold_mm,), joints=joints, mm_per_unit=mm_per_unit)


def auc(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    thresholds_mm: Iterable[float] = AUC_THRESHOLDS_MM,
    joints: Sequence[int] | None = None,
    mm_per_unit: float = 1.0,
) -> ArrayLike:
    """Area under the PCK curve as a per-frame fraction: mean PCK over `thresholds_mm` (0, 5, ..., 150 mm).

    Args:
      pred: (N, J, 3) predicted joints, already root-aligned by the caller.
      target: (N, J, 3) ground-truth joints.
      thresholds_mm: PCK thresholds in millimetres (default the 31 of mpii_compute_3d_pck.m).
      joints: joint indices to score; None scores all J joints.
      mm_per_unit: millimetres per input unit (1.0 for mm poses, 1000.0 for poses in metres).

    Returns:
      (N,) fractions in [0, 1]; ×100 for the usual AUC figure.

    Raises:
      ValueError: on mismatched shapes, out-of-range `joints`, empty thresholds or non-positive `mm_per_unit`.
    """
    _check_positive(mm_per_unit, "mm_per_unit")
    thresholds = np.asarray(list(thresholds_mm), dtype=np.float64).reshape(-1)
    if thresholds.size == 0:
        raise ValueError("Expected at least one value in `thresholds_mm`; received none.")
    pred, target = _as_pair(pred, target, coords=None)
    errors = _select_joints(_joint_errors(pred, target), joints)
    # Compare in input units so the float64 NumPy path stays exact for inputs given in mm.
    return _fraction_below(errors, thresholds / mm_per_unit)


@dataclasses.dataclass(frozen=True)
class MetricSummary:
    """Reductions of per-frame metric values.

    Attributes:
      frame_mean: mean over all frames (what the reference reports, docs/reference.md §7).
      action_mean: mean over actions of the per-action means (what most papers' tables report); equals
        `frame_mean` when no actions are given.
      per_action: action name -> mean over that action's frames (empty when no actions are given).
      num_frames: number of frames reduced.
    """

    frame_mean: float
    action_mean: float
    per_action: Mapping[str, float]
    num_frames: int


def aggregate(per_frame_values: ArrayLike, actions: Sequence[str] | np.ndarray | None = None) -> MetricSummary:
    """Reduces per-frame values to the frame-weighted and the per-action (action-averaged) means.

    Args:
      per_frame_values: (N,) metric values, e.g. `mpjpe(...) * 1000` in millimetres.
      actions: (N,) action label per frame, or None. Frames are grouped by exact label, so pass base names
        ("Walking", not "Walking 1") to get the usual 15 H36M actions (docs/reference.md §1.4).

    Returns:
      A `MetricSummary` with float (Python) values, in the units of `per_frame_values`.

    Raises:
      ValueError: if `per_frame_values` is empty or not 1-D, or `actions` has a different length.
    """
    values = np.asarray(per_frame_values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"Expected `per_frame_values` of shape (N,) with N > 0; received {values.shape}.")
    frame_mean = float(values.mean())
    if actions is None:
        return MetricSummary(frame_mean, frame_mean, {}, int(values.size))
    labels = np.asarray(actions).astype(str)
    if labels.shape != values.shape:
        raise ValueError(f"Expected `actions` of shape {values.shape} (one label per frame); received {labels.shape}.")
    per_action = {str(name): float(values[labels == name].mean()) for name in sorted(set(labels.tolist()))}
    action_mean = float(np.mean(list(per_action.values())))
    return MetricSummary(frame_mean, action_mean, per_action, int(values.size))
