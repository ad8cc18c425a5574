"""`PoseSet`: a frozen bundle of aligned NumPy pose arrays, plus the validation split and data errors.

Every loader in `poseaug_tf.data` returns a `PoseSet`. Arrays are plain NumPy (no TensorFlow) so that loading,
caching and splitting stay cheap and framework-free; `poseaug_tf.data.pipeline` turns them into `tf.data`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.core import skeleton
from poseaug_tf.infra.user_errors import InputError

_ARRAY_FIELDS = ("pose3d", "pose2d", "camera", "action", "subject", "sequence")


class DataFormatError(InputError):
    """A data file has an unexpected layout, key, shape, joint count, frame count or non-finite values."""


class DataFileNotFoundError(InputError, FileNotFoundError):
    """A data file the requested options need does not exist."""


@dataclasses.dataclass(frozen=True, eq=False)
class PoseSet:
    """Aligned 2D/3D pose samples; every array has the same length N (one sample per camera view and frame).

    Attributes:
      pose3d: (N, 16, 3) float32, camera frame, metres; absolute unless `root_relative`.
      pose2d: (N, 16, 2) float32, normalised screen coordinates (docs/reference.md §1.6).
      camera: (N, 9) float32 normalised intrinsics `[fx, fy, cx, cy, k1, k2, k3, p1, p2]`; zeros when unknown.
      action: (N,) str, action base name (text before the first space), or a sequence label such as "TS3".
      subject: (N,) str, subject / recording name ("S9"); empty string when unknown.
      name: a short description of the set ("h36m S9,S11 sh_pt_mpii").
      root_relative: True when pose3d has its root (joint 0) at the origin because the source has no
        absolute position (3DHP test).
      has_camera: False when `camera` is all zeros because the source gives no intrinsics.
      sequence: (N,) int32 id of the contiguous recording (subject, full action name, camera) a sample comes
        from; used by `split_validation`. Defaults to the runs of equal (subject, action).
    """

    pose3d: np.ndarray
    pose2d: np.ndarray
    camera: np.ndarray
    action: np.ndarray
    subject: np.ndarray
    name: str = ""
    root_relative: bool = False
    has_camera: bool = True
    sequence: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.pose3d)
        expected = {
            "pose3d": (n, skeleton.NUM_JOINTS, 3),
            "pose2d": (n, skeleton.NUM_JOINTS, 2),
            "camera": (n, camera_lib.INTRINSICS_SIZE),
            "action": (n,),
            "subject": (n,),
        }
        for field, shape in expected.items():
            value = np.asarray(getattr(self, field))
            if value.shape != shape:
                raise DataFormatError(
                    f"PoseSet `{self.name}`: expected `{field}` of shape {shape}; received {value.shape}."
                )
            if field in ("pose3d", "pose2d", "camera"):
                value = value.astype(np.float32, copy=False)
            object.__setattr__(self, field, value)
        sequence = _runs(self.subject, self.action) if self.sequence is None else np.asarray(self.sequence)
        if sequence.shape != (n,):
            raise DataFormatError(
                f"PoseSet `{self.name}`: expected `sequence` of shape {(n,)}; received {sequence.shape}."
            )
        object.__setattr__(self, "sequence", sequence.astype(np.int32, copy=False))

    def __len__(self) -> int:
        return len(self.pose3d)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in _ARRAY_FIELDS:
            raise KeyError(f"PoseSet has no array `{key}`; valid keys: {', '.join(_ARRAY_FIELDS)}.")
        return getattr(self, key)

    def keys(self) -> tuple[str, ...]:
        return _ARRAY_FIELDS

    def subset(self, selection: np.ndarray | Sequence[int] | slice, *, name: str | None = None) -> PoseSet:
        """Returns the samples picked by a boolean mask (N,), integer indices or a slice, in that order."""
        if not isinstance(selection, slice):
            selection = np.asarray(selection)
            if selection.dtype == bool and selection.shape != (len(self),):
                raise ValueError(f"Expected a boolean mask of shape {(len(self),)}; received {selection.shape}.")
        return dataclasses.replace(
            self, name=self.name if name is None else name, **{f: getattr(self, f)[selection] for f in _ARRAY_FIELDS}
        )

    @staticmethod
    def concatenate(pose_sets: Sequence[PoseSet], *, name: str | None = None) -> PoseSet:
        """Concatenates sets sample-wise; sequence ids are offset so they stay distinct."""
        if not pose_sets:
            raise ValueError("Expected at least one PoseSet to concatenate; received none.")
        flags = {(p.root_relative, p.has_camera) for p in pose_sets}
        if len(flags) > 1:
            raise ValueError(f"Cannot concatenate PoseSets with different (root_relative, has_camera): {flags}.")
        offsets = np.cumsum([0] + [int(p.sequence.max(initial=-1)) + 1 for p in pose_sets[:-1]])
        arrays = {f: np.concatenate([p[f] for p in pose_sets]) for f in _ARRAY_FIELDS if f != "sequence"}
        arrays["sequence"] = np.concatenate([p.sequence + o for p, o in zip(pose_sets, offsets)])
        root_relative, has_camera = flags.pop()
        return PoseSet(
            name=name or " + ".join(p.name for p in pose_sets),
            root_relative=root_relative,
            has_camera=has_camera,
            **arrays,
        )


def _runs(*labels: np.ndarray) -> np.ndarray:
    """Ids of the runs of consecutive equal label tuples: [a, a, b, a] -> [0, 0, 1, 2]."""
    n = len(labels[0])
    change = np.zeros(n, dtype=bool)
    for label in labels:
        label = np.asarray(label)
        change[1:] |= label[1:] != label[:-1]
    return np.cumsum(change).astype(np.int32)


def split_validation(
    pose_set: PoseSet,
    *,
    fraction: float = 0.1,
    seed: int = 0,
    method: str = "tail",
    holdout_subjects: Sequence[str] = (),
) -> tuple[PoseSet, PoseSet]:
    """Splits a training set into (train, validation) for model selection without touching the test subjects.

    Methods:
      "tail" (default): the last `fraction` of the frames of every recording (`pose_set.sequence`) is held out.
        Human3.6M runs at 50 fps, so neighbouring frames are near-identical; a random split would put a
        near-duplicate of almost every validation frame in the training set and the validation error would
        track the training error. A contiguous tail is a stretch of motion the model has not seen. The four
        camera views of a frame share the frame index, so the same tail is held out in every view.
      "subject": every sample of `holdout_subjects` (e.g. ("S8",)) is held out; the strictest option.
      "random": a random `fraction` of samples drawn with `seed` (near-duplicates leak; for comparison only).

    Args:
      pose_set: the training set.
      fraction: held-out fraction per recording in (0, 1) for "tail" and "random".
      seed: seed of the "random" method (unused otherwise: the tail split is deterministic).
      method: "tail", "subject" or "random".
      holdout_subjects: subjects held out by the "subject" method.

    Returns:
      (train, validation) PoseSets; their union is `pose_set`, their intersection empty.

    Raises:
      ValueError: unknown method, fraction outside (0, 1), or a hold-out subject absent from the set.
    """
    if method == "subject":
        missing = sorted(set(holdout_subjects) - set(np.unique(pose_set.subject)))
        if not holdout_subjects or missing:
            raise ValueError(
                f"Expected `holdout_subjects` from {sorted(np.unique(pose_set.subject))}; "
                f"received {list(holdout_subjects)}."
            )
        held_out = np.isin(pose_set.subject, list(holdout_subjects))
    elif method in ("tail", "random"):
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"Expected `fraction` in (0, 1); received {fraction}.")
        if method == "random":
            held_out = np.random.default_rng(seed).random(len(pose_set)) < fraction
        else:
            held_out = _tail_mask(pose_set.sequence, fraction)
    else:
        raise ValueError(f"Unknown split method `{method}`; valid: 'tail', 'subject', 'random'.")
    return (
        pose_set.subset(~held_out, name=f"{pose_set.name} [train split]"),
        pose_set.subset(held_out, name=f"{pose_set.name} [validation split]"),
    )


def _tail_mask(sequence: np.ndarray, fraction: float) -> np.ndarray:
    """True for the last ceil(fraction * length) samples of every sequence id (ids need not be contiguous)."""
    order = np.argsort(sequence, kind="stable")
    sorted_ids = sequence[order]
    _, starts, counts = np.unique(sorted_ids, return_index=True, return_counts=True)
    position = np.arange(len(sequence)) - np.repeat(starts, counts)  # rank within its sequence
    length = np.repeat(counts, counts)
    mask = np.zeros(len(sequence), dtype=bool)
    mask[order] = position >= length - np.ceil(fraction * length)
    return mask
