"""Model selection bookkeeping: validation-best among eligible epochs, or the last epoch; published files."""

import json

import keras
import numpy as np
import pytest

from poseaug_tf.training.selection import SelectionState


def _model(value):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.layers[0].bias.assign([value])
    return model


def test_best_is_chosen_among_eligible_epochs_only(tmp_path):
    state = SelectionState()
    # (epoch, validation MPJPE, eligible): epoch 1 has the lowest error but is a warm-up epoch.
    for epoch, val, eligible in ((1, 10.0, False), (2, 30.0, True), (3, 20.0, True), (4, 25.0, True)):
        state.update(tmp_path, _model(float(epoch)), epoch, val, eligible=eligible)
    assert state.selected("val") == ("best.weights.h5", 3)
    assert state.selected("last") == ("last.weights.h5", 4)
    target = _model(0.0)
    path = state.publish(target, tmp_path, tmp_path, name="poseaug", selection="val")
    assert path == tmp_path / "poseaug.weights.h5" and path.exists()
    np.testing.assert_array_equal(target.layers[0].bias.numpy(), [3.0])  # epoch 3's weights were loaded
    assert json.loads((tmp_path / "poseaug.json").read_text()) == {"epoch": 3, "selection": "val"}
    assert not list(tmp_path.glob(".tmp-*"))


def test_val_falls_back_to_last_when_no_epoch_was_eligible(tmp_path):
    state = SelectionState()
    state.update(tmp_path, _model(1.0), 1, 5.0, eligible=False)
    assert state.selected("val") == ("last.weights.h5", 1)


def test_unknown_selection_is_rejected():
    with pytest.raises(ValueError, match="Unknown `selection` 'test'"):
        SelectionState().selected("test")
