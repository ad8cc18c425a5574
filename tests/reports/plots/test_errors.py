"""Per-joint bars and the per-action table hold the selected records' numbers."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.reports.plots import canvas, errors
from tests.fake_workdir import expected_pixel_size, png_size


def _scores():
    joints = np.arange(16, dtype=float)
    return {
        "baseline": {
            "h36m": {"mpjpe": 50.0, "per_action_mpjpe": {"Walk": 40.0, "Sit": 60.0}, "per_joint_mpjpe": list(joints)},
            "validation": {"mpjpe": 30.0, "per_action_mpjpe": {"Walk": 30.0}, "per_joint_mpjpe": list(joints)},
        },
        "poseaug": {
            "h36m": {
                "mpjpe": 45.0,
                "per_action_mpjpe": {"Walk": 41.5, "Sit": 50.0},
                "per_joint_mpjpe": list(2 * joints),
            }
        },
    }


def test_per_action_table_values():
    sets, actions, values = errors.per_action_table(_scores())
    assert sets == ["h36m", "validation"]  # validation last
    assert actions == ["Sit", "Walk", errors.ALL_FRAMES]
    np.testing.assert_allclose(values[:, 0], [[60.0, 50.0, -10.0], [40.0, 41.5, 1.5], [50.0, 45.0, -5.0]])
    assert values[1, 1, 0] == 30.0 and np.isnan(values[1, 1, 1]) and np.isnan(values[1, 1, 2])
    assert np.isnan(values[0, 1]).all()  # validation has no "Sit"


def test_per_action_markdown_rows():
    md = errors.per_action_markdown(_scores())
    assert "| Walk | 40.0 | 41.5 | +1.5 | 30.0 | – | – |" in md
    assert "| all (frames) | 50.0 | 45.0 | -5.0 | 30.0 | – | – |" in md
    assert md.count("\n|") == 5  # header, rule, three rows


def test_per_joint_bars_equal_the_records(tmp_path):
    fig = errors.per_joint_figure(_scores(), labels={"poseaug": "PoseAug (epoch 3)"}, dpi=40)
    top = fig.axes[0]
    heights = [p.get_height() for p in top.patches]
    np.testing.assert_allclose(heights, list(range(16)) + list(range(0, 32, 2)))
    assert "PoseAug (epoch 3): 45.0 mm" in [t.get_text() for t in top.get_legend().get_texts()]
    assert len(fig.axes) == 2
    assert png_size(canvas.save_png(fig, tmp_path / "j.png")) == expected_pixel_size("per_joint_errors", dpi=40)


def test_per_action_figure_colours_and_errors(tmp_path):
    fig = errors.per_action_figure(_scores(), dpi=40)
    table = fig.axes[0].tables[0]
    assert table[1, 3].get_text().get_text() == "-10.0"
    assert table[1, 3].get_facecolor()[1] > table[1, 3].get_facecolor()[0]  # green: PoseAug better
    assert table[2, 3].get_facecolor()[0] > table[2, 3].get_facecolor()[1]  # red: worse
    assert png_size(canvas.save_png(fig, tmp_path / "a.png")) == expected_pixel_size("per_action_errors", dpi=40)
    with pytest.raises(ValueError, match="per_action_mpjpe"):
        errors.per_action_figure({"baseline": {}})
    with pytest.raises(ValueError, match="per_joint_mpjpe"):
        errors.per_joint_figure({})


def test_with_a_control_the_delta_is_against_the_control_and_every_model_gets_bars(tmp_path):
    scores = _scores()
    joints = np.arange(16, dtype=float)
    scores["control"] = {
        "h36m": {"mpjpe": 47.0, "per_action_mpjpe": {"Walk": 42.0, "Sit": 52.0}, "per_joint_mpjpe": list(3 * joints)}
    }
    assert errors.reference_model(scores) == "control"
    _, _, values = errors.per_action_table(scores)
    np.testing.assert_allclose(values[:, 0], [[52.0, 50.0, -2.0], [42.0, 41.5, -0.5], [47.0, 45.0, -2.0]])
    assert "h36m control | h36m PoseAug | h36m Δ" in errors.per_action_markdown(scores)
    top = errors.per_joint_figure(scores, dpi=40).axes[0]
    heights = [p.get_height() for p in top.patches]  # in MODELS order: baseline, control, PoseAug
    np.testing.assert_allclose(heights, list(joints) + list(3 * joints) + list(2 * joints))
