"""Tests of poseaug_tf/data/keypoint_layouts.py: detector layouts → 16-joint H36M, synthesised joints."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import keypoint_layouts as kl
from tests import numpy_reference as ref

# Index tables written out from each format's documentation, independently of the module.
COCO = dict(
    nose=0,
    leye=1,
    reye=2,
    lear=3,
    rear=4,
    lsho=5,
    rsho=6,
    lelb=7,
    relb=8,
    lwri=9,
    rwri=10,
    lhip=11,
    rhip=12,
    lkne=13,
    rkne=14,
    lank=15,
    rank=16,
)
MEDIAPIPE = dict(
    nose=0,
    leye=2,
    reye=5,
    lear=7,
    rear=8,
    lsho=11,
    rsho=12,
    lelb=13,
    relb=14,
    lwri=15,
    rwri=16,
    lhip=23,
    rhip=24,
    lkne=25,
    rkne=26,
    lank=27,
    rank=28,
)
BODY25 = dict(
    nose=0,
    rsho=2,
    relb=3,
    rwri=4,
    lsho=5,
    lelb=6,
    lwri=7,
    rhip=9,
    rkne=10,
    rank=11,
    lhip=12,
    lkne=13,
    lank=14,
    reye=15,
    leye=16,
    rear=17,
    lear=18,
)
# Our 16 joints (docs/reference.md §1.2) that detectors give directly.
DIRECT = dict(rhip=1, rkne=2, rank=3, lhip=4, lkne=5, lank=6, lsho=10, lelb=11, lwri=12, rsho=13, relb=14, rwri=15)


def h36m_pose(rng, n=4) -> np.ndarray:
    """Random (n, 16, 2) pixel poses (only the mapping is tested, not anatomy)."""
    return rng.uniform(100, 900, (n, 16, 2))


def detector_pose(pose16: np.ndarray, table: dict, num_joints: int, rng) -> np.ndarray:
    """A detector pose whose direct joints equal pose16's and whose ear midpoint implies pose16's Head."""
    out = rng.uniform(100, 900, (len(pose16), num_joints, 2))
    for name, target in DIRECT.items():
        out[:, table[name]] = pose16[:, target]
    shoulder_mid = 0.5 * (pose16[:, 10] + pose16[:, 13])
    ear_mid = (pose16[:, 9] + 0.5 * shoulder_mid) / 1.5  # inverse of head = ear_mid + 0.5 (ear_mid - shoulder_mid)
    offset = rng.normal(0, 10, ear_mid.shape)
    out[:, table["lear"]], out[:, table["rear"]] = ear_mid + offset, ear_mid - offset
    return out


def expected_synthesised(pose16: np.ndarray) -> dict[int, np.ndarray]:
    hip = 0.5 * (pose16[:, 1] + pose16[:, 4])
    torso = 0.5 * (pose16[:, 10] + pose16[:, 13]) - hip
    return {0: hip, 7: hip + 0.545 * torso, 8: hip + 1.125 * torso, 9: pose16[:, 9]}


@pytest.mark.parametrize(
    "layout,table,num_joints", [("coco17", COCO, 17), ("mediapipe33", MEDIAPIPE, 33), ("body25", BODY25, 25)]
)
def test_coco_like_layouts_map_direct_and_synthesised_joints(rng, layout, table, num_joints):
    pose16 = h36m_pose(rng)
    mapped = kl.to_h36m16(detector_pose(pose16, table, num_joints, rng), layout)
    for target in DIRECT.values():
        np.testing.assert_allclose(mapped[:, target], pose16[:, target], rtol=1e-6)
    for target, value in expected_synthesised(pose16).items():
        np.testing.assert_allclose(mapped[:, target], value, rtol=1e-5, err_msg=str(target))


def test_head_falls_back_to_eyes_then_nose(rng):
    pose16 = h36m_pose(rng, 1)
    kp = detector_pose(pose16, COCO, 17, rng)
    scores = np.ones((1, 17))
    scores[0, COCO["lear"]] = 0.1
    shoulder_mid = 0.5 * (pose16[0, 10] + pose16[0, 13])
    eye_mid = 0.5 * (kp[0, COCO["leye"]] + kp[0, COCO["reye"]])
    mapped = kl.to_h36m16(kp, "coco", scores=scores, min_confidence=0.5)
    np.testing.assert_allclose(mapped[0, 9], eye_mid + 0.5 * (eye_mid - shoulder_mid), rtol=1e-5)
    scores[0, [COCO["rear"], COCO["leye"], COCO["reye"]]] = 0.0
    mapped = kl.to_h36m16(kp, "vitpose", scores=scores, min_confidence=0.5)
    nose = kp[0, COCO["nose"]]
    np.testing.assert_allclose(mapped[0, 9], nose + 0.5 * (nose - shoulder_mid), rtol=1e-5)
    scores[0, COCO["nose"]] = 0.0
    mapped = kl.to_h36m16(kp, "coco17", scores=scores, min_confidence=0.5)
    assert np.isnan(mapped[0, 9]).all() and np.isfinite(np.delete(mapped[0], 9, axis=0)).all()  # Head missing


def test_missing_keypoints_leave_the_joints_that_need_them_missing(rng):
    kp = detector_pose(h36m_pose(rng, 3), COCO, 17, rng)
    scores = np.ones((3, 17))
    scores[0, COCO["lkne"]] = 0.2  # below min_confidence: LKnee (5) missing
    kp[1, COCO["lhip"]] = np.nan  # absent: LHip (4), and Hip, Spine, Thorax (0, 7, 8) that need both hips
    mapped = kl.to_h36m16(kp, "coco17", scores=scores, min_confidence=0.3)
    missing = np.isnan(mapped).any(-1)
    assert missing[0].nonzero()[0].tolist() == [5]
    assert missing[1].nonzero()[0].tolist() == [0, 4, 7, 8]
    assert not missing[2].any()
    kp[2] = np.nan
    with pytest.raises(kl.KeypointError, match="dets.json: frame 2: no keypoint is present"):
        kl.to_h36m16(kp, "coco17", source="dets.json")


def test_h36m17_and_mpii16_reorder(rng):
    pose16 = h36m_pose(rng)
    pose17 = np.concatenate([pose16[:, :9], rng.uniform(0, 1, (4, 1, 2)), pose16[:, 9:]], axis=1)
    np.testing.assert_array_equal(kl.to_h36m16(pose17, "h36m17"), pose16.astype(np.float32))
    np.testing.assert_array_equal(kl.to_h36m16(pose16, "h36m16"), pose16.astype(np.float32))
    ours = list(ref.JOINT_NAMES_16)
    mpii = pose16[:, [ours.index(name) for name in ref.SH_MPII_NAMES_16]]
    np.testing.assert_array_equal(kl.to_h36m16(mpii, "mpii"), pose16.astype(np.float32))


def test_mapping_errors_name_frame_and_joint(rng):
    kp = detector_pose(h36m_pose(rng, 3), COCO, 17, rng)
    with pytest.raises(kl.KeypointError, match=r"shape \(frames, 17, 2\).*\(3, 16, 2\)"):
        kl.to_h36m16(kp[:, :16], "coco17")
    bad = kp.copy()
    bad[1, 5, 0] = np.inf
    with pytest.raises(kl.KeypointError, match="frame 1, keypoint 5: non-finite"):
        kl.to_h36m16(bad, "coco17")
    with pytest.raises(kl.KeypointError, match="layout: unknown layout 'halpe'; valid: body25, coco17"):
        kl.to_h36m16(kp, "halpe")
    with pytest.raises(kl.KeypointError, match="dets.json: cannot infer the layout of 18 keypoints"):
        kl.layout_for_count(18, "dets.json")
