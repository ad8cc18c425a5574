"""Detector errors of 2D keypoints: a noise model (fitted or generic), its sampler, and the missing-joint fill-in.

A 2D pose detector errs per joint in a few ways (Ronchi & Perona's taxonomy, used by PoseFix and Pose2Mesh to
synthesise training poses): a small localisation error, a left/right *inversion* (the joint lands on its mirror
partner), a large *outlier* error, and a *miss* (the joint is absent or below the detector's confidence).
`KeypointNoise` holds, per joint, the rates of inversion, outlier and miss, the distribution of the small error
and the radii of outliers, all in a body-scale-normalised frame: a displacement is divided by the pose's scale
s = sqrt(w · h) of the bounding box of its 16 clean joints, so one model serves any image size and distance.

- `fit` measures the model from paired (detector, projected ground truth) 2D of the same frames: inversions are
  joints with a large error that lies closer to the mirror partner's true position than to their own; outliers
  the other large errors; "large" means beyond the joint's OKS-0.5 radius (below); the small errors give a
  per-joint bias and 2×2 covariance; misses are the non-finite detections. Errors count as large around each
  joint's median error, and an outlier is drawn around the bias, so that a joint defined differently by the
  detector (a constant offset) stays a bias and does not become an outlier.
- `generic` needs no detector data: the error scheme of PoseFix (Moon et al. 2019), with COCO's per-keypoint
  OKS constants σ_j. A keypoint at distance d from the truth has OKS exp(−d² / (2 A (2σ_j)²)) for an object of
  area A; with A = s² / 2 (a body covers about half its box) the distance of OKS k is
  d_j(k) = 2 σ_j s sqrt(−ln k). Each joint independently is: an inversion (3 %, joints with a mirror partner;
  the partner's position plus a radius uniform in [0, d(0.5)]), an outlier (PoseFix's "miss", 5 %; radius
  uniform in [d(0.5), d(0.1)]), jitter (15 %; radius uniform in [d(0.85), d(0.5)]) or good (the rest; radius
  uniform in [0, d(0.85)]), at a uniform angle. PoseFix's fourth type, a swap with another person, does not
  exist in single-person crops; its 4 % count as good.

`sample` draws noisy 2D from clean 2D with a stateless seed (in a compiled step: no Python per sample, the
same noise after a resume); missing joints come out as NaN, and `fill_missing` turns them into an input the
estimator was trained to read: a missing joint takes the position of its nearest present ancestor in the
kinematic tree (a zero-length bone, which a visible pose never has), a missing root the centroid of the present
joints. The estimator step, the evaluator, the exported signatures and the predict CLI all use `fill_missing`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from poseaug_tf.core import skeleton

KINDS = ("generic", "fitted")
# COCO's per-keypoint OKS σ for PoseAug's 16 joints, from the nearest COCO keypoint: hips for Hip, RHip, LHip
# and Spine (the torso has no COCO keypoint), knees, ankles for the feet, shoulders for Thorax, the ears for the
# head top, elbows and wrists.
COCO_SIGMAS = np.array(
    [0.107, 0.107, 0.087, 0.089, 0.107, 0.087, 0.089, 0.107, 0.079, 0.035, 0.079, 0.072, 0.062, 0.079, 0.072, 0.062]
)
# PoseFix's per-joint rates of error types for a fully visible person.
GENERIC_INVERSION, GENERIC_OUTLIER, GENERIC_JITTER = 0.03, 0.05, 0.15
QUANTILES = 11  # radius tables: the 0, 10, ..., 100 % quantiles
MIN_OUTLIERS = 50  # a fitted joint's own outlier radii need this many outliers (else pooled over joints)
# A coordinate beyond this (normalised units: the image spans [-1, 1]) or non-finite marks its joint as missing.
MISSING_BOUND = 1e6


def oks_radius(oks: float, sigmas=COCO_SIGMAS) -> np.ndarray:
    """(16,) distance d_j(k) / s at which a keypoint's OKS is `oks` (module docstring)."""
    return 2.0 * np.asarray(sigmas, np.float64) * math.sqrt(-math.log(oks))


def _mirror() -> np.ndarray:
    return np.asarray(skeleton.FLIP_PERMUTATION)


@dataclasses.dataclass(frozen=True)
class KeypointNoise:
    """Per-joint detector-error model in body-scale units (module docstring).

    Attributes:
      kind: "generic" or "fitted".
      p_inversion, p_outlier, p_missing: (16,) per-joint rates.
      bias: (16, 2) mean small error (fitted; zeros for generic).
      chol: (16, 2, 2) lower Cholesky factor of the small errors' covariance (fitted; zeros for generic).
      small_radius: (16, QUANTILES) quantiles of the small error's radius (for reports; a generic model samples
        its two uniform radii exactly, a fitted one its Gaussian).
      outlier_radius: (16, QUANTILES) quantiles of the outlier radius.
      scale: factor on every displacement (1: as fitted or as defined).
      fraction: share of poses that get the detector errors (inversions, outliers, small errors); the others keep
        their clean 2D, so one model learns both clean and detector-like input. Missing joints apply to every pose.
      source: what the model was fitted on ("sh_pt_mpii, S1,S5,S6,S7,S8, 312,000 joints") or "PoseFix".
    """

    kind: str
    p_inversion: np.ndarray
    p_outlier: np.ndarray
    p_missing: np.ndarray
    bias: np.ndarray
    chol: np.ndarray
    small_radius: np.ndarray
    outlier_radius: np.ndarray
    scale: float = 1.0
    fraction: float = 1.0
    source: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown noise kind {self.kind!r}; valid: {', '.join(KINDS)}.")
        j, q = skeleton.NUM_JOINTS, QUANTILES
        shapes = {
            "p_inversion": (j,),
            "p_outlier": (j,),
            "p_missing": (j,),
            "bias": (j, 2),
            "chol": (j, 2, 2),
            "small_radius": (j, q),
            "outlier_radius": (j, q),
        }
        for name, shape in shapes.items():
            value = np.asarray(getattr(self, name), np.float64)
            if value.shape != shape or not np.all(np.isfinite(value)):
                raise ValueError(f"KeypointNoise `{name}`: expected finite values of shape {shape}; got {value.shape}.")
            object.__setattr__(self, name, value)
        rates = self.p_inversion + self.p_outlier
        if np.any(self.p_inversion < 0) or np.any(self.p_outlier < 0) or np.any(rates > 1):
            raise ValueError("KeypointNoise: inversion and outlier rates must be ≥ 0 and sum to ≤ 1 per joint.")
        if np.any(self.p_missing < 0) or np.any(self.p_missing > 1):
            raise ValueError("KeypointNoise: `p_missing` must lie in [0, 1].")
        if not (math.isfinite(self.scale) and self.scale >= 0):
            raise ValueError(f"KeypointNoise: expected a finite scale ≥ 0; received {self.scale}.")
        if not 0 <= self.fraction <= 1:
            raise ValueError(f"KeypointNoise: expected a fraction in [0, 1]; received {self.fraction}.")

    def replace(self, **changes) -> KeypointNoise:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = np.round(value, 6).tolist() if isinstance(value, np.ndarray) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> KeypointNoise:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"KeypointNoise: unknown fields {sorted(unknown)}; valid: {sorted(names)}.")
        return cls(**data)

    def describe(self) -> str:
        return (
            f"{self.kind} ({self.source}): inversion {self.p_inversion.mean():.1%}, outlier "
            f"{self.p_outlier.mean():.1%}, missing {self.p_missing.mean():.1%} per joint, median small error "
            f"{np.median(self.small_radius[:, QUANTILES // 2]):.3f} s, scale {self.scale:g}, "
            f"on {self.fraction:.0%} of poses"
        )


def generic(*, scale: float = 1.0, missing_rate: float = 0.0) -> KeypointNoise:
    """PoseFix's synthetic-error scheme (module docstring); `missing_rate` adds absent joints."""
    d85, d50, d10 = oks_radius(0.85), oks_radius(0.5), oks_radius(0.1)
    has_mirror = _mirror() != np.arange(skeleton.NUM_JOINTS)
    p_inversion = np.where(has_mirror, GENERIC_INVERSION, 0.0)
    p_outlier = np.full(skeleton.NUM_JOINTS, GENERIC_OUTLIER)
    # The small error: jitter with probability GENERIC_JITTER / (the rest), else good; its radius quantiles come
    # from the exact inverse CDF of that mixture of two uniform radii.
    levels = np.linspace(0.0, 1.0, QUANTILES)
    small = np.empty((skeleton.NUM_JOINTS, QUANTILES))
    for j in range(skeleton.NUM_JOINTS):
        p_jitter = GENERIC_JITTER / (1.0 - p_inversion[j] - p_outlier[j])
        good = levels <= 1.0 - p_jitter
        small[j] = np.where(
            good,
            levels / (1.0 - p_jitter) * d85[j],
            d85[j] + (levels - (1.0 - p_jitter)) / p_jitter * (d50[j] - d85[j]),
        )
    outlier = d50[:, None] + levels[None, :] * (d10 - d50)[:, None]
    return KeypointNoise(
        kind="generic",
        p_inversion=p_inversion,
        p_outlier=p_outlier,
        p_missing=np.full(skeleton.NUM_JOINTS, float(missing_rate)),
        bias=np.zeros((skeleton.NUM_JOINTS, 2)),
        chol=np.zeros((skeleton.NUM_JOINTS, 2, 2)),
        small_radius=small,
        outlier_radius=outlier,
        scale=scale,
        source="PoseFix",
    )


def body_scale_np(pose_2d: np.ndarray) -> np.ndarray:
    """(..., 16, 2) → (...) sqrt(w · h) of the joints' bounding box (NumPy)."""
    extent = pose_2d.max(axis=-2) - pose_2d.min(axis=-2)
    return np.sqrt(np.maximum(extent[..., 0] * extent[..., 1], 1e-12))


def fit(detected: np.ndarray, clean: np.ndarray, *, source: str = "") -> KeypointNoise:
    """Measures a detector's `KeypointNoise` from paired 2D of the same frames (module docstring).

    Args:
      detected: (N, 16, 2) the detector's keypoints; NaN for a joint it missed.
      clean: (N, 16, 2) the projected ground truth, same units.
      source: a description recorded in the model.

    Raises:
      ValueError: shapes differ, `clean` is not finite, or fewer than 100 frames.
    """
    detected, clean = np.asarray(detected, np.float64), np.asarray(clean, np.float64)
    if detected.shape != clean.shape or detected.shape[1:] != (skeleton.NUM_JOINTS, 2):
        raise ValueError(f"Expected two (N, 16, 2) arrays; received {detected.shape} and {clean.shape}.")
    if not np.all(np.isfinite(clean)):
        raise ValueError("Expected finite clean 2D to fit a noise model.")
    if len(clean) < 100:
        raise ValueError(f"Expected at least 100 paired frames to fit a noise model; received {len(clean)}.")
    scale = body_scale_np(clean)[:, None]
    missing = ~np.isfinite(detected).all(-1)  # (N, 16)
    error = (detected - clean) / scale[..., None]
    # Large errors are judged around each joint's median error: a detector whose joint definition differs from
    # the ground truth's (the Spine of an MPII-trained detector) errs by a constant offset, which is bias.
    centre = np.nanmedian(error, axis=0)
    radius = np.linalg.norm(error - centre, axis=-1)
    to_mirror = np.linalg.norm(detected - clean[:, _mirror()], axis=-1) / scale
    large = radius > oks_radius(0.5)[None, :]
    has_mirror = _mirror() != np.arange(skeleton.NUM_JOINTS)
    with np.errstate(invalid="ignore"):
        inversion = large & has_mirror[None, :] & (to_mirror < radius) & ~missing
    outlier = large & ~inversion & ~missing
    small = ~large & ~missing
    present = np.maximum((~missing).sum(0), 1)
    levels = np.linspace(0.0, 1.0, QUANTILES)
    bias = np.zeros((skeleton.NUM_JOINTS, 2))
    chol = np.zeros((skeleton.NUM_JOINTS, 2, 2))
    small_radius = np.zeros((skeleton.NUM_JOINTS, QUANTILES))
    # Outlier radii per joint; a joint with few outliers takes the quantiles pooled over joints in units of each
    # joint's OKS-0.5 radius (the generic scheme's radii when there is no outlier at all).
    d50 = oks_radius(0.5)
    pooled = radius[outlier] / np.broadcast_to(d50, radius.shape)[outlier]
    if pooled.size:
        ratio = np.quantile(pooled, levels)
    else:
        ratio = np.linspace(1.0, math.sqrt(math.log(10.0) / math.log(2.0)), QUANTILES)
    outlier_radius = d50[:, None] * ratio[None, :]
    for j in range(skeleton.NUM_JOINTS):
        e = error[small[:, j], j]
        bias[j] = e.mean(0)
        cov = np.cov(e.T) + 1e-10 * np.eye(2)
        chol[j] = np.linalg.cholesky(cov)
        small_radius[j] = np.quantile(np.linalg.norm(e, axis=-1), levels)
        if outlier[:, j].sum() >= MIN_OUTLIERS:
            outlier_radius[j] = np.quantile(radius[outlier[:, j], j], levels)
    return KeypointNoise(
        kind="fitted",
        p_inversion=inversion.sum(0) / present,
        p_outlier=outlier.sum(0) / present,
        p_missing=missing.mean(0),
        bias=bias,
        chol=chol,
        small_radius=small_radius,
        outlier_radius=outlier_radius,
        source=source or f"{len(clean)} frames",
    )


# --- TensorFlow ------------------------------------------------------------------------------------------------
def body_scale(pose_2d: tf.Tensor) -> tf.Tensor:
    """(B, 16, 2) → (B,) sqrt(w · h) of the joints' bounding box."""
    extent = tf.reduce_max(pose_2d, axis=-2) - tf.reduce_min(pose_2d, axis=-2)
    return tf.sqrt(tf.maximum(extent[:, 0] * extent[:, 1], 1e-12))


def _quantile_lookup(table: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """Piecewise-linear inverse CDF: table (16, Q) of equally spaced quantiles, u (B, 16) in [0, 1) → (B, 16)."""
    q = table.shape[-1]
    position = u * (q - 1)
    low = tf.minimum(tf.cast(tf.floor(position), tf.int32), q - 2)
    frac = position - tf.cast(low, u.dtype)
    rows = tf.broadcast_to(table[None], [tf.shape(u)[0], *table.shape])
    lo = tf.gather(rows, low[..., None], batch_dims=2)[..., 0]
    hi = tf.gather(rows, low[..., None] + 1, batch_dims=2)[..., 0]
    return lo + frac * (hi - lo)


def _polar(radius: tf.Tensor, angle: tf.Tensor) -> tf.Tensor:
    return tf.stack([radius * tf.cos(angle), radius * tf.sin(angle)], axis=-1)


def sample(model: KeypointNoise, pose_2d: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Noisy 2D drawn from clean 2D; missing joints are NaN.

    Args:
      model: the noise model.
      pose_2d: (B, 16, 2) clean 2D, any units (normalised screen coordinates in training).
      seed: (2,) int32/int64 stateless seed; the same seed gives the same noise.

    Returns:
      (B, 16, 2) float32.
    """
    pose_2d = tf.convert_to_tensor(pose_2d, tf.float32)
    shape = tf.shape(pose_2d)[:2]
    seeds = tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 7))
    u_type = tf.random.stateless_uniform(shape, seeds[0])
    u_missing = tf.random.stateless_uniform(shape, seeds[1])
    angle_small = tf.random.stateless_uniform(shape, seeds[2], maxval=2 * math.pi)
    angle_outlier = tf.random.stateless_uniform(shape, seeds[3], maxval=2 * math.pi)
    u_outlier = tf.random.stateless_uniform(shape, seeds[4])
    p_inv = tf.constant(model.p_inversion, tf.float32)
    p_out = tf.constant(model.p_outlier, tf.float32)
    inversion = u_type < p_inv
    outlier = (u_type >= p_inv) & (u_type < p_inv + p_out)
    if model.kind == "fitted":
        z = tf.random.stateless_normal([shape[0], shape[1], 2], seeds[5])
        small = tf.constant(model.bias, tf.float32) + tf.einsum("jab,njb->nja", tf.constant(model.chol, tf.float32), z)
    else:  # exactly PoseFix's two uniform radii (a quantile table would smooth the step between them)
        d85, d50 = (tf.constant(oks_radius(k), tf.float32) for k in (0.85, 0.5))
        p_jitter = tf.constant(GENERIC_JITTER / (1.0 - model.p_inversion - model.p_outlier), tf.float32)
        u_kind = tf.random.stateless_uniform(shape, seeds[5])
        u_radius = tf.random.stateless_uniform(shape, seeds[6])
        radius = tf.where(u_kind < p_jitter, d85 + u_radius * (d50 - d85), u_radius * d85)
        small = _polar(radius, angle_small)
    large = tf.constant(model.bias, tf.float32) + _polar(
        _quantile_lookup(tf.constant(model.outlier_radius, tf.float32), u_outlier), angle_outlier
    )
    displacement = tf.where(outlier[..., None], large, small)
    base = tf.where(inversion[..., None], tf.gather(pose_2d, list(skeleton.FLIP_PERMUTATION), axis=1), pose_2d)
    noisy = base + model.scale * displacement * body_scale(pose_2d)[:, None, None]
    if model.fraction < 1:
        # Its own stream (folded in, not an eighth split), so the draws above stay those of fraction = 1.
        chosen = tf.random.stateless_uniform(shape[:1], tf.random.experimental.stateless_fold_in(seeds[0], 1))
        noisy = tf.where((chosen < model.fraction)[:, None, None], noisy, pose_2d)
    missing = u_missing < tf.constant(model.p_missing, tf.float32)
    return tf.where(missing[..., None], tf.constant(np.nan, tf.float32), noisy)


def missing_mask(pose_2d: tf.Tensor) -> tf.Tensor:
    """(B, 16, 2) → (B, 16) bool: a coordinate is NaN, infinite or beyond ±MISSING_BOUND.

    A comparison instead of `is_nan`/`is_finite`, which LiteRT's built-in operators lack (NaN fails it too)."""
    return tf.logical_not(tf.reduce_all(tf.abs(pose_2d) < MISSING_BOUND, axis=-1))


def fill_missing(pose_2d: tf.Tensor) -> tf.Tensor:
    """Fills missing joints (`missing_mask`): the nearest present ancestor's position; a missing root the centroid
    of the present joints (the origin when every joint is missing).

    Args:
      pose_2d: (B, 16, 2).

    Returns:
      (B, 16, 2), equal to the input wherever it is present (bit for bit).
    """
    pose_2d = tf.convert_to_tensor(pose_2d, tf.float32)
    missing = missing_mask(pose_2d)
    present = tf.cast(tf.logical_not(missing), tf.float32)[..., None]
    safe = tf.where(missing[..., None], tf.zeros_like(pose_2d), pose_2d)
    centroid = tf.reduce_sum(safe * present, axis=1) / tf.maximum(tf.reduce_sum(present, axis=1), 1.0)
    joints = []
    for j, parent in enumerate(skeleton.PARENTS):  # parents come before their children
        fill = centroid if parent < 0 else joints[parent]
        joints.append(tf.where(missing[:, j, None], fill, safe[:, j]))
    return tf.stack(joints, axis=1)
