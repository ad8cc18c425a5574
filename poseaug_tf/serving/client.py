"""Small clients for a TF Serving deployment of an exported lifter (REST on :8501, gRPC on :8500).

    body = rest_request_body(kp_2d_norm)                       # {"instances": [...]} for serving_default
    pose_3d = predict_rest("http://localhost:8501", "vp", kp_2d_norm)
    request = make_predict_request("vp", kp_2d_norm)           # tensorflow_serving.apis PredictRequest
    pose_3d = predict_grpc("localhost:8500", request)

gRPC needs the `serving` extra (`pip install -e '.[serving]'`, tensorflow-serving-api); REST needs nothing.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np

from poseaug_tf.serving.contract import INPUT_NORM, INPUT_PX, INPUT_SIZE, OUTPUT, PIXEL_SIGNATURE, SERVING_SIGNATURE


def _inputs(keypoints: np.ndarray, image_size) -> dict[str, np.ndarray]:
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (16, 2):
        raise ValueError(f"Expected `keypoints` of shape (B, 16, 2); received {keypoints.shape}.")
    if image_size is None:
        return {INPUT_NORM: keypoints}
    size = np.broadcast_to(np.asarray(image_size, np.float32), (len(keypoints), 2))
    return {INPUT_PX: keypoints, INPUT_SIZE: np.ascontiguousarray(size)}


def rest_request_body(keypoints: np.ndarray, *, image_size=None, form: str = "instances") -> dict:
    """JSON body for `POST /v1/models/<name>:predict`.

    Args:
      keypoints: (B, 16, 2) normalised screen coordinates, or pixels when `image_size` is given (then the
        `predict_pixels` signature is used).
      image_size: None, or [width, height] for all examples, or (B, 2).
      form: "instances" (row format: one entry per example) or "inputs" (columnar format: one entry per input).

    Returns:
      The request dict (json.dumps it).
    """
    if form not in ("instances", "inputs"):
        raise ValueError(f"Expected `form` 'instances' or 'inputs'; received {form!r}.")
    inputs = _inputs(keypoints, image_size)
    body = {"signature_name": SERVING_SIGNATURE if image_size is None else PIXEL_SIGNATURE}
    if form == "inputs":
        body["inputs"] = {name: value.tolist() for name, value in inputs.items()}
    elif image_size is None:
        body["instances"] = inputs[INPUT_NORM].tolist()
    else:
        body["instances"] = [{name: value[i].tolist() for name, value in inputs.items()} for i in range(len(keypoints))]
    return body


def parse_rest_response(response: dict) -> np.ndarray:
    """(B, 16, 3) float32 from a REST reply ("predictions" for the row form, "outputs" for the columnar one)."""
    if "error" in response:
        raise ValueError(f"TF Serving returned an error: {response['error']}")
    value = response.get("predictions", response.get("outputs"))
    if isinstance(value, dict):
        value = value[OUTPUT]
    if value is None:
        raise ValueError(f"Expected 'predictions' or 'outputs' in the reply; received keys {sorted(response)}.")
    return np.asarray(value, np.float32)


def predict_rest(
    base_url: str,
    model_name: str,
    keypoints: np.ndarray,
    *,
    image_size=None,
    version: int | None = None,
    timeout: float = 10.0,
) -> np.ndarray:
    """POSTs a predict request to TF Serving's REST API and returns keypoints_3d (B, 16, 3) metres."""
    path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version else "") + ":predict"
    data = json.dumps(rest_request_body(keypoints, image_size=image_size)).encode()
    request = urllib.request.Request(
        base_url.rstrip("/") + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return parse_rest_response(json.loads(reply.read()))


def make_predict_request(model_name: str, keypoints: np.ndarray, *, image_size=None, version: int | None = None):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` for the lifter (needs tensorflow-serving-api)."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = SERVING_SIGNATURE if image_size is None else PIXEL_SIGNATURE
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in _inputs(keypoints, image_size).items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.float32))
    return request


def predict_grpc(target: str, request, *, timeout: float = 10.0) -> np.ndarray:
    """Sends `request` to TF Serving's gRPC port (e.g. "localhost:8500"); returns keypoints_3d (B, 16, 3)."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        reply = stub.Predict(request, timeout=timeout)
    return tf.make_ndarray(reply.outputs[OUTPUT])
