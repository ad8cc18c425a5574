"""Mixed bfloat16 estimators: float32 outputs and losses, same weights files, close to the float32 model."""

import numpy as np
import pytest
import tensorflow as tf

from configs import common
from poseaug_tf.training import devices


def _config(name):
    config = common.base_config()
    config.model.name = name
    config.model.width = 64
    config.model.dropout_rate = 0.0
    return config


@pytest.mark.parametrize("name", ["videopose", "mlp"])
def test_mixed_bfloat16_matches_float32_with_the_same_weights(name, rng):
    config = _config(name)
    full = devices.configured_estimator(config, synchronized_bn=False, stage="pretrain", precision="float32")
    mixed = devices.configured_estimator(config, synchronized_bn=False, stage="pretrain", precision="mixed_bfloat16")
    mixed.set_weights(full.get_weights())  # weights stay float32 under the mixed policy
    assert all(w.dtype == np.float32 for w in mixed.get_weights())
    x = rng.uniform(-0.5, 0.5, size=(256, 16, 2)).astype(np.float32)
    y_full = full(x, training=False).numpy()
    y_mixed = mixed(x, training=False)
    assert y_mixed.dtype == tf.float32  # float32 head: poses are not rounded to bf16 (±4 mm at 1 m)
    np.testing.assert_array_equal(y_mixed.numpy()[:, 0], 0.0)
    # bf16 hidden activations (8-bit mantissa): a small relative difference, far below a bf16 output rounding.
    rel = np.abs(y_mixed.numpy() - y_full).max() / np.abs(y_full).max()
    assert 0 < rel < 0.05


def test_mixed_precision_is_refused_for_graph_models():
    with pytest.raises(ValueError, match="supported for videopose and mlp"):
        devices.configured_estimator(
            _config("semgcn"), synchronized_bn=False, stage="pretrain", precision="mixed_bfloat16"
        )


def test_unknown_precision_is_refused_by_the_config():
    config = _config("mlp")
    config.model.precision = "float16"
    with pytest.raises(ValueError, match="config.model.precision: expected one of 'float32', 'mixed_bfloat16', 'auto'"):
        common.validate(config)


@pytest.mark.parametrize(
    "flags, gpu, name, expected",
    [
        ({"avx512f", "avx512_bf16"}, None, "videopose", "mixed_bfloat16"),
        ({"amx_bf16", "amx_tile"}, None, "mlp", "mixed_bfloat16"),
        ({"avx512f", "avx2"}, None, "videopose", "float32"),  # AVX-512 without BF16: bf16 is emulated
        (set(), None, "videopose", "float32"),  # no /proc/cpuinfo (macOS)
        ({"avx512_bf16"}, None, "semgcn", "float32"),  # graph models have no mixed-precision build
        ({"avx512_bf16"}, (7, 5), "videopose", "float32"),  # a GPU decides, not the host CPU: Turing has no bf16
        (set(), (8, 0), "videopose", "mixed_bfloat16"),  # Ampere and later
    ],
)
def test_auto_precision_follows_the_hardware(monkeypatch, flags, gpu, name, expected):
    monkeypatch.setattr(devices, "_cpu_flags", lambda: flags)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["gpu0"] if gpu else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"compute_capability": gpu})
    assert devices.resolve_precision("auto", name) == expected
    assert devices.resolve_precision("float32", name) == "float32"


def test_cpu_flags_are_read_from_proc_cpuinfo():
    import pathlib

    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    line = next(x for x in cpuinfo.read_text().splitlines() if x.startswith("flags"))
    assert devices._cpu_flags() == set(line.split(":", 1)[1].split())


def test_auto_precision_builds_the_resolved_policy(monkeypatch):
    monkeypatch.setattr(devices, "has_fast_bfloat16", lambda: True)
    config = _config("videopose")
    config.model.precision = "auto"
    model = devices.configured_estimator(config, synchronized_bn=False, stage="pretrain")
    assert model.layers[2].dtype_policy.name == "mixed_bfloat16"
    monkeypatch.setattr(devices, "has_fast_bfloat16", lambda: False)
    model = devices.configured_estimator(config, synchronized_bn=False, stage="pretrain")
    assert model.layers[2].dtype_policy.name == "float32"
