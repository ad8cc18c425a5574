"""Unlabeled 2D keypoints of the user's own camera (`config.data.target_2d`), read as the predict CLI reads them.

Any file `python -m poseaug_tf.cli.predict` accepts (COCO-17, MediaPipe-33, BODY_25, H36M-17/16, MPII-16; JSON, CSV or
npz; an image size per file or per frame) is mapped to the 16-joint skeleton and normalised to screen
coordinates exactly as at inference (`core/pixels.normalize_pixels`), so the adaptation sees the 2D poses
the deployed lifter will see.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from poseaug_tf.core import pixels
from poseaug_tf.data.keypoint_files import DEFAULT_MIN_CONFIDENCE, prepare, read_keypoints
from poseaug_tf.data.keypoint_layouts import KeypointError

MIN_FRAMES = 16  # fewer frames cannot describe where a camera sees people


def read_target_2d(
    paths: str | Sequence[str],
    *,
    layout: str | None = None,
    image_size=None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> np.ndarray:
    """Reads and normalises target keypoint files.

    Args:
      paths: one path, a comma-separated list, or a sequence of paths.
      layout: keypoint layout for every file (None: from each file or its joint count).
      image_size: (width, height) pixels for every file (None: from each file).
      min_confidence: joints scored below this count as missing (as in the predict CLI).

    Returns:
      (M, 16, 2) float32 normalised screen coordinates of all frames of all files, in file order.

    Raises:
      KeypointError: a missing, empty or malformed file (named with its frame and field), or fewer than
        MIN_FRAMES frames in all.
    """
    if isinstance(paths, str):
        paths = [p.strip() for p in paths.split(",") if p.strip()]
    if not paths:
        raise KeypointError("data.target_2d: expected one or more keypoint files; received none.")
    frames = []
    for path in paths:
        data = read_keypoints(path, layout=layout)
        kp_px, size, _ = prepare(
            data, source=str(path), layout=layout, image_size=image_size, min_confidence=min_confidence
        )
        frames.append(pixels.normalize_pixels(kp_px, size).astype(np.float32))
    pose_2d = np.concatenate(frames)
    if len(pose_2d) < MIN_FRAMES:
        raise KeypointError(
            f"data.target_2d: {len(pose_2d)} frames in {', '.join(map(str, paths))}; expected at least {MIN_FRAMES}."
        )
    return pose_2d
