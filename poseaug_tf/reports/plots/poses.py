"""Skeleton drawings: one pose in 3D or in the image, and the source → BA → BL → RT grid (paper Figure 3).

3D panels show root-relative camera-frame poses on fixed ±`LIMIT_3D` m axes from one fixed view, with the
camera's axes mapped to the plot as x → right, z (depth) → into the page, −y → up, so posture, size and
rotation are comparable across panels; the position change of RT shows in the 2D panels.
2D panels show the projected pose in normalised screen coordinates (x right, y down) with the image border
[−1, 1] × [−h/w, h/w] drawn as a rectangle, on fixed ±`LIMIT_2D` axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.patches import Rectangle
from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the "3d" projection)

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots import canvas

LIMIT_3D = 1.1  # metres around the root
LIMIT_2D = 1.5  # normalised screen units around the image centre
VIEW_ELEVATION, VIEW_AZIMUTH = 12.0, -62.0  # fixed 3D view (degrees)
STAGES = ("source", "BA", "BL", "RT")


def bone_color(child: int) -> str:
    """Left limbs blue, right limbs red, the spine and head dark grey (by the bone's child joint)."""
    if child in skeleton.JOINTS_LEFT:
        return canvas.LEFT_COLOR
    if child in skeleton.JOINTS_RIGHT:
        return canvas.RIGHT_COLOR
    return canvas.CENTER_COLOR


def _bones():
    return [(p, c) for c, p in enumerate(skeleton.PARENTS) if p >= 0]


def draw_pose_3d(ax, pose_3d: np.ndarray, *, title: str = "") -> None:
    """Draws one pose on a 3D axis, root-relative, with fixed limits and view.

    Args:
      ax: a matplotlib Axes3D.
      pose_3d: (16, 3) camera frame, metres (absolute or root-relative; the root is subtracted).
      title: axis title.
    """
    pose = np.asarray(pose_3d, np.float64)
    pose = pose - pose[skeleton.ROOT]
    # Camera (x right, y down, z forward) → plot (x, depth into the page, up).
    px, py, pz = pose[:, 0], pose[:, 2], -pose[:, 1]
    for parent, child in _bones():
        ax.plot(
            [px[parent], px[child]],
            [py[parent], py[child]],
            [pz[parent], pz[child]],
            color=bone_color(child),
            linewidth=2.0,
        )
    ax.scatter(px, py, pz, s=4, color="black", depthshade=False)
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-LIMIT_3D, LIMIT_3D)
    ax.set_box_aspect((1.0, 1.0, 1.0))
    ax.view_init(elev=VIEW_ELEVATION, azim=VIEW_AZIMUTH)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    ax.set_xlabel("x", labelpad=-12, fontsize=7)
    ax.set_ylabel("z", labelpad=-12, fontsize=7)
    ax.set_zlabel("−y", labelpad=-12, fontsize=7)
    if title:
        ax.set_title(title, fontsize=9, pad=0)


def draw_pose_2d(ax, kp_2d: np.ndarray, *, aspect: float = 1.0, title: str = "") -> None:
    """Draws one projected pose in the normalised image frame with the image border.

    Args:
      ax: a 2D matplotlib Axes.
      kp_2d: (16, 2) normalised screen coordinates (x right, y down).
      aspect: image height / width (the border is [−1, 1] × [−aspect, aspect]).
      title: axis title.
    """
    kp = np.asarray(kp_2d, np.float64)
    ax.add_patch(
        Rectangle((-1.0, -aspect), 2.0, 2.0 * aspect, fill=False, edgecolor="#999999", linestyle="--", linewidth=1.0)
    )
    for parent, child in _bones():
        ax.plot([kp[parent, 0], kp[child, 0]], [kp[parent, 1], kp[child, 1]], color=bone_color(child), linewidth=1.6)
    ax.scatter(kp[:, 0], kp[:, 1], s=3, color="black")
    ax.set_xlim(-LIMIT_2D, LIMIT_2D)
    ax.set_ylim(LIMIT_2D, -LIMIT_2D)  # y down, as in the image
    ax.set_aspect("equal")
    ax.set_xticks([-1, 0, 1])
    ax.set_yticks([-1, 0, 1])
    ax.tick_params(labelsize=6)
    outside = np.any(np.abs(kp[:, 0]) > 1.0) or np.any(np.abs(kp[:, 1]) > aspect)
    if outside:
        ax.text(0.03, 0.04, "leaves the image", transform=ax.transAxes, fontsize=7, color="#d62728")
    if title:
        ax.set_title(title, fontsize=9)


def _check_stages(poses_3d: Mapping[str, np.ndarray], poses_2d: Mapping[str, np.ndarray]) -> int:
    """Number of samples S, after checking that every stage has S > 0 poses in 3D and 2D."""
    missing = [s for s in STAGES if s not in poses_3d or s not in poses_2d]
    if missing:
        raise ValueError(f"Expected `poses_3d` and `poses_2d` entries for {list(STAGES)}; missing {missing}.")
    counts = {len(poses_3d[s]) for s in STAGES} | {len(poses_2d[s]) for s in STAGES}
    if len(counts) != 1 or not min(counts):
        raise ValueError(f"Expected the same non-zero number of samples for every stage; received {counts}.")
    return counts.pop()


def augmentation_figure(
    poses_3d: Mapping[str, np.ndarray],
    poses_2d: Mapping[str, np.ndarray],
    *,
    aspect: float | Sequence[float] = 1.0,
    notes: Mapping[str, Sequence[str]] | None = None,
    dpi: int = canvas.DPI,
):
    """Grid of source poses beside their BA, BL and RT augmentations: one row per sample, the four 3D panels
    then the four projected 2D panels.

    Args:
      poses_3d: stage ("source", "BA", "BL", "RT") → (S, 16, 3) camera-frame metres.
      poses_2d: stage → (S, 16, 2) normalised projections with the sample's intrinsics.
      aspect: image height / width, a scalar or one per sample.
      notes: optional stage → S short strings printed under the 3D panels (e.g. the RT rotation angle).
      dpi: figure resolution.

    Returns:
      matplotlib Figure of size `canvas.FIGURE_SIZES["augmentations"]`.

    Raises:
      ValueError: a missing stage or inconsistent sample counts.
    """
    num = _check_stages(poses_3d, poses_2d)
    aspects = np.broadcast_to(np.asarray(aspect, np.float64), (num,))
    fig = canvas.new_figure("augmentations", dpi=dpi)
    grid = fig.add_gridspec(
        num, 2 * len(STAGES), left=0.02, right=0.99, top=0.93, bottom=0.03, wspace=0.15, hspace=0.25
    )
    for row in range(num):
        for col, stage in enumerate(STAGES):
            note = (notes or {}).get(stage)
            ax3 = fig.add_subplot(grid[row, col], projection="3d")
            draw_pose_3d(ax3, poses_3d[stage][row], title=f"{stage} 3D" if row == 0 else "")
            if note is not None:
                ax3.text2D(0.5, -0.02, note[row], transform=ax3.transAxes, ha="center", fontsize=7)
            ax2 = fig.add_subplot(grid[row, len(STAGES) + col])
            draw_pose_2d(ax2, poses_2d[stage][row], aspect=float(aspects[row]), title=f"{stage} 2D" if row == 0 else "")
    fig.suptitle(
        "PoseAug augmentations: source → BA (bone angles) → BL (bone lengths) → RT (rotation, "
        "translation); blue = left, red = right",
        fontsize=11,
    )
    return fig
