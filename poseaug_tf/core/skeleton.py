"""The 16-joint Human3.6M skeleton of PoseAug, its 17- and 32-joint relatives and the index tables between them.

Constants and index tables only (NumPy, no TensorFlow), so that clients of an exported model can use them; the
TensorFlow functions that apply them (conversions, the mirror) are in `geometry`.

Joint order (docs/reference.md §1.2): 0 Hip (root), 1 RHip, 2 RKnee, 3 RFoot, 4 LHip, 5 LKnee, 6 LFoot, 7 Spine,
8 Thorax, 9 Head, 10 LShoulder, 11 LElbow, 12 LWrist, 13 RShoulder, 14 RElbow, 15 RWrist.
Bone k is `x[BONE_PARENTS[k]] - x[BONE_CHILDREN[k]]` (parent minus child, docs/reference.md §1.3).
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 16
NUM_BONES = 15
NUM_PARTS = 5
ROOT = 0

JOINT_NAMES = (
    "Hip",
    "RHip",
    "RKnee",
    "RFoot",
    "LHip",
    "LKnee",
    "LFoot",
    "Spine",
    "Thorax",
    "Head",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RShoulder",
    "RElbow",
    "RWrist",
)
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14)
JOINTS_LEFT = (4, 5, 6, 10, 11, 12)
JOINTS_RIGHT = (1, 2, 3, 13, 14, 15)
FEET = (3, 6)  # RFoot, LFoot (ankles)


def _flip_permutation() -> tuple[int, ...]:
    perm = list(range(NUM_JOINTS))
    for left, right in zip(JOINTS_LEFT, JOINTS_RIGHT):
        perm[left], perm[right] = right, left
    return tuple(perm)


# Index j of a flipped pose holds joint FLIP_PERMUTATION[j] of the original (left <-> right).
FLIP_PERMUTATION = _flip_permutation()

# Bone k joins BONE_PARENTS[k] -> BONE_CHILDREN[k]; the child of bone k is joint k + 1.
BONE_CHILDREN = tuple(range(1, NUM_JOINTS))
BONE_PARENTS = tuple(PARENTS[child] for child in BONE_CHILDREN)

# Hip->Spine and Spine->Thorax: BA keeps their directions (PoseAug gan_generator.py).
SPINE_BONES = (6, 7)

# BL: nine ratios shared by left/right bones (docs/reference.md §2.3); ratio 4 (Spine->Thorax) is held at zero.
NUM_BL_RATIOS = 9
BL_RATIO_MAP = (0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8)
BL_FIXED_RATIO = 4

# Part-aware KCS (docs/reference.md §3.1), in the reference's output order lh, rh, ll, rl, hb. The reference names
# the two leg parts the wrong way round ("ll" holds the right leg bones); we keep its order so that outputs
# line up column by column; the comments name the parts by what they contain.
KCS_PARTS = (
    (7, 9, 10, 11),  # left arm + Spine->Thorax
    (7, 12, 13, 14),  # right arm + Spine->Thorax
    (0, 1, 2, 3, 6),  # right leg + hips + Hip->Spine  (reference name "ll")
    (0, 3, 4, 5, 6),  # left leg + hips + Hip->Spine   (reference name "rl")
    (0, 3, 6, 7, 8, 9, 12),  # torso
)

# Bone lengths (metres, bone order above) of the five H36M training subjects S1, S5, S6, S7, S8
# (PoseAug hm36s15678_bl_templates.npy, docs/reference.md §1.10). Left and right are equal.
_TEMPLATE_UNIQUE = np.array(
    [
        # hip     thigh    shin     hip>sp   sp>thx   thx>head shoulder upper    fore
        [0.13295, 0.44289, 0.45421, 0.23347, 0.25708, 0.18188, 0.15103, 0.27888, 0.25173],
        [0.11931, 0.42829, 0.44244, 0.22432, 0.25406, 0.16618, 0.14310, 0.26458, 0.24862],
        [0.14261, 0.48657, 0.46149, 0.26221, 0.26001, 0.19247, 0.14937, 0.30101, 0.25791],
        [0.13588, 0.44862, 0.43801, 0.22625, 0.25541, 0.16873, 0.13972, 0.27556, 0.24730],
        [0.14654, 0.45215, 0.43863, 0.26122, 0.25102, 0.21280, 0.16932, 0.28991, 0.24418],
    ],
    dtype=np.float32,
)
# Column of _TEMPLATE_UNIQUE for each of the 15 bones.
_TEMPLATE_COLUMNS = (0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8)
BONE_LENGTH_TEMPLATES = _TEMPLATE_UNIQUE[:, _TEMPLATE_COLUMNS]
BONE_LENGTH_TEMPLATES.setflags(write=False)

# --- other layouts --------------------------------------------------------------------------------------------
JOINT_NAMES_17 = JOINT_NAMES[:9] + ("Neck/Nose",) + JOINT_NAMES[9:]
NECK_NOSE_17 = 9
# Rows of the 32-joint mocap skeleton that make the common 17-joint layout (VideoPose3D, data README).
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
H17_TO_16 = tuple(i for i in range(17) if i != NECK_NOSE_17)
H36M32_TO_16 = tuple(H36M32_TO_17[i] for i in H17_TO_16)

# Stacked-Hourglass / MPII order of data_2d_h36m_sh_pt_mpii.npz:
SH_MPII_JOINT_NAMES = (
    "RFoot",
    "RKnee",
    "RHip",
    "LHip",
    "LKnee",
    "LFoot",
    "Hip",
    "Spine",
    "Thorax",
    "Head",
    "RWrist",
    "RElbow",
    "RShoulder",
    "LShoulder",
    "LElbow",
    "LWrist",
)
# Row j of a 16-joint pose comes from row SH_MPII_TO_16[j] of an SH/MPII-ordered array.
SH_MPII_TO_16 = tuple(SH_MPII_JOINT_NAMES.index(name) for name in JOINT_NAMES)
