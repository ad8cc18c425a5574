"""Headless matplotlib figures of a run: augmented poses, viewpoint/position distributions, training curves and
errors.

Every figure is a `matplotlib.figure.Figure` drawn with the Agg canvas directly (never `pyplot`), so importing
this package neither needs a display nor changes the user's matplotlib backend, and figures are safe to build
from a training loop. Sizes are fixed (`canvas.FIGURE_SIZES`), so a figure's pixel size is known in advance.
"""

from poseaug_tf.reports.plots.canvas import figure_to_rgb, new_figure, save_png

__all__ = ["figure_to_rgb", "new_figure", "save_png"]
