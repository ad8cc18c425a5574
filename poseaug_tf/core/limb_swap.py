"""Limb crossover: a pose takes the joint angles of some of its limbs from another real pose.

New people in a new lab move differently: the same upper body with other legs, an arm raised while walking.
Combining the limbs of two recorded poses (the crossover of evolutionary pose augmentation, Li et al., CVPR 2020)
makes such combinations from real joint angles only, which the learned bone-angle change (BA) could not do without
bending bones into implausible poses (docs/results.md). Each limb's two bones are carried over in the frame of the
body part they hang from, so that "arm raised to the side" stays that whichever way the two bodies face:

* legs in the hip frame: lateral axis LHip → RHip, up axis Hip → Spine made orthogonal to it;
* arms in the shoulder frame: lateral axis LShoulder → RShoulder, up axis Spine → Thorax made orthogonal to it.

The recipient keeps its root, its torso and every bone length; only the directions of the swapped limbs' bones
change. Shapes: B batch, 16 joints, camera-frame metres.
"""

from __future__ import annotations

import tensorflow as tf

from poseaug_tf.core import geometry, shapes, skeleton

LIMBS = ("right_leg", "left_leg", "left_arm", "right_arm")
NUM_LIMBS = len(LIMBS)
# Bones of each limb (bone k ends at joint k + 1): upper and lower segment.
LIMB_BONES = ((1, 2), (4, 5), (10, 11), (13, 14))
# Frame of each limb: (lateral from, lateral to, up from, up to) joints.
_HIP_FRAME = (4, 1, 0, 7)
_SHOULDER_FRAME = (10, 13, 7, 8)
LIMB_FRAMES = (_HIP_FRAME, _HIP_FRAME, _SHOULDER_FRAME, _SHOULDER_FRAME)


def part_frame(pose, joints: tuple[int, int, int, int]) -> tf.Tensor:
    """The orthonormal frame of a body part.

    Args:
      pose: (..., 16, 3).
      joints: (lateral from, lateral to, up from, up to) joint indices.

    Returns:
      (..., 3, 3) rotation whose columns are the lateral axis, the up axis (Gram–Schmidt against the lateral one)
      and their cross product.
    """
    pose = tf.convert_to_tensor(pose, tf.float32)
    lat_from, lat_to, up_from, up_to = joints
    lateral = tf.math.l2_normalize(pose[..., lat_to, :] - pose[..., lat_from, :], axis=-1)
    up = pose[..., up_to, :] - pose[..., up_from, :]
    up = tf.math.l2_normalize(up - tf.reduce_sum(up * lateral, -1, keepdims=True) * lateral, axis=-1)
    return tf.stack([lateral, up, tf.linalg.cross(lateral, up)], axis=-1)


def swap_limbs(pose, donor, mask) -> tf.Tensor:
    """Gives each pose the joint angles of its masked limbs from its donor.

    Args:
      pose: (B, 16, 3) recipients (absolute or root-relative).
      donor: (B, 16, 3) the pose each recipient takes limbs from.
      mask: (B, 4) whether limb l (order of `LIMBS`) is taken from the donor (bool or 0/1).

    Returns:
      (B, 16, 3) float32: the recipient's root, torso and bone lengths; a swapped limb's bone b has the direction
      R_pose · R_donorᵀ · u_donor,b, with R the limb's `part_frame` in each pose.
    """
    pose = tf.convert_to_tensor(pose, tf.float32)
    donor = tf.convert_to_tensor(donor, tf.float32)
    shapes.check_axis(pose, -2, skeleton.NUM_JOINTS, "pose")
    shapes.check_axis(donor, -2, skeleton.NUM_JOINTS, "donor")
    mask = tf.cast(mask, tf.bool)
    bones = geometry.bones_from_pose(pose)
    lengths = tf.norm(bones, axis=-1, keepdims=True)
    donor_dirs = geometry.unit_bones(donor)
    columns = tf.unstack(bones, axis=-2)
    # R_pose · R_donorᵀ of each part frame (both legs share the hip's, both arms the shoulders'): the donor's frame
    # onto the recipient's.
    rotations = {
        frame: tf.linalg.matmul(part_frame(pose, frame), part_frame(donor, frame), transpose_b=True)
        for frame in dict.fromkeys(LIMB_FRAMES)
    }
    for limb, (bone_ids, frame) in enumerate(zip(LIMB_BONES, LIMB_FRAMES)):
        rotation = rotations[frame]
        for b in bone_ids:
            moved = tf.linalg.matvec(rotation, donor_dirs[:, b]) * lengths[:, b]
            columns[b] = tf.where(mask[:, limb : limb + 1], moved, columns[b])
    return geometry.pose_from_bones(tf.stack(columns, axis=-2)) + pose[:, :1]
