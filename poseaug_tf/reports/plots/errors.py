"""Per-joint error bars and the per-action table of the selected models: baseline, control, PoseAug, random.

Differences Δ are PoseAug − control when the run has a control arm (the equal-schedule comparison), else
PoseAug − baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots import canvas

MODEL_COLORS = {
    "baseline": canvas.BASELINE_COLOR,
    "control": canvas.CONTROL_COLOR,
    "poseaug": canvas.POSEAUG_COLOR,
    "random": canvas.RANDOM_COLOR,
}
MAX_SETS = 3
# The models in the order they are drawn (run_dir.MODELS: the baseline, then the arms).
MODELS = tuple(MODEL_COLORS)


def _sets(scores: Mapping[str, Mapping[str, Mapping]], key: str) -> list[str]:
    """Evaluation sets (sorted) holding `key` for at least one model; "validation" last."""
    names = {s for m in MODELS for s, r in scores.get(m, {}).items() if r and key in r}
    return sorted(names - {"validation"}) + (["validation"] if "validation" in names else [])


ALL_FRAMES = "all (frames)"


def reference_model(scores: Mapping[str, Mapping]) -> str:
    """The model PoseAug is compared with: the control when the run has one, else the baseline."""
    return "control" if scores.get("control") else "baseline"


def per_action_table(scores: Mapping[str, Mapping[str, Mapping]]) -> tuple[list[str], list[str], np.ndarray]:
    """Per-action MPJPE of the reference model and PoseAug on every set (≤ `MAX_SETS`), one row per action.

    Args:
      scores: model (`MODELS`) → set → eval record with "per_action_mpjpe" and "mpjpe" (mm).

    Returns:
      (sets, actions, values): actions sorted then `ALL_FRAMES` (the frame-weighted "mpjpe"); values
      (len(actions), len(sets), 3) float64 mm: `reference_model`, PoseAug, Δ = PoseAug − reference; NaN when
      missing.
    """
    sets = _sets(scores, "per_action_mpjpe")[:MAX_SETS]
    pair = (reference_model(scores), "poseaug")
    recs = {(m, n): scores.get(m, {}).get(n) or {} for m in pair for n in sets}
    actions = sorted({a for r in recs.values() for a in r.get("per_action_mpjpe", {})}) + [ALL_FRAMES]
    values = np.full((len(actions), len(sets), 3), np.nan)
    for i, action in enumerate(actions):
        for j, name in enumerate(sets):
            for k, model in enumerate(pair):
                rec = recs[(model, name)]
                value = rec.get("mpjpe") if action == ALL_FRAMES else rec.get("per_action_mpjpe", {}).get(action)
                values[i, j, k] = np.nan if value is None else float(value)
    values[..., 2] = values[..., 1] - values[..., 0]
    return sets, actions, values


def _fmt(value: float, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _cells(values: np.ndarray) -> list[list[str]]:
    return [
        [_fmt(v, signed=k == 2) for j in range(values.shape[1]) for k, v in enumerate(values[i, j])]
        for i in range(values.shape[0])
    ]


def per_action_markdown(scores: Mapping[str, Mapping[str, Mapping]]) -> str:
    """The per-action table as Markdown: per set, reference / PoseAug / Δ MPJPE in mm (Δ < 0: PoseAug better)."""
    sets, actions, values = per_action_table(scores)
    header = ["action"] + [f"{n} {c}" for n in sets for c in (reference_model(scores), "PoseAug", "Δ")]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for action, cells in zip(actions, _cells(values)):
        lines.append("| " + " | ".join([action] + cells) + " |")
    return "MPJPE (mm) of the selected models.\n\n" + "\n".join(lines) + "\n"


def per_joint_figure(
    scores: Mapping[str, Mapping[str, Mapping]], *, labels: Mapping[str, str] | None = None, dpi: int = canvas.DPI
):
    """Grouped bars of each joint's MPJPE, one bar per model present, one row per evaluation set (≤ 3).

    Args:
      scores: model → set → eval record with "per_joint_mpjpe" (16 values, mm).
      labels: model → legend label (e.g. with the selected epoch).
      dpi: figure resolution.

    Returns:
      matplotlib Figure of size `canvas.FIGURE_SIZES["per_joint_errors"]`.

    Raises:
      ValueError: no set holds per-joint errors.
    """
    names = _sets(scores, "per_joint_mpjpe")[:MAX_SETS]
    if not names:
        raise ValueError("Expected `scores` with per_joint_mpjpe for at least one set; received none.")
    fig = canvas.new_figure("per_joint_errors", dpi=dpi)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    index = np.arange(skeleton.NUM_JOINTS)
    present = [m for m in MODELS if scores.get(m)]
    width = 0.8 / max(len(present), 1)
    for ax, name in zip(axes, names):
        for i, model in enumerate(present):
            rec = scores.get(model, {}).get(name)
            if not rec or "per_joint_mpjpe" not in rec:
                continue
            label = (labels or {}).get(model, model)
            ax.bar(
                index + (i - 0.5 * (len(present) - 1)) * width,
                rec["per_joint_mpjpe"],
                width,
                color=MODEL_COLORS[model],
                label=f"{label}: {rec.get('mpjpe', float('nan')):.1f} mm",
            )
        ax.set_ylabel(f"{name}\nMPJPE (mm)", fontsize=8)
        ax.set_xticks(index)
        ax.set_xticklabels(skeleton.JOINT_NAMES if ax is axes[-1] else [], fontsize=8)
        ax.legend(fontsize=7, loc="upper left", ncol=2)
        ax.set_ylim(0.0, ax.get_ylim()[1] * 1.25)  # headroom for the legend
        ax.grid(True, axis="y", alpha=0.3)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Per-joint MPJPE of the selected models (root-relative; the root's error is 0)", fontsize=11)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.91, bottom=0.08, hspace=0.15)
    return fig


def per_action_figure(scores: Mapping[str, Mapping[str, Mapping]], *, dpi: int = canvas.DPI):
    """The per-action table (`per_action_table`) drawn as a figure; Δ < 0 (PoseAug better) in green.

    Returns:
      matplotlib Figure of size `canvas.FIGURE_SIZES["per_action_errors"]`.

    Raises:
      ValueError: no set holds per-action errors.
    """
    sets, actions, values = per_action_table(scores)
    if not sets:
        raise ValueError("Expected `scores` with per_action_mpjpe for at least one set; received none.")
    fig = canvas.new_figure("per_action_errors", dpi=dpi)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.86))
    ax.axis("off")
    header = ["action"] + [c for _ in sets for c in (reference_model(scores), "PoseAug", "Δ")]
    table = ax.table(
        cellText=[[a] + c for a, c in zip(actions, _cells(values))],
        colLabels=header,
        loc="upper center",
        cellLoc="center",
        bbox=(0.0, 0.0, 1.0, 1.0),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9 if len(actions) <= 20 else 7)
    for i in range(len(actions)):
        for j in range(len(sets)):
            delta = values[i, j, 2]
            if math.isfinite(delta) and delta != 0.0:
                table[i + 1, 3 * j + 3].set_facecolor("#d8f0d8" if delta < 0 else "#f6d8d8")
        if actions[i] == ALL_FRAMES:
            for c in range(len(header)):
                table[i + 1, c].set_text_props(fontweight="bold")
    for j, name in enumerate(sets):  # set names above their three columns
        ax.text(
            (1.0 + 3.0 * j + 1.5) / len(header),
            1.01,
            name,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
        )
    fig.suptitle(f"Per-action MPJPE (mm) of the selected models (Δ = PoseAug − {reference_model(scores)})", fontsize=11)
    return fig
