"""The augmentor sample behind the pose grid and the distributions: projections, invariants, no side effects."""

from __future__ import annotations

import numpy as np

from poseaug_tf import models
from poseaug_tf.reports import augmentation_samples as samples
from tests import numpy_reference as ref


def test_sample_augmentations_projects_every_stage_and_keeps_batchnorm_state(rng):
    augmentor = models.build_augmentor(seed=3)
    pose = ref.random_pose(rng, 40, depth=5.0).astype(np.float32)
    intrinsics = np.tile(np.array([[2.3, 2.3, 0.01, -0.02, 0.1, -0.05, 0.01, 0.001, -0.002]], np.float32), (40, 1))
    before = [v.numpy() for v in augmentor.non_trainable_variables]
    sample = samples.sample_augmentations(augmentor, pose, intrinsics, seed=5, batch_size=16)
    for variable, value in zip(augmentor.non_trainable_variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    np.testing.assert_array_equal(sample.poses_3d["source"], pose)
    for stage in ("source", "BA", "BL", "RT"):
        expected = ref.project_h36m(sample.poses_3d[stage].reshape(-1, 3), intrinsics[0]).reshape(40, 16, 2)
        np.testing.assert_allclose(sample.poses_2d[stage], expected, rtol=1e-4, atol=1e-5)
    lengths = {s: np.linalg.norm(ref.pose_to_bones(p.astype(np.float64)), axis=-1) for s, p in sample.poses_3d.items()}
    np.testing.assert_allclose(lengths["BA"], lengths["source"], rtol=1e-4)  # BA changes directions only
    np.testing.assert_allclose(lengths["RT"], lengths["BL"], rtol=1e-4)  # RT is rigid
    np.testing.assert_array_equal(sample.valid, np.all(np.abs(sample.poses_2d["RT"]) <= 1.0, axis=(1, 2)))
    again = samples.sample_augmentations(augmentor, pose, intrinsics, seed=5, batch_size=16)
    np.testing.assert_array_equal(again.poses_3d["RT"], sample.poses_3d["RT"])  # fixed noise: reproducible
    assert len(sample.notes["RT"]) == 40 and sample.notes["RT"][0].startswith("rot ")
