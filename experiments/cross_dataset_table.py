"""The README's lead table: every arm on the real cross-dataset sets, the viewpoint shift and in-domain.

    python experiments/cross_dataset_table.py            # after experiments/grids.sh

Reads finished grids of experiments/run.py (validation-selected models, seeds 1–3):

  runs/grid_standard            every non-adapted arm: `3dhp` (all valid frames), `cross_lab`, `h36m`
  runs/adapt_3dhp_TS5, _TS6     the adapted arms of the two 3DHP folds (adapted on one sequence's 2D, scored on
                                the other); their `3dhp` column is the frame-weighted mean of both folds per seed,
                                the same frames as the non-adapted arms' all-frames score
  runs/adapt_cross_lab          the adapted arms on `cross_lab` (adapted on the unlabeled half)
  runs/grid_cross_view          `h36m_cross_view` of the cross-view protocol (its own training cameras)

Prints mean ± std over the seeds and the change of the mean against the control; writes runs/cross_dataset.md.
"""

from __future__ import annotations

import json
import pathlib
import sys

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import arms as arms_lib  # noqa: E402
from experiments.stats import mean_std  # noqa: E402

COLUMNS = (("3dhp", "3DHP TS5+TS6"), ("cross_lab", "cross_lab"), ("cross_view", "cross-view"), ("h36m", "H36M S9/S11"))
FOLDS = ("TS5", "TS6")
# Row labels of the arms that are (or were) a default; every other row is the arm's name.
LABELS = {
    "poseaug": "**poseaug (default)**",
    "poseaug_bl": "poseaug_bl (previous default: learned bone lengths)",
    "poseaug_turn": "poseaug_turn (the default before: no crossover or size)",
    "adapt": "**adapt (default with target 2D)**",
    "adapt_bl": "adapt_bl (previous default with target 2D)",
    "adapt_turn": "adapt_turn (the one before)",
}


def _result(workdir: pathlib.Path, arm: str, name: str) -> dict | None:
    """The validation-selected scores of one run on one set, or None when the run is not finished."""
    path = workdir / "results.json"
    if not path.is_file():
        return None
    key = "baseline" if arm == arms_lib.BASELINE else arms_lib.ARMS[arm]["arms"]
    return json.loads(path.read_text()).get(key, {}).get(name)


def cells(runs: pathlib.Path, seeds: list[int]) -> dict[str, dict[str, list[float]]]:
    """arm → column → per-seed MPJPE (mm) from every grid that has it."""
    table: dict[str, dict[str, list[float]]] = {}

    def add(arm, column, value):
        if value is not None:
            table.setdefault(arm, {}).setdefault(column, []).append(value)

    for seed in seeds:
        standard = runs / "grid_standard" / f"seed{seed}"
        for arm_dir in sorted(standard.glob("*")) if standard.is_dir() else []:
            for name in ("3dhp", "cross_lab", "h36m"):
                r = _result(arm_dir, arm_dir.name, name)
                add(arm_dir.name, name, None if r is None else r["mpjpe"])
        view = runs / "grid_cross_view" / f"seed{seed}"
        for arm_dir in sorted(view.glob("*")) if view.is_dir() else []:
            r = _result(arm_dir, arm_dir.name, "h36m_cross_view")
            add(arm_dir.name, "cross_view", None if r is None else r["mpjpe"])
        lab = runs / "adapt_cross_lab" / f"seed{seed}"
        for arm_dir in sorted(lab.glob("*")) if lab.is_dir() else []:
            r = _result(arm_dir, arm_dir.name, "cross_lab")
            add(arm_dir.name, "cross_lab", None if r is None else r["mpjpe"])
        folds = {f: runs / f"adapt_3dhp_{f}" / f"seed{seed}" for f in FOLDS}
        names = {p.name for d in folds.values() if d.is_dir() for p in d.glob("*")}
        for arm in sorted(names):
            parts = [_result(folds[f] / arm, arm, "3dhp") for f in FOLDS]
            if all(parts):
                frames = sum(p["frames"] for p in parts)
                add(arm, "3dhp", sum(p["mpjpe"] * p["frames"] for p in parts) / frames)
    return table


def markdown(table: dict[str, dict[str, list[float]]], seeds: int) -> str:
    """One row per arm: MPJPE mean ± std and Δ % against the control for each column (Δ mm for H36M)."""
    header = " | ".join(label for _, label in COLUMNS)
    lines = [f"| arm (MPJPE mm, {seeds} seeds) | {header} |", "|---|" + "---|" * len(COLUMNS)]
    control = {c: mean_std(v)[0] for c, v in table.get("control", {}).items() if len(v) == seeds}
    order = [arms_lib.BASELINE, *arms_lib.ARMS]
    for arm, per_column in sorted(table.items(), key=lambda item: order.index(item[0]) if item[0] in order else 999):
        row = []
        for column, _ in COLUMNS:
            values = per_column.get(column, [])
            if len(values) != seeds:
                row.append("–")
                continue
            mean, std = mean_std(values)
            text = f"{mean:.1f} ± {std:.1f}"
            if arm != "control" and column in control:
                delta = mean - control[column]
                text += f" ({delta:+.1f} mm)" if column == "h36m" else f" ({100 * delta / control[column]:+.1f} %)"
            row.append(text)
        lines.append(f"| {LABELS.get(arm, arm)} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    runs = pathlib.Path(flags.FLAGS.runs)
    runs = runs if runs.is_absolute() else REPO / runs
    seeds = [int(s) for s in flags.FLAGS.seeds]
    text = markdown(cells(runs, seeds), len(seeds))
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "cross_dataset.md").write_text(text)
    print(text)


if __name__ == "__main__":
    # Defined here, not at import, so that the tests can import this module beside experiments/run.py.
    flags.DEFINE_string("runs", "runs", "Folder holding the grids.")
    flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds of the tables.")
    app.run(main)
