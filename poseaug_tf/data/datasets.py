"""Training, validation and evaluation sets from a config: the data path's one entry (`load_datasets`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
from collections.abc import Mapping, Sequence

import ml_collections
import numpy as np
from absl import logging

from poseaug_tf.core import metrics
from poseaug_tf.data import (
    cross_lab,
    h36m,
    h36m_cameras,
    load_3dhp,
    load_generic,
    load_h36m,
    mpi_3dhp,
    split_validation,
    synthetic,
)
from poseaug_tf.data import target_2d as target_2d_lib
from poseaug_tf.data.keypoint_files import parse_image_size
from poseaug_tf.data.pose_set import PoseSet
from poseaug_tf.infra.user_errors import InputError


@dataclasses.dataclass(frozen=True)
class EvalSet:
    """One evaluation set and its protocol."""

    name: str
    pose_set: PoseSet
    use_flip_tta: bool = False
    joints: Sequence[int] | None = None
    mpjpe_joints: Sequence[int] | None = None  # MPJPE/PA-MPJPE subset (cross_lab: the joints both skeletons share)


@dataclasses.dataclass(frozen=True)
class Datasets:
    """train: the estimator's (and GAN's) training pairs; validation: model selection (never a test set);
    eval_sets: the reported sets, by name; target_2d: (M, 16, 2) unlabeled target 2D (`data.target_2d`) or None."""

    train: PoseSet
    validation: PoseSet
    eval_sets: Mapping[str, EvalSet]
    target_2d: np.ndarray | None = None
    # (detected, clean) (N, 16, 2) 2D of the same training frames: what `noise.model="fitted"` is measured on.
    noise_pairs: tuple[np.ndarray, np.ndarray] | None = None

    def fingerprint(self) -> str:
        """Short hash of the arrays' sizes and a sample of their values (recorded in the workdir)."""
        h = hashlib.sha256()
        for ps in (self.train, self.validation, *(e.pose_set for e in self.eval_sets.values())):
            h.update(json.dumps([ps.name, len(ps)]).encode())
            h.update(np.ascontiguousarray(ps.pose3d[:: max(1, len(ps) // 1000)]).tobytes())
        return h.hexdigest()[:16]


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def load_datasets(config: ml_collections.ConfigDict) -> Datasets:
    """Builds the sets a run needs from `config.dataset` and `config.data`."""
    data_config = config.data
    joints = metrics.JOINTS_3DHP_14 if config.eval.pck_joints == "3dhp14" else None
    target_files = _target_files(config)  # first: a bad file stops the run before any data is loaded
    if config.dataset == "synthetic":
        splits = synthetic.make_synthetic_splits(
            num_train=data_config.synthetic_train, num_eval=data_config.synthetic_eval, seed=config.seed
        )
        # Validation: source-like samples from a different seed, disjoint from the reported source split.
        validation = synthetic.make_synthetic("source", data_config.synthetic_eval, seed=config.seed + 1, stream="eval")
        eval_sets = {
            "synthetic_source": EvalSet("synthetic_source", splits["source"], joints=joints),
            "synthetic_target": EvalSet("synthetic_target", splits["target"], joints=joints),
        }
        target_2d = _target_2d(config, target_files, lambda: synthetic_target_2d(config))
        return Datasets(splits["train"], validation, eval_sets, target_2d)
    if config.dataset != "h36m":
        raise ValueError(f"Unknown `dataset` {config.dataset!r}; valid: 'synthetic', 'h36m'.")
    sources = data_config.keypoints.split("+")  # "gt+<detector>": both, each training frame twice
    common = dict(
        keypoints=sources[0],
        actions=None if data_config.actions in ("", "*") else _csv(data_config.actions),
        cache_dir=data_config.cache_dir or None,
        cameras_json=data_config.cameras_json or None,
    )
    try:
        train_cameras = h36m.resolve_cameras(_csv(data_config.train_cameras) or None)
    except ValueError as error:
        raise InputError(f"config.data.train_cameras: {error}") from None
    other_cameras = sorted(set(range(h36m_cameras.NUM_CAMERAS)) - set(train_cameras))
    holdout = _csv(data_config.holdout_actions)
    if holdout and common["actions"] is not None:
        raise ValueError("Expected either `data.actions` or `data.holdout_actions`; received both.")
    in_domain = dict(common, cameras=train_cameras, exclude_actions=holdout)
    # The training frames of every 2D source needed: the training sources and the (detected, clean) pair that
    # `noise.model="fitted"` is measured on, each loaded once.
    fit_sources = (config.noise.fit_keypoints, "gt") if config.noise.model == "fitted" else ()
    train_subjects = _csv(data_config.train_subjects)
    by_source = {
        k: load_h36m(data_config.dir, train_subjects, stride=data_config.stride, **dict(in_domain, keypoints=k))
        for k in dict.fromkeys((*sources, *fit_sources))
    }
    parts = [by_source[k] for k in sources]
    train = parts[0] if len(parts) == 1 else PoseSet.concatenate(parts)
    train, validation = split_validation(
        train,
        method=data_config.validation,
        fraction=data_config.validation_fraction,
        seed=config.seed,
        holdout_subjects=_csv(data_config.validation_subjects),
    )
    test_subjects = _csv(data_config.test_subjects)
    # The reference evaluates H36M without flip and cross-dataset sets with flip (docs/reference.md §7). The
    # protocol sets are Human3.6M too, so they are scored like `h36m`, without flip.
    eval_sets = {
        "h36m": EvalSet(
            "h36m",
            load_h36m(data_config.dir, test_subjects, stride=data_config.test_stride, **in_domain),
            joints=joints,
        )
    }
    if other_cameras:
        cross_view = load_h36m(
            data_config.dir, test_subjects, stride=data_config.test_stride, **dict(in_domain, cameras=other_cameras)
        )
        eval_sets["h36m_cross_view"] = EvalSet("h36m_cross_view", cross_view, joints=joints)
    if holdout:
        cross_action = load_h36m(
            data_config.dir,
            test_subjects,
            stride=data_config.test_stride,
            **dict(common, cameras=train_cameras, actions=holdout),
        )
        eval_sets["h36m_cross_action"] = EvalSet("h36m_cross_action", cross_action, joints=joints)
    if data_config.eval_keypoints:
        name = f"h36m_{data_config.eval_keypoints}"
        detected = load_h36m(
            data_config.dir,
            test_subjects,
            stride=data_config.test_stride,
            **dict(in_domain, keypoints=data_config.eval_keypoints),
        )
        eval_sets[name] = EvalSet(name, detected, joints=joints)
    if data_config.mpi_3dhp:
        eval_sets["3dhp"] = EvalSet("3dhp", _mpi_3dhp(data_config), use_flip_tta=True, joints=metrics.JOINTS_3DHP_14)
    if data_config.cross_lab:
        scored = cross_lab.SCORED_JOINTS
        eval_sets["cross_lab"] = EvalSet(
            "cross_lab", _cross_lab(data_config, "evaluated"), use_flip_tta=True, joints=scored, mpjpe_joints=scored
        )
    if data_config.synthetic_target_eval > 0:
        # A cross-dataset stand-in that needs no download: the synthetic "wild" split (flip TTA as 3DHP).
        target = synthetic.make_synthetic("target", data_config.synthetic_target_eval, seed=config.seed, stream="eval")
        eval_sets["synthetic_target"] = EvalSet("synthetic_target", target, use_flip_tta=True, joints=joints)
    for item in _csv(data_config.generic):
        name, _, path = item.partition("=")
        if not path:
            raise ValueError(f"Expected `data.generic` entries as name=path.npz; received {item!r}.")
        eval_sets[name] = EvalSet(name, load_generic(path), use_flip_tta=True, joints=joints)
    _add_missing_joint_sets(eval_sets, config.eval.missing_joints)
    noise_pairs = tuple(by_source[k].pose2d for k in fit_sources) or None
    target_2d = _target_2d(config, target_files, lambda: _h36m_builtin_2d(data_config, other_cameras, in_domain))
    logging.info(
        "Data: train %d, validation %d, %s%s",
        len(train),
        len(validation),
        ", ".join(f"{k} {len(v.pose_set)}" for k, v in eval_sets.items()),
        "" if target_2d is None else f", unlabeled target 2D {len(target_2d)}",
    )
    return Datasets(train, validation, eval_sets, target_2d, noise_pairs)


def _add_missing_joint_sets(eval_sets: dict, counts: str) -> None:
    """Adds `<name>_miss<k>` for every Human3.6M test set: the same frames with k joints per frame, drawn
    uniformly with a fixed seed, set to NaN (filled at prediction as the exported model fills them)."""
    for k in (int(c) for c in _csv(counts)):
        for name in [n for n in eval_sets if n.startswith("h36m") and "_miss" not in n]:
            base = eval_sets[name]
            rng = np.random.default_rng(k)
            pose2d = base.pose_set.pose2d.copy()
            order = np.argsort(rng.random((len(pose2d), pose2d.shape[1])), axis=1)[:, :k]
            np.put_along_axis(pose2d, order[..., None], np.nan, axis=1)
            missing = dataclasses.replace(base.pose_set, pose2d=pose2d, name=f"{base.pose_set.name} {k} missing")
            eval_sets[f"{name}_miss{k}"] = dataclasses.replace(base, name=f"{name}_miss{k}", pose_set=missing)


BUILTIN_TARGET = "builtin"
"""`data.target_2d` value of the protocols' own unlabeled target (docs/training.md "Adapting to your camera"): synthetic
runs take target-domain 2D from the training stream, disjoint from the evaluated one; Human3.6M runs with
`data.builtin_target="3dhp"` the 2D of the 3DHP sequences in `data.mpi_3dhp_target` (removed from the `3dhp` test
set), with "cross_lab" the 2D of the cross_lab set's unlabeled half (other clips and motions than the evaluated
half); otherwise with `data.eval_keypoints` the training subjects' 2D from that detector, else the training
subjects' 2D in the cameras left out of `data.train_cameras`. S9/S11 never feed training, labelled or not."""


def synthetic_target_2d(config: ml_collections.ConfigDict) -> np.ndarray:
    """The synthetic target's unlabeled 2D: `data.synthetic_train` samples of its "train" stream (the evaluated
    `synthetic_target` set is the "eval" stream, independent for any seed)."""
    return synthetic.make_synthetic("target", config.data.synthetic_train, seed=config.seed, stream="train").pose2d


def _mpi_3dhp(data_config) -> PoseSet:
    """The `3dhp` test set: an npz file (PoseAug/SPIN layouts) or the official folder, minus the adaptation target's
    sequences (`data.mpi_3dhp_target`)."""
    path = data_config.mpi_3dhp
    target = _csv(data_config.mpi_3dhp_target)
    if not pathlib.Path(path).is_dir():
        if target:
            raise ValueError("config.data.mpi_3dhp_target: expected data.mpi_3dhp to be the official folder (TS<n>/).")
        return load_3dhp(path)
    evaluated = [s for s in mpi_3dhp.annot_sequences(path) if s not in target]
    if not evaluated:
        raise ValueError(f"config.data.mpi_3dhp_target: {target} leaves no 3DHP sequence of {path} to evaluate.")
    return mpi_3dhp.load_3dhp_annot(path, evaluated, pose_3d=data_config.mpi_3dhp_pose3d)


def _cross_lab(data_config, part: str) -> PoseSet:
    return cross_lab.load_cross_lab(
        data_config.cross_lab, part, stride=data_config.cross_lab_stride, cache_dir=data_config.cache_dir or None
    )


def _h36m_builtin_2d(data_config, other_cameras: list[int], in_domain: dict) -> np.ndarray:
    if data_config.builtin_target == "3dhp":
        target = _csv(data_config.mpi_3dhp_target)
        if not target or not data_config.mpi_3dhp:
            raise ValueError(
                "config.data.mpi_3dhp_target: builtin_target='3dhp' needs data.mpi_3dhp and the sequences to adapt "
                "to (e.g. TS5); received none."
            )
        return mpi_3dhp.load_3dhp_annot(data_config.mpi_3dhp, target, pose_3d=data_config.mpi_3dhp_pose3d).pose2d
    if data_config.builtin_target == "cross_lab":
        if not data_config.cross_lab:
            raise ValueError(
                "config.data.cross_lab: builtin_target='cross_lab' needs the dataset folder; received none."
            )
        return _cross_lab(data_config, "unlabeled").pose2d
    if data_config.eval_keypoints:
        source = dict(in_domain, keypoints=data_config.eval_keypoints)
    elif other_cameras:
        source = dict(in_domain, cameras=other_cameras)
    else:
        raise ValueError(
            "config.data.target_2d: 'builtin' on Human3.6M needs data.eval_keypoints or data.train_cameras leaving "
            "a camera out."
        )
    return load_h36m(data_config.dir, _csv(data_config.train_subjects), stride=data_config.stride, **source).pose2d


def _target_files(config: ml_collections.ConfigDict) -> np.ndarray | None:
    """The target 2D of `data.target_2d` keypoint files (data/target_2d.py); None for none or the built-in one."""
    value = str(config.data.target_2d).strip()
    if value in ("", BUILTIN_TARGET):
        return None
    size = config.data.target_image_size.strip()
    return target_2d_lib.read_target_2d(
        value,
        layout=config.data.target_layout or None,
        image_size=parse_image_size(size) if size else None,
    )


def _target_2d(config: ml_collections.ConfigDict, from_files: np.ndarray | None, builtin) -> np.ndarray | None:
    """(M, 16, 2) target 2D: from files, this dataset's built-in target (`builtin()`), or None."""
    if str(config.data.target_2d).strip() == BUILTIN_TARGET:
        return np.asarray(builtin(), np.float32)
    return from_files
