"""Tests of `python -m poseaug_tf.cli.predict`: every input format end to end, and every error case."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from poseaug_tf.cli import predict
from poseaug_tf.core import skeleton
from poseaug_tf.models import build_estimator
from poseaug_tf.serving import export

REPO = pathlib.Path(__file__).resolve().parents[2]
COCO_DIRECT = {12: 1, 14: 2, 16: 3, 11: 4, 13: 5, 15: 6, 5: 10, 7: 11, 9: 12, 6: 13, 8: 14, 10: 15}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(model, version folder, COCO keypoints (3, 17, 3) pixels in a 640x480 image)."""
    root = tmp_path_factory.mktemp("predict")
    model = build_estimator("mlp", units=56, num_stages=1)
    version_dir = export.export_model(
        model, root / "m", tflite_variants=("float32",), sets=export.verification_sets(num_samples=64)
    )
    rng = np.random.default_rng(5)
    coco = np.concatenate([rng.uniform([200, 100], [440, 400], (3, 17, 2)), rng.uniform(0.6, 1, (3, 17, 1))], -1)
    return model, version_dir, coco


def expected_3d(model, coco: np.ndarray, size=(640.0, 480.0)) -> np.ndarray:
    """Independent pipeline: COCO → 16 joints (documented fractions) → normalise → Keras."""
    kp = _coco_to_16(coco)
    norm = kp / size[0] * 2 - np.array([1, size[1] / size[0]])
    return model(norm.astype(np.float32), training=False).numpy()


def _coco_to_16(coco: np.ndarray) -> np.ndarray:
    kp = np.zeros((len(coco), 16, 2))
    for source, target in COCO_DIRECT.items():
        kp[:, target] = coco[:, source, :2]
    hip = 0.5 * (coco[:, 11, :2] + coco[:, 12, :2])
    shoulder = 0.5 * (coco[:, 5, :2] + coco[:, 6, :2])
    ear = 0.5 * (coco[:, 3, :2] + coco[:, 4, :2])
    kp[:, 0], kp[:, 7], kp[:, 8] = hip, hip + 0.545 * (shoulder - hip), hip + 1.125 * (shoulder - hip)
    kp[:, 9] = ear + 0.5 * (ear - shoulder)
    return kp


def write_inputs(tmp_path: pathlib.Path, coco: np.ndarray) -> dict[str, list[str]]:
    """The same detections as JSON, MMPose-style JSON list, CSV and npz; returns path → extra CLI args."""
    doc = {"image_size": [640, 480], "layout": "coco17", "frames": [{"keypoints": f.tolist()} for f in coco]}
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    mmpose = [{"keypoints": f[:, :2].tolist(), "keypoint_scores": f[:, 2].tolist()} for f in coco]
    (tmp_path / "mmpose.json").write_text(json.dumps(mmpose))
    (tmp_path / "dets.csv").write_text("\n".join(",".join(repr(float(v)) for v in f.ravel()) for f in coco))
    np.savez(tmp_path / "dets.npz", keypoints=coco, image_size=np.array([640, 480]))
    size = ["--image-size", "640x480"]
    return {"doc.json": [], "mmpose.json": size + ["--layout", "mmpose"], "dets.csv": size, "dets.npz": []}


@pytest.mark.parametrize("out_ext", [".json", ".npz"])
def test_every_input_format_end_to_end(setup, tmp_path, out_ext, capsys):
    model, version_dir, coco = setup
    expected = expected_3d(model, coco)
    for name, extra in write_inputs(tmp_path, coco).items():
        output = tmp_path / f"{name}{out_ext}"
        code = predict.main(
            ["--model", str(version_dir), "--input", str(tmp_path / name), "--output", str(output), *extra]
        )
        assert code == 0, capsys.readouterr().err
        if out_ext == ".json":
            doc = json.loads(output.read_text())
            pose = np.array([frame["keypoints_3d"] for frame in doc["frames"]])
            assert doc["joint_names"][8] == "Thorax" and doc["units"] == "metres" and doc["layout"] == "coco17"
        else:
            with np.load(output) as result:
                pose = result["keypoints_3d"]
                assert result["joint_names"][9] == "Head" and str(result["units"]) == "metres"
        np.testing.assert_allclose(pose, expected, atol=2e-5, err_msg=name)


def test_tflite_flip_and_plot(setup, tmp_path):
    model, version_dir, coco = setup
    write_inputs(tmp_path, coco)
    tflite = version_dir / "tflite" / "pose_lifter_float32.tflite"
    result = predict.predict_file(
        tflite,
        tmp_path / "dets.npz",
        tmp_path / "out.npz",
        use_flip_tta=True,
        plot_path=tmp_path / "pose.png",
        plot_frame=2,
        num_threads=1,
    )
    assert result["flip_tta"] and (tmp_path / "out.npz").is_file()
    assert (tmp_path / "pose.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    coco_mirror = coco.copy()
    coco_mirror[..., 0] = 640 - coco[..., 0]
    coco_mirror = coco_mirror[:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]]
    mirrored = expected_3d(model, coco_mirror)[:, [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 13, 14, 15, 10, 11, 12]]
    mirrored[..., 0] *= -1
    np.testing.assert_allclose(result["keypoints_3d"], 0.5 * (expected_3d(model, coco) + mirrored), atol=2e-5)


def test_module_cli_runs_in_a_fresh_process(setup, tmp_path):
    _, version_dir, coco = setup
    write_inputs(tmp_path, coco)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "poseaug_tf.cli.predict",
            "--model",
            str(version_dir),
            "--input",
            str(tmp_path / "doc.json"),
            "--output",
            str(tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(json.loads((tmp_path / "o.json").read_text())["frames"]) == 3
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "poseaug_tf.cli.predict",
            "--model",
            str(version_dir),
            "--input",
            str(tmp_path / "dets.csv"),
            "--output",
            str(tmp_path / "o2.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert bad.returncode == 1 and "no image size" in bad.stderr and not (tmp_path / "o2.json").exists()


def _doc(coco, **changes):
    doc = {"image_size": [640, 480], "layout": "coco17", "frames": [{"keypoints": f.tolist()} for f in coco]}
    doc.update(changes)
    return doc


def test_missing_keypoints_are_lifted_as_the_signature_fills_them(setup, tmp_path, capsys):
    """A keypoint below --min-confidence, absent (null) or NaN: the frame is lifted with the joints that need it
    filled (keypoint_noise.fill_missing), not refused and not NaN."""
    model, version_dir, coco = setup
    low = coco.copy()
    low[1, 14, 2] = 0.05  # RKnee below the default min_confidence
    doc = _doc(low)
    doc["frames"][2]["keypoints"][16] = None  # RFoot absent
    doc["frames"][0]["keypoints"][7][0] = float("nan")  # LElbow NaN
    (tmp_path / "gaps.json").write_text(json.dumps(doc))
    out = tmp_path / "gaps.out.json"
    code = predict.main(["--model", str(version_dir), "--input", str(tmp_path / "gaps.json"), "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    frames = json.loads(out.read_text())["frames"]
    lifted = np.array([frame["keypoints_3d"] for frame in frames])
    assert np.isfinite(lifted).all()
    assert [frame["missing_joints"] for frame in frames] == [["LElbow"], ["RKnee"], ["RFoot"]]
    assert frames[1]["keypoints_2d_px"][2] is None
    # Independent: the 16-joint pixels, each missing joint moved to its parent (none of these is the root), Keras.
    kp = _coco_to_16(coco)
    for frame, joint in ((1, 2), (2, 3), (0, 11)):
        kp[frame, joint] = kp[frame, skeleton.PARENTS[joint]]
    norm = kp / 640 * 2 - np.array([1, 480 / 640])
    np.testing.assert_allclose(lifted, model(norm.astype(np.float32), training=False).numpy(), atol=2e-4)


def _error_cases(coco):
    inf = _doc(coco)
    inf["frames"][2]["keypoints"][7][0] = float("inf")
    text = _doc(coco)
    text["frames"][0]["keypoints"][5][1] = "12px"
    return [
        ("count.json", json.dumps(_doc(coco[:, :16])), [], r"shape \(frames, 17, 2\).*\(3, 16, 2\)"),
        ("inf.json", json.dumps(inf), [], "frame 2, keypoint 7: non-finite"),
        ("text.json", json.dumps(text), [], "frame 0, keypoint 5: expected a number; received '12px'"),
        ("size.json", json.dumps(_doc(coco, image_size=[64, 48])), [], "far outside the 64x48 image"),
        ("size0.json", json.dumps(_doc(coco, image_size=[0, 480])), [], r"image_size.*\[0.0, 480.0\]"),
        ("norm.json", json.dumps(_doc(coco * [1 / 640, 1 / 480, 1])), [], "expected pixel coordinates"),
        ("flag.json", json.dumps(_doc(coco)), ["--image-size", "640by480"], "expected WIDTHxHEIGHT"),
        ("empty.json", "", [], "the file is empty"),
        ("empty.csv", "x0,y0\n", ["--image-size", "640x480"], "no data rows"),
    ]


def test_errors_exit_non_zero_and_write_nothing(setup, tmp_path, capsys):
    _, version_dir, coco = setup
    for name, content, extra, match in _error_cases(coco):
        (tmp_path / name).write_text(content)
        output, plot = tmp_path / f"{name}.out.json", tmp_path / f"{name}.png"
        code = predict.main(
            [
                "--model",
                str(version_dir),
                "--input",
                str(tmp_path / name),
                "--output",
                str(output),
                "--plot",
                str(plot),
                *extra,
            ]
        )
        err = capsys.readouterr().err
        assert code == 1, name
        assert str(tmp_path / name) in err or "--image-size" in err, (name, err)
        assert __import__("re").search(match, err), (name, err)
        assert not output.exists() and not plot.exists(), name
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_bad_model_and_output_paths(setup, tmp_path, capsys):
    _, version_dir, coco = setup
    write_inputs(tmp_path, coco)
    cases = [
        (["--model", str(tmp_path)], "SavedModel folder"),
        (["--model", str(version_dir), "--output", str(tmp_path / "o.txt")], "expected a .json or .npz"),
        (["--model", str(version_dir), "--output", str(tmp_path / "no" / "o.json")], "does not exist"),
        (["--model", str(version_dir), "--layout", "halpe"], "--layout: unknown layout 'halpe'"),
    ]
    for args, match in cases:
        argv = ["--input", str(tmp_path / "doc.json"), "--output", str(tmp_path / "o.json"), *args]
        assert predict.main(argv) == 1
        assert match in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_output_never_overwrites_the_input_or_needs_a_writable_folder(setup, tmp_path, capsys, monkeypatch):
    _, version_dir, coco = setup
    write_inputs(tmp_path, coco)
    before = (tmp_path / "dets.npz").read_bytes()
    argv = ["--model", str(version_dir), "--input", str(tmp_path / "dets.npz")]
    assert predict.main(argv + ["--output", str(tmp_path / "." / "dets.npz")]) == 1
    assert "is the input file" in capsys.readouterr().err
    assert (tmp_path / "dets.npz").read_bytes() == before
    # Root may write anywhere, so a folder refusing new files is simulated rather than set with chmod
    # (tests/test_bad_inputs.py uses /sys, which refuses even root).
    locked = tmp_path / "locked"
    locked.mkdir()
    real_temporary_file = predict.tempfile.TemporaryFile

    def temporary_file(*args, dir=None, **kwargs):
        if pathlib.Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return real_temporary_file(*args, dir=dir, **kwargs)

    monkeypatch.setattr(predict.tempfile, "TemporaryFile", temporary_file)
    assert predict.main(argv + ["--output", str(locked / "o.json")]) == 1
    assert "is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []
