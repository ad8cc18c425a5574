"""Tests of poseaug_tf/serving/export.py and export.py: TF Serving layout, signatures, parity of every variant."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from tensorflow.core.protobuf import saved_model_pb2

from configs import common
from poseaug_tf.core import skeleton
from poseaug_tf.data import make_synthetic
from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.serving import contract, export
from poseaug_tf.training import devices, model_files

REPO = pathlib.Path(__file__).resolve().parents[2]
LEFT, RIGHT = (4, 5, 6, 10, 11, 12), (1, 2, 3, 13, 14, 15)  # docs/reference.md §1.2, written out independently


def make_workdir(path: pathlib.Path, *, width: int = 24, seed: int = 3) -> pathlib.Path:
    """A fake training workdir: config.json + poseaug.weights.h5 of a tiny untrained MLP with random BN stats."""
    config = common.base_config()
    config.model.name, config.model.width, config.model.num_stages = "mlp", width, 1
    model = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug")
    rng = np.random.default_rng(seed)
    for variable in model.non_trainable_variables:  # BN moving stats away from (0, 1) so folding matters
        value = (
            rng.uniform(0.5, 1.5, variable.shape) if "variance" in variable.path else rng.normal(0, 0.1, variable.shape)
        )
        variable.assign(value.astype(np.float32))
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config.to_dict()))
    model.save_weights(str(path / "poseaug.weights.h5"))
    return path


def numpy_flip(pose: np.ndarray) -> np.ndarray:
    perm = list(range(16))
    for left, right in zip(LEFT, RIGHT):
        perm[left], perm[right] = right, left
    out = pose[:, perm].copy()
    out[..., 0] *= -1
    return out


def run_tflite(path, x: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_path=str(path))
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(version_dir, keras model, inputs) of a full export (all TFLite variants) of a fake workdir."""
    root = tmp_path_factory.mktemp("export")
    workdir = make_workdir(root / "tiny_run")
    version_dir = export.export_workdir(workdir, output_root=root / "saved_models")
    model, _ = model_files.load_estimator(workdir)
    x = make_synthetic("source", 37, seed=11).pose2d  # realistic inputs: outputs within ~1 m like real poses
    return version_dir, model, x


def test_layout_name_version_and_files(exported):
    version_dir, _, _ = exported
    assert version_dir.name == "1" and version_dir.parent.name == "tiny_run"
    for name in (
        "saved_model.pb",
        "variables/variables.index",
        f"assets/{contract.METADATA_FILENAME}",
        contract.REPORT_FILENAME,
        *(f"tflite/pose_lifter_{v}.tflite" for v in export.TFLITE_VARIANTS),
    ):
        assert (version_dir / name).is_file(), name
    assert not [p for p in version_dir.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_saved_model_and_tflite_match_keras(exported):
    version_dir, model, x = exported
    reference = model(x, training=False).numpy()
    loaded = tf.saved_model.load(str(version_dir))
    served = loaded.signatures["serving_default"](keypoints_2d=tf.constant(x))["keypoints_3d"].numpy()
    np.testing.assert_allclose(served, reference, atol=1e-5)
    tolerance_m = {"float32": 1e-5, "float16": 2e-3}
    for variant, atol in tolerance_m.items():
        np.testing.assert_allclose(
            run_tflite(version_dir / f"tflite/pose_lifter_{variant}.tflite", x), reference, atol=atol, err_msg=variant
        )
    int8 = run_tflite(version_dir / "tflite/pose_lifter_int8.tflite", x)
    assert np.all(np.isfinite(int8))
    assert np.abs(int8 - reference).max() * 1000 <= export.TOLERANCES_MM["int8"]["max_abs_mm"]
    assert not np.allclose(int8, 0.0)  # the "TFLite trap" gives weightless models


def test_missing_joints_are_filled_not_nan_in_every_signature_and_tflite(exported):
    """NaN marks a missing joint: SavedModel signatures and TFLite lift the frame as Keras lifts the input with
    each missing joint at its parent (the root: the centroid of the present joints), written out here in NumPy."""
    version_dir, model, x = exported
    holes = x.copy()
    holes[0, 12] = np.nan  # LWrist -> LElbow
    holes[1, [5, 6]] = np.nan  # LKnee and LFoot -> LHip
    holes[2, 0] = np.nan  # root -> centroid of the others
    filled = x.copy()
    filled[0, 12] = x[0, 11]
    filled[1, [5, 6]] = x[1, 4]
    filled[2, 0] = x[2, 1:].mean(0)
    reference = model(filled, training=False).numpy()
    sigs = tf.saved_model.load(str(version_dir)).signatures
    served = sigs["serving_default"](keypoints_2d=tf.constant(holes))["keypoints_3d"].numpy()
    np.testing.assert_allclose(served, reference, atol=1e-5)
    size = np.array([[1000.0, 1002.0]] * len(x), np.float32)
    px = (holes + np.array([1.0, 1002 / 1000])) * 500.0
    pixels = sigs["predict_pixels"](keypoints_px=tf.constant(px.astype(np.float32)), image_size=tf.constant(size))
    np.testing.assert_allclose(pixels["keypoints_3d"].numpy(), reference, atol=1e-4)
    tflite = run_tflite(version_dir / "tflite/pose_lifter_float32.tflite", holes)
    np.testing.assert_allclose(tflite, reference, atol=1e-5)


def test_report_records_every_variant_within_tolerance(exported):
    version_dir, _, _ = exported
    report = json.loads((version_dir / contract.REPORT_FILENAME).read_text())
    assert report["passed"] and report["failures"] == []
    stats = report["sets"]["synthetic_source"]
    assert set(stats) == {"saved_model", *export.TFLITE_VARIANTS}
    for variant, values in stats.items():
        assert values["max_abs_mm"] <= export.TOLERANCES_MM[variant]["max_abs_mm"], variant
    assert abs(stats["int8"]["delta_mpjpe_mm"]) <= max(1.0, 0.005 * stats["int8"]["mpjpe_keras_mm"])
    assert report["file_bytes"]["int8"] < report["file_bytes"]["float32"]


def test_signature_contract(exported):
    version_dir, _, _ = exported
    graph = saved_model_pb2.SavedModel.FromString((version_dir / "saved_model.pb").read_bytes()).meta_graphs[0]
    expected = {
        "serving_default": ({"keypoints_2d": [-1, 16, 2]}, {"keypoints_3d": [-1, 16, 3]}),
        "predict_pixels": ({"keypoints_px": [-1, 16, 2], "image_size": [-1, 2]}, {"keypoints_3d": [-1, 16, 3]}),
    }
    for name, (inputs, outputs) in expected.items():
        signature = graph.signature_def[name]
        assert signature.method_name == "tensorflow/serving/predict"
        for tensors, wanted in ((signature.inputs, inputs), (signature.outputs, outputs)):
            assert set(tensors) == set(wanted)
            for key, shape in wanted.items():
                assert tensors[key].dtype == tf.float32.as_datatype_enum
                assert [d.size for d in tensors[key].tensor_shape.dim] == shape


def test_saved_model_cli_lists_signatures(exported):
    version_dir, _, _ = exported
    cli = REPO / ".venv" / "bin" / "saved_model_cli"
    if not cli.exists():
        pytest.skip("saved_model_cli not installed in .venv")
    out = subprocess.run(
        [str(cli), "show", "--dir", str(version_dir), "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr
    for text in (
        "signature_def['serving_default']",
        "signature_def['predict_pixels']",
        "inputs['keypoints_2d']",
        "inputs['image_size']",
        "outputs['keypoints_3d']",
        "Method name is: tensorflow/serving/predict",
    ):
        assert text in out.stdout, text


def test_fresh_process_loads_and_predicts(exported, tmp_path):
    version_dir, model, x = exported
    np.save(tmp_path / "x.npy", x)
    code = (
        f"import numpy as np, tensorflow as tf; m = tf.saved_model.load({str(version_dir)!r}); "
        f"x = np.load({str(tmp_path / 'x.npy')!r}); "
        f"np.save({str(tmp_path / 'y.npy')!r}, m.signatures['serving_default'](keypoints_2d=tf.constant(x))"
        f"['keypoints_3d'].numpy())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x, training=False).numpy(), atol=1e-5)


def test_metadata_content(exported):
    version_dir, model, _ = exported
    meta = json.loads((version_dir / "assets" / contract.METADATA_FILENAME).read_text())
    assert meta["joint_names"] == list(skeleton.JOINT_NAMES)
    assert meta["parents"] == [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14]
    assert meta["output"]["units"] == "metres" and meta["flip_tta"] is False
    assert meta["model"]["parameters"] == model.count_params()
    assert meta["training_config"]["model"]["name"] == "mlp" and meta["training_config"]["model"]["width"] == 24
    assert "p_px / w * 2 - [1, h / w]" in meta["input"]["keypoints_2d"]
    assert "NaN" in meta["input"]["missing_joints"]
    assert meta["training_2d"] == {
        "keypoints": "gt",
        "noise": "none",
        "noise_settings": dict(common.base_config().noise),
        "noise_model": None,
    }


def test_pixel_signature_equals_normalising_outside(exported):
    version_dir, _, _ = exported
    rng = np.random.default_rng(1)
    size = np.stack([rng.uniform(320, 1920, 37), rng.uniform(240, 1080, 37)], axis=1).astype(np.float32)
    px = (rng.uniform(0, 1, (37, 16, 2)) * size[:, None]).astype(np.float32)
    norm = px / size[:, None, :1] * 2 - np.stack([np.ones(37), size[:, 1] / size[:, 0]], 1)[:, None]
    sigs = tf.saved_model.load(str(version_dir)).signatures
    direct = sigs["serving_default"](keypoints_2d=tf.constant(norm.astype(np.float32)))["keypoints_3d"]
    pixels = sigs["predict_pixels"](keypoints_px=tf.constant(px), image_size=tf.constant(size))["keypoints_3d"]
    np.testing.assert_allclose(pixels.numpy(), direct.numpy(), atol=1e-5)


@pytest.mark.parametrize("size", [[0.0, 0.0], [-640.0, 480.0], [np.nan, 480.0], [1e30, 1e30], [640.0, 2e5]])
def test_pixel_signature_rejects_implausible_image_sizes(exported, size):
    version_dir, _, _ = exported
    pixels = tf.saved_model.load(str(version_dir)).signatures["predict_pixels"]
    sizes = tf.constant([[640.0, 480.0], size], tf.float32)  # one bad row fails the request
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"image_size: expected \[width, height\] of 1 to "
        r"100000 pixels in every row",
    ):
        pixels(keypoints_px=tf.fill([2, 16, 2], 100.0), image_size=sizes)


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        ("serving_default", {"keypoints_2d": [2, 17, 2]}, r"keypoints_2d: expected shape \(batch, 16, 2\)"),
        ("serving_default", {"keypoints_2d": [2, 16, 3]}, r"keypoints_2d: expected shape \(batch, 16, 2\)"),
        (
            "predict_pixels",
            {"keypoints_px": [2, 17, 2], "image_size": [2, 2]},
            r"keypoints_px: expected shape \(batch, 16, 2\)",
        ),
        ("predict_pixels", {"keypoints_px": [2, 16, 2], "image_size": [2]}, r"image_size: expected shape \(batch, 2\)"),
        ("predict_pixels", {"keypoints_px": [2, 16, 2], "image_size": [1, 2]}, r"with the batch of keypoints_px"),
    ],
)
def test_signatures_reject_other_shapes_with_the_contract_message(exported, signature, inputs, message):
    """A signature function feeds any shape through (its TensorSpec is not checked at call time): without the
    graph's own check, (2, 17, 2) came back as a (2, 16, 3) pose."""
    version_dir, _, _ = exported
    function = tf.saved_model.load(str(version_dir)).signatures[signature]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        function(**{name: tf.fill(shape, 300.0) for name, shape in inputs.items()})


def test_an_export_follows_the_umask(exported, tmp_path):
    _, model, _ = exported
    previous = os.umask(0o022)
    try:
        version_dir = export.export_model(
            model, tmp_path / "m", tflite_variants=("float32",), sets=export.verification_sets(num_samples=32)
        )
    finally:
        os.umask(previous)
    modes = {p.relative_to(tmp_path): stat.S_IMODE(p.stat().st_mode) for p in [version_dir, *version_dir.rglob("*")]}
    assert {m for p, m in modes.items() if (tmp_path / p).is_dir()} == {0o755}, modes
    assert {m for p, m in modes.items() if (tmp_path / p).is_file()} == {0o644}, modes


def test_an_interrupted_export_is_cleaned_up_and_a_held_folder_refused(exported, tmp_path):
    _, model, _ = exported
    sets = export.verification_sets(num_samples=32)
    root = tmp_path / "m"
    first = export.export_model(model, root, tflite_variants=(), sets=sets)
    # What kills leave: an unfinished version folder, and version 1 moved aside by an --overwrite export.
    (root / ".tmp-2-k1ll3d").mkdir()
    (root / ".tmp-2-k1ll3d" / "saved_model.pb").write_bytes(b"half")
    os.rename(first, root / ".old-1-0123abcd")
    with files.exclusive_folder(root, "export folder"):
        with pytest.raises(InputError, match="export folder is in use by another process"):
            export.export_model(model, root, tflite_variants=(), sets=sets)
    assert export.export_model(model, root, tflite_variants=(), sets=sets).name == "2"
    assert sorted(p.name for p in root.iterdir()) == ["1", "2"]
    assert (root / "1" / "saved_model.pb").is_file()


def test_flip_flag_bakes_in_flip_averaging(exported, tmp_path):
    _, model, x = exported
    version_dir = export.export_model(
        model,
        tmp_path / "flip",
        use_flip_tta=True,
        tflite_variants=("float32",),
        sets=export.verification_sets(num_samples=64),
    )
    plain = model(x, training=False).numpy()
    expected = 0.5 * (plain + numpy_flip(model(numpy_flip(x), training=False).numpy()))
    served = tf.saved_model.load(str(version_dir)).signatures["serving_default"](keypoints_2d=tf.constant(x))
    np.testing.assert_allclose(served["keypoints_3d"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(run_tflite(version_dir / "tflite/pose_lifter_float32.tflite", x), expected, atol=1e-5)
    assert not np.allclose(expected, plain, atol=1e-3)
    assert json.loads((version_dir / "assets" / contract.METADATA_FILENAME).read_text())["flip_tta"] is True


def test_refuses_to_overwrite_unless_asked(exported, tmp_path):
    _, model, _ = exported
    sets = export.verification_sets(num_samples=32)
    first = export.export_model(model, tmp_path / "m", tflite_variants=(), sets=sets)
    stamp = (first / "saved_model.pb").stat().st_mtime_ns
    with pytest.raises(InputError, match="already exists"):
        export.export_model(model, tmp_path / "m", version=1, tflite_variants=(), sets=sets)
    assert (first / "saved_model.pb").stat().st_mtime_ns == stamp
    assert export.export_model(model, tmp_path / "m", tflite_variants=(), sets=sets).name == "2"
    again = export.export_model(model, tmp_path / "m", version=1, overwrite=True, tflite_variants=(), sets=sets)
    assert again == first and (first / "saved_model.pb").is_file()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]


def test_failed_verification_publishes_nothing(exported, tmp_path, monkeypatch):
    _, model, _ = exported
    monkeypatch.setitem(export.TOLERANCES_MM, "float16", {"max_abs_mm": 1e-9})
    with pytest.raises(export.ExportVerificationError, match="float16 on synthetic_source: max"):
        export.export_model(
            model, tmp_path / "m", tflite_variants=("float16",), sets=export.verification_sets(num_samples=32)
        )
    assert list((tmp_path / "m").iterdir()) == []


def test_next_version_and_bad_arguments(tmp_path):
    for name in ("1", "3", "foo", ".tmp-4-x"):
        (tmp_path / name).mkdir()
    assert export.next_version(tmp_path) == 4
    assert export.next_version(tmp_path / "absent") == 1
    with pytest.raises(ValueError, match="positive integer"):
        export.export_model(None, tmp_path, version=0)
    with pytest.raises(InputError, match="tflite: expected variants from float32, float16, int8; received int4"):
        export.export_model(None, tmp_path, tflite_variants=("int4",))
    with pytest.raises(ValueError, match="config.json"):
        model_files.load_estimator(tmp_path)


@pytest.mark.slow  # 10-25 s: two export.py processes, each importing TensorFlow
def test_cli_exports_then_refuses_existing_version(exported, tmp_path):
    version_dir, _, _ = exported
    workdir = make_workdir(tmp_path / "cli_run")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable,
        str(REPO / "export.py"),
        f"--workdir={workdir}",
        f"--output_root={tmp_path / 'sm'}",
        "--tflite=float32",
    ]
    ok = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "float32" in ok.stdout and (tmp_path / "sm" / "cli_run" / "1" / "saved_model.pb").is_file()
    refused = subprocess.run(command + ["--version=1"], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--overwrite" in refused.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["videopose", "mlp", "semgcn", "stgcn"])
def test_every_estimator_converts_to_builtin_litert_ops_only(name, tmp_path):
    """No Flex (Select-TF) or custom op in any variant: plain LiteRT runs it. The graph with baked-in flip runs the
    model on the input and on its mirror, so its ops are a superset of the plain graph's."""
    config = common.base_config()
    config.model.name = name
    if name in ("videopose", "semgcn"):
        config.model.update(width=32, num_blocks=1)
    model = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug")
    saved = tmp_path / "flip"
    export.build_archive(model, use_flip_tta=True).write_out(str(saved), verbose=False)
    for variant in contract.TFLITE_VARIANTS:
        ops = {
            op["op_name"] for op in Interpreter(model_content=export.convert_tflite(saved, variant))._get_ops_details()
        }
        assert ops and not {op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")}, (
            name,
            variant,
            sorted(ops),
        )
