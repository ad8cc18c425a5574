"""Constant graphs of the 1-frame ST-GCN (docs/reference.md §4.3): 17-joint body graph, 5-part pooled graph.

Both use the "spatial" partition with max hop 1 and K = 4 kernels built from the column-normalised adjacency
Â = A·D⁻¹ (A incl. self-loops, D the column degrees): k0 self-loops, k1 edges whose source node v is farther from
the centre than the target w, k2 edges whose source is nearer, k3 symmetric (left↔right) links, checked first.
Kernels are indexed ``[k, v, w]`` (source v, target w) and the graph conv computes
``out[w] = Σ_k Σ_v x_k[v] · A[k, v, w]``.
"""

from __future__ import annotations

import numpy as np

from poseaug_tf.core import skeleton

NUM_JOINTS_16 = skeleton.NUM_JOINTS
NUM_JOINTS_17 = len(skeleton.JOINT_NAMES_17)
NOSE_INDEX = skeleton.NECK_NOSE_17  # the 17-joint order inserts Neck/Nose between Thorax (8) and Head (10)
THORAX_16, HEAD_16 = skeleton.JOINT_NAMES.index("Thorax"), skeleton.JOINT_NAMES.index("Head")

# 17-joint body graph (0 Hip, 1 RHip, 2 RKnee, 3 RFoot, 4 LHip, 5 LKnee, 6 LFoot, 7 Spine, 8 Thorax, 9 Nose, 10 Head,
# 11 LShoulder, 12 LElbow, 13 LWrist, 14 RShoulder, 15 RElbow, 16 RWrist).
BODY_EDGES = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8),
    (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip
BODY_SYMMETRIC = ((6, 3), (5, 2), (4, 1), (11, 14), (12, 15), (13, 16))
BODY_DIST_TO_CENTRE = (1, 2, 3, 4, 2, 3, 4, 0, 1, 2, 3, 2, 3, 4, 2, 3, 4)  # centre = Spine (7)

# Parts in the reference's order: left arm, right arm, left leg, right leg, central body.
PARTS = ((11, 12, 13), (14, 15, 16), (4, 5, 6), (1, 2, 3), (0, 7, 8, 9, 10))
NUM_PARTS = len(PARTS)
PART_EDGES = ((0, 4), (1, 4), (2, 4), (3, 4))
PART_SYMMETRIC = ((0, 1), (2, 3))
PART_DIST_TO_CENTRE = (1, 1, 1, 1, 0)


def spatial_kernels(num_nodes: int, edges, symmetric, dist_to_centre) -> np.ndarray:
    """Builds the (K=4, V, V) spatial-partition kernels of a graph with self-loops.

    Args:
      num_nodes: V.
      edges: Undirected neighbour edges (pairs of node indices).
      symmetric: Undirected symmetric links (their own kernel).
      dist_to_centre: (V,) hop distance of every node to the centre node.

    Returns:
      (4, V, V) float32; the kernels sum to the column-normalised adjacency Â.
    """
    adjacency = np.eye(num_nodes)
    for a, b in (*edges, *symmetric):
        adjacency[a, b] = adjacency[b, a] = 1.0
    normalised = adjacency / adjacency.sum(axis=0, keepdims=True)  # column w divided by its degree
    sym = np.zeros((num_nodes, num_nodes), dtype=bool)
    for a, b in symmetric:
        sym[a, b] = sym[b, a] = True
    dist = np.asarray(dist_to_centre)
    src_dist, dst_dist = dist[:, None], dist[None, :]
    neighbour = (adjacency > 0) & ~np.eye(num_nodes, dtype=bool) & ~sym
    masks = (
        np.eye(num_nodes, dtype=bool),
        neighbour & (src_dist > dst_dist),
        neighbour & (src_dist < dst_dist),
        sym,
    )
    return np.stack([np.where(m, normalised, 0.0) for m in masks]).astype(np.float32)


BODY_KERNELS = spatial_kernels(NUM_JOINTS_17, BODY_EDGES, BODY_SYMMETRIC, BODY_DIST_TO_CENTRE)
PART_KERNELS = spatial_kernels(NUM_PARTS, PART_EDGES, PART_SYMMETRIC, PART_DIST_TO_CENTRE)
GRAPHS = {"body": BODY_KERNELS, "parts": PART_KERNELS}

# (P, 5) joint indices per part for a vectorised max-pool; 3-joint parts repeat their last joint (max unchanged).
PART_GATHER = np.array([p + (p[-1],) * (5 - len(p)) for p in PARTS], dtype=np.int32)
# (17,) part index of every joint, for up-sampling part features back to the joints.
JOINT_TO_PART = np.array([next(i for i, p in enumerate(PARTS) if j in p) for j in range(NUM_JOINTS_17)], np.int32)


def insertion_matrix_16_to_17() -> np.ndarray:
    """(17, 16) float32 M with pose_17 = M @ pose_16: joints copied, Nose (9) = mean(Thorax, Head)."""
    matrix = np.zeros((NUM_JOINTS_17, NUM_JOINTS_16), dtype=np.float32)
    for j16 in range(NUM_JOINTS_16):
        matrix[j16 if j16 < NOSE_INDEX else j16 + 1, j16] = 1.0
    matrix[NOSE_INDEX, [THORAX_16, HEAD_16]] = 0.5
    return matrix


INDICES_17_TO_16 = np.array(skeleton.H17_TO_16, dtype=np.int32)
