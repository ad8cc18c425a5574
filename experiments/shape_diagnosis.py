"""Do the standard grid's models predict people of the right size and shape, and do they read either from the 2D?

    python experiments/shape_diagnosis.py                      # after experiments/grids.sh (runs/grid_standard)
    python experiments/shape_diagnosis.py --grid=runs/explore_shape_f50 --arms=control,random_scale_only,random

For every finished (seed, arm) run the validation-selected model prints three tables (mean ± std over seeds):

* **size:** the median over frames of each frame's predicted over true size (`metrics.size_ratio`: RMS distance of
  the scored joints from their centroid) on `cross_lab` and `3dhp`, scored as the runs score them (flip TTA).
  Above 1: the lifter predicts people larger than they are. Also the median predicted distance between the hip
  joints on `cross_lab`.
* **where the `cross_lab` error is:** MPJPE of each scored joint, root-aligned.
* **reading:** S9/S11 poses changed in 3D and projected through their own cameras: hips at half their width
  (`pipeline.scale_bone_groups` on the hip group) and the whole body 10 % smaller about its feet
  (`pipeline.scale_about_feet`, the feet stay on the floor). A lifter that reads hip width from the 2D predicts
  half the hip width; one that reads size keeps its size ratio when the person shrinks (one that ignores it shows
  its ratio ÷ 0.9).
"""

from __future__ import annotations

import dataclasses
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
from experiments.stats import cell  # noqa: E402
from poseaug_tf.core import camera, metrics, skeleton  # noqa: E402
from poseaug_tf.data import pipeline  # noqa: E402
from poseaug_tf.data.datasets import load_datasets  # noqa: E402
from poseaug_tf.evaluation import make_predict_fn, predict_set  # noqa: E402
from poseaug_tf.training import model_files, run_dir  # noqa: E402

SIZE_SETS = ("cross_lab", "3dhp")
HIP_GROUP = 0  # skeleton.BL_RATIO_MAP group of Hip→RHip and Hip→LHip
HIP_FACTOR = 0.5
SIZE_FACTOR = 0.9


def _root_aligned(pose: np.ndarray) -> np.ndarray:
    return pose - pose[:, :1]


def _hip_width_mm(pose: np.ndarray) -> float:
    """Median distance between the two hip joints of (N, 16, 3) metres, in mm."""
    right, left = skeleton.JOINT_NAMES.index("RHip"), skeleton.JOINT_NAMES.index("LHip")
    return 1000.0 * float(np.median(np.linalg.norm(pose[:, right] - pose[:, left], axis=-1)))


def reading_sets(pose_set) -> dict:
    """S9/S11 as recorded, with the hips at HIP_FACTOR of their width and the body at SIZE_FACTOR: PoseSets."""
    n = len(pose_set)
    changed = {
        "recorded": pose_set.pose3d,
        "hips": pipeline.scale_bone_groups(pose_set.pose3d, np.full((n, 1), HIP_FACTOR, np.float32), (HIP_GROUP,)),
        "smaller": pipeline.scale_about_feet(pose_set.pose3d, np.full((n, 1, 1), SIZE_FACTOR, np.float32)),
    }
    return {
        name: dataclasses.replace(
            pose_set, pose3d=np.asarray(pose_3d, np.float32), pose2d=camera.project(pose_3d, pose_set.camera).numpy()
        )
        for name, pose_3d in changed.items()
    }


def main(argv):
    del argv
    # One compiled predict function per (model, set), each traced once: TF's retracing heuristic counts the
    # functions made in this loop and would warn about retraces that are not happening.
    tf.get_logger().setLevel(logging.ERROR)
    datasets = load_datasets(protocols.get_config("standard"))
    cross_lab = datasets.eval_sets["cross_lab"]
    scored = list(cross_lab.mpjpe_joints)
    reading = reading_sets(datasets.eval_sets["h36m"].pose_set)
    grid = pathlib.Path(flags.FLAGS.grid)
    arms = flags.FLAGS.arms
    size = {arm: {name: [] for name in (*SIZE_SETS, "cross_lab hips")} for arm in arms}
    joints = {arm: [] for arm in arms}
    read = {arm: {key: [] for key in ("hips_recorded", "hips_halved", "size_recorded", "size_smaller")} for arm in arms}
    for arm in arms:
        weights = "baseline" if arm == arms_lib.BASELINE else arms_lib.ARMS[arm]["arms"]
        for seed in flags.FLAGS.seeds:
            workdir = grid / f"seed{seed}" / arm
            if not run_dir.weights_path(workdir, weights).is_file():
                continue
            model, _ = model_files.load_estimator(workdir, weights=weights)
            for name in SIZE_SETS:
                eval_set = datasets.eval_sets[name]
                pred = predict_set(make_predict_fn(model, use_flip_tta=eval_set.use_flip_tta), eval_set.pose_set)
                some = list(eval_set.mpjpe_joints or range(pred.shape[1]))
                ratio = metrics.size_ratio(pred[:, some], eval_set.pose_set.pose3d[:, some])
                size[arm][name].append(float(np.median(ratio)))
                if name == "cross_lab":
                    size[arm]["cross_lab hips"].append(_hip_width_mm(pred))
                    pred, true = _root_aligned(pred), _root_aligned(eval_set.pose_set.pose3d)
                    joints[arm].append(
                        [1000.0 * float(np.mean(metrics.mpjpe(pred[:, [j]], true[:, [j]]))) for j in scored]
                    )
            predict = make_predict_fn(model)
            preds = {name: predict_set(predict, pose_set) for name, pose_set in reading.items()}
            read[arm]["hips_recorded"].append(_hip_width_mm(preds["recorded"]))
            read[arm]["hips_halved"].append(_hip_width_mm(preds["hips"]))
            for name, key in (("recorded", "size_recorded"), ("smaller", "size_smaller")):
                read[arm][key].append(float(np.median(metrics.size_ratio(preds[name], reading[name].pose3d))))

    print("Median predicted/true size (RMS joint distance from the centroid), mean ± std over seeds:\n")
    true_hips = _hip_width_mm(cross_lab.pose_set.pose3d)
    print(f"| arm | seeds | {' | '.join(SIZE_SETS)} | cross_lab hip width (mm; true {true_hips:.0f}) |")
    print("|---|---|" + "---|" * (len(SIZE_SETS) + 1))
    for arm in arms:
        cells = [cell(v, 0 if k.endswith("hips") else 3) for k, v in size[arm].items()]
        print(f"| {arm} | {len(size[arm][SIZE_SETS[0]])} | " + " | ".join(cells) + " |")

    print("\ncross_lab MPJPE (mm) of each scored joint, root-aligned, mean over seeds:\n")
    print("| joint | " + " | ".join(arms) + " |\n|---|" + "---|" * len(arms))
    for k, j in enumerate(scored):
        cells = [f"{np.mean([run[k] for run in joints[arm]]):.1f}" if joints[arm] else "–" for arm in arms]
        print(f"| {skeleton.JOINT_NAMES[j]} | " + " | ".join(cells) + " |")

    recorded_hips, halved_hips = (_hip_width_mm(reading[name].pose3d) for name in ("recorded", "hips"))
    print(
        f"\nReading shape from the 2D (S9/S11): predicted hip width (mm; true {recorded_hips:.0f} recorded, "
        f"{halved_hips:.0f} halved) and predicted/true size, recorded and {SIZE_FACTOR:g}× smaller:\n"
    )
    print("| arm | seeds | hips recorded | hips halved | size recorded | size smaller |\n|---|---|---|---|---|---|")
    for arm in arms:
        print(
            f"| {arm} | {len(read[arm]['hips_recorded'])} | "
            + " | ".join(cell(v, 0 if k.startswith("hips") else 3) for k, v in read[arm].items())
            + " |"
        )


if __name__ == "__main__":
    # Defined here, not at import, so that the tests can import this module beside experiments/run.py.
    flags.DEFINE_string("grid", "runs/grid_standard", "A finished grid of the standard or cross_lab protocol.")
    flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds.")
    flags.DEFINE_list("arms", ["baseline", "control", "poseaug", "random"], "Arms (configs/arms.py).")
    app.run(main)
