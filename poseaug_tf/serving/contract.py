"""The contract between an exported lifter and its clients, in plain Python and NumPy (no TensorFlow).

`export` writes a version folder to it; `inference`, `predict` and `client` read one by it:

    saved_models/<name>/<version>/saved_model.pb, variables/        the SavedModel (TF Serving's layout)
    saved_models/<name>/<version>/assets/poseaug_metadata.json      `metadata()`: skeleton, units, normalisation
    saved_models/<name>/<version>/tflite/pose_lifter_<variant>.tflite
    saved_models/<name>/<version>/export_report.json                each variant's deviation from Keras

Signatures (method `tensorflow/serving/predict`, any batch size):
  serving_default: keypoints_2d (None, 16, 2) float32 normalised screen coordinates → keypoints_3d (None, 16, 3)
    float32 root-relative metres, camera frame (x right, y down, z forward). NaN marks a missing joint
    (MISSING_JOINTS).
  predict_pixels: keypoints_px (None, 16, 2) float32 pixels (origin top-left) and image_size (None, 2) float32
    [width, height] per example → keypoints_3d; the graph normalises as `pixels.normalize_pixels` does and
    rejects a side outside [1, MAX_IMAGE_SIDE_PX].

The pixel normalisation and the image-size bound of the contract are poseaug_tf/core/pixels.py's.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

from poseaug_tf.core import skeleton
from poseaug_tf.infra import files

SERVING_SIGNATURE = "serving_default"
PIXEL_SIGNATURE = "predict_pixels"
INPUT_NORM, INPUT_PX, INPUT_SIZE, OUTPUT = "keypoints_2d", "keypoints_px", "image_size", "keypoints_3d"
METADATA_FILENAME = "poseaug_metadata.json"
REPORT_FILENAME = "export_report.json"
TFLITE_DIR = "tflite"
TFLITE_VARIANTS = ("float32", "float16", "int8")
METADATA_FORMAT = 1
MISSING_JOINTS = (
    "NaN (or a coordinate beyond ±1e6 normalised units) marks a missing joint; the graph puts it at its nearest "
    "present ancestor (Hip: the centroid of the present joints). Models trained with noise.missing_rate > 0 "
    "learned to read that; see training_2d."
)
# Index j of a mirrored pose holds joint FLIP_PERMUTATION[j] (left <-> right); flip TTA also negates x.
FLIP_PERMUTATION = skeleton.FLIP_PERMUTATION


def tflite_path(version_dir: str | os.PathLike, variant: str) -> pathlib.Path:
    """Where a version folder keeps its TFLite file of `variant` (one of TFLITE_VARIANTS)."""
    return pathlib.Path(version_dir) / TFLITE_DIR / f"pose_lifter_{variant}.tflite"


def training_2d(config: Mapping | None, noise_model: Mapping | None = None) -> dict:
    """Which 2D the model was trained on: keypoint source, detector-noise settings and the noise model itself."""
    config = config or {}
    data, noise = config.get("data", {}) or {}, config.get("noise", {}) or {}
    synthetic = config.get("dataset") == "synthetic"
    return {
        "keypoints": "projected synthetic 2D" if synthetic else data.get("keypoints", "gt"),
        "noise": noise.get("model", "none"),
        "noise_settings": dict(noise),
        "noise_model": dict(noise_model) if noise_model else None,
    }


def metadata(
    *,
    model_class: str,
    parameters: int,
    config: Mapping | None,
    use_flip_tta: bool,
    source: str,
    noise_model: Mapping | None = None,
) -> dict:
    """The content of assets/poseaug_metadata.json: what a client needs to feed the model and read its output."""
    return {
        "format_version": METADATA_FORMAT,
        "model": {"class": model_class, "parameters": int(parameters)},
        "skeleton": "human36m_16",
        "joint_names": list(skeleton.JOINT_NAMES),
        "parents": list(skeleton.PARENTS),
        "joints_left": list(skeleton.JOINTS_LEFT),
        "joints_right": list(skeleton.JOINTS_RIGHT),
        "input": {
            INPUT_NORM: "normalised screen coordinates: p_norm = p_px / w * 2 - [1, h / w]",
            INPUT_PX: "pixels, x right, y down, origin at the top-left corner",
            INPUT_SIZE: "[width, height] in pixels, one row per example",
            "missing_joints": MISSING_JOINTS,
        },
        "training_2d": training_2d(config, noise_model),
        "output": {OUTPUT: "camera frame (x right, y down, z forward), root-relative (Hip = 0)", "units": "metres"},
        "signatures": [SERVING_SIGNATURE, PIXEL_SIGNATURE],
        "flip_tta": bool(use_flip_tta),
        "source": source,
        "training_config": dict(config) if config is not None else None,
    }


def read_metadata(path: str | os.PathLike) -> dict | None:
    """The metadata of a version folder, or of a TFLite file inside one (None when absent).

    Raises:
      InputError: the metadata file is not valid JSON.
    """
    path = pathlib.Path(path)
    version_dir = path if path.is_dir() else path.parent.parent
    return files.read_json(version_dir / "assets" / METADATA_FILENAME)
