"""Synthetic 2D-3D pose pairs with a lab-to-wild domain shift; the main job's default data (no download).

Bodies (`synthetic_motion`) are posed by forward kinematics over joint angles inside anatomical limits, in seven
motion families (standing, walking, sitting, reaching, bending, crouching, arms_raised), and rendered by the four
Human3.6M cameras (normalised intrinsics with distortion, docs/reference.md §1.5) with `camera.project`'s model.

Two splits reproduce the problem PoseAug addresses (see `SOURCE_SPEC` and `TARGET_SPEC`):

* "source", a narrow lab: camera 0–15° above the pelvis looking slightly down, root depth 4–6 m, the person near
  the image centre, mostly standing/walking/sitting, bodies of the five Human3.6M training subjects ± 1.5 %.
* "target", the wild: elevation −20..45°, camera roll ±10°, depth 2.5–9 m, the person anywhere in the frame, more
  of the rare families and joint-angle boxes widened by ≥ 10°, global body scale ±15 % and limb ratios ±10 %.

The target differs from the source only in what PoseAug's augmentations can reach (bone angles, bone lengths,
rigid rotation and translation); the camera model and skeleton are shared.

Seeds: every (split, seed, stream) triple seeds its own `np.random.SeedSequence([seed, split, stream])`, so the
training samples (`stream="train"`), the held-out source samples (`stream="eval"`) and the target samples are
independent for any seeds, including equal ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from absl import logging

from poseaug_tf.core import camera
from poseaug_tf.data import h36m_cameras
from poseaug_tf.data import synthetic_motion as motion
from poseaug_tf.data.pose_set import PoseSet

SPLITS = ("source", "target")
STREAMS = ("train", "eval")
TEMPLATE_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")  # rows of skeleton.BONE_LENGTH_TEMPLATES
MIN_DEPTH = 1.0  # metres: every joint of every sample lies at least this far in front of the camera
MAX_REJECTION_ROUNDS = 100


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """Distribution of one split. Ranges are (low, high) of a uniform draw.

    Attributes:
      family_weights: probability of each motion family, keyed by `synthetic_motion.FAMILIES` names.
      widen_deg, widen_fraction: widening of every family's joint-angle box (`synthetic_motion.family_ranges`).
      gait: walking amplitude ranges (`synthetic_motion.GAIT_SOURCE` layout), degrees.
      body_scale: global body scale. body_proportion: per limb-group factor (legs, torso, head, arms).
      body_width: hip- and shoulder-width factor. bone_noise_std: relative per-length noise.
      elevation_deg: camera pitch below the horizontal (negative: a low camera looking up).
      roll_deg: camera roll about its optical axis.
      root_depth_m: pelvis depth Z in the camera frame, metres.
      root_x, root_y: undistorted normalised image position of the pelvis.
    """

    family_weights: Mapping[str, float]
    widen_deg: float
    widen_fraction: float
    gait: Mapping[str, tuple[float, float]]
    body_scale: tuple[float, float]
    body_proportion: tuple[float, float]
    body_width: tuple[float, float]
    bone_noise_std: float
    elevation_deg: tuple[float, float]
    roll_deg: tuple[float, float]
    root_depth_m: tuple[float, float]
    root_x: tuple[float, float]
    root_y: tuple[float, float]


SOURCE_SPEC = SplitSpec(
    family_weights={
        "standing": 0.30,
        "walking": 0.30,
        "sitting": 0.15,
        "reaching": 0.10,
        "bending": 0.08,
        "crouching": 0.04,
        "arms_raised": 0.03,
    },
    widen_deg=0.0,
    widen_fraction=0.0,
    gait=motion.GAIT_SOURCE,
    body_scale=(0.99, 1.01),
    body_proportion=(1.0, 1.0),
    body_width=(1.0, 1.0),
    bone_noise_std=0.015,
    elevation_deg=(0.0, 15.0),
    roll_deg=(-2.0, 2.0),
    root_depth_m=(4.0, 6.0),
    root_x=(-0.15, 0.15),
    root_y=(-0.15, 0.15),
)
TARGET_SPEC = SplitSpec(
    family_weights={
        "standing": 0.08,
        "walking": 0.14,
        "sitting": 0.12,
        "reaching": 0.16,
        "bending": 0.16,
        "crouching": 0.17,
        "arms_raised": 0.17,
    },
    widen_deg=10.0,
    widen_fraction=0.25,
    gait=motion.GAIT_TARGET,
    body_scale=(0.85, 1.15),
    body_proportion=(0.9, 1.1),
    body_width=(0.85, 1.15),
    bone_noise_std=0.03,
    elevation_deg=(-20.0, 45.0),
    roll_deg=(-10.0, 10.0),
    root_depth_m=(2.5, 9.0),
    root_x=(-0.7, 0.7),
    root_y=(-0.6, 0.6),
)
SPECS = {"source": SOURCE_SPEC, "target": TARGET_SPEC}


def _camera_tables() -> tuple[np.ndarray, np.ndarray]:
    """(4, 9) float32 normalised H36M intrinsics and (4,) float64 image aspect h / w."""
    table = h36m_cameras.builtin_camera_table()
    size = h36m_cameras.resolutions(table).astype(np.float64)
    return h36m_cameras.normalized_intrinsics(table), size[:, 1] / size[:, 0]


INTRINSICS, ASPECT = _camera_tables()


def _check_args(split: str, num_samples: int, seed: int, stream: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"Unknown `split` {split!r}; valid: {', '.join(SPLITS)}.")
    if stream not in STREAMS:
        raise ValueError(f"Unknown `stream` {stream!r}; valid: {', '.join(STREAMS)}.")
    for name, value, minimum in (("num_samples", num_samples, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"Expected `{name}` to be an integer >= {minimum}; received {value!r}.")


def make_synthetic(split: str, num_samples: int, *, seed: int, stream: str = "train") -> PoseSet:
    """Generates `num_samples` synthetic 2D-3D pairs of one split.

    Args:
      split: "source" (lab-like) or "target" (shifted, wild-like).
      num_samples: number of samples N >= 1.
      seed: non-negative integer; the same (split, num_samples, seed, stream) gives identical arrays.
      stream: "train" or "eval"; picks an independent random stream, e.g. for a held-out source split.

    Returns:
      PoseSet named "synthetic_<split>": pose3d (N, 16, 3) absolute camera-frame metres, pose2d (N, 16, 2)
      = `camera.project(pose3d, camera)`, camera (N, 9) normalised H36M intrinsics, action = motion family,
      subject = "<split>_<template subject>", one sequence (samples are i.i.d.).

    Raises:
      ValueError: unknown split or stream, or num_samples / seed not a valid integer.
    """
    return make_synthetic_with_metadata(split, num_samples, seed=seed, stream=stream)[0]


def make_synthetic_with_metadata(
    split: str, num_samples: int, *, seed: int, stream: str = "train"
) -> tuple[PoseSet, dict[str, np.ndarray]]:
    """`make_synthetic` plus the latent factors of every sample.

    Returns:
      (pose_set, metadata). metadata holds (N,) arrays "family" (int index into synthetic_motion.FAMILIES),
      "template" (int row of BONE_LENGTH_TEMPLATES), "mirrored" (bool), "camera_index" (int, H36M camera),
      "yaw_deg", "elevation_deg", "roll_deg", "root_depth_m", "root_x", "root_y" (float64), and
      "bone_lengths" (N, 15) metres, "angles_deg" (N, A) joint angles, "rotation" (N, 3, 3) body-to-camera
      rotation (body frame: X left, Y up, Z facing direction).

    Raises:
      ValueError: as `make_synthetic`.
    """
    _check_args(split, num_samples, seed, stream)
    spec = SPECS[split]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS.index(split), STREAMS.index(stream)]))
    body, metadata = _sample_bodies(spec, num_samples, rng)
    pose3d, pose2d, view = _place_in_view(body, spec, rng)
    metadata.update(view)
    subject = np.asarray([f"{split}_{s}" for s in TEMPLATE_SUBJECTS])[metadata["template"]]
    pose_set = PoseSet(
        pose3d=pose3d,
        pose2d=pose2d,
        camera=INTRINSICS[metadata["camera_index"]],
        action=np.asarray(motion.FAMILIES)[metadata["family"]],
        subject=subject,
        name=f"synthetic_{split}",
        sequence=np.zeros(num_samples, np.int32),
    )
    logging.info("Generated %d synthetic %s samples (seed %d, stream %s).", num_samples, split, seed, stream)
    return pose_set, metadata


def make_synthetic_splits(*, num_train: int, num_eval: int, seed: int) -> dict[str, PoseSet]:
    """The main job's data: source training samples and held-out source and target evaluation samples.

    Returns:
      {"train": source (stream "train"), "source": source (stream "eval"), "target": target (stream "eval")};
      the three are drawn from independent random streams of `seed`.
    """
    return {
        "train": make_synthetic("source", num_train, seed=seed, stream="train"),
        "source": make_synthetic("source", num_eval, seed=seed, stream="eval"),
        "target": make_synthetic("target", num_eval, seed=seed, stream="eval"),
    }


def _sample_bodies(spec: SplitSpec, num: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Body-frame poses (N, 16, 3) float64 of a split and their latent factors."""
    weights = np.asarray([spec.family_weights[name] for name in motion.FAMILIES], np.float64)
    family = rng.choice(len(motion.FAMILIES), size=num, p=weights / weights.sum())
    lengths, template = motion.sample_bone_lengths(
        num,
        rng,
        scale=spec.body_scale,
        proportion=spec.body_proportion,
        width=spec.body_width,
        noise_std=spec.bone_noise_std,
    )
    low, high = motion.family_ranges(widen_deg=spec.widen_deg, widen_fraction=spec.widen_fraction)
    angles = motion.sample_angles(family, rng, low=low, high=high, gait=spec.gait)
    body = motion.forward_kinematics(angles, lengths)
    mirrored = rng.random(num) < 0.5
    body[mirrored] = motion.mirror(body[mirrored])
    return body, {
        "family": family,
        "template": template,
        "mirrored": mirrored,
        "bone_lengths": lengths,
        "angles_deg": angles,
    }


def _sample_view(spec: SplitSpec, num: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "camera_index": rng.integers(0, len(INTRINSICS), num),
        "yaw_deg": rng.uniform(-180.0, 180.0, num),
        "elevation_deg": rng.uniform(*spec.elevation_deg, num),
        "roll_deg": rng.uniform(*spec.roll_deg, num),
        "root_depth_m": rng.uniform(*spec.root_depth_m, num),
        "root_x": rng.uniform(*spec.root_x, num),
        "root_y": rng.uniform(*spec.root_y, num),
    }


def _place_in_view(
    body: np.ndarray, spec: SplitSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Places body-frame poses in front of a camera, redrawing the viewpoint of invalid samples.

    A sample is valid when every joint has Z > MIN_DEPTH and projects inside the image (|x| <= 1,
    |y| <= h / w). Only the viewpoint is redrawn, never the posture or body, so family and body statistics
    are not biased by the rejection; each round is vectorised over the still-invalid samples.

    Returns:
      (pose3d (N, 16, 3) float32, pose2d (N, 16, 2) float32, viewpoint metadata incl. "rotation").
    """
    num = len(body)
    view = _sample_view(spec, num, rng)
    view["rotation"] = np.zeros((num, 3, 3))
    pose3d = np.zeros((num, body.shape[1], 3), np.float32)
    pose2d = np.zeros((num, body.shape[1], 2), np.float32)
    pending = np.arange(num)
    for round_index in range(MAX_REJECTION_ROUNDS):
        if round_index:
            for key, value in _sample_view(spec, len(pending), rng).items():
                view[key][pending] = value
        sub = {key: value[pending] for key, value in view.items()}
        rotation = _view_rotation(sub["yaw_deg"], sub["elevation_deg"], sub["roll_deg"])
        intrinsics = INTRINSICS[sub["camera_index"]]
        root = _unproject_root(sub["root_x"], sub["root_y"], sub["root_depth_m"], intrinsics)
        points = (body[pending] @ np.swapaxes(rotation, -1, -2) + root[:, None, :]).astype(np.float32)
        projected = camera.project_numpy(points, intrinsics)
        valid = (
            (points[..., 2] > MIN_DEPTH).all(-1)
            & (np.abs(projected[..., 0]) <= 1.0).all(-1)
            & (np.abs(projected[..., 1]) <= ASPECT[sub["camera_index"], None]).all(-1)
        )
        accepted = pending[valid]
        pose3d[accepted], pose2d[accepted] = points[valid], projected[valid]
        view["rotation"][accepted] = rotation[valid]
        pending = pending[~valid]
        if not len(pending):
            logging.debug("Synthetic viewpoints: %d samples placed in %d rounds.", num, round_index + 1)
            return pose3d, pose2d, view
    raise RuntimeError(
        f"{len(pending)} synthetic samples found no valid viewpoint in {MAX_REJECTION_ROUNDS} "
        "rounds; the split's depth range is too small for its image-position range."
    )


def _view_rotation(yaw_deg: np.ndarray, elevation_deg: np.ndarray, roll_deg: np.ndarray) -> np.ndarray:
    """(N, 3, 3) body-frame (X left, Y up, Z facing) to camera-frame (x right, y down, z forward) rotation.

    The body turns by `yaw` about the vertical; a level camera looking along body +Z sees x = −X, y = −Y; the
    camera then pitches down by `elevation` (about its x axis) and rolls about its optical axis.
    """
    axes = np.diag([-1.0, -1.0, 1.0])
    return (
        motion.axis_rotation(2, roll_deg)
        @ motion.axis_rotation(0, elevation_deg)
        @ axes
        @ motion.axis_rotation(1, yaw_deg)
    )


def _unproject_root(root_x: np.ndarray, root_y: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame root whose undistorted projection is (root_x, root_y) at depth `depth`."""
    f, c = intrinsics[:, 0:2].astype(np.float64), intrinsics[:, 2:4].astype(np.float64)
    xy = (np.stack([root_x, root_y], axis=-1) - c) / f * depth[:, None]
    return np.concatenate([xy, depth[:, None]], axis=-1)
