"""Export a trained estimator as a TF Serving SavedModel plus TFLite files, and verify every variant.

The version folder's layout, signatures and metadata are those of `contract` (TF Serving's layout:
integer version folders under the model name). The archive is built with `keras.export.ExportArchive`:
`tf.saved_model.save` on a Keras 3 model converts to a weightless TFLite model that outputs NaN (the "TFLite
trap"), so TFLite files are converted from this archive.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from poseaug_tf.core import camera, keypoint_noise, skeleton
from poseaug_tf.data.flip import predict_with_flip
from poseaug_tf.infra import files, runtime
from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.serving import contract, presets
from poseaug_tf.training import model_files, run_dir

TFLITE_VARIANTS = contract.TFLITE_VARIANTS
VERIFY_SAMPLES = 2048
VERIFY_SEED = 20210619

# Deviation from the Keras model allowed per variant, millimetres (justification in saved_models/README.md):
#   saved_model runs the same TF kernels as Keras: 1e-3 mm (measured: exactly 0).
#   float32 TFLite folds BatchNorm into the Dense weights and sums in its own order: ~10-20 float32 steps of a
#     1-1.5 m coordinate (one step = 1.2e-4 mm at 1 m); measured 1.6e-3 mm (VideoPose) .. 5e-3 mm (MLP), so
#     1e-3 mm is below float32's floor; 1e-2 mm (the tests' 1e-5 m).
#   float16 weights keep 11 significant bits (relative step 4.9e-4), so the deviation grows with the activations:
#     measured max |Δ| 0.6-1.8 mm on trained models but 2.3 mm on a barely trained 720 mm-MPJPE smoke model, whose
#     MPJPE moved by only 0.03 mm. As for int8, accuracy is judged by the MPJPE change vs. ground truth, here
#     <= max(0.5 mm, 0.1 % of MPJPE); max |Δ| <= 20 mm only catches broken conversions.
#   int8 dynamic range also quantises each activation row to 8 bits at run time, so its error grows with the
#     activations: the accuracy criterion is the MPJPE change vs. ground truth, <= max(1 mm, 0.5 % of MPJPE)
#     (VideoPose: +0.2 mm); single joints move more (measured 25 mm VideoPose, 67 mm on a 560 mm-MPJPE smoke
#     MLP), so max |Δ| <= 100 mm only catches broken conversions (NaN, weightless models).
TOLERANCES_MM = {
    "saved_model": {"max_abs_mm": 1e-3},
    "float32": {"max_abs_mm": 1e-2},
    "float16": {"max_abs_mm": 20.0, "abs_delta_mpjpe_mm": 0.5, "relative_delta_mpjpe": 0.001},
    "int8": {"max_abs_mm": 100.0, "abs_delta_mpjpe_mm": 1.0, "relative_delta_mpjpe": 0.005},
}


_OLD_PREFIX = ".old-"  # a published version moved aside while its replacement is renamed in


class ExportVerificationError(RuntimeError):
    """An exported variant deviates from the Keras model by more than its tolerance."""


def _checked_shape(tensor: tf.Tensor, name: str, trailing: tuple[int, ...], like: tf.Tensor | None = None):
    """`tensor` after a graph assertion that it is (B, *trailing), with B the batch of `like` when given.

    A signature does not check its inputs against its TensorSpec: TF Serving and the SavedModel's signature
    functions feed a (B, 17, 2) array as if it were (B, 16, 2). The test compares element counts, which the graph
    optimiser cannot fold away (the batch is unknown), unlike the static dimensions of `tf.shape`.
    """
    batch = tf.shape(like if like is not None else tensor)[0]
    expected = ", ".join(map(str, trailing))
    check = tf.debugging.Assert(
        tf.equal(tf.size(tensor), batch * math.prod(trailing)),
        [
            f"{name}: expected shape (batch, {expected}){' with the batch of keypoints_px' if like is not None else ''}"
            "; received shape",
            tf.shape(tensor),
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def build_archive(model: keras.Model, *, use_flip_tta: bool = False) -> keras.export.ExportArchive:
    """An ExportArchive with the `serving_default` and `predict_pixels` endpoints (module docstring)."""

    def lift(kp_2d_norm):
        kp_2d_norm = keypoint_noise.fill_missing(kp_2d_norm)  # a NaN joint is missing, not a NaN pose
        if use_flip_tta:
            return predict_with_flip(lambda x: model(x, training=False), kp_2d_norm)
        return model(kp_2d_norm, training=False)

    joints = skeleton.NUM_JOINTS

    def serve(keypoints_2d):
        return {contract.OUTPUT: lift(_checked_shape(keypoints_2d, contract.INPUT_NORM, (joints, 2)))}

    def predict_pixels(keypoints_px, image_size):
        keypoints_px = _checked_shape(keypoints_px, contract.INPUT_PX, (joints, 2))
        size = camera.checked_image_size(_checked_shape(image_size, contract.INPUT_SIZE, (2,), like=keypoints_px))
        return {contract.OUTPUT: lift(camera.normalize_screen(keypoints_px, size[:, 0], size[:, 1]))}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        contract.SERVING_SIGNATURE,
        serve,
        input_signature=[tf.TensorSpec((None, joints, 2), tf.float32, name=contract.INPUT_NORM)],
    )
    archive.add_endpoint(
        contract.PIXEL_SIGNATURE,
        predict_pixels,
        input_signature=[
            tf.TensorSpec((None, joints, 2), tf.float32, name=contract.INPUT_PX),
            tf.TensorSpec((None, 2), tf.float32, name=contract.INPUT_SIZE),
        ],
    )
    return archive


def convert_tflite(saved_model_dir: str | os.PathLike, variant: str) -> bytes:
    """Converts the `serving_default` signature of an ExportArchive SavedModel to a TFLite flatbuffer.

    Args:
      saved_model_dir: folder written by `build_archive(...).write_out`.
      variant: "float32", "float16" (float16 weights) or "int8" (dynamic-range int8 weights, float activations).

    Returns:
      The flatbuffer bytes.
    """
    if variant not in TFLITE_VARIANTS:
        raise ValueError(f"Expected `variant` in {TFLITE_VARIANTS}; received {variant!r}.")
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[contract.SERVING_SIGNATURE]
    )
    # Builtin ops only (no Flex/Select-TF ops): the file runs with the plain LiteRT runtime of a phone. A model
    # that needed a TensorFlow op would fail here, at export, not on the device.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with runtime.quiet_native_stderr():  # the converter's "Ignored output_format" notes
        return converter.convert()


@dataclasses.dataclass(frozen=True)
class VerificationSet:
    """Poses the export is verified on: pose_2d (N, 16, 2) normalised, pose_3d (N, 16, 3) root-relative metres."""

    name: str
    pose_2d: np.ndarray
    pose_3d: np.ndarray


def verification_sets(
    h36m_dir: str | os.PathLike | None = None, *, seed: int = VERIFY_SEED, num_samples: int = VERIFY_SAMPLES
) -> list[VerificationSet]:
    """Held-out synthetic source poses, plus Human3.6M S9/S11 (stride 20, GT 2D) when `h36m_dir` is given."""
    from poseaug_tf import data

    sets = []
    if h36m_dir:  # first: a wrong folder fails before any work
        with tempfile.TemporaryDirectory() as cache:
            sets.append(data.load_h36m(h36m_dir, ["S9", "S11"], stride=20, cache_dir=cache))
    sets.insert(0, data.make_synthetic("source", num_samples, seed=seed, stream="eval"))
    return [
        VerificationSet(s.name, s.pose2d.astype(np.float32), (s.pose3d - s.pose3d[:, :1]).astype(np.float32))
        for s in sets
    ]


def _batched(fn, pose_2d: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return np.concatenate([np.asarray(fn(pose_2d[i : i + batch_size])) for i in range(0, len(pose_2d), batch_size)])


def variant_predictors(version_dir: pathlib.Path) -> dict:
    """Callables (B, 16, 2) → (B, 16, 3) for the SavedModel and every TFLite file of an exported version."""
    from poseaug_tf.serving.inference import TFLiteBackend  # inference imports this module's constants

    loaded = tf.saved_model.load(str(version_dir))
    serve = loaded.signatures[contract.SERVING_SIGNATURE]
    predictors = {"saved_model": lambda x: serve(**{contract.INPUT_NORM: tf.constant(x)})[contract.OUTPUT].numpy()}
    for variant in TFLITE_VARIANTS:
        path = contract.tflite_path(version_dir, variant)
        if path.is_file():
            predictors[variant] = TFLiteBackend(path).predict
    return predictors


def compare(reference: np.ndarray, prediction: np.ndarray, pose_3d: np.ndarray) -> dict:
    """Deviation of `prediction` from `reference` (N, 16, 3) metres, in mm, and the MPJPE change vs. GT."""
    ref_rel = reference - reference[:, :1]
    pred_rel = prediction - prediction[:, :1]
    mpjpe_ref = np.linalg.norm(ref_rel - pose_3d, axis=-1).mean() * 1000.0
    mpjpe_pred = np.linalg.norm(pred_rel - pose_3d, axis=-1).mean() * 1000.0
    return {
        "max_abs_mm": float(np.abs(prediction - reference).max() * 1000.0),
        "mean_joint_deviation_mm": float(np.linalg.norm(prediction - reference, axis=-1).mean() * 1000.0),
        "mpjpe_keras_mm": float(mpjpe_ref),
        "mpjpe_mm": float(mpjpe_pred),
        "delta_mpjpe_mm": float(mpjpe_pred - mpjpe_ref),
    }


def _violations(variant: str, stats: Mapping[str, float]) -> list[str]:
    limits = TOLERANCES_MM[variant]
    found = []
    if not np.isfinite(stats["max_abs_mm"]) or stats["max_abs_mm"] > limits["max_abs_mm"]:
        found.append(f"max |Δ| {stats['max_abs_mm']:.3g} mm > {limits['max_abs_mm']:g} mm")
    if "abs_delta_mpjpe_mm" in limits:
        bound = max(limits["abs_delta_mpjpe_mm"], limits["relative_delta_mpjpe"] * stats["mpjpe_keras_mm"])
        if not abs(stats["delta_mpjpe_mm"]) <= bound:
            found.append(f"|ΔMPJPE| {abs(stats['delta_mpjpe_mm']):.3g} mm > {bound:.3g} mm")
    return found


def verify_version(
    version_dir: str | os.PathLike, model: keras.Model, sets: Sequence[VerificationSet], *, use_flip_tta: bool
) -> dict:
    """Runs every exported variant on `sets` and compares with Keras.

    Returns:
      Report dict {"tolerances_mm", "sets": {set: {variant: stats}}, "failures": [str], "passed": bool}.
    """
    predictors = variant_predictors(pathlib.Path(version_dir))

    def keras_fn(x):
        if use_flip_tta:
            return predict_with_flip(lambda y: model(y, training=False), x).numpy()
        return model(x, training=False).numpy()

    report = {"tolerances_mm": TOLERANCES_MM, "sets": {}, "failures": []}
    for vset in sets:
        reference = _batched(keras_fn, vset.pose_2d)
        per_set = {}
        for variant, fn in predictors.items():
            stats = compare(reference, _batched(fn, vset.pose_2d), vset.pose_3d)
            per_set[variant] = stats
            report["failures"] += [f"{variant} on {vset.name}: {v}" for v in _violations(variant, stats)]
            logging.info(
                "%s on %s (%d poses): max |Δ| %.3g mm, ΔMPJPE %+.3g mm",
                variant,
                vset.name,
                len(vset.pose_2d),
                stats["max_abs_mm"],
                stats["delta_mpjpe_mm"],
            )
        report["sets"][vset.name] = per_set
    report["passed"] = not report["failures"]
    return report


def next_version(model_root: str | os.PathLike) -> int:
    """1 + the largest integer-named folder under `model_root` (1 when none)."""
    root = pathlib.Path(model_root)
    versions = [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()] if root.is_dir() else []
    return max(versions, default=0) + 1


def _write_version(
    model: keras.Model, tmp_dir: pathlib.Path, *, use_flip_tta: bool, tflite_variants, meta: Mapping
) -> dict:
    build_archive(model, use_flip_tta=use_flip_tta).write_out(str(tmp_dir), verbose=False)
    (tmp_dir / "assets").mkdir(exist_ok=True)
    (tmp_dir / "assets" / contract.METADATA_FILENAME).write_text(json.dumps(meta, indent=2))
    sizes = {"saved_model": sum(p.stat().st_size for p in tmp_dir.rglob("*") if p.is_file())}
    if tflite_variants:
        (tmp_dir / contract.TFLITE_DIR).mkdir()
    for variant in tflite_variants:
        flatbuffer = convert_tflite(tmp_dir, variant)
        contract.tflite_path(tmp_dir, variant).write_bytes(flatbuffer)
        sizes[variant] = len(flatbuffer)
    return sizes


def _publish(tmp_dir: pathlib.Path, version_dir: pathlib.Path, *, overwrite: bool) -> None:
    """Renames the finished folder into place; an existing version is swapped out only with `overwrite`."""
    if version_dir.exists():
        if not overwrite:
            raise InputError(f"{version_dir} already exists; pass overwrite=True (--overwrite) to replace it.")
        old = version_dir.with_name(f"{_OLD_PREFIX}{version_dir.name}-{uuid.uuid4().hex[:8]}")
        os.rename(version_dir, old)
        try:
            os.rename(tmp_dir, version_dir)
        except OSError:
            os.rename(old, version_dir)  # put the previous version back
            raise
        shutil.rmtree(old)
    else:
        os.rename(tmp_dir, version_dir)


def check_options(*, version: int | None = None, tflite_variants: Sequence[str] = (), name: str | None = None):
    """Raises InputError naming the option (`version`, `tflite`, `name`) when it is invalid."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1):
        raise InputError(f"version: expected a positive integer; received {version!r}.")
    unknown = [v for v in tflite_variants if v not in TFLITE_VARIANTS]
    if unknown:
        raise InputError(f"tflite: expected variants from {', '.join(TFLITE_VARIANTS)}; received {', '.join(unknown)}.")
    if name is not None and (not name or "/" in name or name.startswith(".")):
        raise InputError(f"name: expected a plain folder name (no '/', not hidden); received {name!r}.")


def export_model(
    model: keras.Model,
    output_dir: str | os.PathLike,
    *,
    version: int | None = None,
    overwrite: bool = False,
    use_flip_tta: bool = False,
    tflite_variants: Sequence[str] = TFLITE_VARIANTS,
    config: Mapping | None = None,
    source: str = "",
    sets: Sequence[VerificationSet] | None = None,
    noise_model: Mapping | None = None,
) -> pathlib.Path:
    """Exports, verifies and atomically publishes `output_dir/<version>/`.

    Everything is written to a hidden sibling folder (`.tmp-*`, which TF Serving ignores) and renamed into
    place only after every variant passed verification.

    Args:
      model: estimator (B, 16, 2) normalised → (B, 16, 3) root-relative metres.
      output_dir: the model's folder (saved_models/<name>).
      version: positive integer; None for `next_version(output_dir)`.
      overwrite: replace an existing version instead of raising.
      use_flip_tta: bake flip test-time augmentation into every signature and TFLite file.
      tflite_variants: subset of TFLITE_VARIANTS to convert.
      config: training config stored in the metadata. source: where the weights came from.
      noise_model: the detector-noise model the estimator trained with (workdir noise_model.json), if any.
      sets: verification poses; None for `verification_sets()`.

    Returns:
      The published version folder.

    Raises:
      InputError: bad version or variant, an unwritable `output_dir`, or the version exists and not `overwrite`.
      ExportVerificationError: a variant exceeds its tolerance (nothing is published).
    """
    check_options(version=version, tflite_variants=tflite_variants)
    output_dir = files.ensure_folder(output_dir, "export folder")
    with files.exclusive_folder(output_dir, "export folder"):
        _recover_interrupted(output_dir)
        version = next_version(output_dir) if version is None else version
        version_dir = output_dir / str(version)
        _refuse_existing(version_dir, overwrite)
        _export_version(
            model,
            output_dir,
            version_dir,
            overwrite=overwrite,
            use_flip_tta=use_flip_tta,
            tflite_variants=tflite_variants,
            config=config,
            source=source,
            sets=sets,
            noise_model=noise_model,
        )
    logging.info("Exported %s", version_dir)
    return version_dir


def _refuse_existing(version_dir: pathlib.Path, overwrite: bool) -> None:
    if version_dir.exists() and not overwrite:
        raise InputError(f"{version_dir} already exists; pass overwrite=True (--overwrite) to replace it.")


def _recover_interrupted(output_dir: pathlib.Path) -> None:
    """Cleans up after an export killed in `output_dir`: removes its unfinished `.tmp-*` folders, and puts back
    a version that `_publish` had moved aside (`.old-<v>-*`) when its replacement never arrived."""
    for path in files.remove_stale_temporaries(output_dir):
        logging.info("Removed %s, left by an interrupted export.", path)
    for old in sorted(output_dir.glob(f"{_OLD_PREFIX}*")):
        version_dir = output_dir / old.name[len(_OLD_PREFIX) :].split("-")[0]
        if version_dir.exists():
            shutil.rmtree(old)
        else:
            os.rename(old, version_dir)
            logging.warning("Restored %s from %s (an interrupted --overwrite export).", version_dir, old)


def _export_version(
    model,
    output_dir: pathlib.Path,
    version_dir: pathlib.Path,
    *,
    overwrite: bool,
    use_flip_tta: bool,
    tflite_variants,
    config,
    source: str,
    sets,
    noise_model=None,
) -> None:
    version = int(version_dir.name)
    tmp_dir = files.temporary_folder(output_dir, prefix=f"{files.TEMPORARY_PREFIX}{version}-")
    try:
        start = time.time()
        meta = contract.metadata(
            model_class=type(model).__name__,
            parameters=model.count_params(),
            config=config,
            use_flip_tta=use_flip_tta,
            source=source,
            noise_model=noise_model,
        )
        sizes = _write_version(model, tmp_dir, use_flip_tta=use_flip_tta, tflite_variants=tflite_variants, meta=meta)
        report = verify_version(
            tmp_dir, model, verification_sets() if sets is None else sets, use_flip_tta=use_flip_tta
        )
        report.update(
            file_bytes=sizes, version=int(version), seconds=round(time.time() - start, 1), flip_tta=bool(use_flip_tta)
        )
        if not report["passed"]:
            raise ExportVerificationError(
                "Export verification failed; nothing was written to "
                f"{version_dir}:\n  " + "\n  ".join(report["failures"])
            )
        (tmp_dir / contract.REPORT_FILENAME).write_text(json.dumps(report, indent=2))
        _publish(tmp_dir, version_dir, overwrite=overwrite)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def export_workdir(
    workdir: str | os.PathLike,
    *,
    output_root: str | os.PathLike = "saved_models",
    name: str | None = None,
    weights: str = "poseaug",
    h36m_dir: str | None = None,
    **kwargs,
) -> pathlib.Path:
    """`export_model` for a training workdir: saved_models/<name (default: workdir basename)>/<version>/."""
    workdir = pathlib.Path(workdir)
    name = name or workdir.resolve().name
    check_options(name=name, version=kwargs.get("version"), tflite_variants=kwargs.get("tflite_variants", ()))
    model_dir = files.check_folder(pathlib.Path(output_root) / name, "export folder")
    if kwargs.get("version"):  # before any work; export_model checks again under the folder's lock
        _refuse_existing(model_dir / str(kwargs["version"]), kwargs.get("overwrite", False))
    model, config = model_files.load_estimator(workdir, weights=weights)
    return export_model(
        model,
        model_dir,
        config=config,
        source=str(run_dir.weights_path(workdir, weights)),
        sets=verification_sets(h36m_dir),
        noise_model=files.read_json(workdir / run_dir.NOISE_MODEL),
        **kwargs,
    )


def write_workdir_preset(workdir: str | os.PathLike, folder: str | os.PathLike, *, weights: str = "poseaug"):
    """A preset (poseaug_tf/serving/presets.py) of one model of a training workdir, with what it was trained on and its
    measured errors (results.json) in metadata.json.

    Raises:
      InputError: the workdir lacks the model, or `folder` exists.
    """
    workdir = pathlib.Path(workdir)
    model, config = model_files.load_estimator(workdir, weights=weights)
    results = files.read_json(workdir / run_dir.RESULTS, default={}).get(weights, {})
    data = config.get("data", {})
    dataset = config.get("dataset")
    meta = contract.metadata(
        model_class=type(model).__name__,
        parameters=model.count_params(),
        config=config,
        use_flip_tta=False,
        source=str(run_dir.weights_path(workdir, weights)),
        noise_model=files.read_json(workdir / run_dir.NOISE_MODEL),
    )
    for key in ("format_version", "signatures", "flip_tta"):  # the SavedModel's, not a preset's
        meta.pop(key)
    meta.update(
        training={
            "dataset": dataset,
            "protocol": config.get("protocol", ""),
            "model": weights,
            "keypoints": data.get("keypoints") if dataset == "h36m" else "projected synthetic 2D",
            "train_subjects": data.get("train_subjects") if dataset == "h36m" else "",
            "train_cameras": data.get("train_cameras") if dataset == "h36m" else "",
            "selection": config.get("selection"),
        },
        results={
            name: {k: r[k] for k in ("mpjpe", "pa_mpjpe", "frames", "checkpoint") if k in r}
            for name, r in results.items()
            if isinstance(r, dict)
        },
        licence=presets.LICENCE_H36M if dataset == "h36m" else presets.LICENCE_SYNTHETIC,
    )
    return presets.write_preset(model, folder, metadata=meta)
