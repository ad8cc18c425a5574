"""Tests for poseaug_tf.data.pipeline: the bone-length swap (docs/reference.md §1.10) and the GAN epoch feed
(§1.11). Bone geometry is recomputed here in NumPy from the parent table of §1.2 / bone order of §1.3."""

from __future__ import annotations

import math

import numpy as np
import pytest

from poseaug_tf.core import skeleton
from poseaug_tf.data.pipeline import (
    augmented_pose_set,
    gan_epoch_dataset,
    identity_pose_set,
    swap_bone_lengths,
    swap_rows,
)
from poseaug_tf.data.synthetic import make_synthetic
from tests import numpy_reference as ref


def bone_length_swap(pose_3d: np.ndarray, rng: np.random.Generator, *, chunk: int = 262144) -> np.ndarray:
    """The reference's `random_bl_aug` (docs/reference.md §1.10): every bone length replaced by one of the five
    training subjects' lengths, drawn per sample; bone directions and the absolute root are kept.

    The library swaps each batch as it is gathered (`gan_epoch_dataset` with `swap_rows`); this whole-set version
    is what it must equal.

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


PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14])
# Bone k = x[parent] − x[child] with child k + 1 (docs/reference.md §1.3).
BONE_CHILD = np.arange(1, 16)
BONE_PARENT = PARENTS[BONE_CHILD]
# docs/reference.md §1.10 table (row 0 and row 4, bones 0, 1, 2, 6, 7, 8, 9, 10, 11), to 1e-5.
TABLE_COLUMNS = [0, 1, 2, 6, 7, 8, 9, 10, 11]
TABLE = {
    0: [0.13295, 0.44289, 0.45421, 0.23347, 0.25708, 0.18188, 0.15103, 0.27888, 0.25173],
    4: [0.14654, 0.45215, 0.43863, 0.26122, 0.25102, 0.21280, 0.16932, 0.28991, 0.24418],
}


def np_bones(pose):
    pose = np.asarray(pose, np.float64)
    return pose[:, BONE_PARENT] - pose[:, BONE_CHILD]


def np_lengths(pose):
    return np.linalg.norm(np_bones(pose), axis=-1)


def np_unit_bones(pose):
    bones = np_bones(pose)
    return bones / np.linalg.norm(bones, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def source():
    return make_synthetic("source", 64, seed=0)


def template_rows(pose) -> np.ndarray:
    """Index of the template row each pose's 15 bone lengths equal (−1 when none or several match)."""
    templates = skeleton.BONE_LENGTH_TEMPLATES.astype(np.float64)
    match = np.all(np.abs(np_lengths(pose)[:, None, :] - templates[None]) < 2e-5, axis=-1)  # (N, 5)
    return np.where(match.sum(axis=1) == 1, match.argmax(axis=1), -1)


def test_templates_match_reference_table():
    for row, values in TABLE.items():
        np.testing.assert_allclose(skeleton.BONE_LENGTH_TEMPLATES[row, TABLE_COLUMNS], values, atol=1e-5)


def test_bone_length_swap_lengths_directions_root(source):
    pose = source.pose3d
    out = bone_length_swap(pose, np.random.default_rng(1))
    assert out.shape == pose.shape and out.dtype == np.float32
    rows = template_rows(out)
    assert (rows >= 0).all(), "every swapped pose must carry exactly one template row's lengths"
    np.testing.assert_allclose(np_lengths(out), skeleton.BONE_LENGTH_TEMPLATES[rows], atol=2e-5)
    # Directions unchanged, absolute root unchanged.
    np.testing.assert_allclose(np_unit_bones(out), np_unit_bones(pose), atol=1e-5)
    np.testing.assert_array_equal(out[:, 0], pose[:, 0])
    # Independent reconstruction: H⁻¹ of (unit bone × template length) walking the parent chain, plus root.
    bones = np_unit_bones(pose) * skeleton.BONE_LENGTH_TEMPLATES[rows][..., None]
    expected = np.zeros_like(bones[:, :1].repeat(16, axis=1))
    for j in range(1, 16):
        expected[:, j] = expected[:, PARENTS[j]] - bones[:, j - 1]
    np.testing.assert_allclose(out, expected + pose[:, :1], atol=2e-6)


def test_bone_length_swap_chunking_and_seed(source):
    pose = source.pose3d
    whole = bone_length_swap(pose, np.random.default_rng(7), chunk=len(pose))
    chunked = bone_length_swap(pose, np.random.default_rng(7), chunk=9)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)
    other = bone_length_swap(pose, np.random.default_rng(8))
    assert not np.array_equal(template_rows(other), template_rows(whole))


def test_bone_length_swap_rows_uniform(source):
    pose = np.tile(source.pose3d, (40, 1, 1))  # 2560 samples
    rows = template_rows(bone_length_swap(pose, np.random.default_rng(3)))
    counts = np.bincount(rows, minlength=5)
    expected = len(pose) / 5
    assert counts.sum() == len(pose)
    # Binomial sd ≈ 20; ±100 is 5 sigma.
    assert np.all(np.abs(counts - expected) < 100), counts


def labelled(n):
    """Poses and cameras whose first entries carry the sample id (so the rows can be traced)."""
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(n, 16, 3)).astype(np.float32)
    pose[:, 0, 0] = np.arange(n)
    cam = rng.normal(size=(n, 9)).astype(np.float32)
    cam[:, 0] = np.arange(n) + 1000
    return pose, cam


def collect(ds):
    batches = list(ds.as_numpy_iterator())
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}, batches


def test_gan_epoch_dataset_permutations_and_pairing():
    n, batch = 70, 16
    pose, cam = labelled(n)
    epoch, batches = collect(gan_epoch_dataset(pose, cam, batch_size=batch, seed=3, epoch=2))
    assert len(batches) == n // batch
    assert all(b["pose_3d"].shape == (batch, 16, 3) and b["noise"].shape == (batch, 4, 48) for b in batches)
    orders = {}
    for key, cam_key in (("pose_3d", "camera"), ("real_3d", None), ("d2d_real_3d", "d2d_real_camera")):
        ids = epoch[key][:, 0, 0].astype(int)
        # Each row is an input row, every sample at most once, 64 of the 70 used.
        np.testing.assert_array_equal(epoch[key], pose[ids])
        assert len(set(ids.tolist())) == (n // batch) * batch
        if cam_key:
            np.testing.assert_array_equal(epoch[cam_key], cam[ids])
        orders[key] = ids
    assert epoch["d2d_real_3d"].shape == (64, 16, 3)
    # Three independent shuffles, not one permutation reused (nor the identity).
    assert not np.array_equal(orders["pose_3d"], orders["real_3d"])
    assert not np.array_equal(orders["pose_3d"], orders["d2d_real_3d"])
    assert not np.array_equal(orders["real_3d"], orders["d2d_real_3d"])
    assert not np.array_equal(orders["pose_3d"], np.arange(64))


def test_gan_epoch_dataset_determinism_and_noise():
    pose, cam = labelled(300)
    make = lambda seed, epoch: collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=seed, epoch=epoch))[0]
    a, b, c, d = make(1, 4), make(1, 4), make(1, 5), make(2, 4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    for other in (c, d):
        assert not np.array_equal(a["pose_3d"], other["pose_3d"])
        assert not np.allclose(a["noise"], other["noise"])
    noise = a["noise"].astype(np.float64)
    assert np.isfinite(noise).all()
    # 4 batches × 64 × 4 × 48 = 49152 draws: N(0, 1) mean ± 0.02, std 1 ± 0.02, ~2.3 % beyond |2|.
    assert abs(noise.mean()) < 0.02 and abs(noise.std() - 1.0) < 0.02
    assert abs(np.mean(np.abs(noise) > 2.0) - 0.0455) < 0.005
    # Different batches and branches carry different noise.
    assert not np.allclose(noise[:64], noise[64:128])
    assert np.abs(np.corrcoef(noise[:, 0].ravel(), noise[:, 1].ravel())[0, 1]) < 0.05
    # The placement draws: uniform on [−1, 1) (mean 0, variance 1/3), independent of the normal noise.
    unit = a["unit"].astype(np.float64)
    assert unit.shape == (256, 6) and unit.min() >= -1.0 and unit.max() < 1.0
    assert abs(unit.mean()) < 0.03 and abs(unit.var() - 1 / 3) < 0.02
    assert np.abs(np.corrcoef(unit[:, 0], noise[:, 0, 0])[0, 1]) < 0.15
    next_epoch = make(1, 5)
    assert np.abs(np.corrcoef(unit[64:, 0], next_epoch["noise"][:192, 0, 0])[0, 1]) < 0.15


def test_gan_epoch_dataset_too_small_raises():
    pose, cam = labelled(10)
    with pytest.raises(ValueError, match="batch_size"):
        gan_epoch_dataset(pose, cam, batch_size=16, seed=0, epoch=1)


def test_augmented_pose_set_wraps_arrays(source):
    ps = augmented_pose_set(source.pose3d, source.pose2d)
    assert len(ps) == len(source)
    np.testing.assert_array_equal(ps.pose3d, source.pose3d)
    np.testing.assert_array_equal(ps.pose2d, source.pose2d)
    assert np.shares_memory(ps.pose3d, source.pose3d)  # a view of the buffer, not a copy
    assert ps.camera.shape == (len(source), 9) and not ps.camera.any() and ps.camera.strides == (0, 4)
    assert ps.name == "poseaug_buffer" and not ps.root_relative and not ps.has_camera


def test_gan_epoch_dataset_swaps_as_gathered_like_the_whole_set_swap(source):
    # The loop swaps bone lengths per gathered batch; it must equal swapping the whole set with the same draws.
    pose, cam = source.pose3d[:200], source.camera[:200]
    swapped = bone_length_swap(pose, np.random.default_rng(5))
    rows = swap_rows(len(pose), np.random.default_rng(5))
    on_the_fly, _ = collect(gan_epoch_dataset(pose, cam, batch_size=32, seed=1, epoch=3, swap=rows))
    upfront, _ = collect(gan_epoch_dataset(swapped, cam, batch_size=32, seed=1, epoch=3))
    for key in ("pose_3d", "real_3d", "d2d_real_3d", "camera", "noise"):
        np.testing.assert_allclose(on_the_fly[key], upfront[key], atol=1e-6, err_msg=key)
    assert not np.allclose(
        on_the_fly["pose_3d"],
        collect(gan_epoch_dataset(pose, cam, batch_size=32, seed=1, epoch=3))[0]["pose_3d"],
        atol=1e-3,
    )  # the swap did change lengths


def test_identity_pose_set_is_the_projection_of_the_source(source):
    ident = identity_pose_set(source, chunk=20)  # several chunks
    expected = np.stack([ref.project_h36m(p, k) for p, k in zip(source.pose3d.astype(np.float64), source.camera)])
    np.testing.assert_allclose(ident.pose2d, expected, atol=1e-5)
    assert ident.pose3d is source.pose3d and len(ident) == len(source)
    # Without intrinsics there is nothing to project with: the set's own 2D is kept.
    bare = augmented_pose_set(source.pose3d, source.pose2d + 0.5)
    np.testing.assert_array_equal(identity_pose_set(bare).pose2d, source.pose2d + 0.5)


def test_target_rows_placements_and_anchors():
    pose, cam = labelled(300)
    rng = np.random.default_rng(5)
    target_2d = rng.normal(size=(50, 16, 2)).astype(np.float32)
    target_2d[:, 0, 0] = np.arange(50)  # traceable rows
    unit_position = rng.uniform(-1, 1, size=(40, 3)).astype(np.float32)
    plain = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=1, epoch=4))[0]
    aligned = collect(
        gan_epoch_dataset(
            pose, cam, batch_size=64, seed=1, epoch=4, target_2d=target_2d, target_unit_position=unit_position
        )
    )[0]
    # The source side of every batch is unchanged by the target.
    for key in ("pose_3d", "camera", "real_3d", "d2d_real_3d"):
        np.testing.assert_array_equal(plain[key], aligned[key])
    np.testing.assert_array_equal(plain["unit"][:, :3], aligned["unit"][:, :3])
    np.testing.assert_array_equal(plain["noise"][:, :3], aligned["noise"][:, :3])
    np.testing.assert_array_equal(plain["noise"][:, 3, 3:], aligned["noise"][:, 3, 3:])
    # D2d's target rows: whole target frames, drawn with replacement across the target.
    ids = aligned["target_2d"][:, 0, 0].astype(int)
    np.testing.assert_array_equal(aligned["target_2d"], target_2d[ids])
    assert len(set(ids.tolist())) > 40
    # Positions of the placements: target frames' unit parameters; the anchor n has erf(n / √2) = u of another
    # draw of target frames.
    position = aligned["unit"][:, 3:]
    matches = np.all(np.isclose(position[:, None], unit_position[None]), axis=-1)
    assert matches.any(axis=1).all()
    anchor = np.vectorize(math.erf)(aligned["noise"][:, 3, :3].astype(np.float64) / math.sqrt(2.0))
    anchor_rows = np.all(np.abs(anchor[:, None] - unit_position[None]) < 1e-4, axis=-1)
    assert anchor_rows.any(axis=1).all()
    assert not np.array_equal(anchor_rows.argmax(1), matches.argmax(1))  # independent draws


def test_limb_swap_takes_the_next_poses_limbs_at_the_drawn_rate(source):
    pose, cam = source.pose3d[:256], source.camera[:256]
    plain = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=1, epoch=3))[0]
    crossed, batches = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=1, epoch=3, limb_swap=0.5))
    again = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=1, epoch=3, limb_swap=0.5))[0]
    np.testing.assert_array_equal(crossed["pose_3d"], again["pose_3d"])  # seeded: a resumed epoch sees the same
    for key in ("real_3d", "d2d_real_3d", "camera", "noise", "unit"):  # only the generator input changes
        np.testing.assert_array_equal(crossed[key], plain[key], err_msg=key)
    # Each batch's donors are its own generator inputs shifted by one; the swapped limbs are recovered by
    # comparing with the NumPy crossover of every limb.
    swapped = []
    for batch in range(len(batches)):
        rows = slice(64 * batch, 64 * (batch + 1))
        recipient = plain["pose_3d"][rows]
        donor = np.roll(recipient, 1, axis=0)
        all_limbs = ref.swap_limbs(recipient, donor, np.ones((64, 4), bool))
        for chain, _ in ref.LIMB_CHAINS:
            got = crossed["pose_3d"][rows][:, chain[1:]]
            is_swapped = np.abs(got - all_limbs[:, chain[1:]]).max(axis=(1, 2)) < 1e-4
            is_kept = np.abs(got - recipient[:, chain[1:]]).max(axis=(1, 2)) < 1e-6
            assert np.all(is_swapped | is_kept)
            swapped.append(is_swapped & ~is_kept)
    assert 0.38 < np.mean(np.concatenate(swapped)) < 0.62  # ≥ 768 draws at p = 0.5


def test_body_scale_scales_every_gathered_pose_about_its_feet(source):
    pose, cam = source.pose3d[:256], source.camera[:256]
    plain = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1))[0]
    scaled = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1, body_scale=0.1))[0]
    again = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1, body_scale=0.1))[0]
    factors = {}
    for key in ("pose_3d", "real_3d", "d2d_real_3d"):
        np.testing.assert_array_equal(scaled[key], again[key])
        feet = lambda p: p[:, [3, 6]].mean(axis=1)
        np.testing.assert_allclose(feet(scaled[key]), feet(plain[key]), atol=1e-6)  # the feet stay
        rel, rel_plain = scaled[key] - scaled[key][:, :1], plain[key] - plain[key][:, :1]
        # One factor per pose: every bone length scaled alike.
        ratio = np.linalg.norm(np_bones(rel), axis=-1) / np.linalg.norm(np_bones(rel_plain), axis=-1)
        np.testing.assert_allclose(ratio, ratio[:, :1].repeat(15, axis=1), rtol=1e-4)
        factors[key] = ratio[:, 0]
        assert 0.9 - 1e-5 <= ratio.min() and ratio.max() <= 1.1 + 1e-5
        assert abs(ratio.mean() - 1.0) < 0.01 and ratio.std() > 0.04  # uniform on [0.9, 1.1]: std 0.058
    assert abs(np.corrcoef(factors["pose_3d"], factors["real_3d"])[0, 1]) < 0.2  # independent draws
    for key in ("camera", "noise", "unit"):
        np.testing.assert_array_equal(scaled[key], plain[key], err_msg=key)


def np_mirror(pose):
    """Written apart from geometry.flip_pose: right ↔ left by joint name, then x → −x."""
    names = list(skeleton.JOINT_NAMES)
    side = {"R": "L", "L": "R"}
    other = [names.index(side[n[0]] + n[1:]) if n[0] in side else i for i, n in enumerate(names)]
    out = pose[:, other].copy()
    out[..., 0] *= -1
    return out


def test_mirror_mirrors_each_gathered_pose_at_the_drawn_rate():
    many = make_synthetic("source", 512, seed=0)
    pose, cam = many.pose3d, many.camera
    plain = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1))[0]
    all_ = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1, mirror=1.0))[0]
    half = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1, mirror=0.5))[0]
    chosen = {}
    for key in ("pose_3d", "real_3d", "d2d_real_3d"):
        np.testing.assert_allclose(all_[key], np_mirror(plain[key]), atol=1e-6)
        is_mirrored = np.all(np.abs(half[key] - all_[key]) < 1e-6, axis=(1, 2))
        is_plain = np.all(np.abs(half[key] - plain[key]) < 1e-6, axis=(1, 2))
        assert np.all(is_mirrored ^ is_plain)
        assert 0.4 < is_mirrored.mean() < 0.6  # 512 draws at p = 0.5
        chosen[key] = is_mirrored
    assert abs(np.corrcoef(chosen["pose_3d"], chosen["real_3d"])[0, 1]) < 0.2  # independent draws
    for key in ("camera", "noise", "unit"):
        np.testing.assert_array_equal(half[key], plain[key], err_msg=key)


def test_proportions_scale_the_definition_bones_of_every_gathered_pose(source):
    pose, cam = source.pose3d[:256], source.camera[:256]
    plain = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1))[0]
    varied = collect(gan_epoch_dataset(pose, cam, batch_size=64, seed=2, epoch=1, proportions=0.5))[0]
    # Left/right pairs of the hip (bones 0, 3) and shoulder (9, 12) widths, Hip→Spine (6), Thorax→Head (8).
    groups = {"hips": (0, 3), "hip_spine": (6,), "neck": (8,), "shoulders": (9, 12)}
    for key in ("pose_3d", "real_3d", "d2d_real_3d"):
        np.testing.assert_allclose(varied[key][:, 0], plain[key][:, 0], atol=1e-6)
        ratio = np.linalg.norm(np_bones(varied[key]), axis=-1) / np.linalg.norm(np_bones(plain[key]), axis=-1)
        directions = lambda p: np_bones(p) / np.linalg.norm(np_bones(p), axis=-1, keepdims=True)
        np.testing.assert_allclose(directions(varied[key]), directions(plain[key]), atol=1e-4)
        others = [b for b in range(15) if b not in (0, 3, 6, 8, 9, 12)]
        np.testing.assert_allclose(ratio[:, others], 1.0, atol=1e-4)
        for bones in groups.values():
            np.testing.assert_allclose(ratio[:, bones], ratio[:, bones[:1]].repeat(len(bones), 1), rtol=1e-4)
            assert 0.5 - 1e-4 <= ratio[:, bones].min() and ratio[:, bones].max() <= 1.5 + 1e-4
            assert ratio[:, bones[0]].std() > 0.2  # uniform on [0.5, 1.5]: std 0.29
