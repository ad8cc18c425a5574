"""Skeleton drawings: coordinates drawn equal the pose (3D axis mapping, 2D image frame), colours, the grid."""

from __future__ import annotations

import numpy as np
import pytest

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots import canvas, poses
from tests.fake_workdir import expected_pixel_size, png_size


def test_bone_colours_follow_the_side():
    assert [poses.bone_color(c) for c in (1, 4, 7, 9, 11, 14)] == [
        canvas.RIGHT_COLOR,
        canvas.LEFT_COLOR,
        canvas.CENTER_COLOR,
        canvas.CENTER_COLOR,
        canvas.LEFT_COLOR,
        canvas.RIGHT_COLOR,
    ]


def test_draw_pose_3d_plots_root_relative_x_depth_up(rng):
    pose = rng.normal(size=(16, 3)) + np.array([1.0, 2.0, 5.0])
    fig = canvas.new_figure("augmentations", dpi=20)
    ax = fig.add_subplot(projection="3d")
    poses.draw_pose_3d(ax, pose)
    rel = pose - pose[0]
    assert len(ax.lines) == skeleton.NUM_BONES
    for line, child in zip(ax.lines, [c for c, p in enumerate(skeleton.PARENTS) if p >= 0]):
        xs, ys, zs = line.get_data_3d()
        parent = skeleton.PARENTS[child]
        np.testing.assert_allclose(xs, rel[[parent, child], 0])
        np.testing.assert_allclose(ys, rel[[parent, child], 2])  # depth into the page
        np.testing.assert_allclose(zs, -rel[[parent, child], 1])  # camera y points down
        assert line.get_color() == poses.bone_color(child)
    assert ax.get_xlim() == ax.get_ylim() == (-poses.LIMIT_3D, poses.LIMIT_3D)


def test_draw_pose_2d_plots_image_coordinates_with_y_down_and_border(rng):
    kp = rng.uniform(-0.5, 0.5, size=(16, 2))
    fig = canvas.new_figure("augmentations", dpi=20)
    ax = fig.add_subplot()
    poses.draw_pose_2d(ax, kp, aspect=0.75)
    for line, child in zip(ax.lines, [c for c, p in enumerate(skeleton.PARENTS) if p >= 0]):
        np.testing.assert_allclose(np.stack(line.get_data(), -1), kp[[skeleton.PARENTS[child], child]])
    border = ax.patches[0]
    assert (border.get_x(), border.get_y(), border.get_width(), border.get_height()) == (-1.0, -0.75, 2.0, 1.5)
    assert ax.get_ylim() == (poses.LIMIT_2D, -poses.LIMIT_2D)  # inverted: y down as in the image
    assert not ax.texts  # inside the image: no "leaves the image" note
    kp[3] = [0.2, 0.9]  # below the 0.75 border
    ax2 = fig.add_subplot(2, 1, 2)
    poses.draw_pose_2d(ax2, kp, aspect=0.75)
    assert ax2.texts[0].get_text() == "leaves the image"


def test_augmentation_figure_size_and_validation(tmp_path, rng):
    p3 = {s: rng.normal(size=(2, 16, 3)) + [0, 0, 5] for s in poses.STAGES}
    p2 = {s: rng.uniform(-1, 1, size=(2, 16, 2)) for s in poses.STAGES}
    fig = poses.augmentation_figure(p3, p2, notes={"RT": ["a", "b"]}, dpi=40)
    assert len(fig.axes) == 2 * 2 * len(poses.STAGES)
    path = canvas.save_png(fig, tmp_path / "a.png")
    assert png_size(path) == expected_pixel_size("augmentations", dpi=40)
    with pytest.raises(ValueError, match=r"missing \['BL'\]"):
        poses.augmentation_figure({k: v for k, v in p3.items() if k != "BL"}, p2)
    with pytest.raises(ValueError, match="same non-zero number of samples"):
        poses.augmentation_figure(p3 | {"BA": p3["BA"][:1]}, p2)


def test_augmentation_figure_draws_each_stage_of_each_sample_in_its_panel(rng):
    """Row r, column c holds sample r of stage c: 3D panels first, then the 2D panels in the same stage order."""
    p3 = {s: rng.normal(size=(2, 16, 3)) + [0, 0, 5] for s in poses.STAGES}
    p2 = {s: rng.uniform(-1, 1, size=(2, 16, 2)) for s in poses.STAGES}
    fig = poses.augmentation_figure(p3, p2, notes={"RT": ["12°", "34°"]}, dpi=20)
    columns = 2 * len(poses.STAGES)
    first_bone = next(c for c, p in enumerate(skeleton.PARENTS) if p >= 0)
    parent = skeleton.PARENTS[first_bone]
    for row in range(2):
        for col, stage in enumerate(poses.STAGES):
            ax3, ax2 = fig.axes[row * columns + 2 * col], fig.axes[row * columns + 2 * col + 1]
            rel = p3[stage][row] - p3[stage][row][0]
            xs, _, _ = ax3.lines[0].get_data_3d()
            np.testing.assert_allclose(xs, rel[[parent, first_bone], 0])
            np.testing.assert_allclose(np.stack(ax2.lines[0].get_data(), -1), p2[stage][row][[parent, first_bone]])
            assert ax3.get_title() == (f"{stage} 3D" if row == 0 else "")
        assert [t.get_text() for t in fig.axes[row * columns + 2 * 3].texts] == [["12°", "34°"][row]]
