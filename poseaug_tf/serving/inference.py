"""Lift 2D keypoints to 3D with an exported model: a TF SavedModel folder or a TFLite file.

    lifter = Lifter.load("saved_models/vp/1")                      # or ".../tflite/pose_lifter_int8.tflite"
    pose_3d = lifter.lift_pixels(kp_px, image_size=(1000, 1002))   # (N, 16, 3) metres, root-relative

Inputs use PoseAug's 16-joint order (`skeleton.JOINT_NAMES`); `keypoint_layouts.to_h36m16` converts COCO,
MediaPipe, OpenPose and Human3.6M-17 keypoints. TFLite files run on LiteRT (`ai_edge_litert`), not the
deprecated `tf.lite.Interpreter`.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import tensorflow as tf

from poseaug_tf.core import keypoint_noise, pixels, skeleton
from poseaug_tf.data.flip import predict_with_flip
from poseaug_tf.infra import runtime
from poseaug_tf.infra.user_errors import InputError, one_line
from poseaug_tf.serving import contract, presets

DEFAULT_BATCH_SIZE = 4096


def _check_pose_2d(kp: np.ndarray, name: str) -> np.ndarray:
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (skeleton.NUM_JOINTS, 2):
        raise ValueError(f"Expected `{name}` of shape (N, 16, 2); received {kp.shape}.")
    if np.isinf(kp).any():  # NaN marks a missing joint, which the exported model fills
        raise ValueError(
            f"Expected finite `{name}` (NaN for a missing joint); received inf at frames "
            f"{sorted(set(np.nonzero(np.isinf(kp))[0].tolist()))[:10]}."
        )
    return kp


class TFLiteBackend:
    """A TFLite lifter on LiteRT: (B, 16, 2) → (B, 16, 3), resizing the input when the batch size changes.

    Args:
      path: .tflite file with one (None, 16, 2) float32 input and one (None, 16, 3) output.
      num_threads: interpreter threads (None: LiteRT's default).
    """

    def __init__(self, path: str | os.PathLike, *, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = pathlib.Path(path)
        self.num_threads = num_threads
        with runtime.quiet_native_stderr():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" note
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = None

    def predict(self, kp_2d_norm: np.ndarray) -> np.ndarray:
        kp_2d_norm = np.ascontiguousarray(kp_2d_norm, dtype=np.float32)
        if kp_2d_norm.shape[0] != self._batch:
            self._interpreter.resize_tensor_input(self._input, kp_2d_norm.shape, strict=False)
            with runtime.quiet_native_stderr():
                self._interpreter.allocate_tensors()
            self._batch = kp_2d_norm.shape[0]
        self._interpreter.set_tensor(self._input, kp_2d_norm)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).copy()


class SavedModelBackend:
    """The `serving_default` signature of an exported SavedModel: (B, 16, 2) → (B, 16, 3)."""

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self._loaded = tf.saved_model.load(str(self.path))
        self._serve = self._loaded.signatures[contract.SERVING_SIGNATURE]

    def predict(self, kp_2d_norm: np.ndarray) -> np.ndarray:
        return self._serve(**{contract.INPUT_NORM: tf.constant(kp_2d_norm, tf.float32)})[contract.OUTPUT].numpy()


class KerasBackend:
    """A Keras estimator (a preset's), in inference mode: (B, 16, 2) → (B, 16, 3)."""

    def __init__(self, model):
        self.model = model
        self._predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def predict(self, kp_2d_norm: np.ndarray) -> np.ndarray:
        return self._predict(tf.constant(kp_2d_norm, tf.float32)).numpy()


class Lifter:
    """2D → 3D lifting with an exported model, with optional flip test-time augmentation.

    Args:
      backend: `SavedModelBackend`, `TFLiteBackend` or `KerasBackend`.
      metadata: the export's metadata (None if unknown); `metadata["flip_tta"]` means flip is baked in.
      use_flip_tta: average with the mirrored prediction (skipped when the model already does it).
      batch_size: poses per backend call.
    """

    def __init__(
        self, backend, *, metadata: dict | None = None, use_flip_tta: bool = False, batch_size: int = DEFAULT_BATCH_SIZE
    ):
        self.backend = backend
        self.metadata = metadata
        self.baked_flip = bool(metadata and metadata.get("flip_tta"))
        self.use_flip_tta = use_flip_tta
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        use_flip_tta: bool = False,
        num_threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Lifter:
        """Opens a SavedModel folder (with saved_model.pb), a .tflite file or a preset (`from_preset`).

        Raises:
          InputError: the path is none of these, or the model cannot be loaded (truncated, corrupt).
        """
        if presets.is_preset(path):
            return cls.from_preset(path, use_flip_tta=use_flip_tta, batch_size=batch_size)
        path = pathlib.Path(path)
        if path.is_dir() and (path / "saved_model.pb").is_file():
            kind, make = "SavedModel", lambda: SavedModelBackend(path)
        elif path.is_file() and path.suffix == ".tflite":
            kind, make = "TFLite model", lambda: TFLiteBackend(path, num_threads=num_threads)
        else:
            raise InputError(f"{path}: expected a SavedModel folder (with saved_model.pb) or a .tflite file.")
        try:
            backend = make()
        except Exception as error:  # noqa: BLE001 - whatever the loader trips on, the file is not a usable model
            raise InputError(f"{path}: cannot load the {kind} ({type(error).__name__}: {one_line(error)}).") from None
        return cls(backend, metadata=contract.read_metadata(path), use_flip_tta=use_flip_tta, batch_size=batch_size)

    @classmethod
    def from_preset(
        cls, preset: str | os.PathLike, *, use_flip_tta: bool = False, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Lifter:
        """A lifter from a preset: a folder, a .zip of one, or an `hf://` / `kaggle://` URI (serving/presets.py).

        Raises:
          PresetError (an InputError): missing files, a checksum mismatch, or weights of another model.
        """
        model, metadata = presets.load_preset(preset)
        return cls(
            KerasBackend(model),
            metadata=dict(metadata, flip_tta=False),
            use_flip_tta=use_flip_tta,
            batch_size=batch_size,
        )

    def _predict(self, kp: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [self.backend.predict(kp[i : i + self.batch_size]) for i in range(0, len(kp), self.batch_size)]
        )

    def lift(self, kp_2d_norm: np.ndarray) -> np.ndarray:
        """Lifts normalised 2D keypoints.

        Args:
          kp_2d_norm: (N, 16, 2) normalised screen coordinates (docs/reference.md §1.6); NaN for a missing joint.

        Returns:
          (N, 16, 3) float32 camera-frame metres, root-relative.

        Raises:
          ValueError: wrong shape or infinite values.
        """
        kp = _check_pose_2d(kp_2d_norm, "kp_2d_norm")
        if len(kp) == 0:
            return np.zeros((0, skeleton.NUM_JOINTS, 3), np.float32)
        if np.isnan(kp).any():  # filled here as the exported graphs fill them, for every backend and flip TTA
            kp = keypoint_noise.fill_missing(kp).numpy()
        if self.use_flip_tta and not self.baked_flip:
            return predict_with_flip(lambda x: self._predict(np.asarray(x)), kp).numpy()
        return self._predict(kp).astype(np.float32)

    def lift_pixels(self, kp_2d_px: np.ndarray, image_size) -> np.ndarray:
        """Lifts pixel keypoints (origin top-left) of images of `image_size` = (width, height) or (N, 2).

        Returns:
          (N, 16, 3) float32 camera-frame metres, root-relative.
        """
        kp = _check_pose_2d(kp_2d_px, "kp_2d_px")
        if not pixels.plausible_image_size(image_size):
            raise InputError(
                f"image_size: expected [width, height] of 1 to {pixels.MAX_IMAGE_SIDE_PX} pixels; "
                f"received {image_size!r}."
            )
        return self.lift(pixels.normalize_pixels(kp, image_size))
