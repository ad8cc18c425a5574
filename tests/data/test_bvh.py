"""Tests for poseaug_tf/data/bvh.py: world joint positions of a written BVH against cumulative offsets."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.data import DataFormatError
from poseaug_tf.data.bvh import read_joint_positions
from tests.data import bvh_files


def test_positions_match_forward_kinematics_written_out(tmp_path):
    frames = [((0.0, 0.0), 0.0), ((30.0, -20.0), 90.0), ((5.0, 5.0), -37.0)]
    path = tmp_path / "clip.bvh"
    bvh_files.write_bvh(path, [f[0] for f in frames], [f[1] for f in frames])
    names = ["Hips", "Head", "Hand_L", "Foot_R", "Toes_L"]
    got = read_joint_positions(path, names)
    assert got.shape == (3, 5, 3)
    for t, (xz, yaw) in enumerate(frames):
        expected = bvh_files.expected_positions(xz, yaw)
        np.testing.assert_allclose(got[t], [expected[n] for n in names], atol=1e-3)
    np.testing.assert_allclose(read_joint_positions(path, names, stride=2), got[::2])


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.bvh"):
        read_joint_positions(tmp_path / "missing.bvh", ["Hips"])
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT x\n{\n}\nMOTION\nFrames: x\n")
    with pytest.raises(DataFormatError, match="bad.bvh: not a readable BVH file"):
        read_joint_positions(bad, ["Hips"])
    good = tmp_path / "good.bvh"
    bvh_files.write_bvh(good, [(0.0, 0.0)], [0.0])
    with pytest.raises(DataFormatError, match=r"no joint\(s\) \['Pelvis'\]"):
        read_joint_positions(good, ["Pelvis"])


def test_truncated_file_fails_instead_of_hanging(tmp_path):
    good = tmp_path / "good.bvh"
    bvh_files.write_bvh(good, [(0.0, 0.0)], [0.0])
    text = good.read_text()
    for name, content, reason in (
        ("cut.bvh", text[: len(text) // 3], "no MOTION section"),
        ("braces.bvh", text.replace("}", "", 1), "braces do not balance"),
        ("frames.bvh", text.replace("Frames:", "Count:"), "'Frames:'"),
        ("foreign.bvh", "ply\n" + text, "HIERARCHY"),
    ):
        (tmp_path / name).write_text(content)
        with pytest.raises(DataFormatError, match=reason):
            read_joint_positions(tmp_path / name, ["Hips"])
    (tmp_path / "binary.bvh").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataFormatError, match="binary.bvh: not a readable BVH file"):
        read_joint_positions(tmp_path / "binary.bvh", ["Hips"])
