"""Detector-noise model: definitions of the generic scheme, recovery of a known model by `fit`, sampling
statistics, determinism, and the missing-joint fill against a NumPy reference written separately."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.core import keypoint_noise as kn
from poseaug_tf.core import skeleton

J = skeleton.NUM_JOINTS
MIRROR = np.asarray(skeleton.FLIP_PERMUTATION)


def clean_poses(rng, n):
    """(n, 16, 2) upright stick figures of varied size and position (normalised units)."""
    base = np.array(
        [[0, 0], [-0.1, 0], [-0.1, 0.4], [-0.1, 0.8], [0.1, 0], [0.1, 0.4], [0.1, 0.8], [0, -0.25], [0, -0.5],
         [0, -0.75], [0.18, -0.5], [0.3, -0.25], [0.35, 0], [-0.18, -0.5], [-0.3, -0.25], [-0.35, 0]]
    )  # fmt: skip
    size = rng.uniform(0.3, 0.8, (n, 1, 1))
    shift = rng.uniform(-0.3, 0.3, (n, 1, 2))
    return base[None] * size + shift + rng.normal(0, 0.01, (n, J, 2))


def test_oks_radius_is_the_distance_of_that_oks():
    # OKS of a keypoint at distance d for an object of area A: exp(-d^2 / (2 A (2 sigma)^2)); A = s^2 / 2, s = 1.
    for k in (0.85, 0.5, 0.1):
        d = kn.oks_radius(k)
        oks = np.exp(-(d**2) / (2 * 0.5 * (2 * kn.COCO_SIGMAS) ** 2))
        np.testing.assert_allclose(oks, k, rtol=1e-12)


def test_generic_rates_and_radii_follow_posefix(rng):
    model = kn.generic()
    clean = np.repeat(clean_poses(rng, 1), 40000, axis=0).astype(np.float32)
    noisy = kn.sample(model, clean, tf.constant([3, 4])).numpy()
    s = kn.body_scale_np(clean[:1])[0]
    r = np.linalg.norm(noisy - clean, axis=-1) / s  # (N, 16)
    d85, d50, d10 = kn.oks_radius(0.85), kn.oks_radius(0.5), kn.oks_radius(0.1)
    to_mirror = np.linalg.norm(noisy - clean[:, MIRROR], axis=-1) / s
    elbow, thorax = 11, 8  # with and without a mirror partner
    inverted = (to_mirror[:, elbow] <= d50[elbow]) & (r[:, elbow] > d10[elbow])
    assert abs(inverted.mean() - kn.GENERIC_INVERSION) < 0.005
    for j in (elbow, thorax):
        # Outliers: radius in [d50, d10) around the truth (inversions land far from it on this figure).
        near = r[:, j] < d10[j] * 1.0001
        outlier = (r[:, j] >= d50[j]) & near
        assert abs(outlier.mean() - kn.GENERIC_OUTLIER) < 0.005
        jitter = (r[:, j] >= d85[j]) & (r[:, j] < d50[j])
        assert abs(jitter.mean() - kn.GENERIC_JITTER) < 0.006
        # Good: radius uniform on [0, d85): mean d85 / 2.
        good = r[:, j][r[:, j] < d85[j]]
        assert abs(good.mean() - d85[j] / 2) < 0.01 * d85[j]
    assert not np.isnan(noisy).any()


def test_fit_recovers_a_known_model(rng):
    n = 60000
    clean = clean_poses(rng, n)
    s = kn.body_scale_np(clean)
    bias = rng.normal(0, 0.01, (J, 2))
    cov_root = rng.normal(0, 0.006, (J, 2, 2)) + 0.012 * np.eye(2)
    error = bias + np.einsum("jab,njb->nja", cov_root, rng.normal(size=(n, J, 2)))
    detected = clean + error * s[:, None, None]
    # Outliers on joint 12 (LWrist), 8 % of frames, radius 0.3 s (nearer its own truth than RWrist); inversions
    # of joint 2 (RKnee) on 5 %.
    out = rng.random(n) < 0.08
    angle = rng.uniform(0, 2 * np.pi, n)
    detected[out, 12] = clean[out, 12] + 0.3 * s[out, None] * np.stack([np.cos(angle), np.sin(angle)], -1)[out]
    inv = rng.random(n) < 0.05
    detected[inv, 2] = clean[inv, MIRROR[2]]
    detected[rng.random(n) < 0.1, 5] = np.nan  # LKnee missed on 10 %
    model = kn.fit(detected, clean, source="test")
    assert model.kind == "fitted"
    assert abs(model.p_outlier[12] - 0.08) < 0.01
    assert abs(model.p_inversion[2] - 0.05) < 0.01
    assert abs(model.p_missing[5] - 0.1) < 0.01
    assert model.p_missing[0] == 0
    others = [j for j in range(J) if j not in (2, 12)]
    np.testing.assert_allclose(model.bias[others], bias[others], atol=2e-3)
    cov = np.einsum("jab,jcb->jac", cov_root, cov_root)
    fitted_cov = np.einsum("jab,jcb->jac", model.chol, model.chol)
    np.testing.assert_allclose(fitted_cov[others], cov[others], atol=2e-4, rtol=0.1)
    np.testing.assert_allclose(model.outlier_radius[12, 5], 0.3, rtol=0.1)  # median outlier radius


def test_sampling_a_fitted_model_reproduces_it(rng):
    clean = clean_poses(rng, 40000)
    model = kn.fit(clean + rng.normal(0, 0.01, clean.shape), clean).replace(
        p_outlier=np.full(J, 0.1), p_inversion=np.where(MIRROR != np.arange(J), 0.04, 0.0)
    )
    noisy = kn.sample(model, clean.astype(np.float32), tf.constant([1, 2])).numpy()
    refit = kn.fit(noisy, clean)
    # An outlier of a leg joint may land nearer its mirror partner (the hips are close) and count as an inversion;
    # the arms' partners are far apart.
    large = model.p_outlier + model.p_inversion
    np.testing.assert_allclose(refit.p_outlier + refit.p_inversion, large, atol=0.015)
    arms = list(range(10, 16))
    np.testing.assert_allclose(refit.p_inversion[arms], model.p_inversion[arms], atol=0.01)
    far = [0, 7, 8, 9, *arms]  # the hips' inversions land within the small-error radius of each other
    np.testing.assert_allclose(refit.bias[far], model.bias[far], atol=1e-3)


def test_sampling_is_stateless_and_missing_joints_are_nan(rng):
    model = kn.generic(missing_rate=0.3)
    clean = clean_poses(rng, 5000).astype(np.float32)
    a = kn.sample(model, clean, tf.constant([7, 1])).numpy()
    b = kn.sample(model, clean, tf.constant([7, 1])).numpy()
    c = kn.sample(model, clean, tf.constant([7, 2])).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.nan_to_num(a), np.nan_to_num(c))
    missing = np.isnan(a).any(-1)
    assert np.isnan(a).all(-1)[missing].all()  # both coordinates
    assert abs(missing.mean() - 0.3) < 0.01
    none = kn.sample(
        model.replace(scale=0.0, p_missing=np.zeros(J), p_inversion=np.zeros(J)), clean, tf.constant([7, 1])
    )
    np.testing.assert_allclose(none.numpy(), clean, atol=1e-6)


def test_fraction_keeps_the_other_poses_clean_and_the_chosen_ones_as_before(rng):
    model = kn.generic(missing_rate=0.1)
    clean = clean_poses(rng, 4000).astype(np.float32)
    seed = tf.constant([3, 9])
    full = kn.sample(model, clean, seed).numpy()
    half = kn.sample(model.replace(fraction=0.3), clean, seed).numpy()
    missing = np.isnan(full).any(-1)
    np.testing.assert_array_equal(np.isnan(half).any(-1), missing)  # misses apply to every pose
    moved = np.abs(np.nan_to_num(full - clean)).max(-1) > 0
    untouched = ~np.any(np.where(missing, False, np.abs(half - clean).max(-1) > 0), axis=1)
    chosen = ~untouched & moved.any(1)
    assert abs(chosen.mean() - 0.3) < 0.03  # the share of poses with detector errors
    keep = ~missing
    np.testing.assert_array_equal(half[chosen][keep[chosen]], full[chosen][keep[chosen]])  # same draws as fraction 1
    np.testing.assert_array_equal(half[untouched][keep[untouched]], clean[untouched][keep[untouched]])
    with pytest.raises(ValueError, match="fraction"):
        model.replace(fraction=1.5)


def _fill_reference(pose):
    """NumPy reference: walk up the parents to the first present joint; a missing root takes the mean of the
    present joints (zeros when none is present)."""
    out = pose.copy()
    for n in range(len(pose)):
        missing = ~np.isfinite(pose[n]).all(-1) | (np.abs(np.nan_to_num(pose[n], posinf=2e6)) >= 1e6).any(-1)
        present = pose[n][~missing]
        centroid = present.mean(0) if len(present) else np.zeros(2)
        for j in range(J):
            if not missing[j]:
                continue
            k = j
            while k >= 0 and missing[k]:
                k = skeleton.PARENTS[k]
            out[n, j] = centroid if k < 0 else pose[n, k]
    return out


def test_fill_missing_matches_the_reference(rng):
    pose = clean_poses(rng, 300).astype(np.float32)
    mask = rng.random((300, J)) < 0.3
    mask[0] = True  # every joint missing
    mask[1, 0] = True  # the root
    pose[mask] = np.nan
    pose[2, 5] = [np.inf, 0.0]
    pose[3, 6] = [1e7, 0.0]  # beyond MISSING_BOUND
    filled = kn.fill_missing(pose).numpy()
    np.testing.assert_allclose(filled, _fill_reference(pose), rtol=1e-6, atol=1e-7)
    present = np.isfinite(pose).all(-1) & (np.abs(np.nan_to_num(pose)) < 1e6).all(-1)
    np.testing.assert_array_equal(filled[present], pose[present])  # bit for bit
    np.testing.assert_array_equal(filled[0], np.zeros((J, 2)))


def test_json_round_trip_and_validation():
    model = kn.generic(scale=0.5)
    again = kn.KeypointNoise.from_json(model.to_json())
    np.testing.assert_allclose(again.small_radius, model.small_radius, atol=1e-6)
    assert again.scale == 0.5 and again.kind == "generic"
    with pytest.raises(ValueError, match="unknown fields"):
        kn.KeypointNoise.from_json({**model.to_json(), "typo": 1})
    with pytest.raises(ValueError, match="p_outlier"):
        model.replace(p_outlier=np.zeros(3))
    with pytest.raises(ValueError, match="sum to"):
        model.replace(p_outlier=np.full(J, 0.99))
    with pytest.raises(ValueError, match="scale"):
        model.replace(scale=math.inf)
    with pytest.raises(ValueError, match="at least 100"):
        kn.fit(np.zeros((5, J, 2)), np.zeros((5, J, 2)))
