"""Plausible rigid placements of a pose in front of a camera: the bounded RT augmentation and the random arm.

The reference's RT (docs/reference.md §2.4) draws an axis-angle rotation with every component in (−π, π), so any 3D
rotation including upside-down bodies, and a free translation with a squared depth. On the main job its
augmentations rotated bodies by 50–125° about arbitrary axes and placed roots at 7–14 m where the source lies at
4–6 m (docs/results.md). A `Placement` instead bounds RT to what a camera like the training cameras
could see:

* rotation R = R_z(roll) · R_x(pitch) · R_up(yaw): any yaw about the body's vertical axis `up_axis` (measured on
  the training poses: a camera walking around the person), a pitch (a higher or lower camera) and a roll within
  limits; the rotation is about the root;
* the root at a depth and an image position (x/z, y/z) inside the ranges measured on the training poses, each
  widened by `margin` × its width on both sides (`position="range"`), or where the source pose already stands
  (`position="source"`: the person turns in place, the camera stays where the source camera was).

With zero pitch and roll limits a placement keeps the camera prior of the source: yaw about the vertical is what
the *person* does (free), while the camera's elevation and roll stay those of the source cameras (up to the
angle between `up_axis`, one mean vertical, and a given camera's vertical: 3–6° for Human3.6M's four cameras).
Pitch and roll limits instead tilt every augmented pose as if the camera could be anywhere within them.

Six unit parameters s ∈ [−1, 1] (yaw, pitch, roll, image x, image y, depth) map linearly onto these ranges:
value = centre + half-width · s. The learned augmentor produces s = tanh(trunk output); the random arm draws s
uniformly. Shapes: B batch, J = 16 joints; poses are camera-frame metres (x right, y down, z forward).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from poseaug_tf.core import geometry

NUM_UNIT_PARAMETERS = 6
"""yaw, pitch, roll, image x, image y, depth."""

POSITIONS = ("range", "source")
"""Root position of a placement: anywhere in the measured ranges, or the source pose's own root."""

THORAX, HIP = 8, 0  # joints of the vertical axis: Hip → Thorax


@dataclasses.dataclass(frozen=True)
class Placement:
    """Bounds of the rigid placement; angles in radians, depth in metres, image positions in normalised units.

    Attributes:
      up_axis: (3,) vector (normalised here), the bodies' mean vertical (Hip → Thorax) in the camera frame.
      depth: (low, high) root depth z.
      image_x, image_y: (low, high) root image position x/z and y/z (undistorted normalised coordinates).
      yaw_limit, pitch_limit, roll_limit: half-ranges of the three rotation angles.
      position: "range" (the root anywhere in depth × image_x × image_y) or "source" (the root stays where it is;
        the ranges are then unused).
    """

    up_axis: tuple[float, float, float]
    depth: tuple[float, float]
    image_x: tuple[float, float]
    image_y: tuple[float, float]
    yaw_limit: float = math.pi
    pitch_limit: float = math.radians(30.0)
    roll_limit: float = math.radians(10.0)
    position: str = "range"

    def __post_init__(self):
        norm = float(np.linalg.norm(self.up_axis))
        if len(self.up_axis) != 3 or not math.isfinite(norm) or norm < 0.5:
            raise ValueError(f"Expected `up_axis` to be a 3-vector of norm ≈ 1; received {self.up_axis}.")
        object.__setattr__(self, "up_axis", tuple(float(v) / norm for v in self.up_axis))
        for name in ("depth", "image_x", "image_y"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"Expected `{name}` as (low, high) with low <= high; received {(low, high)}.")
        if not self.depth[0] > 0:
            raise ValueError(f"Expected a positive depth range; received {self.depth}.")
        for name in ("yaw_limit", "pitch_limit", "roll_limit"):
            if not 0.0 <= getattr(self, name) <= math.pi:
                raise ValueError(f"Expected `{name}` in [0, π] radians; received {getattr(self, name)}.")
        if self.position not in POSITIONS:
            raise ValueError(f"Expected `position` in {POSITIONS}; received {self.position!r}.")

    def describe(self) -> str:
        """One readable line of the ranges (logs)."""
        deg = lambda r: f"±{math.degrees(r):.0f}°"  # noqa: E731
        where = (
            "the source root (turn in place)"
            if self.position == "source"
            else f"depth {self.depth[0]:.2f}–{self.depth[1]:.2f} m, image x {self.image_x[0]:+.3f}…"
            f"{self.image_x[1]:+.3f}, y {self.image_y[0]:+.3f}…{self.image_y[1]:+.3f}"
        )
        return f"{where}, yaw {deg(self.yaw_limit)}, pitch {deg(self.pitch_limit)}, roll {deg(self.roll_limit)}"

    def to_config(self) -> dict:
        """Plain floats and lists (for a Keras `get_config` and JSON)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v if isinstance(v, str) else float(v))
            for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_config(cls, config: Mapping) -> Placement:
        return cls(
            **{
                k: (
                    tuple(float(x) for x in v)
                    if isinstance(v, (list, tuple))
                    else v
                    if isinstance(v, str)
                    else float(v)
                )
                for k, v in config.items()
            }
        )


def widened(values: np.ndarray, percentiles: tuple[float, float], margin: float) -> tuple[float, float]:
    """(low, high) percentiles of `values`, each moved out by margin × (high − low)."""
    low, high = np.percentile(values, percentiles)
    pad = margin * (high - low)
    return float(low - pad), float(high + pad)


def measure_placement(
    pose_3d: np.ndarray,
    *,
    margin: float = 0.0,
    percentiles: tuple[float, float] = (1.0, 99.0),
    yaw_limit_deg: float = 180.0,
    pitch_limit_deg: float = 30.0,
    roll_limit_deg: float = 10.0,
    position: str = "range",
) -> Placement:
    """The placement ranges of a training set.

    Args:
      pose_3d: (N, 16, 3) absolute camera-frame poses, metres.
      margin: each range is widened by margin × its width on both sides (0: the training range).
      percentiles: (low, high) percentiles that define a range (robust to a few outliers).
      yaw_limit_deg, pitch_limit_deg, roll_limit_deg: rotation half-ranges in degrees.
      position: `Placement.position`.

    Returns:
      Placement. The depth range never goes below 1 m, in front of the camera.

    Raises:
      ValueError: `pose_3d` is not (N, 16, 3) absolute poses, or an argument is out of range.
    """
    pose_3d = np.asarray(pose_3d, np.float64)
    if pose_3d.ndim != 3 or pose_3d.shape[1:] != (16, 3) or len(pose_3d) == 0:
        raise ValueError(f"Expected `pose_3d` of shape (N, 16, 3); received {pose_3d.shape}.")
    if not margin >= 0:
        raise ValueError(f"Expected `margin` >= 0; received {margin}.")
    root = pose_3d[:, 0]
    if not np.all(root[:, 2] > 0):
        raise ValueError("Expected absolute camera-frame poses (root depth > 0); received root-relative ones.")
    up = pose_3d[:, THORAX] - pose_3d[:, HIP]
    up = (up / np.linalg.norm(up, axis=-1, keepdims=True)).mean(0)
    low, high = widened(root[:, 2], percentiles, margin)
    return Placement(
        up_axis=tuple(float(v) for v in up / np.linalg.norm(up)),
        depth=(max(low, 1.0), high),
        image_x=widened(root[:, 0] / root[:, 2], percentiles, margin),
        image_y=widened(root[:, 1] / root[:, 2], percentiles, margin),
        yaw_limit=math.radians(yaw_limit_deg),
        pitch_limit=math.radians(pitch_limit_deg),
        roll_limit=math.radians(roll_limit_deg),
        position=position,
    )


def _map(unit: tf.Tensor, low_high: tuple[float, float]) -> tf.Tensor:
    low, high = low_high
    return 0.5 * (low + high) + 0.5 * (high - low) * unit


def rotation_angles(unit_rotation: tf.Tensor, placement: Placement) -> tf.Tensor:
    """(B, 3) unit parameters → (B, 3) yaw, pitch, roll in radians."""
    limits = tf.constant([placement.yaw_limit, placement.pitch_limit, placement.roll_limit], unit_rotation.dtype)
    return unit_rotation * limits


def rotation_matrix(angles: tf.Tensor, placement: Placement) -> tf.Tensor:
    """R = R_z(roll) · R_x(pitch) · R_up(yaw) for (B, 3) yaw, pitch, roll in radians → (B, 3, 3)."""
    yaw, pitch, roll = tf.unstack(angles, axis=-1)
    zero = tf.zeros_like(yaw)
    up = tf.constant(placement.up_axis, angles.dtype)
    r_yaw = geometry.axis_angle_to_matrix(yaw[:, None] * up)
    r_pitch = geometry.axis_angle_to_matrix(tf.stack([pitch, zero, zero], -1))
    r_roll = geometry.axis_angle_to_matrix(tf.stack([zero, zero, roll], -1))
    return r_roll @ r_pitch @ r_yaw


def root_position(unit_position: tf.Tensor, placement: Placement) -> tf.Tensor:
    """(B, 3) unit parameters (image x, image y, depth) → (B, 3) camera-frame root position, metres."""
    u, v, d = tf.unstack(unit_position, axis=-1)
    depth = _map(d, placement.depth)
    return tf.stack([_map(u, placement.image_x) * depth, _map(v, placement.image_y) * depth, depth], -1)


def place(
    pose_3d: tf.Tensor, unit_rotation: tf.Tensor, unit_position: tf.Tensor, placement: Placement
) -> dict[str, tf.Tensor]:
    """Rotates a pose about its root and puts the root at a bounded position (or leaves it, `position="source"`).

    Args:
      pose_3d: (B, J, 3) poses (absolute with `position="source"`; else absolute or root-relative, the root is
        removed first).
      unit_rotation: (B, 3) yaw, pitch, roll parameters in [−1, 1].
      unit_position: (B, 3) image x, image y, depth parameters in [−1, 1] (unused with `position="source"`).
      placement: the ranges.

    Returns:
      Dict with "pose_rt" (B, J, 3) absolute (root = translation), "rotation" (B, 3) yaw/pitch/roll radians,
      "rotation_matrix" (B, 3, 3), "translation" (B, 3).
    """
    angles = rotation_angles(unit_rotation, placement)
    matrix = rotation_matrix(angles, placement)
    root = pose_3d[:, 0] if placement.position == "source" else root_position(unit_position, placement)
    rotated = geometry.rotate_points(geometry.root_relative(pose_3d), matrix)
    return {"pose_rt": rotated + root[:, None, :], "rotation": angles, "rotation_matrix": matrix, "translation": root}


def anchored(noise: tf.Tensor, learned: tf.Tensor, offset: float, *, wrap_first: bool = False) -> tf.Tensor:
    """Unit parameters from a uniform anchor and a learned offset: clip(erf(n / √2) + offset · learned).

    Args:
      noise: (B, k) standard normal draws; erf(n / √2) is uniform on (−1, 1).
      learned: (B, k) in [−1, 1] (a tanh output).
      offset: largest change the learned part can make, in unit parameters.
      wrap_first: the first parameter is an angle over the full circle (yaw): it wraps around instead of
        being clipped, so no value is a boundary the learned part can saturate against.

    Returns:
      (B, k) in [−1, 1].
    """
    value = tf.math.erf(noise / math.sqrt(2.0)) + offset * learned
    clipped = tf.clip_by_value(value, -1.0, 1.0)
    if not wrap_first:
        return clipped
    wrapped = tf.math.floormod(value[:, :1] + 1.0, 2.0) - 1.0
    return tf.concat([wrapped, clipped[:, 1:]], axis=-1)


def rotation_angle(matrix: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) rotation matrices → (...) rotation angle in [0, π] radians (any parametrisation)."""
    cos = 0.5 * (tf.linalg.trace(matrix) - 1.0)
    return tf.acos(tf.clip_by_value(cos, -1.0, 1.0))
