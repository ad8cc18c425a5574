"""Independent NumPy reference implementations, written from the formulas in docs/reference.md.

Nothing here imports poseaug_tf: the tables are re-typed from docs/reference.md and the maths uses explicit loops and
textbook formulas (float64), so the tests compare two independent derivations. Deliberately slow; keep inputs small.
"""

from __future__ import annotations

import numpy as np

# docs/reference.md §1.2: the 16 joints in order, and the parent of each.
JOINT_NAMES_16 = (
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
# The data README: joint order of Stacked Hourglass's data_2d_h36m_sh_pt_mpii.npz (MPII order).
SH_MPII_NAMES_16 = (
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
# docs/reference.md §1.2: parent of each of the 16 joints.
PARENTS_16 = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14)
# docs/reference.md §1.2: 32-joint indices kept, in our 16-joint order.
H36M32_KEPT_16 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 15, 17, 18, 19, 25, 26, 27)
# docs/reference.md §1.3: bone k = x[parent] - x[child].
BONES_16 = (
    (0, 1),
    (1, 2),
    (2, 3),
    (0, 4),
    (4, 5),
    (5, 6),
    (0, 7),
    (7, 8),
    (8, 9),
    (8, 10),
    (10, 11),
    (11, 12),
    (8, 13),
    (13, 14),
    (14, 15),
)
# docs/reference.md §3.1: bone indices per part, output order lh, rh, ll, rl, hb.
KCS_PART_BONES = ((7, 9, 10, 11), (7, 12, 13, 14), (0, 1, 2, 3, 6), (0, 3, 4, 5, 6), (0, 3, 6, 7, 8, 9, 12))


def pose_to_bones(pose: np.ndarray) -> np.ndarray:
    """H: (N, 16, 3) -> (N, 15, 3), bone k = pose[parent] - pose[child]."""
    pose = np.asarray(pose, dtype=np.float64)
    bones = np.zeros(pose.shape[:-2] + (len(BONES_16), 3))
    for k, (parent, child) in enumerate(BONES_16):
        bones[..., k, :] = pose[..., parent, :] - pose[..., child, :]
    return bones


def bones_to_pose(bones: np.ndarray) -> np.ndarray:
    """H^-1: (N, 15, 3) -> (N, 16, 3) root-relative; joint j = -(sum of the bones on the path root -> j)."""
    bones = np.asarray(bones, dtype=np.float64)
    bone_of_child = {child: k for k, (_, child) in enumerate(BONES_16)}
    pose = np.zeros(bones.shape[:-2] + (16, 3))
    for joint in range(16):
        node = joint
        while PARENTS_16[node] != -1:
            pose[..., joint, :] -= bones[..., bone_of_child[node], :]
            node = PARENTS_16[node]
    return pose


def kcs(bones: np.ndarray) -> np.ndarray:
    """KCS Gram matrix: (N, K, 3) -> (N, K, K), entry (i, j) = <b_i, b_j>."""
    bones = np.asarray(bones, dtype=np.float64)
    n, k = bones.shape[0], bones.shape[1]
    out = np.zeros((n, k, k))
    for b in range(n):
        for i in range(k):
            for j in range(k):
                out[b, i, j] = sum(bones[b, i, c] * bones[b, j, c] for c in range(3))
    return out


def part_kcs(bones: np.ndarray) -> np.ndarray:
    """Part-aware KCS (docs/reference.md §3.1): (N, 15, 3) -> (N, 5, 15, 15), bones outside each part zeroed."""
    bones = np.asarray(bones, dtype=np.float64)
    parts = []
    for part in KCS_PART_BONES:
        masked = np.zeros_like(bones)
        for k in part:
            masked[:, k, :] = bones[:, k, :]
        parts.append(kcs(masked))
    return np.stack(parts, axis=1)


def unit_vectors(bones: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean length, (..., 3)."""
    bones = np.asarray(bones, dtype=np.float64)
    return bones / np.sqrt(np.sum(bones**2, axis=-1, keepdims=True))


def skew(axis: np.ndarray) -> np.ndarray:
    """Cross-product matrix [k]_x of a 3-vector."""
    x, y, z = axis
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def rodrigues(rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle (3,) -> rotation matrix (3, 3): R = I + sin(t) K + (1 - cos(t)) K^2, K = [r/|r|]_x."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    theta = float(np.sqrt(np.sum(rotvec**2)))
    if theta == 0.0:
        return np.eye(3)
    k = skew(rotvec / theta)
    return np.eye(3) + np.sin(theta) * k + (1.0 - np.cos(theta)) * (k @ k)


def quaternion_multiply(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hamilton product of two (w, x, y, z) quaternions."""
    w1, x1, y1, z1 = q
    w2, x2, y2, z2 = r
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def quaternion_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotates points v (N, 3) by the unit quaternion q (4,) (w, x, y, z): q * (0, v) * conj(q)."""
    q = np.asarray(q, dtype=np.float64)
    conj = q * np.array([1.0, -1.0, -1.0, -1.0])
    v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    out = np.zeros_like(v)
    for i, point in enumerate(v):
        out[i] = quaternion_multiply(quaternion_multiply(q, np.concatenate([[0.0], point])), conj)[1:]
    return out


def world_to_camera(x_world: np.ndarray, orientation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """docs/reference.md §1.5: X_cam = rot(q^-1, X_world - t); x (N, 3), q (4,) camera->world, t (3,) metres."""
    q_inv = np.asarray(orientation, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])
    return quaternion_rotate(q_inv, np.asarray(x_world, dtype=np.float64) - np.asarray(translation))


def project_h36m(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """docs/reference.md §1.5 distorted projection with the [-1, 1] clamp.

    Args:
      points: (N, 3) camera-frame points.
      intrinsics: (9,) [fx, fy, cx, cy, k1, k2, k3, p1, p2].

    Returns:
      (N, 2) projected points (float64).
    """
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = (float(v) for v in intrinsics)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    out = np.zeros((points.shape[0], 2))
    for i, (x, y, z) in enumerate(points):
        a = min(max(x / z, -1.0), 1.0)
        b = min(max(y / z, -1.0), 1.0)
        r2 = a * a + b * b
        radial = 1.0 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        tangential = p1 * a + p2 * b
        a_dist = a * (radial + tangential) + p1 * r2
        b_dist = b * (radial + tangential) + p2 * r2
        out[i] = (fx * a_dist + cx, fy * b_dist + cy)
    return out


def normalize_screen(kp_px: np.ndarray, width: float, height: float) -> np.ndarray:
    """docs/reference.md §1.6: p_norm = p_px / w * 2 - [1, h / w]."""
    kp_px = np.asarray(kp_px, dtype=np.float64)
    out = np.empty_like(kp_px)
    out[..., 0] = kp_px[..., 0] / width * 2.0 - 1.0
    out[..., 1] = kp_px[..., 1] / width * 2.0 - height / width
    return out


def image_coordinates(kp_norm: np.ndarray, width: float, height: float) -> np.ndarray:
    """Inverse of `normalize_screen`: p_px = (p_norm + [1, h / w]) * w / 2."""
    kp_norm = np.asarray(kp_norm, dtype=np.float64)
    out = np.empty_like(kp_norm)
    out[..., 0] = (kp_norm[..., 0] + 1.0) * width / 2.0
    out[..., 1] = (kp_norm[..., 1] + height / width) * width / 2.0
    return out


def normalize_intrinsics(focal, center, radial, tangential, width: float, height: float) -> np.ndarray:
    """docs/reference.md §1.5: [f / w * 2, c / w * 2 - [1, h / w], k1, k2, k3, p1, p2] as a (9,) float64 vector."""
    f = np.asarray(focal, dtype=np.float64) / width * 2.0
    c = normalize_screen(np.asarray(center, dtype=np.float64), width, height)
    return np.concatenate([f, c, np.asarray(radial, dtype=np.float64), np.asarray(tangential, dtype=np.float64)])


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """docs/reference.md §7 Procrustes, one sample at a time: (N, J, 3) pred aligned onto target (no reflections)."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    aligned = np.zeros_like(pred)
    for n in range(pred.shape[0]):
        mu_x, mu_y = target[n].mean(axis=0), pred[n].mean(axis=0)
        x0, y0 = target[n] - mu_x, pred[n] - mu_y
        norm_x, norm_y = np.sqrt(np.sum(x0**2)), np.sqrt(np.sum(y0**2))
        x0, y0 = x0 / norm_x, y0 / norm_y
        u, s, vt = np.linalg.svd(x0.T @ y0)
        v = vt.T
        rotation = v @ u.T
        if np.linalg.det(rotation) < 0:
            v[:, -1] *= -1.0
            s[-1] *= -1.0
            rotation = v @ u.T
        scale = np.sum(s) * norm_x / norm_y
        translation = mu_x - scale * (mu_y @ rotation)
        aligned[n] = scale * (pred[n] @ rotation) + translation
    return aligned


def mean_joint_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, J, C) -> (N,) mean Euclidean distance, by explicit loops."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    out = np.zeros(pred.shape[0])
    for n in range(pred.shape[0]):
        out[n] = np.mean([np.sqrt(np.sum((pred[n, j] - target[n, j]) ** 2)) for j in range(pred.shape[1])])
    return out


def pa_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Procrustes-aligned per-frame error, (N, J, 3) -> (N,)."""
    return mean_joint_error(procrustes_align(pred, target), target)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random proper rotation (det +1) from the QR decomposition of a Gaussian matrix."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1.0
    return q


def random_pose(rng: np.random.Generator, num: int, *, depth: float = 4.0) -> np.ndarray:
    """(num, 16, 3) plausible-ish poses: random bones of 0.1-0.45 m walked down the tree, root at `depth` m."""
    bones = rng.standard_normal((num, 15, 3))
    bones *= rng.uniform(0.1, 0.45, size=(num, 15, 1)) / np.linalg.norm(bones, axis=-1, keepdims=True)
    root = np.stack([rng.uniform(-0.5, 0.5, num), rng.uniform(-0.5, 0.5, num), np.full(num, depth)], axis=-1)
    return bones_to_pose(bones) + root[:, None, :]


def project_h36m_batch(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """`project_h36m` per sample: (B, J, 3) points, (B, 9) intrinsics -> (B, J, 2)."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([project_h36m(p, k) for p, k in zip(points, np.asarray(intrinsics))])


# docs/reference.md §5.3: per-joint weights of the feedback's grouped error, and the three joint groups.
FEEDBACK_JOINT_WEIGHTS = np.array([1, 5, 2, 1, 5, 2, 1, 1, 1, 1, 5, 2, 1, 5, 2, 1], np.float64)
FEEDBACK_GROUPS = ([1, 4, 10, 13], [2, 5, 9, 11, 14], [3, 6, 12, 15])


def band_penalty(values, center, half_width) -> np.ndarray:
    """docs/reference.md §5.3 `diff_range_loss` element-wise term: (v - c)² where (v - c)² > s², else 0."""
    sq = (np.asarray(values, np.float64) - center) ** 2
    return sq * (sq > half_width**2)


def grouped_joint_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """docs/reference.md §5.3: (B, 16, 3) root-relative pred vs absolute target -> (B, 3) weighted group means."""
    target = np.asarray(target, np.float64)
    err = np.linalg.norm(np.asarray(pred, np.float64) - (target - target[:, :1]), axis=-1) * FEEDBACK_JOINT_WEIGHTS
    return np.stack([err[:, g].mean(axis=1) for g in FEEDBACK_GROUPS], axis=1)


# Limb crossover (poseaug_tf/core/limb_swap.py docstring): each limb as (root joint, middle joint, end joint) and
# the joints of its frame (lateral from, lateral to, up from, up to).
LIMB_CHAINS = (
    ((1, 2, 3), (4, 1, 0, 7)),  # right leg in the hip frame
    ((4, 5, 6), (4, 1, 0, 7)),  # left leg
    ((10, 11, 12), (10, 13, 7, 8)),  # left arm in the shoulder frame
    ((13, 14, 15), (10, 13, 7, 8)),  # right arm
)


def _part_frame(pose: np.ndarray, joints) -> np.ndarray:
    a, b, c, d = joints
    x = pose[b] - pose[a]
    x = x / np.sqrt(x @ x)
    y = pose[d] - pose[c]
    y = y - (y @ x) * x
    y = y / np.sqrt(y @ y)
    return np.column_stack([x, y, np.cross(x, y)])


def swap_limbs(pose: np.ndarray, donor: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Limb crossover, joint by joint: a swapped limb's middle and end joints follow the donor's segment directions
    rotated from the donor's part frame into the recipient's, at the recipient's segment lengths."""
    out = np.array(pose, np.float64)
    for i in range(len(pose)):
        for limb, (chain, frame) in enumerate(LIMB_CHAINS):
            if not mask[i, limb]:
                continue
            rotation = _part_frame(pose[i], frame) @ _part_frame(donor[i], frame).T
            for parent, child in zip(chain[:-1], chain[1:]):
                length = np.linalg.norm(pose[i, child] - pose[i, parent])
                direction = donor[i, child] - donor[i, parent]
                direction = rotation @ (direction / np.linalg.norm(direction))
                out[i, child] = out[i, parent] + length * direction
    return out
