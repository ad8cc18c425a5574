"""Per-epoch data of the PoseAug GAN pass: the random bone-length swap and the zipped GAN feed."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from poseaug_tf import geometry, skeleton
from poseaug_tf.data.pose_set import PoseSet

NOISE_SHAPE = (4, 48)  # one 48-d draw for each of the BA, BL, R and T branches


def bone_length_swap(pose_3d: np.ndarray, rng: np.random.Generator, *, chunk: int = 262144) -> np.ndarray:
    """The reference's `random_bl_aug` (REFERENCE.md §1.10): every bone length replaced by one of the five
    training subjects' lengths, drawn per sample; bone directions and the absolute root are kept.

    Args:
      pose_3d: (N, 16, 3) absolute camera-frame metres.
      rng: NumPy generator (the template draws).
      chunk: samples per vectorised chunk (bounds peak memory on the 1.46M-sample Human3.6M set).

    Returns:
      (N, 16, 3) float32 swapped poses.
    """
    rows = rng.integers(0, len(skeleton.BONE_LENGTH_TEMPLATES), size=len(pose_3d))
    lengths = skeleton.BONE_LENGTH_TEMPLATES[rows][..., None]
    out = np.empty_like(pose_3d, dtype=np.float32)
    for start in range(0, len(pose_3d), chunk):
        part = pose_3d[start:start + chunk]
        bones = geometry.unit_bones(part) * lengths[start:start + chunk]
        out[start:start + chunk] = (geometry.pose_from_bones(bones) + part[:, :1]).numpy()
    return out


def gan_epoch_dataset(pose_3d: np.ndarray, camera: np.ndarray, *, batch_size: int, seed: int,
                      epoch: int) -> tf.data.Dataset:
    """One epoch of GAN batches: generator input, the discriminators' real samples and the branch noise.

    As in the reference (REFERENCE.md §1.11) the generator input, the D3d real batch and the D2d real batch
    are three independent shuffles of the same (bone-length-swapped) poses. The noise is drawn here, with a
    stateless seed per (seed, epoch, batch), so that it is split across replicas with its batch and a resumed
    epoch sees the same noise.

    Args:
      pose_3d: (N, 16, 3) absolute camera-frame poses of this epoch.
      camera: (N, 9) their normalised intrinsics.
      batch_size: global batch B (the last partial batch is dropped).
      seed, epoch: determine the shuffles and the noise.

    Returns:
      tf.data.Dataset of dicts: "pose_3d" (B, 16, 3), "camera" (B, 9), "real_3d" (B, 16, 3),
      "real_2d_pose" (B, 16, 3), "real_2d_camera" (B, 9), "noise" (B, 4, 48), all float32.
    """
    n = len(pose_3d)
    num_batches = n // batch_size
    if num_batches == 0:
        raise ValueError(f"Expected at least `batch_size`={batch_size} GAN training samples; received {n}.")
    rng = np.random.default_rng([seed, epoch])
    perms = [rng.permutation(n)[:num_batches * batch_size].reshape(num_batches, batch_size) for _ in range(3)]
    poses = tf.constant(pose_3d, tf.float32)
    cams = tf.constant(camera, tf.float32)

    def assemble(gen_idx, d3d_idx, d2d_idx, batch_index):
        noise_seed = tf.stack([tf.constant(seed, tf.int64) * 100003 + epoch, batch_index])
        return {"pose_3d": tf.gather(poses, gen_idx), "camera": tf.gather(cams, gen_idx),
                "real_3d": tf.gather(poses, d3d_idx),
                "real_2d_pose": tf.gather(poses, d2d_idx), "real_2d_camera": tf.gather(cams, d2d_idx),
                "noise": tf.random.stateless_normal([batch_size, *NOISE_SHAPE], seed=noise_seed)}

    ds = tf.data.Dataset.from_tensor_slices((*perms, np.arange(num_batches, dtype=np.int64)))
    return ds.map(assemble, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def augmented_pose_set(pose_3d: np.ndarray, pose_2d: np.ndarray, camera: np.ndarray) -> PoseSet:
    """Wraps an epoch's buffer of valid augmented pairs as a PoseSet for the estimator's "fake" pass."""
    n = len(pose_3d)
    empty = np.zeros(n, dtype="<U1")
    return PoseSet(pose3d=pose_3d, pose2d=pose_2d, camera=camera, action=empty, subject=empty,
                   name="poseaug_buffer", sequence=np.zeros(n, np.int32))
