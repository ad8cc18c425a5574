"""Tests of the synthetic dataset (poseaug_tf/data/synthetic.py and synthetic_motion.py).

Values are checked against independent computations: bone lengths and hinge angles measured on the generated
3D joints with NumPy, the loop-based projection of tests/numpy_reference.py, camera tables re-typed from
docs/reference.md §1.5/§1.10, and closed-form joint positions for single-angle postures.
"""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.data import synthetic
from poseaug_tf.data import synthetic_motion as motion
from tests import numpy_reference as ref

NUM = 3000
# docs/reference.md §1.5: normalised [fx, fy, cx, cy] and image aspect h / w of the four H36M cameras.
H36M_FOCAL_CENTER = np.array(
    [
        [2.290099, 2.287562, 0.025083, 0.028903],
        [2.299351, 2.295183, 0.017697, 0.016130],
        [2.298281, 2.297598, 0.039632, 0.002805],
        [2.291023, 2.289548, 0.029936, 0.001764],
    ]
)
H36M_ASPECT = np.array([1.002, 1.0, 1.0, 1.002])
# docs/reference.md §1.10: distinct bone lengths (hip, thigh, shin, hip>spine, spine>thorax, thorax>head, shoulder,
# upper arm, forearm) of S1, S5, S6, S7, S8, and the distinct length of each of the 15 bones.
TEMPLATES = {
    "S1": (0.13295, 0.44289, 0.45421, 0.23347, 0.25708, 0.18188, 0.15103, 0.27888, 0.25173),
    "S5": (0.11931, 0.42829, 0.44244, 0.22432, 0.25406, 0.16618, 0.14310, 0.26458, 0.24862),
    "S6": (0.14261, 0.48657, 0.46149, 0.26221, 0.26001, 0.19247, 0.14937, 0.30101, 0.25791),
    "S7": (0.13588, 0.44862, 0.43801, 0.22625, 0.25541, 0.16873, 0.13972, 0.27556, 0.24730),
    "S8": (0.14654, 0.45215, 0.43863, 0.26122, 0.25102, 0.21280, 0.16932, 0.28991, 0.24418),
}
DISTINCT_OF_BONE = (0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8)
LEFT_RIGHT_BONES = ((3, 0), (4, 1), (5, 2), (9, 12), (10, 13), (11, 14))
# (parent, middle, end) joints of the hinges: left/right knee, left/right elbow.
HINGES = {"knee_l": (4, 5, 6), "knee_r": (1, 2, 3), "elbow_l": (10, 11, 12), "elbow_r": (13, 14, 15)}


@pytest.fixture(scope="module")
def splits():
    return {split: synthetic.make_synthetic_with_metadata(split, NUM, seed=7) for split in synthetic.SPLITS}


def _bone_lengths(pose: np.ndarray) -> np.ndarray:
    pose = pose.astype(np.float64)
    return np.stack([np.linalg.norm(pose[:, p] - pose[:, c], axis=-1) for p, c in ref.BONES_16], axis=-1)


def _hinge_flexion_deg(pose: np.ndarray, joints: tuple[int, int, int]) -> np.ndarray:
    """180° minus the inner angle at the middle joint = angle between the two segment directions."""
    pose = pose.astype(np.float64)
    a, b = pose[:, joints[1]] - pose[:, joints[0]], pose[:, joints[2]] - pose[:, joints[1]]
    cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _template_lengths(subject: np.ndarray) -> np.ndarray:
    distinct = np.array([TEMPLATES[s.split("_")[1]] for s in subject])
    return distinct[:, DISTINCT_OF_BONE]


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_bone_lengths_are_symmetric_and_equal_the_drawn_body(splits, split):
    pose_set, meta = splits[split]
    lengths = _bone_lengths(pose_set.pose3d)
    np.testing.assert_allclose(lengths, meta["bone_lengths"], atol=2e-5)
    for left, right in LEFT_RIGHT_BONES:
        np.testing.assert_allclose(lengths[:, left], lengths[:, right], atol=2e-5)


def test_source_bodies_stay_near_the_h36m_templates(splits):
    pose_set, _ = splits["source"]
    ratio = _bone_lengths(pose_set.pose3d) / _template_lengths(pose_set.subject)
    # 1 % global scale plus per-length noise of std 1.5 % clipped at 3 std.
    assert np.all(np.abs(ratio - 1.0) < 0.056)
    assert set(np.unique(pose_set.subject)) == {f"source_{s}" for s in TEMPLATES}


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_hinge_angles_match_the_drawn_angles_and_limits(splits, split):
    pose_set, meta = splits[split]
    for name, joints in HINGES.items():
        measured = _hinge_flexion_deg(pose_set.pose3d, joints)
        other = name[:-1] + ("r" if name.endswith("l") else "l")
        drawn = np.where(
            meta["mirrored"],
            meta["angles_deg"][:, motion.ANGLE_INDEX[other]],
            meta["angles_deg"][:, motion.ANGLE_INDEX[name]],
        )
        np.testing.assert_allclose(measured, drawn, atol=0.3)
        assert measured.min() >= 0.0 and measured.max() <= 150.3
    for index, name in enumerate(motion.ANGLE_NAMES):
        base = name[:-2] if name[:-2] in motion.JOINT_LIMITS and name[-2:] in ("_l", "_r") else name
        low, high = motion.JOINT_LIMITS[base]
        assert low <= meta["angles_deg"][:, index].min() and meta["angles_deg"][:, index].max() <= high, name


def test_forward_kinematics_closed_form():
    lengths = np.array([TEMPLATES["S1"]])[:, DISTINCT_OF_BONE].repeat(4, axis=0)
    hip, thigh, shin, low_spine, up_spine, neck, shoulder, upper, fore = TEMPLATES["S1"]
    angles = np.zeros((4, motion.NUM_ANGLES))
    angles[1, motion.ANGLE_INDEX["hip_flex_l"]] = 90.0  # left thigh forward (+Z)
    angles[2, motion.ANGLE_INDEX["knee_r"]] = 90.0  # right shin backward (-Z)
    angles[3, motion.ANGLE_INDEX["shoulder_abd_l"]] = 90.0  # left arm out to the side (+X)
    angles[3, motion.ANGLE_INDEX["elbow_r"]] = 90.0  # right forearm forward
    pose = motion.forward_kinematics(angles, lengths)
    thorax = low_spine + up_spine
    rest = np.array(
        [
            [0, 0, 0],
            [-hip, 0, 0],
            [-hip, -thigh, 0],
            [-hip, -thigh - shin, 0],
            [hip, 0, 0],
            [hip, -thigh, 0],
            [hip, -thigh - shin, 0],
            [0, low_spine, 0],
            [0, thorax, 0],
            [0, thorax + neck, 0],
        ]
        + [[side * shoulder, thorax + dy, 0] for side in (1, -1) for dy in (0.0, -upper, -upper - fore)]
    )
    np.testing.assert_allclose(pose[0], rest, atol=1e-12)
    expected = {
        1: {5: [hip, 0, thigh], 6: [hip, 0, thigh + shin]},
        2: {3: [-hip, -thigh, -shin]},
        3: {
            11: [shoulder + upper, thorax, 0],
            12: [shoulder + upper + fore, thorax, 0],
            15: [-shoulder, thorax - upper, fore],
        },
    }
    for row, joints in expected.items():
        for joint, position in joints.items():
            np.testing.assert_allclose(pose[row, joint], position, atol=1e-12, err_msg=f"row {row} joint {joint}")
    # Mirroring about X = 0 turns the left-thigh-forward pose into a right-thigh-forward one.
    mirrored = motion.mirror(pose[1:2])[0]
    np.testing.assert_allclose(mirrored[2], [-hip, 0, thigh], atol=1e-12)
    np.testing.assert_allclose(mirrored[5], [hip, -thigh, 0], atol=1e-12)
    np.testing.assert_allclose(mirrored[[0, 7, 8, 9]], pose[1, [0, 7, 8, 9]], atol=1e-12)


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_pose3d_is_the_rotated_and_translated_body(splits, split):
    pose_set, meta = splits[split]
    body = motion.forward_kinematics(meta["angles_deg"], meta["bone_lengths"])
    body[meta["mirrored"]] = motion.mirror(body[meta["mirrored"]])
    rotation = meta["rotation"]
    np.testing.assert_allclose(
        rotation @ np.swapaxes(rotation, -1, -2), np.broadcast_to(np.eye(3), rotation.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0, atol=1e-12)
    expected = np.einsum("nij,nkj->nki", rotation, body) + pose_set.pose3d[:, :1].astype(np.float64)
    np.testing.assert_allclose(pose_set.pose3d, expected, atol=1e-5)
    np.testing.assert_allclose(pose_set.pose3d[:, 0, 2], meta["root_depth_m"], atol=1e-5)
    assert 0.45 < meta["mirrored"].mean() < 0.55


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_every_joint_is_in_front_of_the_camera_and_inside_the_image(splits, split):
    pose_set, _ = splits[split]
    assert pose_set.pose3d[..., 2].min() > synthetic.MIN_DEPTH
    camera_index = np.argmin(np.abs(pose_set.camera[:, None, :4] - H36M_FOCAL_CENTER[None]).sum(-1), axis=1)
    np.testing.assert_allclose(pose_set.camera[:, :4], H36M_FOCAL_CENTER[camera_index], atol=2e-6)
    assert np.abs(pose_set.pose2d[..., 0]).max() <= 1.0
    assert np.all(np.abs(pose_set.pose2d[..., 1]) <= H36M_ASPECT[camera_index, None])
    assert len(np.unique(camera_index)) == 4


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_pose2d_is_the_distorted_projection_of_pose3d(splits, split):
    pose_set, _ = splits[split]
    for i in range(0, NUM, NUM // 40):  # the reference projection loops over points: a subset
        expected = ref.project_h36m(pose_set.pose3d[i], pose_set.camera[i])
        np.testing.assert_allclose(pose_set.pose2d[i], expected, rtol=1e-5, atol=2e-6)
    projected = camera_lib.project(pose_set.pose3d, pose_set.camera).numpy()
    np.testing.assert_allclose(pose_set.pose2d, projected, rtol=1e-5, atol=2e-6)


def test_generation_is_deterministic_under_the_seed():
    first, again = (synthetic.make_synthetic("target", 500, seed=3) for _ in range(2))
    for key in first.keys():
        np.testing.assert_array_equal(first[key], again[key])
    others = [
        synthetic.make_synthetic("target", 500, seed=4),
        synthetic.make_synthetic("source", 500, seed=3),
        synthetic.make_synthetic("target", 500, seed=3, stream="eval"),
    ]
    for other in others:
        assert np.abs(first.pose3d - other.pose3d).mean() > 0.1


def test_make_synthetic_splits_uses_independent_streams():
    sets = synthetic.make_synthetic_splits(num_train=400, num_eval=300, seed=11)
    assert {k: (len(v), v.name) for k, v in sets.items()} == {
        "train": (400, "synthetic_source"),
        "source": (300, "synthetic_source"),
        "target": (300, "synthetic_target"),
    }
    np.testing.assert_array_equal(
        sets["source"].pose3d, synthetic.make_synthetic("source", 300, seed=11, stream="eval").pose3d
    )
    assert np.abs(sets["train"].pose3d[:300] - sets["source"].pose3d).mean() > 0.1


def test_splits_differ_in_viewpoint_position_body_and_posture(splits):
    (source, source_meta), (target, target_meta) = splits["source"], splits["target"]
    # Root depth: the source stays in the lab's 4-6 m, the target spans near and far cameras.
    source_depth, target_depth = source.pose3d[:, 0, 2], target.pose3d[:, 0, 2]
    assert 4.0 <= source_depth.min() and source_depth.max() <= 6.0
    assert target_depth.min() < 3.0 and target_depth.max() > 8.5 and np.mean(np.abs(target_depth - 5.0) > 1.0) > 0.4
    # Elevation from the camera-frame "up" axis of the body (z component = -sin elevation).
    up_z = np.concatenate([source_meta["rotation"][:, 2, 1], target_meta["rotation"][:, 2, 1]])
    elevation = np.degrees(np.arcsin(-up_z)).reshape(2, -1)
    np.testing.assert_allclose(
        elevation, np.stack([source_meta["elevation_deg"], target_meta["elevation_deg"]]), atol=1e-9
    )
    assert 0.0 <= elevation[0].min() and elevation[0].max() <= 15.0
    assert np.mean((elevation[1] < 0.0) | (elevation[1] > 15.0)) > 0.6
    assert elevation[1].min() < -15.0 and elevation[1].max() > 40.0
    # Root image position: near the centre in the source, anywhere in the target.
    assert np.abs(source.pose2d[:, 0]).max() < 0.2
    assert np.all(target.pose2d[:, 0].std(axis=0) > 3.0 * source.pose2d[:, 0].std(axis=0))
    # Body size and proportions relative to the template the body was drawn from.
    source_ratio = _bone_lengths(source.pose3d) / _template_lengths(source.subject)
    target_ratio = _bone_lengths(target.pose3d) / _template_lengths(target.subject)
    assert source_ratio.mean(-1).std() < 0.015 and target_ratio.mean(-1).std() > 0.07
    arm_to_leg = [r[:, [10, 11]].mean(-1) / r[:, [1, 2]].mean(-1) for r in (source_ratio, target_ratio)]
    assert arm_to_leg[0].std() < 0.02 and arm_to_leg[1].std() > 0.05
    # Posture: rare families and strongly bent knees are more frequent in the target.
    rare = [np.isin(ps.action, ("crouching", "arms_raised")).mean() for ps in (source, target)]
    assert rare[0] < 0.1 and rare[1] > 0.28
    deep_knee = [
        np.mean(
            np.maximum(_hinge_flexion_deg(ps.pose3d, HINGES["knee_l"]), _hinge_flexion_deg(ps.pose3d, HINGES["knee_r"]))
            > 115.0
        )
        for ps in (source, target)
    ]
    assert deep_knee[0] < 0.05 and deep_knee[1] > 0.15


def test_source_family_boxes_show_in_the_3d_joints(splits):
    pose_set, _ = splits["source"]
    knee = np.stack([_hinge_flexion_deg(pose_set.pose3d, HINGES[k]) for k in ("knee_l", "knee_r")], -1)
    sitting, standing = pose_set.action == "sitting", pose_set.action == "standing"
    assert 70.0 - 0.3 <= knee[sitting].min() and knee[sitting].max() <= 110.0 + 0.3
    assert knee[standing].max() <= 10.3
    walking = pose_set.action == "walking"
    # Gait: the thighs swing in antiphase about 5° of flexion (±3° jitter each).
    _, meta = splits["source"]
    hips = meta["angles_deg"][walking][:, [motion.ANGLE_INDEX["hip_flex_l"], motion.ANGLE_INDEX["hip_flex_r"]]]
    np.testing.assert_allclose(hips.sum(-1), 10.0, atol=6.0)
    assert np.abs(hips[:, 0] - hips[:, 1]).max() > 40.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "wild"}, "Unknown `split` 'wild'; valid: source, target"),
        ({"num_samples": 0}, "`num_samples` to be an integer >= 1; received 0"),
        ({"num_samples": 2.5}, "`num_samples` to be an integer >= 1; received 2.5"),
        ({"num_samples": True}, "`num_samples`"),
        ({"seed": -1}, "`seed` to be an integer >= 0; received -1"),
        ({"stream": "test"}, "Unknown `stream` 'test'; valid: train, eval"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    args = {"split": "source", "num_samples": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        synthetic.make_synthetic(args.pop("split"), args.pop("num_samples"), **args)
