"""Batched pose geometry in TensorFlow: root centring, bones (H and H⁻¹), KCS matrices and rotations.

All functions are pure, float32-friendly, accept NumPy arrays or tensors with any leading batch dimensions and
work inside `tf.function`. Bone conventions are those of `poseaug_tf.core.skeleton` (bone = parent − child).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from poseaug_tf.core import shapes, skeleton


def _bone_matrix() -> np.ndarray:
    """(16, 15) matrix H with bones = Hᵀ-contraction of joints: b_k = x[parent_k] − x[child_k]."""
    h = np.zeros((skeleton.NUM_JOINTS, skeleton.NUM_BONES), np.float32)
    for k, (parent, child) in enumerate(zip(skeleton.BONE_PARENTS, skeleton.BONE_CHILDREN)):
        h[parent, k] = 1.0
        h[child, k] = -1.0
    return h


def _inverse_bone_matrix() -> np.ndarray:
    """(15, 16) matrix: joint j = −(sum of the bones on the path root → j)."""
    h_inv = np.zeros((skeleton.NUM_BONES, skeleton.NUM_JOINTS), np.float32)
    for joint in range(1, skeleton.NUM_JOINTS):
        node = joint
        while node != skeleton.ROOT:
            h_inv[node - 1, joint] = -1.0  # bone node-1 has child `node`
            node = skeleton.PARENTS[node]
    return h_inv


BONE_MATRIX = _bone_matrix()
INVERSE_BONE_MATRIX = _inverse_bone_matrix()


def _part_masks() -> np.ndarray:
    """(5, 15, 15) 0/1 masks selecting each part's rows and columns of the 15×15 KCS matrix."""
    masks = np.zeros((skeleton.NUM_PARTS, skeleton.NUM_BONES, skeleton.NUM_BONES), np.float32)
    for p, bones in enumerate(skeleton.KCS_PARTS):
        selector = np.zeros(skeleton.NUM_BONES, np.float32)
        selector[list(bones)] = 1.0
        masks[p] = np.outer(selector, selector)
    return masks


PART_KCS_MASKS = _part_masks()


def root_relative(pose) -> tf.Tensor:
    """Subtracts the root joint (index 0).

    Args:
      pose: (..., J, C).

    Returns:
      (..., J, C) with joint 0 exactly zero.
    """
    pose = tf.convert_to_tensor(pose)
    return pose - pose[..., :1, :]


def bones_from_pose(pose) -> tf.Tensor:
    """The hierarchical transform H: joints to bone vectors (parent − child).

    Args:
      pose: (..., 16, 3) joints, absolute or root-relative.

    Returns:
      (..., 15, 3) bone vectors, same dtype.
    """
    pose = tf.convert_to_tensor(pose)
    shapes.check_axis(pose, -2, skeleton.NUM_JOINTS, "pose")
    matrix = tf.constant(BONE_MATRIX, dtype=pose.dtype)
    return tf.einsum("...jc,jk->...kc", pose, matrix)


def pose_from_bones(bones) -> tf.Tensor:
    """The inverse transform H⁻¹: bone vectors to a root-relative pose.

    Args:
      bones: (..., 15, 3) bone vectors (parent − child).

    Returns:
      (..., 16, 3) root-relative pose (joint 0 = 0); `pose_from_bones(bones_from_pose(x)) == x − x[0]`.
    """
    bones = tf.convert_to_tensor(bones)
    shapes.check_axis(bones, -2, skeleton.NUM_BONES, "bones")
    matrix = tf.constant(INVERSE_BONE_MATRIX, dtype=bones.dtype)
    return tf.einsum("...kc,kj->...jc", bones, matrix)


def bone_lengths(pose) -> tf.Tensor:
    """Euclidean bone lengths.

    Args:
      pose: (..., 16, 3).

    Returns:
      (..., 15) lengths in the pose's units.
    """
    return tf.norm(bones_from_pose(pose), axis=-1)


def unit_bones(pose, *, epsilon: float = 0.0) -> tf.Tensor:
    """Bone directions of a pose.

    Args:
      pose: (..., 16, 3).
      epsilon: added to the length before dividing; the reference uses none (real bones are never zero long).

    Returns:
      (..., 15, 3) unit vectors (parent − child direction).
    """
    bones = bones_from_pose(pose)
    return bones / (tf.norm(bones, axis=-1, keepdims=True) + epsilon)


def kcs_matrix(bones) -> tf.Tensor:
    """Kinematic Chain Space matrix Ψ = B Bᵀ (Wandt & Rosenhahn, RepNet).

    Args:
      bones: (..., 15, 3) bone vectors (unit bones give pairwise cosines).

    Returns:
      (..., 15, 15) symmetric Gram matrix.
    """
    bones = tf.convert_to_tensor(bones)
    return tf.linalg.matmul(bones, bones, transpose_b=True)


def part_kcs(bones) -> tf.Tensor:
    """Part-aware KCS of the paper (Eq. 7) in the reference's zero-padded 15×15 form.

    For part p with bone set S_p, entry (i, j) is ⟨b_i, b_j⟩ when both i and j are in S_p and 0 otherwise, i.e.
    the Gram matrix of the bones with every bone outside the part zeroed.

    Args:
      bones: (..., 15, 3) bone vectors; pass unit bones for the discriminator's input.

    Returns:
      (..., 5, 15, 15) in skeleton.KCS_PARTS order.
    """
    gram = kcs_matrix(bones)
    masks = tf.constant(PART_KCS_MASKS, dtype=gram.dtype)
    return gram[..., None, :, :] * masks


def _skew(r: tf.Tensor) -> tf.Tensor:
    """(..., 3) → (..., 3, 3) cross-product matrix [r]×."""
    x, y, z = tf.unstack(r, axis=-1)
    zero = tf.zeros_like(x)
    rows = [tf.stack([zero, -z, y], -1), tf.stack([z, zero, -x], -1), tf.stack([-y, x, zero], -1)]
    return tf.stack(rows, axis=-2)


def axis_angle_to_matrix(axis_angle) -> tf.Tensor:
    """Rodrigues' formula: rotation vector (axis × angle, radians) to a rotation matrix.

    R = cos θ I + (sin θ / θ)[r]× + ((1 − cos θ) / θ²) r rᵀ, which is exactly orthonormal. Near θ = 0 the
    coefficients switch to their Taylor series so that values and gradients stay finite and exact at θ = 0
    (`tf.where` on a safe θ², because TF would otherwise propagate NaN gradients through the unused branch).
    The reference adds 1e-6 to θ in the axis normalisation, which makes R slightly non-orthonormal
    (docs/reference.md §9.17); we do not.

    Args:
      axis_angle: (..., 3) rotation vectors.

    Returns:
      (..., 3, 3) rotation matrices; a point p is rotated as R @ p.
    """
    r = tf.convert_to_tensor(axis_angle)
    shapes.check_axis(r, -1, 3, "axis_angle")
    # DEVIATION(docs/reference.md §9.17): no +1e-6 in the axis normalisation, so R is exactly orthonormal.
    theta_sq = tf.reduce_sum(tf.square(r), axis=-1)[..., None, None]
    small = theta_sq < 1e-6
    safe_sq = tf.where(small, tf.ones_like(theta_sq), theta_sq)
    safe_theta = tf.sqrt(safe_sq)
    cos_theta = tf.where(small, 1.0 - theta_sq / 2.0, tf.cos(safe_theta))
    sin_term = tf.where(small, 1.0 - theta_sq / 6.0, tf.sin(safe_theta) / safe_theta)
    cos_term = tf.where(small, 0.5 - theta_sq / 24.0, (1.0 - tf.cos(safe_theta)) / safe_sq)
    eye = tf.eye(3, dtype=r.dtype)
    outer = r[..., :, None] * r[..., None, :]
    return cos_theta * eye + sin_term * _skew(r) + cos_term * outer


def rotate_points(points, rotation) -> tf.Tensor:
    """Applies one rotation per batch element to a set of points (column-vector convention p' = R p).

    Args:
      points: (..., J, 3).
      rotation: (..., 3, 3), leading dimensions matching `points`.

    Returns:
      (..., J, 3).
    """
    points = tf.convert_to_tensor(points)
    return tf.linalg.matmul(points, rotation, transpose_b=True)


# --- joint layouts and the mirror ------------------------------------------------------------------------------
def _take_joints(pose, indices, expected: int, name: str):
    pose = tf.convert_to_tensor(pose)
    if pose.shape.rank is not None and pose.shape.rank >= 2 and pose.shape[-2] != expected:
        raise ValueError(f"Expected `{name}` with {expected} joints on axis -2; received shape {tuple(pose.shape)}.")
    return tf.gather(pose, indices, axis=-2)


def flip_pose(pose, *, mirror_axis: int = 0) -> tf.Tensor:
    """Mirrors a pose: negates one coordinate and swaps left and right joints.

    With normalised screen coordinates (origin at the image centre) and mirror_axis=0 this is the horizontal
    image flip of flip test-time augmentation; for camera-frame 3D poses it mirrors about the x = 0 plane.

    Args:
      pose: (..., 16, C) with C = 2 or 3.
      mirror_axis: the coordinate to negate.

    Returns:
      (..., 16, C), same dtype. Applying it twice gives back the input.
    """
    pose = _take_joints(pose, skeleton.FLIP_PERMUTATION, skeleton.NUM_JOINTS, "pose")
    channels = pose.shape[-1]
    sign = np.ones(channels, dtype=pose.dtype.as_numpy_dtype)
    sign[mirror_axis] = -1
    return pose * sign
