"""Training curves of every stage on one epoch axis: losses, feedback ratios, augmentation statistics, MPJPE.

The x axis counts pretraining epochs 1..P, then the epochs of each PoseAug-stage arm (control, PoseAug, random)
as P + e (epoch 0, the evaluation of the loaded baseline, sits at P). A vertical line marks the start of the
arms and a shaded band their warm-up epochs (no error feedback, no estimator update). Line styles tell the
stages apart: pretraining dashed, PoseAug solid, control dotted, random dash-dotted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter

from poseaug_tf.reports.plots import canvas

# Panel title → train metrics drawn in it (whatever a history holds; unknown metrics go to "other").
PANELS = {
    "estimator loss (log)": ("loss", "p_loss_real", "p_loss_fake"),
    "generator losses": ("g_loss", "g_adv_2d", "g_adv_3d", "g_feedback"),
    "discriminators": ("d3d_loss", "d2d_loss", "d3d_real_score", "d3d_fake_score", "d2d_real_score", "d2d_fake_score"),
    "feedback error ratios": ("ratio_ba", "ratio_rt"),
    "augmentation magnitude": ("aug_ba_diff", "aug_blr_abs", "aug_rot_angle"),
    "augmented poses kept / depth (m)": ("aug_valid_fraction", "aug_depth"),
}
STAGE_STYLES = {"pretrain": "--", "poseaug": "-", "control": ":", "random": "-."}
OTHER_PANEL = "other (gradient norms, buffer size / 1000, ...)"
LOG_PANELS = ("estimator loss (log)",)
EVAL_PANELS = ("mpjpe", "pa_mpjpe")
GRID = (3, 3)


def epoch_axis(records: Sequence[Mapping]) -> tuple[np.ndarray, int]:
    """x position of every record and the number of pretraining epochs P (records of the history order).

    Returns:
      (x (R,) float, P).
    """
    pretrain = [r["epoch"] for r in records if r["stage"] == "pretrain"]
    offset = max(pretrain, default=0)
    x = [r["epoch"] + (offset if r["stage"] != "pretrain" else 0) for r in records]
    return np.asarray(x, np.float64), offset


def _series(records: Sequence[Mapping], x: np.ndarray, stage: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [
        (xi, r["train"][key])
        for xi, r in zip(x, records)
        if r["stage"] == stage and isinstance(r["train"].get(key), (int, float))
    ]
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(pts, np.float64)
    return arr[:, 0], arr[:, 1]


def _other_keys(records: Sequence[Mapping]) -> list[str]:
    known = {k for keys in PANELS.values() for k in keys}
    keys = {k for r in records for k, v in r.get("train", {}).items() if isinstance(v, (int, float))}
    return sorted(keys - known)


def _decorate(ax, offset: int, warmup: int, has_poseaug: bool, xlim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)  # every panel on the same epoch axis, also those recorded in one stage only
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if has_poseaug:
        ax.axvline(offset, color="black", linewidth=1.0, linestyle=":")
        if warmup > 0:
            ax.axvspan(offset, offset + warmup, color="#cccccc", alpha=0.4, linewidth=0)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=7)


def _train_panel(ax, records, x, keys: Sequence[str], *, scale: Mapping[str, float] | None = None) -> bool:
    drawn = False
    for i, key in enumerate(keys):
        factor = (scale or {}).get(key, 1.0)
        for stage, style in STAGE_STYLES.items():
            xs, ys = _series(records, x, stage, key)
            if len(xs):
                label = key if stage == "poseaug" or (stage == "pretrain" and key != "loss") else f"{key} ({stage})"
                ax.plot(xs, ys * factor, style, marker=".", color=f"C{i}", label=label)
                drawn = True
    if drawn:
        ax.legend(fontsize=6, loc="best")
    return drawn


def _titled_train_panel(ax, records, x, title: str, keys: Sequence[str]) -> None:
    drawn = _train_panel(ax, records, x, keys, scale={"buffer_size": 1e-3})
    if title in LOG_PANELS and drawn:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
        # Spans of less than a decade have no major tick: label the minor ticks then, and only then.
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.3g") if high < 10.0 * low else NullFormatter())
    ax.set_title(title if drawn else f"{title}: not recorded", fontsize=9)


def _mark_selected(ax, records, x, metric: str, selected: Mapping[str, tuple[str, int]]) -> None:
    """Stars on the evaluation curves at the epochs of the reported models (baseline.json, poseaug.json)."""
    sets = sorted({s for r in records for s in r.get("eval", {})})
    for model, (stage, epoch) in selected.items():
        found = [(xi, r) for xi, r in zip(x, records) if r["stage"] == stage and r["epoch"] == epoch]
        if not found:
            continue
        xi, record = found[-1]
        values = [record["eval"][n][metric] for n in sets if metric in record["eval"].get(n, {})]
        marker = {"poseaug": "*", "control": "D", "random": "^"}.get(model, "s")
        ax.plot(
            [xi] * len(values),
            values,
            linestyle="none",
            marker=marker,
            markersize=9,
            color="black",
            markerfacecolor="none",
            label=f"selected {model}",
        )
    if selected:
        ax.legend(fontsize=6, loc="best")


def _eval_panel(ax, records, x, metric: str) -> bool:
    sets = sorted({s for r in records for s in r.get("eval", {})})
    stages = [s for s in STAGE_STYLES if any(r["stage"] == s for r in records)]
    for i, name in enumerate(sets):
        for stage in stages:
            pts = [
                (xi, r["eval"][name][metric])
                for xi, r in zip(x, records)
                if r["stage"] == stage and name in r.get("eval", {}) and metric in r["eval"][name]
            ]
            if pts:
                arr = np.asarray(pts, np.float64)
                label = name if stage == stages[-1] else None
                ax.plot(arr[:, 0], arr[:, 1], STAGE_STYLES[stage], marker=".", color=f"C{i}", label=label)
    if sets:
        ax.legend(fontsize=6, loc="best")
    return bool(sets)


def training_curves_figure(
    records: Sequence[Mapping],
    *,
    warmup: int = 0,
    selected: Mapping[str, tuple[str, int]] | None = None,
    dpi: int = canvas.DPI,
):
    """All per-epoch training means and evaluation scores of a history.

    Args:
      records: `history.json` records ({"stage", "epoch", "train", "eval"}), in training order.
      warmup: PoseAug warm-up epochs (shaded).
      selected: model ("baseline", "control", "poseaug", "random") → (stage, epoch) of the reported models,
        marked on the MPJPE and PA-MPJPE curves (square: baseline, diamond: control, star: PoseAug).
      dpi: figure resolution.

    Returns:
      matplotlib Figure of size `canvas.FIGURE_SIZES["training_curves"]` (line styles: `STAGE_STYLES`).

    Raises:
      ValueError: no records.
    """
    if not records:
        raise ValueError("Expected at least one history record; received none.")
    x, offset = epoch_axis(records)
    has_poseaug = any(r["stage"] != "pretrain" for r in records)
    xlim = (float(x.min()) - 0.3, float(x.max()) + 0.3)
    fig = canvas.new_figure("training_curves", dpi=dpi)
    axes = fig.subplots(*GRID).ravel()
    panels = [(title, keys) for title, keys in PANELS.items()] + [(OTHER_PANEL, _other_keys(records))]
    for ax, (title, keys) in zip(axes, panels):
        _titled_train_panel(ax, records, x, title, keys)
        _decorate(ax, offset, warmup, has_poseaug, xlim)
    for ax, metric in zip(axes[len(panels) :], EVAL_PANELS):
        _eval_panel(ax, records, x, metric)
        _mark_selected(ax, records, x, metric, selected or {})
        ax.set_title(f"{metric.upper().replace('_', '-')} (mm) per evaluation set", fontsize=9)
        _decorate(ax, offset, warmup, has_poseaug, xlim)
    for ax in axes[-GRID[1] :]:
        ax.set_xlabel("epoch (pretraining, then P + PoseAug epoch)", fontsize=8)
    fig.suptitle(
        f"Training curves: pretraining epochs 1..{offset} (dashed), then PoseAug (solid), control "
        f"(dotted), random (dash-dot); grey band = {warmup} warm-up epoch(s)",
        fontsize=11,
    )
    fig.subplots_adjust(left=0.05, right=0.99, top=0.92, bottom=0.07, hspace=0.35, wspace=0.18)
    return fig
