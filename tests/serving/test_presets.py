"""Tests of poseaug_tf/serving/presets.py: writing a preset from a workdir, loading it (folder, .zip) everywhere a model
is accepted, and the errors of a corrupted, mismatching or remote preset."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from poseaug_tf import Lifter
from poseaug_tf.data import make_synthetic
from poseaug_tf.serving import export, presets
from poseaug_tf.training import model_files
from tests.serving.test_export import REPO, make_workdir


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """(preset folder, workdir, keras model of the workdir) of a fake MLP run."""
    root = tmp_path_factory.mktemp("presets")
    workdir = make_workdir(root / "run")
    (workdir / "results.json").write_text(json.dumps({"poseaug": {"h36m": {"mpjpe": 51.25, "pa_mpjpe": 39.5}}}))
    folder = export.write_workdir_preset(workdir, root / "preset")
    model, _ = model_files.load_estimator(workdir)
    return folder, workdir, model


def test_layout_metadata_and_checksums(preset):
    folder, _, model = preset
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metadata.json", "model.weights.h5"]
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["format"] == "poseaug_tf.preset" and meta["skeleton"] == "human36m_16"
    assert meta["parameter_count"] == model.count_params()
    assert meta["results"] == {"h36m": {"mpjpe": 51.25, "pa_mpjpe": 39.5}}
    assert meta["training"]["dataset"] == "h36m" and "Human3.6M licence" in meta["licence"]
    assert "p_px / w * 2" in meta["input"]["keypoints_2d"]
    import hashlib

    for name in ("config.json", "model.weights.h5"):
        assert meta["checksums"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert json.loads((folder / "config.json").read_text())["class_name"] == "SimpleBaseline"


def test_lifter_from_a_folder_and_a_zip_equals_keras(preset, tmp_path):
    folder, _, model = preset
    x = make_synthetic("source", 9, seed=4).pose2d
    expected = model(x, training=False).numpy()
    archive = tmp_path / "preset.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in folder.iterdir():
            z.write(path, f"my_preset/{path.name}")
    for source in (folder, archive):
        lifter = Lifter.from_preset(source)
        np.testing.assert_allclose(lifter.lift(x), expected, atol=1e-6)
        assert Lifter.load(source).metadata["format"] == "poseaug_tf.preset"  # Lifter.load dispatches too


def test_predict_cli_takes_a_preset(preset, tmp_path):
    folder, _, model = preset
    kp = (make_synthetic("source", 5, seed=2).pose2d + np.array([1.0, 0.5])) * 500  # a 1000x500 image
    np.savez(tmp_path / "in.npz", keypoints=kp, image_size=np.array([1000, 500]), layout="h36m16")
    done = subprocess.run(
        [sys.executable, "-m", "poseaug_tf.cli.predict", "--model", str(folder), "--input", str(tmp_path / "in.npz")]
        + ["--output", str(tmp_path / "out.npz")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    expected = model((kp / 500 - np.array([1.0, 0.5])).astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["keypoints_3d"], expected, atol=1e-5)


# Keras warns about every layer it cannot fill before it raises on the mismatching weights.
@pytest.mark.filterwarnings("ignore:Skipping nested container")
@pytest.mark.parametrize("damage", ["weights_byte", "missing_weights", "other_model", "not_ours", "metadata"])
def test_a_damaged_or_mismatching_preset_is_refused_in_one_line(preset, tmp_path, damage):
    folder = tmp_path / "p"
    shutil.copytree(preset[0], folder)
    weights = folder / "model.weights.h5"
    if damage == "weights_byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
        match = "model.weights.h5: checksum mismatch"
    elif damage == "missing_weights":
        weights.unlink()
        match = "model.weights.h5 is missing"
    elif damage == "metadata":
        (folder / "metadata.json").write_text("{not json")
        match = "metadata.json: not readable JSON"
    else:
        other = make_workdir(tmp_path / "other", width=40)
        shutil.copy(other / "poseaug.weights.h5", weights)  # weights of a wider MLP, checksums updated to match
        if damage == "not_ours":
            (folder / "config.json").write_text(json.dumps({"class_name": "Foo", "config": {}}))
        meta = json.loads((folder / "metadata.json").read_text())
        meta["checksums"] = {n: presets.sha256(folder / n) for n in presets.CHECKED_FILES}
        (folder / "metadata.json").write_text(json.dumps(meta))
        match = "does not fit the SimpleBaseline" if damage == "other_model" else "not a poseaug_tf estimator"
    with pytest.raises(presets.PresetError, match=match) as error:
        Lifter.from_preset(folder)
    assert "\n" not in str(error.value)


def test_remote_uri_without_the_hub_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # as if not installed
    with pytest.raises(presets.PresetError, match="pip install keras-hub"):
        presets.resolve("hf://someone/poseaug-videopose")


def test_an_existing_folder_is_never_overwritten(preset):
    folder, workdir, _ = preset
    before = presets.sha256(folder / "model.weights.h5")
    with pytest.raises(presets.InputError, match="exists"):
        export.write_workdir_preset(workdir, folder)
    assert presets.sha256(folder / "model.weights.h5") == before


def test_export_cli_writes_a_preset(preset, tmp_path):
    _, workdir, _ = preset
    done = subprocess.run(
        [sys.executable, "export.py", f"--workdir={workdir}", f"--preset={tmp_path / 'cli_preset'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert presets.is_preset(tmp_path / "cli_preset")


def test_training_starts_from_a_preset(preset):
    folder, _, model = preset
    from configs import common
    from poseaug_tf.training import devices

    assert model_files.start_weights(str(folder)) == folder
    config = common.base_config()
    config.model.name, config.model.width, config.model.num_stages = "mlp", 24, 1
    fresh = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug")
    model_files.load_start_weights(fresh, folder)
    for a, b in zip(fresh.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    config.model.name = "videopose"
    other = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug")
    with pytest.raises(presets.PresetError, match="holds a SimpleBaseline; this config builds a VideoPose"):
        model_files.load_start_weights(other, folder)
