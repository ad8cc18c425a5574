"""Cameras: quaternion extrinsics, the Human3.6M distorted projection and screen normalisation.

Normalised screen coordinates (docs/reference.md §1.6): p_norm = p_px / w · 2 − [1, h / w], so x ∈ [−1, 1] and
y ∈ [−h/w, h/w] with the origin at the image centre and the aspect ratio preserved. Intrinsics are stored the
same way as a 9-vector `[fx, fy, cx, cy, k1, k2, k3, p1, p2]` with f/w·2 and c/w·2 − [1, h/w].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from poseaug_tf.core import shapes
from poseaug_tf.core.pixels import MAX_IMAGE_SIDE_PX

INTRINSICS_SIZE = 9


def normalize_intrinsics(focal, center, radial, tangential, width: float, height: float) -> np.ndarray:
    """Converts pixel intrinsics to the normalised 9-vector used by `project`.

    Args:
      focal: (2,) fx, fy in pixels.
      center: (2,) cx, cy in pixels.
      radial: (3,) k1, k2, k3.
      tangential: (2,) p1, p2.
      width, height: image size in pixels.

    Returns:
      (9,) float32 `[fx, fy, cx, cy, k1, k2, k3, p1, p2]` in normalised screen units.
    """
    focal = np.asarray(focal, np.float64) / width * 2.0
    center = np.asarray(center, np.float64) / width * 2.0 - np.array([1.0, height / width])
    return np.concatenate([focal, center, np.asarray(radial, np.float64), np.asarray(tangential, np.float64)]).astype(
        np.float32
    )


def _image_size(size, dtype) -> tf.Tensor:
    """Scalar or (...,) image size → tensor broadcastable against (..., J, 2)."""
    size = tf.cast(tf.convert_to_tensor(size), dtype)
    return size[..., None, None]


def normalize_screen(kp_px, width, height) -> tf.Tensor:
    """Pixel coordinates to normalised screen coordinates.

    Args:
      kp_px: (..., J, 2) pixels (x right, y down, origin at the top-left corner).
      width, height: scalars or (...) per-sample image sizes in pixels.

    Returns:
      (..., J, 2) normalised coordinates, x in [−1, 1] and y in [−h/w, h/w] inside the image.
    """
    kp_px = tf.convert_to_tensor(kp_px)
    shapes.check_axis(kp_px, -1, 2, "kp_px")
    w = _image_size(width, kp_px.dtype)
    h = _image_size(height, kp_px.dtype)
    offset = tf.concat([tf.ones_like(w), h / w], axis=-1)
    return kp_px / w * 2.0 - offset


def checked_image_size(image_size) -> tf.Tensor:
    """`image_size` (..., 2) [width, height], with a graph assertion that every side lies in
    [1, MAX_IMAGE_SIDE_PX] (NaN fails it), so that a served model answers a bad size with an error, not NaN."""
    image_size = tf.convert_to_tensor(image_size)
    plausible = tf.reduce_all((image_size >= 1.0) & (image_size <= MAX_IMAGE_SIDE_PX))
    check = tf.debugging.Assert(
        plausible,
        [f"image_size: expected [width, height] of 1 to {MAX_IMAGE_SIDE_PX} pixels in every row; received", image_size],
        summarize=8,
    )
    with tf.control_dependencies([check]):
        return tf.identity(image_size)


def qrot(q, v) -> tf.Tensor:
    """Rotates vectors by unit quaternions: v + 2(w (u×v) + u×(u×v)).

    Args:
      q: (..., 4) unit quaternions (w, x, y, z), broadcastable against `v`'s leading dimensions.
      v: (..., 3) vectors.

    Returns:
      (..., 3) rotated vectors.
    """
    v = tf.convert_to_tensor(v)
    q = tf.cast(tf.convert_to_tensor(q), v.dtype)
    shapes.check_axis(q, -1, 4, "q")
    shapes.check_axis(v, -1, 3, "v")
    q = tf.broadcast_to(q, tf.concat([tf.shape(v)[:-1], [4]], axis=0))
    w, u = q[..., :1], q[..., 1:]
    uv = tf.linalg.cross(u, v)
    uuv = tf.linalg.cross(u, uv)
    return v + 2.0 * (w * uv + uuv)


def _conjugate(q: tf.Tensor) -> tf.Tensor:
    return q * tf.constant([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def world_to_camera(points_world, orientation, translation) -> tf.Tensor:
    """World frame to camera frame, as Human3.6M tooling does: X_cam = rot(q⁻¹, X_world − t).

    Args:
      points_world: (..., 3) metres.
      orientation: (4,) unit quaternion (w, x, y, z), camera → world rotation.
      translation: (3,) camera centre in world coordinates, metres.

    Returns:
      (..., 3) camera-frame metres (z forward, y down).
    """
    points_world = tf.convert_to_tensor(points_world)
    q = tf.cast(orientation, points_world.dtype)
    t = tf.cast(translation, points_world.dtype)
    return qrot(_conjugate(q), points_world - t)


def project(points_cam, intrinsics) -> tf.Tensor:
    """Distorted pinhole projection of Human3.6M tooling (VideoPose3D's model), on normalised intrinsics.

    a, b = clamp(X/Z, −1, 1), clamp(Y/Z, −1, 1); r² = a² + b²; radial = 1 + k1 r² + k2 r⁴ + k3 r⁶;
    tan = p1 a + p2 b; (a', b') = (a, b)(radial + tan) + (p1, p2) r²; (u, v) = (fx a' + cx, fy b' + cy).

    The clamp to [−1, 1] (±45° off the optical axis) is the reference's: the distortion polynomial is only
    calibrated inside the field of view (|X/Z| ≲ 0.45 for the H36M cameras), and without the clamp a point
    near the camera plane (Z → 0), which the augmentor can produce, sends the r⁶ term to infinity. Clamped
    coordinates get zero gradient, so poses far outside the frame are pinned to the clamp instead of exploding.
    The tangential term is VideoPose3D's simplification of the Brown model, reproduced as is because the
    official GT 2D files were made with it. Z ≤ 0 is not checked here (see the augmentor's depth guard).

    Args:
      points_cam: (..., J, 3) camera-frame points.
      intrinsics: (..., 9) normalised `[fx, fy, cx, cy, k1, k2, k3, p1, p2]`, one per leading index.

    Returns:
      (..., J, 2) normalised screen coordinates.
    """
    points_cam = tf.convert_to_tensor(points_cam)
    intrinsics = tf.cast(tf.convert_to_tensor(intrinsics), points_cam.dtype)
    shapes.check_axis(points_cam, -1, 3, "points_cam")
    shapes.check_axis(intrinsics, -1, INTRINSICS_SIZE, "intrinsics")
    intr = intrinsics[..., None, :]  # broadcast over joints
    f, c, k, p = intr[..., 0:2], intr[..., 2:4], intr[..., 4:7], intr[..., 7:9]
    ab = tf.clip_by_value(points_cam[..., :2] / points_cam[..., 2:3], -1.0, 1.0)
    r2 = tf.reduce_sum(tf.square(ab), axis=-1, keepdims=True)
    radial = 1.0 + k[..., 0:1] * r2 + k[..., 1:2] * tf.square(r2) + k[..., 2:3] * r2 * tf.square(r2)
    tan = tf.reduce_sum(p * ab, axis=-1, keepdims=True)
    distorted = ab * (radial + tan) + p * r2
    return f * distorted + c


def project_numpy(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """NumPy twin of `project` (distortion and [−1, 1] clamp), computed in float64.

    Args:
      points_cam: (N, J, 3) camera-frame points, metres.
      intrinsics: (N, 9) normalised `[fx, fy, cx, cy, k1, k2, k3, p1, p2]`.

    Returns:
      (N, J, 2) float32 normalised screen coordinates.
    """
    points = np.asarray(points_cam, np.float64)
    intr = np.asarray(intrinsics, np.float64)[:, None, :]
    f, c, k, p = intr[..., 0:2], intr[..., 2:4], intr[..., 4:7], intr[..., 7:9]
    ab = np.clip(points[..., :2] / points[..., 2:3], -1.0, 1.0)
    r2 = np.sum(ab * ab, axis=-1, keepdims=True)
    radial = 1.0 + k[..., 0:1] * r2 + k[..., 1:2] * r2**2 + k[..., 2:3] * r2**3
    tangential = np.sum(p * ab, axis=-1, keepdims=True)
    return (f * (ab * (radial + tangential) + p * r2) + c).astype(np.float32)
