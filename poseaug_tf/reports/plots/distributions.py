"""Viewpoint and position distributions of source and augmented poses (the paper's Figure 7).

Conventions (camera frame of the data: x right, y down, z forward along the optical axis, metres). The viewpoint
is the direction from the person to the camera expressed in the person's own torso frame:

* Torso frame: up `u` = unit(Thorax − Hip); left `l` = unit(LHip − RHip with its component along u removed);
  forward `f` = cross(l, u), the facing direction (for an upright body facing the camera: u = −y, l = +x,
  f = −z).
* Line of sight `v` = unit(−Hip): from the root towards the camera centre. Root-relative sets (no absolute
  position, e.g. 3DHP test) use the optical axis, v = (0, 0, −1), i.e. the person is assumed on the axis.
* Azimuth (degrees, (−180, 180]) = atan2(v·l, v·f): 0 = the camera is in front of the person (the person faces
  the camera), +90 = the camera is on the person's left (it sees the left profile), ±180 = behind.
  Rotating a person who faces the camera on the optical axis by α about the camera's y axis
  (x' = x cos α + z sin α, z' = −x sin α + z cos α) gives azimuth α.
* Elevation (degrees, [−90, 90]) = asin(v·u): positive when the camera is above the person's transverse plane
  (looking down on the person). Rotating that person by θ about the camera's x axis
  (y' = y cos θ − z sin θ, z' = y sin θ + z cos θ) gives elevation θ.
* Position: the root (Hip, joint 0) as `x / z` and `y / z`, the undistorted normalised image-plane
  coordinates (tangents of the angles off the optical axis, y down), for sets with absolute poses only.

The histograms of every set use identical bins and ranges, and are normalised to fractions of the set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots import canvas

R_HIP, L_HIP, THORAX = 1, 4, 8
AZIMUTH_RANGE = (-180.0, 180.0)
ELEVATION_RANGE = (-90.0, 90.0)
VIEW_BINS = (36, 18)  # 10° bins in azimuth and elevation
POSITION_BINS = 30
MIN_POSITION_HALF_WIDTH = 0.3  # x/z, y/z histograms span at least ±0.3
MAX_COLUMNS = 5


def _check_poses(pose_3d: np.ndarray, name: str) -> np.ndarray:
    pose_3d = np.asarray(pose_3d, np.float64)
    if pose_3d.ndim != 3 or pose_3d.shape[1:] != (skeleton.NUM_JOINTS, 3):
        raise ValueError(f"Expected `{name}` of shape (N, {skeleton.NUM_JOINTS}, 3); received {pose_3d.shape}.")
    return pose_3d


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 1e-12, v / norm, np.nan)


def torso_frame(pose_3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal torso axes (left, up, forward) of each pose, in the pose's frame.

    Args:
      pose_3d: (N, 16, 3) camera frame (absolute or root-relative).

    Returns:
      (left, up, forward), each (N, 3) float64 unit vectors (NaN for degenerate poses).

    Raises:
      ValueError: wrong shape.
    """
    pose_3d = _check_poses(pose_3d, "pose_3d")
    up = _unit(pose_3d[:, THORAX] - pose_3d[:, skeleton.ROOT])
    hips = pose_3d[:, L_HIP] - pose_3d[:, R_HIP]
    left = _unit(hips - np.sum(hips * up, axis=-1, keepdims=True) * up)
    return left, up, np.cross(left, up)


def viewpoint_angles(pose_3d: np.ndarray, *, root_relative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation of the camera seen from the person (module docstring for the conventions).

    Args:
      pose_3d: (N, 16, 3) camera frame, metres.
      root_relative: the poses have no absolute position: use the optical axis as the line of sight.

    Returns:
      (azimuth (N,), elevation (N,)) in degrees, float64.
    """
    left, up, forward = torso_frame(pose_3d)
    if root_relative:
        sight = np.broadcast_to(np.array([0.0, 0.0, -1.0]), left.shape)
    else:
        sight = _unit(-np.asarray(pose_3d, np.float64)[:, skeleton.ROOT])
    azimuth = np.degrees(np.arctan2(np.sum(sight * left, -1), np.sum(sight * forward, -1)))
    elevation = np.degrees(np.arcsin(np.clip(np.sum(sight * up, -1), -1.0, 1.0)))
    return azimuth, elevation


def root_position(pose_3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root (joint 0) image-plane position `(x / z, y / z)` of absolute camera-frame poses.

    Args:
      pose_3d: (N, 16, 3) absolute camera frame, metres.

    Returns:
      (x/z (N,), y/z (N,)) float64; non-finite where the root depth is not positive.
    """
    root = _check_poses(pose_3d, "pose_3d")[:, skeleton.ROOT]
    depth = np.where(root[:, 2] > 0, root[:, 2], np.nan)
    return root[:, 0] / depth, root[:, 1] / depth


def position_range(values: list[np.ndarray]) -> tuple[float, float]:
    """Shared symmetric range of the position histograms: the 99.5th percentile of |value| over all sets,
    rounded up to 0.1 and at least `MIN_POSITION_HALF_WIDTH`."""
    finite = [np.abs(v[np.isfinite(v)]) for v in values]
    finite = np.concatenate(finite) if finite else np.zeros(0)
    half = float(np.percentile(finite, 99.5)) if finite.size else 0.0
    half = max(MIN_POSITION_HALF_WIDTH, math.ceil(half * 10.0 - 1e-9) / 10.0)
    return -half, half


def histogram_2d(
    x: np.ndarray, y: np.ndarray, *, bins: tuple[int, int], ranges: tuple[tuple[float, float], tuple[float, float]]
) -> np.ndarray:
    """(bins_x, bins_y) histogram as fractions of all N samples (non-finite and out-of-range ones count in N
    but in no bin, so the sum is the fraction inside the range)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    counts, _, _ = np.histogram2d(x[keep], y[keep], bins=bins, range=ranges)
    return counts / max(len(x), 1)


def distribution_histograms(
    sets: Mapping[str, np.ndarray],
    *,
    absolute: Mapping[str, bool] | None = None,
    range_sets: Sequence[str] | None = None,
) -> dict:
    """Viewpoint and position histograms of several pose sets on identical bins.

    Args:
      sets: name → (N, 16, 3) camera-frame poses.
      absolute: name → whether the set has absolute positions (default all True); others get no position
        histogram and use the optical axis as line of sight.
      range_sets: names whose positions set the shared position range (default all absolute sets).

    Returns:
      {"view_ranges", "view_bins", "position_ranges", "position_bins",
       "view": {name: (36, 18) fractions}, "position": {name: (30, 30) fractions or None}}.
    """
    absolute = {name: True for name in sets} | dict(absolute or {})
    views = {name: viewpoint_angles(p, root_relative=not absolute[name]) for name, p in sets.items()}
    positions = {name: root_position(p) for name, p in sets.items() if absolute[name]}
    chosen = positions if range_sets is None else {n: positions[n] for n in range_sets if n in positions}
    rng = position_range([v for xy in chosen.values() for v in xy])
    view_ranges = (AZIMUTH_RANGE, ELEVATION_RANGE)
    pos_ranges = (rng, rng)
    return {
        "view_ranges": view_ranges,
        "view_bins": VIEW_BINS,
        "position_ranges": pos_ranges,
        "position_bins": (POSITION_BINS, POSITION_BINS),
        "view": {n: histogram_2d(*v, bins=VIEW_BINS, ranges=view_ranges) for n, v in views.items()},
        "position": {
            n: (histogram_2d(*positions[n], bins=(POSITION_BINS,) * 2, ranges=pos_ranges) if n in positions else None)
            for n in sets
        },
    }


def _panel(ax, hist: np.ndarray | None, ranges, norm, *, xlabel: str, ylabel: str, invert_y: bool):
    if hist is None:
        ax.text(0.5, 0.5, "root-relative set:\nno position", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return None
    (x0, x1), (y0, y1) = ranges
    masked = np.ma.masked_equal(hist.T, 0.0)  # empty bins stay white
    image = ax.imshow(
        masked,
        origin="lower",
        extent=(x0, x1, y0, y1),
        aspect="auto",
        cmap="viridis",
        norm=norm,
        interpolation="nearest",
    )
    if invert_y:  # image y points down: show the top of the image at the top
        ax.invert_yaxis()
    outside = 1.0 - float(hist.sum())
    if outside > 0.0005:
        ax.text(
            0.03,
            0.97,
            f"{outside:.1%} outside",
            transform=ax.transAxes,
            fontsize=7,
            va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0},
        )
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    return image


def _log_norm(hists: Sequence[np.ndarray], sizes: Sequence[int]) -> LogNorm:
    """One colour scale for a row: from one sample of the largest set to the fullest bin of any set."""
    vmax = max([float(h.max()) for h in hists] + [1e-6])
    vmin = min(1.0 / max(max(sizes), 1), vmax / 10.0)
    return LogNorm(vmin=vmin, vmax=vmax)


def distribution_figure(
    sets: Mapping[str, np.ndarray],
    *,
    absolute: Mapping[str, bool] | None = None,
    range_sets: Sequence[str] | None = None,
    dpi: int = canvas.DPI,
):
    """Figure 7 of the paper: viewpoint (top row) and root position (bottom row) per set, one shared logarithmic
    colour scale per row, identical bins and ranges in every column.

    Args:
      sets: name → (N, 16, 3) camera-frame poses, at most `MAX_COLUMNS` sets (one column each).
      absolute: name → has absolute positions (see `distribution_histograms`).
      range_sets: names that set the position range (see `distribution_histograms`).
      dpi: figure resolution.

    Returns:
      matplotlib Figure of size `canvas.FIGURE_SIZES["distributions"]`.

    Raises:
      ValueError: no set or more than `MAX_COLUMNS`.
    """
    if not 1 <= len(sets) <= MAX_COLUMNS:
        raise ValueError(f"Expected 1 to {MAX_COLUMNS} pose `sets`; received {len(sets)}.")
    h = distribution_histograms(sets, absolute=absolute, range_sets=range_sets)
    fig = canvas.new_figure("distributions", dpi=dpi)
    axes = fig.subplots(2, len(sets), squeeze=False)
    sizes = [len(p) for p in sets.values()]
    view_norm = _log_norm(list(h["view"].values()), sizes)
    pos_norm = _log_norm([v for v in h["position"].values() if v is not None], sizes)
    top = bottom = None
    for col, name in enumerate(sets):
        top = _panel(
            axes[0, col],
            h["view"][name],
            h["view_ranges"],
            view_norm,
            xlabel="azimuth (°)",
            ylabel="elevation (°)" if col == 0 else "",
            invert_y=False,
        )
        axes[0, col].set_title(f"{name}\nN = {sizes[col]}", fontsize=9)
        image = _panel(
            axes[1, col],
            h["position"][name],
            h["position_ranges"],
            pos_norm,
            xlabel="root x / z",
            ylabel="root y / z (down)" if col == 0 else "",
            invert_y=True,
        )
        bottom = image if image is not None else bottom
    fig.subplots_adjust(left=0.05, right=0.90, top=0.86, bottom=0.08, hspace=0.35, wspace=0.25)
    fig.colorbar(top, cax=fig.add_axes((0.92, 0.52, 0.012, 0.34)), label="fraction per bin")
    if bottom is not None:
        fig.colorbar(bottom, cax=fig.add_axes((0.92, 0.08, 0.012, 0.34)), label="fraction per bin")
    fig.suptitle(
        "Viewpoint of the camera in the torso frame (azimuth 0° = person faces the camera, +90° = camera "
        "on the person's left; elevation > 0 = camera above) and root position",
        fontsize=10,
    )
    return fig
