"""The tf.data pipelines: the estimator's shuffled training and ordered evaluation batches over a `PoseSet`, and
the PoseAug GAN pass's per-epoch feed (`gan_epoch_dataset`, with the random bone-length swap).

Both pipelines move only indices through tf.data and read the rows of a batch straight from the PoseSet's NumPy
arrays (`gather_rows`): the training pipeline permutes the sample indices once per epoch, cuts the permutation into
batches and gathers each batch with one vectorised NumPy `take`. Batch elements instead of per-sample elements
(from_tensor_slices → shuffle → batch) make tf.data do ~1000× less bookkeeping, so the pipeline delivers millions
of samples per second, far more than an estimator step consumes (bench/bench_pipeline.py).

The arrays are never converted to whole tensors: `tf.convert_to_tensor` of a NumPy array copies it, and TF's
allocator keeps that memory, so every pipeline over the 470 MB Human3.6M training set used to add ~0.5–1 GB of
resident memory (bench/bench_full_epoch.py).

Batch keys, shared by both: "pose_3d" (B, 16, 3) camera-frame metres, "pose_2d" (B, 16, 2) normalised screen
coordinates, "camera" (B, 9) normalised intrinsics; the GAN feed adds its discriminators' real samples and noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from poseaug_tf.core import camera, geometry, skeleton
from poseaug_tf.core import limb_swap as limb_swap_lib
from poseaug_tf.core.placement import NUM_UNIT_PARAMETERS
from poseaug_tf.data.pose_set import PoseSet

_FIELDS = {"pose_3d": "pose3d", "pose_2d": "pose2d", "camera": "camera"}


def _check(pose_set: PoseSet, batch_size: int) -> None:
    if not isinstance(pose_set, PoseSet):
        raise ValueError(f"Expected `pose_set` to be a PoseSet; received {type(pose_set).__name__}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive integer; received {batch_size!r}.")
    if len(pose_set) == 0:
        raise ValueError(f"PoseSet `{pose_set.name}` is empty; cannot build a dataset.")


def gather_rows(arrays: Mapping[str, np.ndarray], indices: tf.Tensor) -> dict[str, tf.Tensor]:
    """Rows `indices` of host arrays as tensors, without copying the arrays into TensorFlow.

    Args:
      arrays: name → (N, ...) NumPy arrays of equal length.
      indices: (b,) int64 row indices (a tf.data element, or any tensor).

    Returns:
      name → (b, ...) tensors of the arrays' dtypes, with static trailing shapes.
    """
    names = list(arrays)

    def take(idx):
        return [np.take(arrays[name], idx, axis=0) for name in names]

    rows = tf.numpy_function(take, [indices], [tf.as_dtype(arrays[n].dtype) for n in names], stateful=False)
    out = {}
    for name, value in zip(names, rows):
        value.set_shape([indices.shape[0], *arrays[name].shape[1:]])
        out[name] = value
    return out


def _arrays(pose_set: PoseSet) -> dict[str, np.ndarray]:
    return {key: pose_set[field] for key, field in _FIELDS.items()}


def train_dataset(pose_set: PoseSet, *, batch_size: int, seed: int, drop_remainder: bool = True) -> tf.data.Dataset:
    """Shuffled training batches; one pass over the dataset is one epoch.

    Each iteration over the returned dataset (each epoch) draws a new uniform permutation of all N samples;
    the sequence of permutations is fixed by `seed`, so two datasets built with the same seed yield the same
    batches epoch after epoch. The permutation is one `stateless_shuffle` of N indices per epoch (12 MB for
    Human3.6M's 1.46M training samples) instead of a per-element shuffle buffer, which is ~8× faster.

    Args:
      pose_set: training samples.
      batch_size: B.
      seed: shuffle seed.
      drop_remainder: drop the last partial batch (keeps a static batch shape, so a tf.function traces once).

    Returns:
      tf.data.Dataset of dicts {"pose_3d": (B, 16, 3), "pose_2d": (B, 16, 2), "camera": (B, 9)} float32.

    Raises:
      ValueError: not a PoseSet, empty, invalid batch_size or not enough samples for one full batch.
    """
    _check(pose_set, batch_size)
    n = len(pose_set)
    if drop_remainder and n < batch_size:
        raise ValueError(
            f"PoseSet `{pose_set.name}` has {n} samples, fewer than `batch_size` {batch_size}, "
            "and drop_remainder=True would yield no batch."
        )
    arrays = _arrays(pose_set)
    num_full = n // batch_size

    def epoch_batches(epoch_seed: tf.Tensor) -> tf.data.Dataset:
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([epoch_seed, tf.constant(0, tf.int64)])
        )
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(perm[: num_full * batch_size], [num_full, batch_size]))
        if not drop_remainder and n % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(perm[num_full * batch_size :]))
        return batches

    # Dataset.random(seed, rerandomize_each_iteration=True) gives one new, seed-determined value per epoch.
    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return (
        epoch_seeds.flat_map(epoch_batches)
        .map(lambda idx: gather_rows(arrays, idx), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def eval_dataset(pose_set: PoseSet, *, batch_size: int) -> tf.data.Dataset:
    """Evaluation batches in PoseSet order (no shuffle, last batch partial), so batch i covers samples
    [i·B, (i+1)·B) and labels can be taken from `pose_set.action` in the same order.

    Args:
      pose_set: evaluation samples.
      batch_size: B.

    Returns:
      tf.data.Dataset of dicts {"pose_3d": (b, 16, 3), "pose_2d": (b, 16, 2), "camera": (b, 9)}, b ≤ B.
    """
    _check(pose_set, batch_size)
    arrays = _arrays(pose_set)
    n = len(pose_set)

    def take(start):
        return gather_rows(arrays, tf.range(start, tf.minimum(start + batch_size, n)))

    return (
        tf.data.Dataset.range(0, n, batch_size)
        .map(take, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


# --- the PoseAug GAN pass's feed ------------------------------------------------------------------------------

NOISE_SHAPE = (4, 48)  # one 48-d draw for each of the BA, BL, R and T branches
# The uniform placement draws of a batch use the noise seed with this offset on its batch counter, a stream no
# (seed, epoch, batch) of the noise ever reaches. (A Python value: a TF constant at import would start TensorFlow's
# runtime before a multi-worker strategy can configure it.)
_UNIT_STREAM = (0, 1 << 40)
_LIMB_STREAM = (0, 2 << 40)  # the limb crossover's draws, likewise apart
_SCALE_STREAM = (0, 3 << 40)  # the body-scale draws, likewise apart
_PROPORTION_STREAM = (0, 4 << 40)  # the proportion draws, likewise apart
_MIRROR_STREAM = (0, 5 << 40)  # the mirror draws, likewise apart
# BL ratio groups (skeleton.BL_RATIO_MAP) whose length depends on where a lab puts the joint rather than on the
# person: hip width, Hip→Spine, Thorax→Head, shoulder width.
DEFINITION_GROUPS = (0, 3, 5, 6)


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


def scale_bone_groups(pose_3d, factors, groups) -> tf.Tensor:
    """Multiplies the length of the bones of some BL ratio groups; directions and the absolute root are kept.

    Args:
      pose_3d: (B, 16, 3) absolute camera-frame metres.
      factors: (B, G) length factor of each group.
      groups: G indices into the BL ratio groups (skeleton.BL_RATIO_MAP: left and right bones share a group).

    Returns:
      (B, 16, 3) float32.
    """
    pose_3d = tf.convert_to_tensor(pose_3d, tf.float32)
    table = np.equal(np.asarray(groups)[:, None], skeleton.BL_RATIO_MAP).astype(np.float32)  # (G, 15): group's bones
    per_bone = 1.0 + tf.linalg.matmul(tf.convert_to_tensor(factors, tf.float32) - 1.0, tf.constant(table))
    return geometry.pose_from_bones(geometry.bones_from_pose(pose_3d) * per_bone[..., None]) + pose_3d[:, :1]


def scale_about_feet(pose_3d, factor) -> tf.Tensor:
    """Scales (B, 16, 3) poses by (B, 1, 1) factors about the midpoint of their feet, which stays put."""
    feet = tf.reduce_mean(tf.gather(pose_3d, skeleton.FEET, axis=1), axis=1, keepdims=True)
    return feet + factor * (pose_3d - feet)


def _part_draws(noise_seed, stream, shape, half_width: float = 0.5, centre: float = 1.0) -> list[tf.Tensor]:
    """Three independent uniform draws in [centre − half_width, centre + half_width) of `shape`: the generator
    input's and both discriminators' real samples'."""
    draws = tf.random.stateless_uniform(
        [3, *shape],
        seed=noise_seed + tf.constant(stream, tf.int64),
        minval=centre - half_width,
        maxval=centre + half_width,
    )
    return tf.unstack(draws)


def gan_epoch_dataset(
    pose_3d: np.ndarray,
    camera: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    swap: np.ndarray | None = None,
    limb_swap: float = 0.0,
    body_scale: float = 0.0,
    proportions: float = 0.0,
    mirror: float = 0.0,
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
        lengths, exactly as if every pose of `pose_3d` had been swapped beforehand (the reference's `random_bl_aug`).
      limb_swap: probability that each limb of a generator input takes its joint angles from the next pose of the
        batch (`limb_swap.swap_limbs`; a random other pose, the batch being a shuffle). The discriminators' real
        samples stay recorded poses. 0 draws nothing.
      body_scale: half-width a of a uniform body-size factor in [1 − a, 1 + a], drawn for every gathered pose
        (generator input and both discriminators' real samples alike, as with `swap`): the pose is scaled about
        the midpoint of its feet, which stays where it is (a smaller or larger person standing on the same spot:
        the feet stay on the floor, where the camera's height ties image position to depth). 0 draws nothing.
      proportions: half-width a of a uniform factor in [1 − a, 1 + a] on the length of each of the
        `DEFINITION_GROUPS` bones (left and right alike), drawn for every gathered pose like `body_scale`; the
        root stays. 0 draws nothing.
      mirror: probability that a gathered pose (generator input and both discriminators' real samples, each drawn
        apart) is mirrored about the camera's x = 0 plane with left and right swapped (`geometry.flip_pose`):
        the same person doing the mirrored motion, seen by the same camera on the other side of its axis.
        0 draws nothing.
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

        # DEVIATION(docs/reference.md §6.2) when proportions, body_scale, mirror or limb_swap > 0: the reference's GAN
        # poses are the bone-length-swapped training poses only.
        parts = (gen, d3d, d2d)
        if proportions > 0.0:
            factors = _part_draws(noise_seed, _PROPORTION_STREAM, [batch_size, len(DEFINITION_GROUPS)], proportions)
            for part, factor in zip(parts, factors):
                part["pose_3d"] = scale_bone_groups(part["pose_3d"], factor, DEFINITION_GROUPS)
        if body_scale > 0.0:
            factors = _part_draws(noise_seed, _SCALE_STREAM, [batch_size, 1, 1], body_scale)
            for part, factor in zip(parts, factors):
                part["pose_3d"] = scale_about_feet(part["pose_3d"], factor)
        if mirror > 0.0:
            draws = _part_draws(noise_seed, _MIRROR_STREAM, [batch_size], centre=0.5)  # uniform in [0, 1)
            for part, draw in zip(parts, draws):
                mirrored = geometry.flip_pose(part["pose_3d"], mirror_axis=0)
                part["pose_3d"] = tf.where((draw < mirror)[:, None, None], mirrored, part["pose_3d"])
        if limb_swap > 0.0:
            draws = tf.random.stateless_uniform(
                [batch_size, limb_swap_lib.NUM_LIMBS], seed=noise_seed + tf.constant(_LIMB_STREAM, tf.int64)
            )
            donors = tf.roll(gen["pose_3d"], shift=1, axis=0)
            gen["pose_3d"] = limb_swap_lib.swap_limbs(gen["pose_3d"], donors, draws < limb_swap)
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
