"""Per-epoch data of the PoseAug GAN pass: the random bone-length swap and the zipped GAN feed."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from poseaug_tf import camera, geometry, skeleton
from poseaug_tf.data.pipeline import gather_rows
from poseaug_tf.data.pose_set import PoseSet
from poseaug_tf.placement import NUM_UNIT_PARAMETERS

NOISE_SHAPE = (4, 48)  # one 48-d draw for each of the BA, BL, R and T branches
# The uniform placement draws of a batch use the noise seed with this offset on its batch counter, a stream no
# (seed, epoch, batch) of the noise ever reaches. (A Python value: a TF constant at import would start TensorFlow's
# runtime before a multi-worker strategy can configure it.)
_UNIT_STREAM = (0, 1 << 40)


def swap_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    """The bone-length template of each of `n` samples (uniform over skeleton.BONE_LENGTH_TEMPLATES): (n,) int8."""
    return rng.integers(0, len(skeleton.BONE_LENGTH_TEMPLATES), size=n).astype(np.int8)


def swap_bone_lengths(pose_3d, rows) -> tf.Tensor:
    """Gives every pose the bone lengths of its template row; bone directions and the absolute root are kept.

    Args:
      pose_3d: (B, 16, 3) absolute camera-frame metres.
      rows: (B,) template indices into skeleton.BONE_LENGTH_TEMPLATES.

    Returns:
      (B, 16, 3) float32.
    """
    pose_3d = tf.convert_to_tensor(pose_3d, tf.float32)
    lengths = tf.gather(tf.constant(skeleton.BONE_LENGTH_TEMPLATES, tf.float32), tf.cast(rows, tf.int32))
    return geometry.pose_from_bones(geometry.unit_bones(pose_3d) * lengths[..., None]) + pose_3d[:, :1]


def bone_length_swap(pose_3d: np.ndarray, rng: np.random.Generator, *, chunk: int = 262144) -> np.ndarray:
    """The reference's `random_bl_aug` (docs/reference.md §1.10): every bone length replaced by one of the five
    training subjects' lengths, drawn per sample; bone directions and the absolute root are kept.

    The PoseAug loop does not call this: it passes `swap_rows(N, rng)` to `gan_epoch_dataset`, which swaps each
    batch as it is gathered and gives the same poses without a second copy of the training set.

    Args:
      pose_3d: (N, 16, 3) absolute camera-frame metres.
      rng: NumPy generator (the template draws).
      chunk: samples per vectorised chunk (bounds peak memory on the 1.46M-sample Human3.6M set).

    Returns:
      (N, 16, 3) float32 swapped poses.
    """
    rows = swap_rows(len(pose_3d), rng)
    out = np.empty_like(pose_3d, dtype=np.float32)
    for start in range(0, len(pose_3d), chunk):
        part = slice(start, start + chunk)
        out[part] = swap_bone_lengths(pose_3d[part], rows[part]).numpy()
    return out


def gan_epoch_dataset(
    pose_3d: np.ndarray,
    camera: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    swap: np.ndarray | None = None,
    target_2d: np.ndarray | None = None,
    target_unit_position: np.ndarray | None = None,
) -> tf.data.Dataset:
    """One epoch of GAN batches: generator input, the discriminators' real samples and the branch noise.

    As in the reference (docs/reference.md §1.11) the generator input, the D3d real batch and the D2d real batch
    are three independent shuffles of the same (bone-length-swapped) poses. The noise is drawn here, with a
    stateless seed per (seed, epoch, batch), so that it is split across replicas with its batch and a resumed
    epoch sees the same noise.

    Args:
      pose_3d: (N, 16, 3) absolute camera-frame poses of this epoch.
      camera: (N, 9) their normalised intrinsics.
      batch_size: global batch B (the last partial batch is dropped).
      seed, epoch: determine the shuffles and the noise.
      swap: optional (N,) bone-length template rows (`swap_rows`): each gathered pose gets its row's bone
        lengths, exactly as if `pose_3d` had been passed through `bone_length_swap` with the same draws.
      target_2d: optional (M, 16, 2) unlabeled target 2D: every batch gets B of them, drawn with replacement,
        as "target_2d" (the real samples of D2d with `d2d_real="target"` or `"mix"`).
      target_unit_position: optional (M, 3) unit position parameters of target frames (global position
        alignment, `alignment.align_placement`): the position part of "unit" and the augmentor's position anchor
        (noise[:, 3, :3], read through erf(n/√2) by `placement.anchored`) become those of random target frames,
        each drawn independently of the other.

    Returns:
      tf.data.Dataset of dicts: "pose_3d" (B, 16, 3), "camera" (B, 9), "real_3d" (B, 16, 3),
      "d2d_real_3d" (B, 16, 3), "d2d_real_camera" (B, 9), "noise" (B, 4, 48) standard normal and "unit"
      (B, 6) uniform in [−1, 1) (placements of the random arm and of `d2d_real="replaced"`), all float32; with
      `target_2d`, also "target_2d" (B, 16, 2).
    """
    n = len(pose_3d)
    num_batches = n // batch_size
    if num_batches == 0:
        raise ValueError(f"Expected at least `batch_size`={batch_size} GAN training samples; received {n}.")
    rng = np.random.default_rng([seed, epoch])
    perms = [rng.permutation(n)[: num_batches * batch_size].reshape(num_batches, batch_size) for _ in range(3)]
    target_arrays = {
        key: tf.constant(np.asarray(value, np.float32))
        for key, value in (("target_2d", target_2d), ("unit_position", target_unit_position))
        if value is not None
    }
    # Target rows: [target_2d, unit of the GAN input's placement, anchor of the augmentor] per batch (empty
    # without a target, so that a full Human3.6M epoch holds no unused index array).
    target_rows = np.zeros((num_batches, 3, batch_size if target_arrays else 0), np.int64)
    for key, value in target_arrays.items():
        # Each array draws its own rows (the two may hold different frames).
        rows_of = (0,) if key == "target_2d" else (1, 2)
        for i in rows_of:
            target_rows[:, i] = rng.integers(0, len(value), size=(num_batches, batch_size))
    arrays = {"pose_3d": np.asarray(pose_3d, np.float32), "camera": np.asarray(camera, np.float32)}
    if swap is not None:
        arrays["swap"] = np.asarray(swap, np.int8)

    def rows(idx):
        out = gather_rows(arrays, idx)
        if swap is not None:
            out["pose_3d"] = swap_bone_lengths(out["pose_3d"], out.pop("swap"))
        return out

    def assemble(gen_idx, d3d_idx, d2d_idx, target_idx, batch_index):
        noise_seed = tf.stack([tf.constant(seed, tf.int64) * 100003 + epoch, batch_index])
        gen, d3d, d2d = (rows(idx) for idx in (gen_idx, d3d_idx, d2d_idx))
        batch = {
            "pose_3d": gen["pose_3d"],
            "camera": gen["camera"],
            "real_3d": d3d["pose_3d"],
            "d2d_real_3d": d2d["pose_3d"],
            "d2d_real_camera": d2d["camera"],
            "noise": tf.random.stateless_normal([batch_size, *NOISE_SHAPE], seed=noise_seed),
            "unit": tf.random.stateless_uniform(
                [batch_size, NUM_UNIT_PARAMETERS],
                seed=noise_seed + tf.constant(_UNIT_STREAM, tf.int64),
                minval=-1.0,
                maxval=1.0,
            ),
        }
        if "target_2d" in target_arrays:
            batch["target_2d"] = tf.gather(target_arrays["target_2d"], target_idx[0])
        if "unit_position" in target_arrays:
            unit_position = target_arrays["unit_position"]
            batch["unit"] = tf.concat([batch["unit"][:, :3], tf.gather(unit_position, target_idx[1])], axis=-1)
            # The anchor n with erf(n / √2) = u (clipped off ±1, where erfinv is infinite).
            anchor = tf.clip_by_value(tf.gather(unit_position, target_idx[2]), -0.999999, 0.999999)
            noise = batch["noise"]
            t_noise = tf.concat([math.sqrt(2.0) * tf.math.erfinv(anchor), noise[:, 3, 3:]], axis=-1)
            batch["noise"] = tf.concat([noise[:, :3], t_noise[:, None]], axis=1)
        return batch

    ds = tf.data.Dataset.from_tensor_slices((*perms, target_rows, np.arange(num_batches, dtype=np.int64)))
    return ds.map(assemble, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def identity_pose_set(pose_set: PoseSet, *, chunk: int = 262144) -> PoseSet:
    """What an augmentor that changes nothing would give: each source pose with its own projection (Π(X), X).

    The control arm trains on this wherever the other arms use their augmented pairs (docs/reference.md §6.2
    step 3a), so that it runs exactly the PoseAug schedule with augmentation off. With ground-truth 2D these are
    the training pairs themselves; with detector 2D they are the noise-free projections the augmented buffer
    would hold. Sets without intrinsics keep their own 2D.

    Returns:
      A PoseSet sharing `pose_set`'s 3D array, with a new (N, 16, 2) float32 2D array.
    """
    if not pose_set.has_camera:
        return augmented_pose_set(pose_set.pose3d, pose_set.pose2d)
    pose_2d = np.empty(pose_set.pose2d.shape, np.float32)
    for start in range(0, len(pose_set), chunk):
        part = slice(start, start + chunk)
        pose_2d[part] = camera.project(pose_set.pose3d[part], pose_set.camera[part]).numpy()
    return augmented_pose_set(pose_set.pose3d, pose_2d)


def augmented_pose_set(pose_3d: np.ndarray, pose_2d: np.ndarray) -> PoseSet:
    """Wraps an epoch's buffer of valid augmented pairs as a PoseSet for the estimator's "fake" pass.

    The estimator pass reads only the 2D/3D pairs, so the camera is a zero-cost broadcast of zeros
    (`has_camera=False`) rather than another (N, 9) copy.
    """
    n = len(pose_3d)
    empty = np.zeros(n, dtype="<U1")
    return PoseSet(
        pose3d=pose_3d,
        pose2d=pose_2d,
        camera=np.broadcast_to(np.zeros(9, np.float32), (n, 9)),
        action=empty,
        subject=empty,
        name="poseaug_buffer",
        has_camera=False,
        sequence=np.zeros(n, np.int32),
    )
