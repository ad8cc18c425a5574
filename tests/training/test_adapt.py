"""A seconds-long adaptation: a trained smoke workdir adapted to unlabeled 2D of another camera (configs/adapt.py)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from configs import adapt, common
from poseaug_tf.data.synthetic import make_synthetic
from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.serving import export
from poseaug_tf.training import loop, run_dir

REPO = pathlib.Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1000, 800


def write_target_file(path: pathlib.Path, n: int = 400) -> np.ndarray:
    """Synthetic-target 2D as a predict-CLI JSON file in pixels; returns the normalised 2D it holds."""
    pose_2d = make_synthetic("target", n, seed=7, stream="train").pose2d
    px = (pose_2d + np.array([1.0, HEIGHT / WIDTH])) * WIDTH / 2
    frames = [{"keypoints": frame.tolist()} for frame in px]
    path.write_text(json.dumps({"image_size": [WIDTH, HEIGHT], "layout": "h36m16", "frames": frames}))
    return pose_2d


@pytest.mark.slow
def test_adapt_a_trained_workdir_to_target_keypoints(tmp_path, smoke_run):
    source = smoke_run["workdir"]  # its baseline is the smoke config's pretraining
    target = write_target_file(tmp_path / "camera.json")

    # The aligned variant (`adapt_aligned`): placements follow where the target camera sees people.
    config = adapt.get_config(f"{source}:baseline")
    config.data.target_2d = str(tmp_path / "camera.json")
    config.poseaug.update(epochs=2, align="target", position="range")
    common.validate(config)
    adapted = tmp_path / "adapted"
    results = loop.train_and_evaluate(config, adapted)

    assert run_dir.weights_path(adapted, "poseaug").is_file()
    assert files.read_json(adapted / "config.json")["poseaug"]["pretrained"] == str(source / "baseline.weights.h5")
    # Its image-x range is the target roots' (a wider field than the source's).
    placed = files.read_json(adapted / "poseaug" / run_dir.PLACEMENT)
    target_x = target[:, 0, 0]
    assert (
        placed["image_x"][0]
        < np.percentile(target_x, 5) / 2.3
        < np.percentile(target_x, 95) / 2.3
        < placed["image_x"][1]
    )
    last = run_dir.History(adapted).stage("poseaug")[-1]["train"]
    assert np.isfinite(last["d2d_loss"]) and np.isfinite(last["g_loss"])
    assert {"synthetic_source", "synthetic_target"} <= set(results["poseaug"])

    # The default recipe from the exported source model: its weights are the start (epoch 0 evaluates them as the
    # source's baseline), its metadata the config; the person turns in place (no pitch, roll or new position).
    version = export.export_workdir(source, output_root=tmp_path / "exports", weights="baseline", tflite_variants=())
    config = adapt.get_config(str(version))
    config.data.target_2d = str(tmp_path / "camera.json")
    config.poseaug.epochs = 2
    loop.train_and_evaluate(config, tmp_path / "from_export")
    placed = files.read_json(tmp_path / "from_export" / "poseaug" / run_dir.PLACEMENT)
    assert (placed["position"], placed["pitch_limit"], placed["roll_limit"]) == ("source", 0.0, 0.0)
    start = run_dir.History(tmp_path / "from_export").stage("poseaug")[0]["eval"]["validation"]
    source_best = min(run_dir.History(source).stage("pretrain"), key=lambda r: r["eval"]["validation"]["mpjpe"])[
        "eval"
    ]["validation"]
    assert start["mpjpe"] == pytest.approx(source_best["mpjpe"], rel=1e-5)
    config.model.num_stages = 3  # another model than the export's
    with pytest.raises(InputError, match="holds another model"):
        loop.train_and_evaluate(config, tmp_path / "mismatch")


@pytest.mark.slow
def test_a_bad_target_file_stops_train_py_in_one_line_before_any_work(tmp_path):
    bad = tmp_path / "camera.json"
    bad.write_text('{"frames": [{"keypoints": [[1, 2]]}]}')
    workdir = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config=configs/synthetic.py:smoke",
            f"--config.data.target_2d={bad}",
            "--config.poseaug.d2d_real=target",
            f"--workdir={workdir}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"train.py: error: {bad}: cannot infer the layout of 1 keypoints"), result.stderr
    assert "Traceback" not in result.stderr and "Generated" not in result.stderr  # read before any data
    assert not workdir.exists()
