"""Building blocks of the PoseAug augmentor: the noisy MLP trunk and the three differentiable pose operations.

The operations are pure functions of tensors (docs/reference.md §2.2–§2.4) so that they can be tested on their own;
`poseaug_tf.models.augmentor.PoseAugmentor` wires them to one trunk each. Shapes: B batch, J = 16 joints,
K = 15 bones. Poses are float32 metres in the camera frame.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from poseaug_tf.core import geometry, skeleton
from poseaug_tf.models import layers

ROTATION_LIMIT = 3.1415
"""Bound of each axis-angle component: r = tanh(raw)·3.1415 (PoseAug gan_generator.py uses 3.1415, not π)."""

DEPTH_GUARDS = ("min_depth", "reference")
"""`depth_guard` choices of `rigid_transform`: "min_depth" (default) and "reference" (t_z = raw², no minimum)."""

DIRECTION_EPSILON = 1e-12
"""Floor on |û + γ_ba|² when re-normalising BA bone directions (see `bone_angle`)."""


def _spine_mask() -> np.ndarray:
    mask = np.zeros((skeleton.NUM_BONES, 1), bool)
    mask[list(skeleton.SPINE_BONES)] = True
    return mask


SPINE_MASK = _spine_mask()
"""(15, 1) bool: bones whose direction BA keeps (Hip→Spine, Spine→Thorax)."""


@keras.saving.register_keras_serializable(package="poseaug_tf")
class AugmentorTrunk(keras.layers.Layer):
    """PoseAug generator MLP (docs/reference.md §2.1): Dense→BN→LeakyReLU, `num_blocks` NON-residual blocks, Dense.

    A block is [Dense, BN, LeakyReLU, Dense, BN, LeakyReLU] with no skip connection (the reference's
    generator block has none, unlike the SimpleBaseline block it was copied from) and no dropout. Dense
    kernels are untruncated kaiming-normal, biases U(±1/√fan_in); BN uses PyTorch's eps/momentum.

    Args:
      input_dim: Features of the input (pose ‖ [lengths ‖] noise).
      output_dim: Features of the linear output.
      hidden_units: Width of every hidden layer.
      num_blocks: Number of non-residual blocks.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        *,
        hidden_units: int = 256,
        num_blocks: int = 2,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.hidden_units = hidden_units
        self.num_blocks = num_blocks
        self.synchronized_bn = synchronized_bn
        self.dense_in = layers.dense(hidden_units, fan_in=input_dim, name="dense_in")
        self.bn_in = layers.batch_norm(synchronized=synchronized_bn, name="bn_in")
        self.block_dense = [
            layers.dense(hidden_units, fan_in=hidden_units, name=f"block{i // 2}_dense{i % 2}")
            for i in range(2 * num_blocks)
        ]
        self.block_bn = [
            layers.batch_norm(synchronized=synchronized_bn, name=f"block{i // 2}_bn{i % 2}")
            for i in range(2 * num_blocks)
        ]
        self.dense_out = layers.dense(output_dim, fan_in=hidden_units, name="dense_out")

    def build(self, input_shape=None):
        hidden_shape = (None, self.hidden_units)
        self.dense_in.build((None, self.input_dim))
        self.bn_in.build(hidden_shape)
        for dense, norm in zip(self.block_dense, self.block_bn):
            dense.build(hidden_shape)
            norm.build(hidden_shape)
        self.dense_out.build(hidden_shape)

    def call(self, inputs, training=None):
        x = tf.nn.leaky_relu(self.bn_in(self.dense_in(inputs), training=training), alpha=layers.LEAKY_SLOPE)
        for dense, norm in zip(self.block_dense, self.block_bn):  # fixed depth (2 blocks), not joints/parts
            x = tf.nn.leaky_relu(norm(dense(x), training=training), alpha=layers.LEAKY_SLOPE)
        return self.dense_out(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            hidden_units=self.hidden_units,
            num_blocks=self.num_blocks,
            synchronized_bn=self.synchronized_bn,
        )
        return config


def bone_angle(pose_3d_cam: tf.Tensor, gamma_ba: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """BA operation: adds residuals to the unit bones, re-normalises, keeps lengths and the two spine bones.

    Directions change independently per bone in the camera frame (a parent's change does not rotate its
    children), as in the reference. Source bones are divided by their lengths without epsilon (real bones are
    never zero long, docs/reference.md §1.3). The re-normalisation of m = û + γ_ba uses
    m / sqrt(max(|m|², 1e-12)): γ_ba is unbounded, so |m| can come arbitrarily close to 0 in a generated
    sample, where the reference's plain m / |m| gives inf/NaN; for |m| > 1e-6 the result is identical.

    Args:
      pose_3d_cam: (B, J, 3) absolute pose.
      gamma_ba: (B, K, 3) unbounded bone-direction residuals.

    Returns:
      pose_ba: (B, J, 3) absolute pose, same root and bone lengths.
      ba_diff: (B, K) 1 − cos(angle between new and old direction); exactly 0 for the spine bones.
    """
    bones = geometry.bones_from_pose(pose_3d_cam)
    lengths = tf.norm(bones, axis=-1, keepdims=True)
    unit = bones / lengths
    moved = tf.math.l2_normalize(unit + gamma_ba, axis=-1, epsilon=DIRECTION_EPSILON)
    # PoseAug gan_generator.py: bones 6 and 7 keep their direction "to avoid a pure rotation of the body".
    keep = tf.constant(SPINE_MASK)
    new_bones = tf.where(keep, bones, moved * lengths)
    ba_diff = tf.where(keep[..., 0], tf.zeros_like(lengths[..., 0]), 1.0 - tf.reduce_sum(moved * unit, -1))
    pose_ba = geometry.pose_from_bones(new_bones) + pose_3d_cam[..., :1, :]
    return pose_ba, ba_diff


def bone_length_ratios(raw: tf.Tensor, *, tanh_limit: float = 0.2) -> tf.Tensor:
    """Bounded BL ratios γ_bl = tanh(raw ⊙ mask)·limit with the Spine→Thorax ratio (index 4) held at 0.

    Args:
      raw: (B, 9) trunk output.
      tanh_limit: Bound of each ratio (reference `--blr_tanhlimit` 0.2).

    Returns:
      (B, 9) ratios in (−tanh_limit, tanh_limit).
    """
    mask = np.ones(skeleton.NUM_BL_RATIOS, np.float32)
    mask[skeleton.BL_FIXED_RATIO] = 0.0
    return tf.tanh(raw * tf.constant(mask, raw.dtype)) * tanh_limit


def bone_length(pose_3d_cam: tf.Tensor, blr: tf.Tensor) -> tf.Tensor:
    """BL operation: scales bone k by (1 + blr[BL_RATIO_MAP[k]]), keeping directions and the root.

    The reference computes unit bones and lengths and multiplies them back, û·ℓ·(1+γ); we scale the bone
    vector b·(1+γ) directly, which is the same value (up to float rounding) without a division.

    Args:
      pose_3d_cam: (B, J, 3) absolute pose.
      blr: (B, 9) ratios shared by left/right bones.

    Returns:
      (B, J, 3) absolute pose with the same root.
    """
    scale = 1.0 + tf.gather(blr, skeleton.BL_RATIO_MAP, axis=-1)
    bones = geometry.bones_from_pose(pose_3d_cam) * scale[..., None]
    return geometry.pose_from_bones(bones) + pose_3d_cam[..., :1, :]


def translation(
    raw_translation: tf.Tensor, rotated: tf.Tensor, *, depth_guard: str = "min_depth", min_joint_depth: float = 1.0
) -> tf.Tensor:
    """RT translation t = (raw_x, raw_y, raw_z²), optionally lifted so that no joint is too close to the camera.

    `depth_guard="min_depth"` raises t_z to max(raw_z², min_joint_depth − min_j rotated_z), the smallest depth
    at which every joint lies at least `min_joint_depth` in front of the camera; it is a no-op for poses that
    already clear the bound. The lift is a stop-gradient (straight-through) term, so gradients are exactly the
    reference's (∂t_z/∂raw_z = 2·raw_z, no new path into R or the pose): a pose pinned at the floor still
    learns to move away through raw_z instead of having its depth gradient cut. "reference" keeps
    t_z = raw_z² (joints may end up at or behind the camera plane, docs/reference.md §9.4).

    Args:
      raw_translation: (B, 3) T trunk output.
      rotated: (B, J, 3) rotated root-relative pose the translation is added to.
      depth_guard: "min_depth" or "reference".
      min_joint_depth: Metres; used by "min_depth".

    Returns:
      (B, 3) translation in metres.

    Raises:
      ValueError: If `depth_guard` is unknown.
    """
    if depth_guard not in DEPTH_GUARDS:
        raise ValueError(f"Expected `depth_guard` in {DEPTH_GUARDS}; received {depth_guard!r}.")
    depth = tf.square(raw_translation[..., 2])
    if depth_guard == "min_depth":
        # DEVIATION(docs/reference.md §9.4): the reference has no minimum depth; lift the pose just enough that its
        # nearest joint is min_joint_depth in front of the camera (a no-op for every H36M placement). Value
        # only: the gradient stays the reference's (straight-through).
        nearest = depth + tf.reduce_min(rotated[..., 2], axis=-1)
        depth = depth + tf.stop_gradient(tf.nn.relu(min_joint_depth - nearest))
    return tf.concat([raw_translation[..., :2], depth[..., None]], axis=-1)


def rigid_transform(
    pose_3d_cam: tf.Tensor,
    raw_rotation: tf.Tensor,
    raw_translation: tf.Tensor,
    *,
    depth_guard: str = "min_depth",
    min_joint_depth: float = 1.0,
) -> dict[str, tf.Tensor]:
    """RT operation: rotates the root-relative pose and places its root at t (docs/reference.md §2.4).

    r = tanh(raw_R)·3.1415, R = Rodrigues(r) (exact, finite gradient at r = 0; the reference's +1e-6 in the
    axis normalisation is not reproduced, it only makes R slightly non-orthonormal, docs/reference.md §9.17);
    t from `translation` (depth guard there). The source root position is discarded.

    Args:
      pose_3d_cam: (B, J, 3) absolute pose.
      raw_rotation: (B, 3) R trunk output.
      raw_translation: (B, 3) T trunk output.
      depth_guard: "min_depth" or "reference" (see `translation`).
      min_joint_depth: Metres; used by "min_depth".

    Returns:
      Dict with "pose_rt" (B, J, 3) absolute (root = translation), "rotation" (B, 3) axis-angle,
      "rotation_matrix" (B, 3, 3), "translation" (B, 3).

    Raises:
      ValueError: If `depth_guard` is unknown.
    """
    rotation = tf.tanh(raw_rotation) * ROTATION_LIMIT
    rotation_matrix = geometry.axis_angle_to_matrix(rotation)
    rotated = geometry.rotate_points(geometry.root_relative(pose_3d_cam), rotation_matrix)
    t = translation(raw_translation, rotated, depth_guard=depth_guard, min_joint_depth=min_joint_depth)
    return {
        "pose_rt": rotated + t[..., None, :],
        "rotation": rotation,
        "rotation_matrix": rotation_matrix,
        "translation": t,
    }
