"""Tests of poseaug_tf/data/keypoint_files.py: JSON, CSV and NPZ keypoint files, their errors and the layout flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poseaug_tf.data import keypoint_files as kf
from poseaug_tf.data import keypoint_layouts as kl


def test_binary_csv_and_text_image_sizes_name_the_file(tmp_path):
    binary = tmp_path / "dets.csv"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(kl.KeypointError, match=r"dets.csv: not a text file \(byte 128 is not UTF-8\)"):
        kf.read_keypoints(binary)
    doc = tmp_path / "dets.json"
    for size in (["640", "480"], [True, False], [[640, 480], "x"]):
        doc.write_text(json.dumps({"image_size": size, "frames": [{"keypoints": [[1.0, 2.0]] * 17}]}))
        with pytest.raises(kl.KeypointError, match="dets.json: 'image_size' must be numbers"):
            kf.read_keypoints(doc)


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
    data = kf.read_keypoints(tmp_path / "a.json")
    np.testing.assert_allclose(data.keypoints[0], kp[0])
    assert data.layout == "coco17" and data.image_size.tolist() == [640, 480]
    assert data.scores[1, 3] == 0.0 and data.scores[0, 3] == pytest.approx(0.9)
    mmpose = [{"keypoints": frame, "keypoint_scores": [0.5] * 17} for frame in kp.tolist()]
    (tmp_path / "b.json").write_text(json.dumps(mmpose))
    data = kf.read_keypoints(tmp_path / "b.json")
    np.testing.assert_allclose(data.keypoints, kp)
    assert data.image_size is None and np.all(data.scores == 0.5)
    flat = [{"keypoints": np.concatenate([frame, np.ones((17, 1))], 1).ravel().tolist()} for frame in kp]
    (tmp_path / "c.json").write_text(json.dumps(flat))
    np.testing.assert_allclose(kf.read_keypoints(tmp_path / "c.json").keypoints, kp)


def test_read_csv_with_and_without_header(tmp_path, rng):
    kp = rng.uniform(0, 500, (3, 17, 3))
    rows = "\n".join(",".join(f"{v:.6f}" for v in frame.ravel()) for frame in kp)
    header = ",".join(f"{axis}{j}" for j in range(17) for axis in "xys")
    (tmp_path / "a.csv").write_text(header + "\n" + rows + "\n\n")
    data = kf.read_keypoints(tmp_path / "a.csv")
    np.testing.assert_allclose(data.keypoints, kp[..., :2], atol=1e-6)
    np.testing.assert_allclose(data.scores, kp[..., 2], atol=1e-6)
    (tmp_path / "b.csv").write_text("\n".join(",".join(str(v) for v in f[..., :2].ravel()) for f in kp))
    data = kf.read_keypoints(tmp_path / "b.csv")
    assert data.scores is None and data.keypoints.shape == (3, 17, 2)


def test_read_npz(tmp_path, rng):
    kp = rng.uniform(0, 500, (5, 33, 3))
    np.savez(tmp_path / "a.npz", keypoints=kp, image_size=np.array([1280, 720]), layout=np.array("mediapipe33"))
    data = kf.read_keypoints(tmp_path / "a.npz")
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
        kf.read_keypoints(tmp_path / name)


def test_reader_errors_npz_and_missing(tmp_path):
    np.savez(tmp_path / "a.npz", points=np.zeros((1, 17, 2)))
    with pytest.raises(kl.KeypointError, match=r"expected array 'keypoints'.*\['points'\]"):
        kf.read_keypoints(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", keypoints=np.array([[["a", "b"]]]))
    with pytest.raises(kl.KeypointError, match="array 'keypoints': expected numbers"):
        kf.read_keypoints(tmp_path / "b.npz")
    with pytest.raises(kl.KeypointError, match="does not exist"):
        kf.read_keypoints(tmp_path / "absent.json")


def test_reader_errors_corrupt_npz(tmp_path, rng):
    np.savez(tmp_path / "good.npz", keypoints=rng.uniform(0, 100, (4, 17, 2)))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04" + bytes(range(200)))
    np.savez(tmp_path / "pickled.npz", keypoints=np.array([{"x": 1}], dtype=object))
    for name in ("cut.npz", "garbage.npz", "pickled.npz"):
        with pytest.raises(kl.KeypointError, match=f"{name}: not a readable npz file of plain arrays"):
            kf.read_keypoints(tmp_path / name)


def test_layout_flag_contradicting_the_file_is_refused(tmp_path, rng):
    kp = rng.uniform(100, 400, (2, 16, 2))
    doc = {"image_size": [640, 480], "layout": "h36m16", "frames": [{"keypoints": f} for f in kp.tolist()]}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    data = kf.read_keypoints(tmp_path / "a.json")
    # Same joint count, other joint order: silently re-reading the joints would return poses metres off.
    with pytest.raises(kl.KeypointError, match="the file says layout 'h36m16' but --layout is 'mpii16'"):
        kf.prepare(data, source="a.json", layout="mpii16")
    same, _, name = kf.prepare(data, source="a.json", layout="h36m16")
    np.testing.assert_allclose(same, kf.prepare(data, source="a.json")[0])
    assert name == "h36m16"
