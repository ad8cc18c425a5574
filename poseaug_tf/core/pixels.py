"""Pixel coordinates and image sizes, in NumPy (no TensorFlow: the serving contract and its client use it).

The TensorFlow versions for graphs are in camera.py (`normalize_screen`, `checked_image_size`).
"""

from __future__ import annotations

import numpy as np

# The largest image side accepted with pixel inputs. No frame a pose detector runs on is this large; a value
# beyond it is a unit mistake (1e30, a size in micrometres) that would squash every pose to a point.
MAX_IMAGE_SIDE_PX = 100_000


def plausible_image_size(image_size) -> bool:
    """True when every side of `image_size` (..., 2) lies in [1, MAX_IMAGE_SIDE_PX] (NaN fails)."""
    size = np.asarray(image_size, np.float64)
    return bool(np.all((size >= 1) & (size <= MAX_IMAGE_SIDE_PX)))


def normalize_pixels(kp_px, image_size) -> np.ndarray:
    """Pixels to the normalised screen coordinates of `serving_default`: p_px / w * 2 - [1, h / w].

    Args:
      kp_px: (N, 16, 2) pixels (x right, y down, origin at the top-left corner).
      image_size: (2,) or (N, 2) [width, height] pixels.

    Returns:
      (N, 16, 2) float32: x in [-1, 1] and y in [-h/w, h/w] inside the image.
    """
    kp_px = np.asarray(kp_px, np.float32)
    size = np.broadcast_to(np.asarray(image_size, np.float32), (len(kp_px), 2))
    width, height = size[:, None, :1], size[:, None, 1:]
    return kp_px / width * 2.0 - np.concatenate([np.ones_like(width), height / width], axis=-1)
