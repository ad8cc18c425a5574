"""Fixed-size figures, PNG writing (signature, IHDR size, palette) and RGB rendering."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from poseaug_tf.reports.plots import canvas
from tests.fake_workdir import expected_pixel_size, png_size


@pytest.mark.parametrize("palette", [True, False])
def test_save_png_writes_the_registered_pixel_size(tmp_path, palette):
    fig = canvas.new_figure("per_joint_errors", dpi=80)
    fig.add_subplot().plot([0, 1], [1, 0], color="#ff0000")
    path = canvas.save_png(fig, tmp_path / "sub" / "f.png", palette=palette)
    assert png_size(path) == (960, 400) == expected_pixel_size("per_joint_errors", dpi=80)
    assert not list(path.parent.glob(".tmp-*"))  # written through a temporary file
    with Image.open(path) as image:
        assert image.mode == ("P" if palette else "RGBA")
        rgb = np.asarray(image.convert("RGB")).astype(int)
    # The 256-colour palette stays close to the full-colour rendering, and the red line stays red.
    reference = canvas.figure_to_rgb(fig).astype(int)
    assert np.abs(rgb - reference).mean() < 0.5
    assert (rgb[0, 0] == 255).all()  # white stays white
    assert np.any(np.all(np.abs(rgb - [255, 0, 0]) <= 8, axis=-1))


def test_figure_to_rgb_matches_the_png(tmp_path):
    fig = canvas.new_figure("distributions", dpi=20)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    ax.imshow(np.zeros((2, 2, 3)), extent=(0, 1, 0, 1), aspect="auto")
    rgb = canvas.figure_to_rgb(fig)
    assert rgb.shape == (140, 300, 3) and rgb.dtype == np.uint8
    assert rgb.mean() < 5.0  # the black image fills the canvas
    with Image.open(canvas.save_png(fig, tmp_path / "f.png", palette=False)) as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), rgb)


def test_unknown_figure_name_raises():
    with pytest.raises(ValueError, match="Unknown figure `name` 'nope'; valid: augmentations"):
        canvas.new_figure("nope")
