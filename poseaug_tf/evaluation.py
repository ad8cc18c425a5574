"""Evaluation of an estimator on a PoseSet: MPJPE, PA-MPJPE, PCK and AUC, frame-weighted and per action; the
`Evaluator` of a training run (validation and every evaluation set of its `Datasets`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from poseaug_tf.core import keypoint_noise, metrics, skeleton
from poseaug_tf.data.datasets import Datasets, EvalSet
from poseaug_tf.data.flip import predict_with_flip
from poseaug_tf.data.pipeline import eval_dataset
from poseaug_tf.data.pose_set import PoseSet

EVAL_BATCH_SIZE = 4096
SCORE_CHUNK = 65536


def make_predict_fn(estimator: keras.Model, *, use_flip_tta: bool = False) -> Callable[[tf.Tensor], tf.Tensor]:
    """One compiled inference function, traced once for any batch size.

    Args:
      estimator: (B, 16, 2) normalised 2D → (B, 16, 3) root-relative metres. Missing joints of the input (NaN)
        are filled as the exported model fills them (`keypoint_noise.fill_missing`).
      use_flip_tta: average with the mirrored prediction (docs/reference.md §7, 3DHP protocol).

    Returns:
      A `tf.function` (B, 16, 2) float32 → (B, 16, 3) float32, BatchNorm and dropout in inference mode.
    """

    def direct(pose_2d):
        return estimator(keypoint_noise.fill_missing(pose_2d), training=False)

    @tf.function(input_signature=[tf.TensorSpec([None, skeleton.NUM_JOINTS, 2], tf.float32)])
    def predict(pose_2d):
        return predict_with_flip(direct, pose_2d) if use_flip_tta else direct(pose_2d)

    return predict


def predict_set(
    predict_fn: Callable[[tf.Tensor], tf.Tensor], pose_set: PoseSet, *, batch_size: int = EVAL_BATCH_SIZE
) -> np.ndarray:
    """Runs a compiled predict function (`make_predict_fn`) over a set, in set order.

    Returns:
      (N, 16, 3) float32 root-relative metres.
    """
    out = np.empty((len(pose_set), skeleton.NUM_JOINTS, 3), np.float32)
    start = 0
    for batch in eval_dataset(pose_set, batch_size=batch_size):
        pred = predict_fn(batch["pose_2d"]).numpy()
        out[start : start + len(pred)] = pred
        start += len(pred)
    return out


def predict(
    estimator: keras.Model, pose_set: PoseSet, *, use_flip_tta: bool = False, batch_size: int = EVAL_BATCH_SIZE
) -> np.ndarray:
    """Predictions of `estimator` for every sample of a set, in set order: (N, 16, 3) metres."""
    return predict_set(make_predict_fn(estimator, use_flip_tta=use_flip_tta), pose_set, batch_size=batch_size)


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """Scores of one estimator on one set (mm and %), plus the per-frame arrays behind them.

    Attributes:
      name: evaluation-set name.
      mpjpe, pa_mpjpe: frame-weighted means in mm (the reference's aggregation).
      mpjpe_action_mean, pa_mpjpe_action_mean: mean of per-action means in mm (most papers' tables).
      pck, auc: percentages over `joints`, frame-weighted.
      per_action_pck, per_action_auc: action → PCK / AUC (%), e.g. 3DHP's per-scene table.
      num_frames: number of frames.
      per_action_mpjpe: action → MPJPE (mm).
      per_joint_mpjpe: (16,) MPJPE of each joint (mm).
      use_flip_tta: whether flip test-time augmentation was used.
    """

    name: str
    mpjpe: float
    pa_mpjpe: float
    mpjpe_action_mean: float
    pa_mpjpe_action_mean: float
    pck: float
    auc: float
    num_frames: int
    per_action_mpjpe: Mapping[str, float]
    per_joint_mpjpe: tuple[float, ...]
    use_flip_tta: bool
    per_action_pck: Mapping[str, float] = dataclasses.field(default_factory=dict)
    per_action_auc: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON-friendly headline numbers."""
        return {
            "mpjpe": self.mpjpe,
            "pa_mpjpe": self.pa_mpjpe,
            "mpjpe_action_mean": self.mpjpe_action_mean,
            "pa_mpjpe_action_mean": self.pa_mpjpe_action_mean,
            "pck": self.pck,
            "auc": self.auc,
            "frames": self.num_frames,
            "flip_tta": self.use_flip_tta,
        }


def score(
    pred_rel: np.ndarray,
    pose_set: PoseSet,
    *,
    name: str,
    use_flip_tta: bool = False,
    joints: Sequence[int] | None = None,
    mpjpe_joints: Sequence[int] | None = None,
) -> EvalResult:
    """Scores root-relative predictions against a set's targets (root subtracted from both, docs/reference.md §7).

    Args:
      pred_rel: (N, 16, 3) metres.
      pose_set: the set the predictions are for.
      name: evaluation-set name.
      use_flip_tta: recorded in the result.
      joints: joint subset of PCK/AUC (default all 16 as the reference; `metrics.JOINTS_3DHP_14` for 3DHP).
      mpjpe_joints: joint subset of MPJPE and PA-MPJPE (Procrustes fitted on it too); default all 16. A
        cross-dataset set whose skeleton defines some joints differently scores only the joints both define.

    Returns:
      EvalResult.
    """
    if pred_rel.shape != pose_set.pose3d.shape:
        raise ValueError(f"Expected predictions of shape {pose_set.pose3d.shape}; received {pred_rel.shape}.")
    n = len(pose_set)
    per_frame, per_frame_pa, pck, auc = (np.empty(n) for _ in range(4))
    joint_err_sum = np.zeros(skeleton.NUM_JOINTS)
    # Chunks bound the float64 temporaries (SVDs, 31 AUC thresholds) to ~100 MB whatever the set's size.
    for start in range(0, n, SCORE_CHUNK):
        part = slice(start, start + SCORE_CHUNK)
        pred_mm = (pred_rel[part] - pred_rel[part, :1]).astype(np.float64) * 1000.0
        target_mm = (pose_set.pose3d[part] - pose_set.pose3d[part, :1]).astype(np.float64) * 1000.0
        scored = slice(None) if mpjpe_joints is None else list(mpjpe_joints)
        per_frame[part] = metrics.mpjpe(pred_mm[:, scored], target_mm[:, scored])
        per_frame_pa[part] = metrics.pa_mpjpe(pred_mm[:, scored], target_mm[:, scored])
        pck[part] = metrics.pck(pred_mm, target_mm, joints=joints)
        auc[part] = metrics.auc(pred_mm, target_mm, joints=joints)
        joint_err_sum += np.linalg.norm(pred_mm - target_mm, axis=-1).sum(axis=0)
    p1 = metrics.aggregate(per_frame, pose_set.action)
    p2 = metrics.aggregate(per_frame_pa, pose_set.action)
    pck_by_action = metrics.aggregate(pck, pose_set.action).per_action
    auc_by_action = metrics.aggregate(auc, pose_set.action).per_action
    return EvalResult(
        name=name,
        mpjpe=p1.frame_mean,
        pa_mpjpe=p2.frame_mean,
        mpjpe_action_mean=p1.action_mean,
        pa_mpjpe_action_mean=p2.action_mean,
        pck=100.0 * float(np.mean(pck)),
        auc=100.0 * float(np.mean(auc)),
        num_frames=n,
        per_action_mpjpe=p1.per_action,
        per_joint_mpjpe=tuple(float(e) for e in joint_err_sum / n),
        use_flip_tta=use_flip_tta,
        per_action_pck={a: 100.0 * v for a, v in pck_by_action.items()},
        per_action_auc={a: 100.0 * v for a, v in auc_by_action.items()},
    )


def evaluate(
    estimator: keras.Model,
    pose_set: PoseSet,
    *,
    name: str,
    use_flip_tta: bool = False,
    joints: Sequence[int] | None = None,
    mpjpe_joints: Sequence[int] | None = None,
    batch_size: int = EVAL_BATCH_SIZE,
) -> EvalResult:
    """Predicts and scores one set (see `score`)."""
    pred = predict(estimator, pose_set, use_flip_tta=use_flip_tta, batch_size=batch_size)
    return score(pred, pose_set, name=name, use_flip_tta=use_flip_tta, joints=joints, mpjpe_joints=mpjpe_joints)


class Evaluator:
    """Evaluates one estimator on the validation set and every evaluation set, reusing compiled functions."""

    def __init__(self, estimator: keras.Model, datasets: Datasets, *, batch_size: int):
        self.datasets = datasets
        self.batch_size = batch_size
        self._fns = {flag: make_predict_fn(estimator, use_flip_tta=flag) for flag in (False, True)}

    def _run(self, eval_set: EvalSet) -> EvalResult:
        pred = predict_set(self._fns[eval_set.use_flip_tta], eval_set.pose_set, batch_size=self.batch_size)
        return score(
            pred,
            eval_set.pose_set,
            name=eval_set.name,
            use_flip_tta=eval_set.use_flip_tta,
            joints=eval_set.joints,
            mpjpe_joints=eval_set.mpjpe_joints,
        )

    def validation(self) -> EvalResult:
        return self._run(EvalSet("validation", self.datasets.validation))

    def all(self) -> dict[str, EvalResult]:
        """{"validation": ..., <eval set>: ...}."""
        results = {"validation": self.validation()}
        results.update({name: self._run(es) for name, es in self.datasets.eval_sets.items()})
        return results
