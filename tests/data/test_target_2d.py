"""Tests of poseaug_tf/data/target_2d.py: the predict CLI's files as unlabeled target 2D."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poseaug_tf.data.keypoint_layouts import KeypointError
from poseaug_tf.data.target_2d import MIN_FRAMES, read_target_2d

# COCO-17 index of each H36M-16 joint that COCO has directly (hips, knees, ankles, shoulders, elbows, wrists).
COCO_OF_H36M = {1: 12, 2: 14, 3: 16, 4: 11, 5: 13, 6: 15, 10: 5, 11: 7, 12: 9, 13: 6, 14: 8, 15: 10}


def coco_frames(rng, n, width, height):
    kp = np.stack(
        [rng.uniform(0.3 * width, 0.7 * width, (n, 17)), rng.uniform(0.2 * height, 0.8 * height, (n, 17))], -1
    )
    return kp


def normalised(kp_px, width, height):
    """Written out from the documented convention: x / w · 2 − 1, y / w · 2 − h / w."""
    return np.stack([kp_px[..., 0] / width * 2 - 1, kp_px[..., 1] / width * 2 - height / width], -1)


def test_files_in_two_formats_are_mapped_normalised_and_concatenated(tmp_path, rng):
    a = coco_frames(rng, 20, 1920, 1080)
    b = coco_frames(rng, 12, 640, 480)
    json_path = tmp_path / "a.json"
    json_path.write_text(
        json.dumps({"image_size": [1920, 1080], "layout": "coco17", "frames": [{"keypoints": f.tolist()} for f in a]})
    )
    np.savez(tmp_path / "b.npz", keypoints=b, image_size=np.array([640, 480]), layout="coco17")
    out = read_target_2d(f"{json_path},{tmp_path / 'b.npz'}")
    assert out.shape == (32, 16, 2) and out.dtype == np.float32
    for h36m, coco in COCO_OF_H36M.items():
        np.testing.assert_allclose(out[:20, h36m], normalised(a[:, coco], 1920, 1080), atol=1e-5)
        np.testing.assert_allclose(out[20:, h36m], normalised(b[:, coco], 640, 480), atol=1e-5)
    # The synthesised Hip is the midpoint of the COCO hips (a convention shared with the predict CLI).
    np.testing.assert_allclose(out[:20, 0], normalised((a[:, 11] + a[:, 12]) / 2, 1920, 1080), atol=1e-5)


def test_csv_with_an_image_size_and_layout_given_for_every_file(tmp_path, rng):
    kp = coco_frames(rng, MIN_FRAMES, 1280, 720)
    path = tmp_path / "dets.csv"
    np.savetxt(path, kp.reshape(len(kp), -1), delimiter=",")
    out = read_target_2d([str(path)], layout="coco17", image_size=(1280, 720))
    np.testing.assert_allclose(out[:, 1], normalised(kp[:, 12], 1280, 720), atol=1e-5)


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "does not exist"),
        ("empty", "empty"),
        ("few", f"expected at least {MIN_FRAMES}"),
        ("no_size", "no image size"),
        ("outside", "far outside"),
        ("none", "expected one or more"),
    ],
)
def test_bad_target_files_name_the_file_and_the_problem(tmp_path, rng, case, match):
    path = tmp_path / "t.npz"
    kp = coco_frames(rng, 40, 1000, 1000)
    if case == "empty":
        path.write_bytes(b"")
    elif case == "few":
        np.savez(path, keypoints=kp[:3], image_size=np.array([1000, 1000]))
    elif case == "no_size":
        np.savez(path, keypoints=kp)
    elif case == "outside":
        np.savez(path, keypoints=kp * 10, image_size=np.array([1000, 1000]))
    with pytest.raises(KeypointError, match=match) as error:
        read_target_2d("" if case == "none" else str(path))
    assert "\n" not in str(error.value)
    if case not in ("none", "few"):
        assert str(path) in str(error.value)
