"""poseaug_tf/serving/contract.py: TF-free, and the normalisation the exported graph applies."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from poseaug_tf.core import camera, pixels
from poseaug_tf.serving import contract


@pytest.mark.parametrize("module", ["poseaug_tf.serving.contract", "poseaug_tf.serving.client"])
def test_clients_need_no_tensorflow(module):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout[:300], done.stderr[-2000:])


def test_normalize_pixels_closed_form_and_graph():
    # A 1000x500 image: its centre is the origin, the left/right edges x = -1/+1, top/bottom y = -0.5/+0.5.
    kp = np.array([[[500, 250], [0, 0], [1000, 500]] + [[500, 250]] * 13], np.float32)
    got = pixels.normalize_pixels(kp, (1000, 500))
    np.testing.assert_allclose(got[0, :3], [[0, 0], [-1, -0.5], [1, 0.5]], atol=1e-7)
    rng = np.random.default_rng(3)
    size = rng.uniform(64, 4000, (5, 2)).astype(np.float32)
    kp = (rng.uniform(0, 1, (5, 16, 2)) * size[:, None]).astype(np.float32)
    np.testing.assert_array_equal(
        pixels.normalize_pixels(kp, size), camera.normalize_screen(kp, size[:, 0], size[:, 1]).numpy()
    )


@pytest.mark.parametrize(
    "size, plausible",
    [
        ((640, 480), True),
        ((1, 1), True),
        ((100_000, 100_000), True),
        ((0, 480), False),
        ((-640, 480), False),
        ((np.nan, 480), False),
        ((1e30, 1e30), False),
        ([[640, 480], [640, 0]], False),
    ],
)
def test_plausible_image_size(size, plausible):
    assert pixels.plausible_image_size(size) is plausible


def test_paths_and_metadata(tmp_path):
    assert contract.tflite_path(tmp_path, "int8") == tmp_path / "tflite" / "pose_lifter_int8.tflite"
    meta = contract.metadata(
        model_class="SimpleBaseline",
        parameters=12,
        config={"seed": 1},
        use_flip_tta=True,
        source="runs/x/poseaug.weights.h5",
    )
    assert meta["joint_names"][0] == "Hip" and len(meta["parents"]) == 16 and meta["flip_tta"] is True
    assert meta["signatures"] == ["serving_default", "predict_pixels"] and meta["output"]["units"] == "metres"
    (tmp_path / "assets").mkdir()
    assert contract.read_metadata(tmp_path) is None
    (tmp_path / "assets" / contract.METADATA_FILENAME).write_text('{"format_version": 1}')
    assert contract.read_metadata(contract.tflite_path(tmp_path, "int8")) == {"format_version": 1}
