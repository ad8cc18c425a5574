"""Training curves: the epoch axis and the plotted values equal the history's."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.reports.plots import canvas, curves
from tests import fake_workdir
from tests.fake_workdir import expected_pixel_size, png_size


def _axis(fig, title_start: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title_start))


def test_epoch_axis_puts_poseaug_after_pretraining():
    records = fake_workdir.history_records()
    x, offset = curves.epoch_axis(records)
    assert offset == fake_workdir.PRETRAIN_EPOCHS
    np.testing.assert_array_equal(x, [1, 2, 2, 3, 4, 5])


def test_curves_show_the_history_values(tmp_path):
    records = fake_workdir.history_records()
    fig = curves.training_curves_figure(records, warmup=1, selected={"poseaug": ("poseaug", 2)}, dpi=40)
    mpjpe = _axis(fig, "MPJPE")
    star = next(line for line in mpjpe.lines if line.get_label() == "selected poseaug")
    np.testing.assert_allclose(star.get_xdata(), [4, 4, 4])  # PoseAug epoch 2 after 2 pretraining epochs
    np.testing.assert_allclose(star.get_ydata(), [records[4]["eval"][n]["mpjpe"] for n in sorted(records[4]["eval"])])
    target = [r["eval"]["synthetic_target"]["mpjpe"] for r in records if r["stage"] == "poseaug"]
    solid = [line for line in mpjpe.lines if line.get_linestyle() == "-" and line.get_label() == "synthetic_target"][0]
    np.testing.assert_allclose(solid.get_ydata(), target)
    np.testing.assert_allclose(solid.get_xdata(), [2, 3, 4, 5])
    ratios = _axis(fig, "feedback error ratios")
    ratio_ba = next(line for line in ratios.lines if line.get_label() == "ratio_ba")
    np.testing.assert_allclose(ratio_ba.get_xdata(), [4, 5])  # PoseAug epochs 2, 3 (after the warm-up)
    np.testing.assert_allclose(ratio_ba.get_ydata(), [r["train"]["ratio_ba"] for r in records[-2:]])
    other = _axis(fig, "other")
    labels = {line.get_label() for line in other.lines}
    assert {"grad_norm", "g_grad_norm", "buffer_size"} <= labels  # unknown metrics are not dropped
    buffer = next(line for line in other.lines if line.get_label() == "buffer_size")
    np.testing.assert_allclose(buffer.get_ydata(), [r["train"]["buffer_size"] * 1e-3 for r in records[-2:]])
    assert _axis(fig, "estimator loss").get_yscale() == "log"
    path = canvas.save_png(fig, tmp_path / "c.png")
    assert png_size(path) == expected_pixel_size("training_curves", dpi=40)


def test_pretraining_only_history_and_empty_history():
    records = [r for r in fake_workdir.history_records() if r["stage"] == "pretrain"]
    fig = curves.training_curves_figure(records)
    assert _axis(fig, "generator losses: not recorded")
    with pytest.raises(ValueError, match="at least one history record"):
        curves.training_curves_figure([])
