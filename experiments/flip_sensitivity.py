"""What flip test-time augmentation does to a finished grid's models: every evaluation set scored without and with it.

    python experiments/flip_sensitivity.py --grid=runs/grid_standard --arms=control,poseaug_bl,random
    python experiments/flip_sensitivity.py --protocol=detections --grid=runs/det0_mixed_long --seeds=0 --arms=control

The protocol's sets as the runs build them (`detections`: ground-truth 2D as `h36m`, the Stacked-Hourglass detections
as `h36m_sh_pt_mpii`, whatever the models were trained on). Prints MPJPE mean ± std over the seeds, validation-selected
models (docs/results.md and docs/detector_keypoints.md, "Flip test-time augmentation").
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import arms as arms_lib  # noqa: E402
from configs import protocols  # noqa: E402
from experiments.stats import cell  # noqa: E402
from poseaug_tf.data.datasets import load_datasets  # noqa: E402
from poseaug_tf.evaluation import Evaluator  # noqa: E402
from poseaug_tf.training import model_files, run_dir  # noqa: E402

_PROTOCOL = flags.DEFINE_enum("protocol", "standard", ["standard", "detections"], "Whose evaluation sets.")
_GRID = flags.DEFINE_string("grid", "runs/grid_standard", "A finished grid.")
_SEEDS = flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds.")
_ARMS = flags.DEFINE_list("arms", ["control", "poseaug", "random"], "Arms (configs/arms.py).")


def main(argv):
    del argv
    datasets = load_datasets(protocols.get_config(_PROTOCOL.value))
    sets = {}
    for name, eval_set in datasets.eval_sets.items():
        for flip in (False, True):
            label = f"{name} {'with' if flip else 'without'} flip"
            sets[label] = dataclasses.replace(eval_set, name=label, use_flip_tta=flip)
    datasets = dataclasses.replace(datasets, eval_sets=sets)
    print("| arm | seeds | " + " | ".join(sets) + " |\n|---|---|" + "---|" * len(sets))
    for arm in _ARMS.value:
        weights = "baseline" if arm == arms_lib.BASELINE else arms_lib.ARMS[arm]["arms"]
        scores = {label: [] for label in sets}
        for seed in _SEEDS.value:
            workdir = pathlib.Path(_GRID.value) / f"seed{seed}" / arm
            if not run_dir.weights_path(workdir, weights).is_file():
                continue
            model, _ = model_files.load_estimator(workdir, weights=weights)
            results = Evaluator(model, datasets, batch_size=4096).all()
            for label in sets:
                scores[label].append(results[label].mpjpe)
        seeds = len(scores[next(iter(sets))])
        cells = [cell(v) for v in scores.values()]
        print(f"| {arm} | {seeds} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    app.run(main)
