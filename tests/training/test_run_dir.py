"""Tests for poseaug_tf.training.run_dir: the workdir's records and the selection rules."""

import json

import numpy as np
import pytest

from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.training import model_files, run_dir


def _record(stage, epoch):
    return {"stage": stage, "epoch": epoch, "train": {}, "eval": {}}


def test_write_json_is_sorted_and_turns_numpy_scalars_into_numbers(tmp_path):
    run_dir.write_json(tmp_path / "a.json", {"b": np.float32(0.5), "a": (1, 2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": [1, 2], "b": 0.5}
    assert list(tmp_path.iterdir()) == [tmp_path / "a.json"]  # no temporary left
    with pytest.raises(TypeError, match="Not JSON serialisable: object"):
        run_dir.write_json(tmp_path / "b.json", {"x": object()})
    assert not (tmp_path / "b.json").exists()


def test_record_config_keeps_a_different_earlier_config(tmp_path):
    assert run_dir.record_config(tmp_path, {"seed": 0}, {"tensorflow": "x"}) is False
    assert run_dir.record_config(tmp_path, {"seed": 0}, {"tensorflow": "x"}) is False
    assert not (tmp_path / run_dir.PREVIOUS_CONFIG).exists()
    assert run_dir.record_config(tmp_path, {"seed": 1}, {"tensorflow": "x"}) is True
    assert json.loads((tmp_path / run_dir.PREVIOUS_CONFIG).read_text()) == {"seed": 0}
    assert run_dir.read_config(tmp_path).seed == 1


def test_selected_epochs_follow_the_records_and_fall_back_to_the_loaded_baseline():
    history = [_record("pretrain", e) for e in (1, 2, 3)] + [_record("poseaug", e) for e in (0, 1, 2)]
    records = {"baseline": {"epoch": 2, "selection": "val"}, "poseaug": {"epoch": 1, "selection": "val"}}
    assert run_dir.selected_epochs(history, records) == {"baseline": ("pretrain", 2), "poseaug": ("poseaug", 1)}
    # A stage=poseaug run has no pretraining records: the baseline is the arm's epoch 0 (the loaded weights).
    only_arm = [r for r in history if r["stage"] == "poseaug"] + [_record("control", e) for e in (0, 1)]
    assert run_dir.selected_epochs(only_arm, {"poseaug": records["poseaug"]}) == {
        "baseline": ("control", 0),
        "poseaug": ("poseaug", 1),
    }
    # An arm without a record yet (still training): reported at its last trained epoch only when asked.
    assert "control" not in run_dir.selected_epochs(only_arm, {})
    assert run_dir.selected_epochs(only_arm, {}, unrecorded_arms=True)["control"] == ("control", 1)


def test_read_run_last_and_recorded(tmp_path):
    history = [_record("pretrain", e) for e in (1, 2)] + [_record("random", e) for e in (0, 1, 2, 3)]
    run_dir.write_json(tmp_path / run_dir.HISTORY, history)
    run_dir.write_selection(tmp_path, "random", 2, "val")
    assert run_dir.read_run(tmp_path).selection == {"random": {"epoch": 2, "selection": "val"}}
    assert run_dir.read_run(tmp_path, epochs="last").selection == {
        "baseline": {"epoch": 2, "selection": "last"},
        "random": {"epoch": 3, "selection": "last"},
    }
    assert run_dir.read_run(tmp_path).config is None
    with pytest.raises(ValueError, match="Unknown `epochs` 'best'"):
        run_dir.read_run(tmp_path, epochs="best")
    with pytest.raises(InputError, match="not a training directory"):
        run_dir.read_run(tmp_path / run_dir.HISTORY)


def test_start_weights_accepts_a_file_a_workdir_or_a_workdir_and_model(tmp_path):
    weights = tmp_path / "other.weights.h5"
    weights.write_bytes(b"x")
    assert model_files.start_weights(str(weights)) == weights
    (tmp_path / "baseline.weights.h5").write_bytes(b"x")
    assert model_files.start_weights(str(tmp_path)) == tmp_path / "baseline.weights.h5"
    (tmp_path / "poseaug.weights.h5").write_bytes(b"x")
    assert model_files.start_weights(str(tmp_path)) == tmp_path / "poseaug.weights.h5"  # the final model first
    assert model_files.start_weights(f"{tmp_path}:baseline") == tmp_path / "baseline.weights.h5"
    for bad, match in (
        (tmp_path / "missing", "does not exist"),
        (f"{tmp_path}:bogus", "unknown model 'bogus'"),
        (f"{tmp_path}:control", "holds no control weights"),
    ):
        with pytest.raises(InputError, match=match):
            model_files.start_weights(str(bad))


def test_the_configs_and_the_library_name_the_same_arms():
    from configs import common

    assert common.ARM_NAMES == run_dir.ARMS
