"""Figure creation, PNG writing and RGB rendering on the Agg canvas (no pyplot, no global backend)."""

from __future__ import annotations

import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from poseaug_tf.infra import files

DPI = 80
# Inches at DPI; pixel size = inches × DPI (e.g. the pose grid is 1280 × 720 px).
FIGURE_SIZES = {
    "augmentations": (16.0, 9.0),
    "distributions": (15.0, 7.0),
    "training_curves": (16.0, 9.0),
    "per_joint_errors": (12.0, 5.0),
    "per_action_errors": (12.0, 6.0),
}

# Left limbs blue, right limbs red, the centre line black (the usual convention of pose-lifting papers).
LEFT_COLOR = "#1f77b4"
RIGHT_COLOR = "#d62728"
CENTER_COLOR = "#333333"
BASELINE_COLOR = "#7f7f7f"
POSEAUG_COLOR = "#ff7f0e"
CONTROL_COLOR = "#2ca02c"
RANDOM_COLOR = "#9467bd"


def new_figure(name: str, *, dpi: int = DPI) -> Figure:
    """A blank figure of the fixed size registered for `name`.

    Raises:
      ValueError: unknown `name`.
    """
    if name not in FIGURE_SIZES:
        raise ValueError(f"Unknown figure `name` {name!r}; valid: {', '.join(FIGURE_SIZES)}.")
    fig = Figure(figsize=FIGURE_SIZES[name], dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | pathlib.Path, *, palette: bool = True) -> pathlib.Path:
    """Writes `fig` as PNG through a temporary file (an interrupted write never leaves a truncated PNG).

    No `bbox_inches="tight"`: it would change the pixel size from figure to figure.

    Args:
      fig: the figure (its size × dpi is the PNG's pixel size).
      path: output file.
      palette: store 256 colours (a plot has few; it cuts the file ~3×, which keeps the README's PNGs small).

    Returns:
      `path`.
    """
    path = pathlib.Path(path)
    with files.atomic_path(path, durable=False) as tmp:
        if palette:
            image = Image.fromarray(figure_to_rgb(fig)).quantize(
                colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
            )
            image.save(tmp, format="PNG", optimize=True)
        else:
            fig.savefig(tmp, format="png", dpi=fig.dpi)
    return path


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Renders `fig` to a (H, W, 3) uint8 RGB array (for TensorBoard image summaries)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
