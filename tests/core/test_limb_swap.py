"""Tests for poseaug_tf/core/limb_swap.py against tests/numpy_reference.py and invariants."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.core import geometry, limb_swap
from tests import numpy_reference as ref


@pytest.fixture
def pair(rng):
    return ref.random_pose(rng, 24).astype(np.float32), ref.random_pose(rng, 24).astype(np.float32)


def test_matches_numpy_reference(pair, rng):
    pose, donor = pair
    mask = rng.random((24, limb_swap.NUM_LIMBS)) < 0.5
    got = limb_swap.swap_limbs(pose, donor, mask).numpy()
    np.testing.assert_allclose(got, ref.swap_limbs(pose, donor, mask), atol=2e-5)


def test_keeps_bone_lengths_root_and_torso(pair, rng):
    pose, donor = pair
    mask = np.ones((24, limb_swap.NUM_LIMBS), bool)
    got = limb_swap.swap_limbs(pose, donor, mask).numpy()
    np.testing.assert_allclose(geometry.bone_lengths(got).numpy(), geometry.bone_lengths(pose).numpy(), rtol=1e-5)
    torso = [0, 1, 4, 7, 8, 9, 10, 13]
    np.testing.assert_allclose(got[:, torso], pose[:, torso], atol=1e-6)
    assert np.abs(got - pose).max() > 0.05  # the limbs did move


def test_no_mask_and_self_donor_are_identity(pair):
    pose, donor = pair
    none = np.zeros((24, limb_swap.NUM_LIMBS), bool)
    np.testing.assert_allclose(limb_swap.swap_limbs(pose, donor, none).numpy(), pose, atol=1e-6)
    every = np.ones_like(none)
    np.testing.assert_allclose(limb_swap.swap_limbs(pose, pose, every).numpy(), pose, atol=2e-5)


def test_donor_orientation_does_not_matter(pair, rng):
    """Limbs travel in part frames: a rotated and moved donor gives the same result."""
    pose, donor = pair
    rotation = ref.random_rotation(rng)
    moved = donor @ rotation.T.astype(np.float32) + np.float32([0.3, -0.2, 1.0])
    every = np.ones((24, limb_swap.NUM_LIMBS), bool)
    np.testing.assert_allclose(
        limb_swap.swap_limbs(pose, moved, every).numpy(), limb_swap.swap_limbs(pose, donor, every).numpy(), atol=3e-5
    )


def test_limb_of_a_recipient_turned_like_the_donor_is_the_donors(pair):
    """If the recipient's torso is the donor's, turned, the swapped limb is the donor's limb, turned the same way."""
    _, donor = pair
    angle = 0.7
    turn = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]], np.float32)
    recipient = donor @ turn.T
    recipient[:, 11:13] = recipient[:, 10:11]  # fold the left arm onto the shoulder...
    recipient[:, 11] += np.float32([0.0, 0.28, 0.0])
    recipient[:, 12] = recipient[:, 11] + np.float32([0.0, 0.25, 0.0])  # ... hanging straight down
    mask = np.zeros((24, limb_swap.NUM_LIMBS), bool)
    mask[:, limb_swap.LIMBS.index("left_arm")] = True
    got = limb_swap.swap_limbs(recipient, donor, mask).numpy()
    expected_dirs = geometry.unit_bones(donor @ turn.T).numpy()[:, 10:12]
    np.testing.assert_allclose(geometry.unit_bones(got).numpy()[:, 10:12], expected_dirs, atol=2e-5)
