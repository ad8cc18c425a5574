"""Augmentor samples behind the pose grid and the distributions: every stage of a batch, projected.

The augmentor runs in training mode (batch-statistics BatchNorm, as the reference only ever runs it) on
batches of the run's GAN batch size with fixed stateless noise, so a sample is reproducible; the augmentor's
non-trainable variables (BatchNorm moving statistics) are restored afterwards, so a live training model is
left exactly as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

NUM_NOISE_BRANCHES = 4  # BA, BL, R, T


@dataclasses.dataclass
class AugmentationSample:
    """Augmentor outputs on a batch of source poses (NumPy)."""

    poses_3d: dict[str, np.ndarray]  # "source", "BA", "BL", "RT" → (N, 16, 3) absolute camera frame, metres
    poses_2d: dict[str, np.ndarray]  # same stages → (N, 16, 2) normalised projections
    valid: np.ndarray  # (N,) bool: RT projection inside the image (the training-buffer filter)
    notes: dict[str, list[str]]  # stage → N short annotations


def sample_augmentations(
    augmentor,
    pose_3d: np.ndarray,
    intrinsics: np.ndarray,
    *,
    seed: int = 0,
    batch_size: int = 256,
    two_sided: bool = True,
) -> AugmentationSample:
    """Runs the augmentor (training-mode BatchNorm, fixed noise) on source poses and projects every stage.

    Args:
      augmentor: a PoseAugmentor.
      pose_3d: (N, 16, 3) absolute camera-frame source poses, metres.
      intrinsics: (N, 9) their normalised intrinsics.
      seed: seed of the stateless noise.
      batch_size: batch of the BatchNorm statistics (the run's GAN batch size).
      two_sided: the valid-projection test of the training buffer (|u|, |v| ≤ 1, else the one-sided test).

    Returns:
      AugmentationSample.
    """
    import tensorflow as tf

    from poseaug_tf.core import camera
    from poseaug_tf.models.augmentor import valid_projection_mask

    saved = [v.numpy() for v in augmentor.non_trainable_variables]
    keys = {"BA": "pose_ba", "BL": "pose_bl", "RT": "pose_rt"}
    parts: dict[str, list] = {k: [] for k in ("source", *keys, "rotation_matrix", "blr", "ba_diff")}
    noise_dim = int(getattr(augmentor, "noise_dim", 48))
    for start in range(0, len(pose_3d), batch_size):
        batch = tf.constant(pose_3d[start : start + batch_size], tf.float32)
        noise = tf.random.stateless_normal([len(batch), NUM_NOISE_BRANCHES, noise_dim], seed=[seed, start])
        out = augmentor(batch, training=True, noise=noise) | {"source": batch}
        for name, part in parts.items():
            part.append(out[keys.get(name, name)].numpy())
    for variable, value in zip(augmentor.non_trainable_variables, saved):
        variable.assign(value)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    poses_3d = {s: arrays[s] for s in ("source", *keys)}
    cams = tf.constant(intrinsics[: len(pose_3d)], tf.float32)
    poses_2d = {s: camera.project(tf.constant(p), cams).numpy() for s, p in poses_3d.items()}
    valid = valid_projection_mask(poses_2d["RT"], two_sided=two_sided).numpy()
    return AugmentationSample(poses_3d, poses_2d, valid, _notes(arrays))


def _notes(arrays: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
    """Per-sample captions of the grid: root depth, BA/BL magnitudes, RT rotation angle and depth."""
    from poseaug_tf.core.placement import rotation_angle

    return {
        "source": [f"root z {z:.1f} m" for z in arrays["source"][:, 0, 2]],
        "BA": [f"mean ba_diff {d:.2f}" for d in arrays["ba_diff"].mean(-1)],
        "BL": [f"mean |blr| {b:.3f}" for b in np.abs(arrays["blr"]).mean(-1)],
        "RT": [
            f"rot {a:.0f}°, root z {z:.1f} m"
            for a, z in zip(np.degrees(rotation_angle(arrays["rotation_matrix"]).numpy()), arrays["RT"][:, 0, 2])
        ],
    }
