"""Tests of poseaug_tf/serving/client.py: REST bodies (checked against the exported signatures through a local
stand-in for TF Serving's REST API) and gRPC PredictRequest construction."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.models import build_estimator
from poseaug_tf.serving import client, export


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny exported model behind a local HTTP server that answers like TF Serving's REST predict API."""
    model = build_estimator("mlp", units=24, num_stages=1)
    version_dir = export.export_model(
        model,
        tmp_path_factory.mktemp("serving") / "tiny",
        tflite_variants=(),
        sets=export.verification_sets(num_samples=32),
    )
    signatures = tf.saved_model.load(str(version_dir)).signatures

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signature = signatures[body.get("signature_name", "serving_default")]
            names = sorted(signature.structured_input_signature[1])
            if "instances" in body:  # row format: one entry per example; a bare value when there is one input
                rows = body["instances"]
                inputs = {names[0]: rows} if len(names) == 1 else {n: [r[n] for r in rows] for n in names}
            else:
                inputs = body["inputs"] if isinstance(body["inputs"], dict) else {names[0]: body["inputs"]}
            out = signature(**{n: tf.constant(v, tf.float32) for n, v in inputs.items()})["keypoints_3d"].numpy()
            key = "predictions" if "instances" in body else "outputs"
            reply = json.dumps({key: out.tolist()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield model, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_rest_body_forms(rng):
    x = rng.uniform(-1, 1, (2, 16, 2)).astype(np.float32)
    row = client.rest_request_body(x)
    assert row["signature_name"] == "serving_default"
    np.testing.assert_array_equal(np.array(row["instances"], np.float32), x)
    col = client.rest_request_body(x, form="inputs")
    np.testing.assert_array_equal(np.array(col["inputs"]["keypoints_2d"], np.float32), x)
    px = client.rest_request_body(x * 100 + 300, image_size=(640, 480))
    assert px["signature_name"] == "predict_pixels"
    assert px["instances"][1]["image_size"] == [640.0, 480.0]
    np.testing.assert_allclose(px["instances"][1]["keypoints_px"], x[1] * 100 + 300, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(B, 16, 2\)"):
        client.rest_request_body(np.zeros((16, 2)))
    with pytest.raises(ValueError, match="form"):
        client.rest_request_body(x, form="rows")


def test_parse_rest_response():
    pose = np.arange(96, dtype=np.float32).reshape(2, 16, 3)
    np.testing.assert_array_equal(client.parse_rest_response({"predictions": pose.tolist()}), pose)
    np.testing.assert_array_equal(client.parse_rest_response({"outputs": {"keypoints_3d": pose.tolist()}}), pose)
    with pytest.raises(ValueError, match="returned an error: bad input"):
        client.parse_rest_response({"error": "bad input"})


def test_predict_rest_round_trip(served, rng):
    model, url = served
    x = rng.uniform(-0.9, 0.9, (3, 16, 2)).astype(np.float32)
    np.testing.assert_allclose(client.predict_rest(url, "tiny", x), model(x, training=False), atol=1e-5)
    size = np.array([[640, 480], [1000, 1002], [1920, 1080]], np.float32)
    px = (x + np.stack([np.ones(3), size[:, 1] / size[:, 0]], 1)[:, None]) * size[:, None, :1] / 2
    norm = px / size[:, None, :1] * 2 - np.stack([np.ones(3), size[:, 1] / size[:, 0]], 1)[:, None]
    np.testing.assert_allclose(
        client.predict_rest(url, "tiny", px, image_size=size),
        model(norm.astype(np.float32), training=False),
        atol=1e-5,
    )


def test_predict_request_construction(rng):
    pytest.importorskip(
        "tensorflow_serving.apis.predict_pb2",
        reason="tensorflow-serving-api not installed (pip install -e '.[serving]')",
    )
    x = rng.uniform(-1, 1, (4, 16, 2)).astype(np.float32)
    request = client.make_predict_request("vp", x, version=3)
    assert request.model_spec.name == "vp" and request.model_spec.version.value == 3
    assert request.model_spec.signature_name == "serving_default"
    tensor = request.inputs["keypoints_2d"]
    assert tensor.dtype == tf.float32.as_datatype_enum
    assert [d.size for d in tensor.tensor_shape.dim] == [4, 16, 2]
    np.testing.assert_array_equal(tf.make_ndarray(tensor), x)
    pixels = client.make_predict_request("vp", x * 50 + 200, image_size=(640, 480))
    assert pixels.model_spec.signature_name == "predict_pixels" and set(pixels.inputs) == {"keypoints_px", "image_size"}
    np.testing.assert_array_equal(tf.make_ndarray(pixels.inputs["image_size"]), np.tile([[640, 480]], (4, 1)))
    assert type(request).FromString(request.SerializeToString()) == request
