"""Do the standard grid's models predict people the right size on the cross-dataset sets?

    python experiments/size_diagnosis.py                       # after experiments/grids.sh (runs/grid_standard)
    python experiments/size_diagnosis.py --grid=runs/explore_standard --seeds=0 --arms=baseline,control

For every finished (seed, arm) run, the validation-selected model predicts `cross_lab` and `3dhp` as the runs score
them (flip TTA), and each frame's size ratio is the root-mean-square distance of the scored joints from their
centroid, predicted over true (`metrics.size_ratio`); the table gives its median over the frames, mean ± std over seeds.
A ratio above 1 is a lifter that predicts people larger than they are.
"""

from __future__ import annotations

import logging
import pathlib
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import arms as arms_lib  # noqa: E402
from configs import protocols  # noqa: E402
from poseaug_tf.core import metrics  # noqa: E402
from poseaug_tf.data.datasets import load_datasets  # noqa: E402
from poseaug_tf.evaluation import make_predict_fn, predict_set  # noqa: E402
from poseaug_tf.training import model_files, run_dir  # noqa: E402

SETS = ("cross_lab", "3dhp")
_GRID = flags.DEFINE_string("grid", "runs/grid_standard", "A finished grid of the standard protocol.")
_SEEDS = flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds.")
_ARMS = flags.DEFINE_list("arms", ["baseline", "control", "poseaug", "random"], "Arms (configs/arms.py).")


def main(argv):
    del argv
    # One compiled predict function per (model, set), each traced once: TF's retracing heuristic counts the
    # functions made in this loop and would warn about retraces that are not happening.
    tf.get_logger().setLevel(logging.ERROR)
    datasets = load_datasets(protocols.get_config("standard"))
    grid = pathlib.Path(_GRID.value)
    lines = ["| arm | seeds | " + " | ".join(SETS) + " |", "|---|---|" + "---|" * len(SETS)]
    for arm in _ARMS.value:
        weights = "baseline" if arm == arms_lib.BASELINE else arms_lib.ARMS[arm]["arms"]
        per_set = {name: [] for name in SETS}
        for seed in _SEEDS.value:
            workdir = grid / f"seed{seed}" / arm
            if not run_dir.weights_path(workdir, weights).is_file():
                continue
            model, _ = model_files.load_estimator(workdir, weights=weights)
            for name in SETS:
                eval_set = datasets.eval_sets[name]
                pred = predict_set(make_predict_fn(model, use_flip_tta=eval_set.use_flip_tta), eval_set.pose_set)
                joints = list(eval_set.mpjpe_joints or range(pred.shape[1]))
                ratio = metrics.size_ratio(pred[:, joints], eval_set.pose_set.pose3d[:, joints])
                per_set[name].append(float(np.median(ratio)))
        seeds = len(per_set[SETS[0]])
        cells = [
            f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:.3f}" if v else "–" for v in per_set.values()
        ]
        lines.append(f"| {arm} | {seeds} | " + " | ".join(cells) + " |")
    print("Median predicted/true size (RMS joint distance from the centroid), mean ± std over seeds:\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
