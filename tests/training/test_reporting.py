"""Tests of poseaug_tf/training/reporting.py's TensorBoard HParams trials."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

from poseaug_tf.training import reporting


def read_events(folder):
    """{tag: (summary value, metadata plugin content)} of every event file under `folder`."""
    out = {}
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                out[value.tag] = value
    return out


def test_flattened_config_fields_are_the_scalar_ones():
    config = {"seed": 1, "model": {"name": "mlp", "width": None}, "poseaug": {"use_ba": False, "lr_g": 1e-4}}
    assert reporting.hparams_of(config) == {
        "seed": 1,
        "model.name": "mlp",
        "poseaug.use_ba": False,
        "poseaug.lr_g": 1e-4,
    }


def test_one_trial_per_selected_model_with_its_config_and_errors(tmp_path):
    config = {"seed": 2, "arms": "control,poseaug", "poseaug": {"align": "target", "use_ba": False, "epochs": 3}}
    metrics = {"mpjpe": 51.5, "pa_mpjpe": 39.25, "pck": 96.0, "checkpoint": "x"}
    results = {
        "baseline": {"h36m": dict(metrics, mpjpe=60.0)},
        "poseaug": {"h36m": metrics, "h36m_cross_view": dict(metrics, mpjpe=80.0)},
        "poseaug_last": {"h36m": metrics},
        "oracle": {"h36m": {"poseaug": {"mpjpe": 50.0}}},
    }
    reporting.write_hparams(tmp_path, config, results, run_name="seed2")
    assert sorted(p.name for p in (tmp_path / reporting.HPARAMS_DIR).iterdir()) == ["baseline", "poseaug"]
    events = read_events(tmp_path / reporting.HPARAMS_DIR / "poseaug")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        events["_hparams_/session_start_info"].metadata.plugin_data.content
    ).session_start_info
    assert start.group_name == "seed2/poseaug"
    assert start.hparams["poseaug.align"].string_value == "target"
    assert start.hparams["poseaug.use_ba"].bool_value is False
    assert start.hparams["poseaug.epochs"].number_value == 3
    assert start.hparams["reported_model"].string_value == "poseaug"
    values = {tag: float(tf.make_ndarray(v.tensor)) for tag, v in events.items() if not tag.startswith("_hparams_")}
    np.testing.assert_allclose(
        [values["h36m/mpjpe"], values["h36m/pa_mpjpe"], values["h36m_cross_view/mpjpe"]], [51.5, 39.25, 80.0]
    )
    assert "h36m/pck" not in values
