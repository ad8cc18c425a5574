"""The table of docs/detector_keypoints.md: every model of the detections grids on both 2D sources of S9/S11.

    python experiments/detections_table.py            # after experiments/detections.sh (and the standard grid)
    python experiments/detections_table.py --exploration --seeds=0     # the seed-0 exploration grids

Scores the validation-selected models of seeds 1–3 on S9/S11 (stride 10) with ground-truth 2D and with the
Stacked-Hourglass detections, each complete and with 1 and 2 random joints per frame missing (NaN, filled as the
exported model fills them: `keypoint_noise.fill_missing`; the frames' missing joints are drawn once with a fixed
seed, the same for every model). The ground-truth-trained rows are the standard grid's models (runs/grid_standard:
the detections protocol trains exactly as `standard`). Prints mean ± std over the seeds; writes
runs/detections.md and runs/detections.json.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import arms as arms_lib  # noqa: E402
from configs import protocols  # noqa: E402
from poseaug_tf.data.datasets import load_datasets  # noqa: E402
from poseaug_tf.evaluation import Evaluator  # noqa: E402
from poseaug_tf.training import model_files, run_dir  # noqa: E402

DETECTOR = "sh_pt_mpii"
REFERENCE = "GT-trained control"  # the row whose GT-2D error the ratio divides by
# (row label, grid, arm, training 2D, noise) in table order.
ROWS = (
    ("GT-trained baseline", "grid_standard", "baseline", "gt", "none"),
    (REFERENCE, "grid_standard", "control", "gt", "none"),
    ("GT-trained PoseAug (previous default, `poseaug_turn`)", "grid_standard", "poseaug_turn", "gt", "none"),
    ("GT + generic noise, control", "det_gt_generic", "control", "gt", "generic"),
    ("GT + generic noise without joint dropout, control", "det_gt_generic_complete", "control", "gt", "generic"),
    ("GT + fitted noise, control", "det_gt_fitted", "control", "gt", "fitted"),
    ("SH-trained baseline", "det_sh", "baseline", DETECTOR, "none"),
    ("SH-trained control", "det_sh", "control", DETECTOR, "none"),
    ("SH-trained `poseaug_turn`, fitted noise on the augmented 2D", "det_sh", "poseaug_turn", DETECTOR, "fitted"),
    ("the same, D2d judging noisy 2D (noise.d2d=noisy)", "det_sh", "poseaug_noisy_d2d", DETECTOR, "fitted"),
    ("GT + SH mixed, fitted noise, control", "det_mixed", "control", f"gt+{DETECTOR}", "fitted"),
    ("GT + SH mixed, 90 pretraining epochs, baseline", "det_mixed_long", "baseline", f"gt+{DETECTOR}", "none"),
    ("GT + SH mixed, 90 pretraining epochs, control", "det_mixed_long", "control", f"gt+{DETECTOR}", "none"),
)
# The seed-0 exploration of docs/detector_keypoints.md ("What made the best model").
EXPLORATION_ROWS = (
    (REFERENCE, "explore_adapt_cross_lab", "control", "gt", "none"),
    ("SH, 30 pretraining epochs, control", "det0_sh", "control", DETECTOR, "none"),
    ("SH, 30 epochs with lr × 0.86 per epoch, control", "det0_sh_anneal", "control", DETECTOR, "none"),
    ("SH, 90 epochs, control", "det0_sh_long", "control", DETECTOR, "none"),
    ("GT + SH, 30 epochs, control", "det0_mixed", "control", f"gt+{DETECTOR}", "none"),
    ("GT + SH, 90 epochs, control", "det0_mixed_long", "control", f"gt+{DETECTOR}", "none"),
    ("GT + SH, 180 epochs, control", "det0_mixed_180", "control", f"gt+{DETECTOR}", "none"),
    ("GT + SH, 30 epochs, 1024 channels, control", "det0_mixed_w1024", "control", f"gt+{DETECTOR}", "none"),
    ("GT + SH, 90 epochs, 1024 channels, control", "det0_mixed_w1024_long", "control", f"gt+{DETECTOR}", "none"),
    ("GT + SH, every 5th frame, 22 epochs (90's steps), control", "det0_mixed_s5", "control", f"gt+{DETECTOR}", "none"),
    ("GT + generic noise on half the poses, dropout 0.05, control", "det0_gt_generic_f50", "control", "gt", "generic"),
)
COLUMNS = ("gt", "gt_miss1", "gt_miss2", "sh", "sh_miss1", "sh_miss2")
_ROOT = flags.DEFINE_string("root", "runs", "Folder of the grids.")
_SEEDS = flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds.")
_EXPLORATION = flags.DEFINE_bool(
    "exploration", False, "Score the seed-0 exploration grids instead (pass --seeds=0); writes detections_exploration.*"
)


def _datasets(keypoints: str):
    """S9/S11 with both 2D sources, complete and with 1 and 2 joints missing; names mapped to COLUMNS."""
    config = protocols.get_config("detections")
    config.data.keypoints = keypoints
    other = "gt" if keypoints == DETECTOR else DETECTOR
    config.data.eval_keypoints = other
    config.eval.missing_joints = "1,2"
    datasets = load_datasets(config)
    first = keypoints.split("+")[0]
    names = {}
    for name in datasets.eval_sets:
        source = first if not name.startswith(f"h36m_{other}") else other
        suffix = name.split("_miss")[1] if "_miss" in name else ""
        names[name] = ("gt" if source == "gt" else "sh") + (f"_miss{suffix}" if suffix else "")
    return datasets, names


def _score(root: pathlib.Path, grid: str, arm: str, seed: int, datasets, names) -> dict | None:
    workdir = root / grid / f"seed{seed}" / arm
    weights = "baseline" if arm == "baseline" else arms_lib.ARMS[arm]["arms"]
    if not run_dir.weights_path(workdir, weights).is_file():
        return None
    model, _ = model_files.load_estimator(workdir, weights=weights)
    results = Evaluator(model, datasets, batch_size=4096).all()
    return {names[name]: results[name].mpjpe for name in names}


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def main(argv):
    del argv
    root = pathlib.Path(_ROOT.value)
    seeds = [int(s) for s in _SEEDS.value]
    cache = {}
    table = []
    rows, name = (EXPLORATION_ROWS, "detections_exploration") if _EXPLORATION.value else (ROWS, "detections")
    for label, grid, arm, keypoints, noise in rows:
        if keypoints not in cache:
            cache[keypoints] = _datasets(keypoints)
        datasets, names = cache[keypoints]
        scores = [s for s in (_score(root, grid, arm, seed, datasets, names) for seed in seeds) if s is not None]
        table.append(
            {
                "row": label,
                "grid": grid,
                "arm": arm,
                "trained_on": f"{keypoints}, noise {noise}",
                "seeds": len(scores),
                "scores": scores,
            }
        )
    control_gt = [s["gt"] for s in next(row for row in table if row["row"] == REFERENCE)["scores"]]
    reference = float(np.mean(control_gt)) if control_gt else float("nan")
    lines = [
        "MPJPE (mm) on S9/S11, mean ± std over seeds, validation-selected models; miss<k>: k random joints missing "
        f"per frame; ratio: SH-detection error over the GT-trained control's error on GT 2D ({reference:.1f} mm).",
        "",
        "| model | 2D trained on | seeds | GT 2D | GT, 1 missing | GT, 2 missing | SH detections | SH, 1 missing | "
        "SH, 2 missing | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        cells = [_cell([s[c] for s in row["scores"]]) for c in COLUMNS]
        sh = [s["sh"] for s in row["scores"]]
        ratio = f"{np.mean(sh) / reference:.2f}×" if sh else "–"
        lines.append(f"| {row['row']} | {row['trained_on']} | {row['seeds']} | " + " | ".join(cells) + f" | {ratio} |")
    text = "\n".join(lines)
    print(text)
    (root / f"{name}.md").write_text(text + "\n")
    (root / f"{name}.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    app.run(main)
