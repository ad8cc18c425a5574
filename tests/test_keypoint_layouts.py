"""Tests of poseaug_tf/keypoint_layouts.py: detector layouts → 16-joint H36M, synthesised joints, file readers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poseaug_tf import keypoint_layouts as kl
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
    mpii_names = [
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
    ]
    ours = list(ref.JOINT_NAMES_16)
    mpii = pose16[:, [ours.index(name) for name in mpii_names]]
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


def test_binary_csv_and_text_image_sizes_name_the_file(tmp_path):
    binary = tmp_path / "dets.csv"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(kl.KeypointError, match=r"dets.csv: not a text file \(byte 128 is not UTF-8\)"):
        kl.read_keypoints(binary)
    doc = tmp_path / "dets.json"
    for size in (["640", "480"], [True, False], [[640, 480], "x"]):
        doc.write_text(json.dumps({"image_size": size, "frames": [{"keypoints": [[1.0, 2.0]] * 17}]}))
        with pytest.raises(kl.KeypointError, match="dets.json: 'image_size' must be numbers"):
            kl.read_keypoints(doc)


# --- readers ---------------------------------------------------------------------------------------------------
def test_read_json_document_and_mmpose_list(tmp_path, rng):
    kp = rng.uniform(0, 500, (2, 17, 2))
    doc = {
        "image_size": [640, 480],
        "layout": "coco17",
        "frames": [{"keypoints": [[x, y, 0.9] for x, y in frame]} for frame in kp.tolist()],
    }
    doc["frames"][1]["keypoints"][3] = None
    (tmp_path / "a.json").write_text(json.dumps(doc))
    data = kl.read_keypoints(tmp_path / "a.json")
    np.testing.assert_allclose(data.keypoints[0], kp[0])
    assert data.layout == "coco17" and data.image_size.tolist() == [640, 480]
    assert data.scores[1, 3] == 0.0 and data.scores[0, 3] == pytest.approx(0.9)
    mmpose = [{"keypoints": frame, "keypoint_scores": [0.5] * 17} for frame in kp.tolist()]
    (tmp_path / "b.json").write_text(json.dumps(mmpose))
    data = kl.read_keypoints(tmp_path / "b.json")
    np.testing.assert_allclose(data.keypoints, kp)
    assert data.image_size is None and np.all(data.scores == 0.5)
    flat = [{"keypoints": np.concatenate([frame, np.ones((17, 1))], 1).ravel().tolist()} for frame in kp]
    (tmp_path / "c.json").write_text(json.dumps(flat))
    np.testing.assert_allclose(kl.read_keypoints(tmp_path / "c.json").keypoints, kp)


def test_read_csv_with_and_without_header(tmp_path, rng):
    kp = rng.uniform(0, 500, (3, 17, 3))
    rows = "\n".join(",".join(f"{v:.6f}" for v in frame.ravel()) for frame in kp)
    header = ",".join(f"{axis}{j}" for j in range(17) for axis in "xys")
    (tmp_path / "a.csv").write_text(header + "\n" + rows + "\n\n")
    data = kl.read_keypoints(tmp_path / "a.csv")
    np.testing.assert_allclose(data.keypoints, kp[..., :2], atol=1e-6)
    np.testing.assert_allclose(data.scores, kp[..., 2], atol=1e-6)
    (tmp_path / "b.csv").write_text("\n".join(",".join(str(v) for v in f[..., :2].ravel()) for f in kp))
    data = kl.read_keypoints(tmp_path / "b.csv")
    assert data.scores is None and data.keypoints.shape == (3, 17, 2)


def test_read_npz(tmp_path, rng):
    kp = rng.uniform(0, 500, (5, 33, 3))
    np.savez(tmp_path / "a.npz", keypoints=kp, image_size=np.array([1280, 720]), layout=np.array("mediapipe33"))
    data = kl.read_keypoints(tmp_path / "a.npz")
    np.testing.assert_allclose(data.keypoints, kp[..., :2])
    np.testing.assert_allclose(data.scores, kp[..., 2])
    assert data.layout == "mediapipe33" and data.image_size.tolist() == [1280, 720]


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("empty.json", "", "the file is empty"),
        ("bad.json", "{not json", "not valid JSON"),
        ("noframes.json", '{"image_size": [1, 2]}', "expected key 'frames'"),
        ("zero.json", '{"frames": []}', "non-empty list of frames"),
        ("text.json", '{"frames": [{"keypoints": [[1, "a", 0.5]]}]}', r"frame 0, keypoint 0: expected a number"),
        ("ragged.json", '{"frames": [{"keypoints": [[1, 2], [1, 2, 3]]}]}', r"frame 0, keypoint 1: expected \[x, y\]"),
        (
            "count.json",
            '{"frames": [{"keypoints": [[1, 2]]}, {"keypoints": [[1, 2], [3, 4]]}]}',
            "frame 1: 2 keypoints; expected 1",
        ),
        ("cell.csv", "1,2,3\n4,x,6\n", r"line 2 \(frame 1\), column 1: expected a number; received 'x'"),
        ("short.csv", "1,2,3\n4,5\n", r"line 2 \(frame 1\): 2 fields; expected 3"),
        ("cols.csv", "1,2,3,4,5\n", "5 values per frame"),
        ("header.csv", "x0,y0\n", "no data rows"),
        ("dets.txt", "1", "unknown extension"),
    ],
)
def test_reader_errors(tmp_path, name, content, match):
    (tmp_path / name).write_text(content)
    with pytest.raises(kl.KeypointError, match=match):
        kl.read_keypoints(tmp_path / name)


def test_reader_errors_npz_and_missing(tmp_path):
    np.savez(tmp_path / "a.npz", points=np.zeros((1, 17, 2)))
    with pytest.raises(kl.KeypointError, match=r"expected array 'keypoints'.*\['points'\]"):
        kl.read_keypoints(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", keypoints=np.array([[["a", "b"]]]))
    with pytest.raises(kl.KeypointError, match="array 'keypoints': expected numbers"):
        kl.read_keypoints(tmp_path / "b.npz")
    with pytest.raises(kl.KeypointError, match="does not exist"):
        kl.read_keypoints(tmp_path / "absent.json")


def test_reader_errors_corrupt_npz(tmp_path, rng):
    np.savez(tmp_path / "good.npz", keypoints=rng.uniform(0, 100, (4, 17, 2)))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04" + bytes(range(200)))
    np.savez(tmp_path / "pickled.npz", keypoints=np.array([{"x": 1}], dtype=object))
    for name in ("cut.npz", "garbage.npz", "pickled.npz"):
        with pytest.raises(kl.KeypointError, match=f"{name}: not a readable npz file of plain arrays"):
            kl.read_keypoints(tmp_path / name)


def test_layout_flag_contradicting_the_file_is_refused(tmp_path, rng):
    kp = rng.uniform(100, 400, (2, 16, 2))
    doc = {"image_size": [640, 480], "layout": "h36m16", "frames": [{"keypoints": f} for f in kp.tolist()]}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    data = kl.read_keypoints(tmp_path / "a.json")
    # Same joint count, other joint order: silently re-reading the joints would return poses metres off.
    with pytest.raises(kl.KeypointError, match="the file says layout 'h36m16' but --layout is 'mpii16'"):
        kl.prepare(data, source="a.json", layout="mpii16")
    same, _, name = kl.prepare(data, source="a.json", layout="h36m16")
    np.testing.assert_allclose(same, kl.prepare(data, source="a.json")[0])
    assert name == "h36m16"
