"""The experiment runner (experiments/run.py): the plan of a grid, the mean ± std table, and a real tiny grid."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pytest

from configs import arms, protocols
from experiments import run

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_plan_shares_one_baseline_per_seed(tmp_path):
    runs = run.plan("cross_view", [0, 3], ["baseline", "control", "poseaug_paper"], tmp_path, ["poseaug.epochs=4"])
    assert [(r.arm, r.seed) for r in runs] == [
        ("baseline", 0),
        ("control", 0),
        ("poseaug_paper", 0),
        ("baseline", 3),
        ("control", 3),
        ("poseaug_paper", 3),
    ]
    paper = runs[2].command
    assert "--config=configs/protocols.py:cross_view" in paper and "--config.seed=0" in paper
    assert "--config.poseaug.feedback=paper" in paper and "--config.stage=poseaug" in paper
    assert f"--config.poseaug.pretrained={tmp_path / 'seed0' / 'baseline' / 'baseline.weights.h5'}" in paper
    assert "--config.poseaug.epochs=4" in paper and "--config.stage=pretrain" in runs[3].command
    with pytest.raises(ValueError, match="Unknown arm"):
        run.plan("cross_view", [0], ["poseaug_magic"], tmp_path, [])


def test_plan_with_shared_baselines_pretrains_nothing(tmp_path):
    shared = tmp_path / "grid_standard"
    with pytest.raises(ValueError, match="no finished baseline"):
        run.plan("3dhp", [1], ["adapt"], tmp_path / "adapt", [], baselines=shared)
    (shared / "seed1" / "baseline").mkdir(parents=True)
    (shared / "seed1" / "baseline" / "baseline.weights.h5").write_bytes(b"")
    runs = run.plan("3dhp", [1], ["adapt"], tmp_path / "adapt", [], baselines=shared)
    assert [(r.arm, r.workdir) for r in runs] == [("adapt", tmp_path / "adapt" / "seed1" / "adapt")]
    assert f"--config.poseaug.pretrained={shared / 'seed1' / 'baseline' / 'baseline.weights.h5'}" in runs[0].command


def _fake_run(root, arm, seed, scores):
    workdir = root / f"seed{seed}" / arm
    workdir.mkdir(parents=True)
    key = "baseline" if arm == "baseline" else arms.ARMS[arm]["arms"]
    entry = {name: {"mpjpe": m, "pa_mpjpe": p} for name, (m, p) in scores.items()}
    (workdir / f"{key}.json").write_text("{}")
    (workdir / "results.json").write_text(json.dumps({key: entry, f"{key}_last": entry}))
    return run.Run(arm, seed, workdir, [])


def test_cross_dataset_table_weights_the_3dhp_folds_by_frames(tmp_path):
    from experiments import cross_dataset_table

    def write(grid, seed, arm, sets):
        workdir = tmp_path / grid / f"seed{seed}" / arm
        workdir.mkdir(parents=True)
        key = "baseline" if arm == "baseline" else arms.ARMS[arm]["arms"]
        entry = {name: {"mpjpe": m, "frames": n} for name, (m, n) in sets.items()}
        (workdir / "results.json").write_text(json.dumps({key: entry}))

    for seed, shift in ((1, 0.0), (2, 2.0)):
        write(
            "grid_standard", seed, "control", {"3dhp": (100.0 + shift, 668), "cross_lab": (80.0, 9), "h36m": (50.0, 9)}
        )
        write("adapt_3dhp_TS5", seed, "adapt", {"3dhp": (90.0 + shift, 392)})  # scored on TS6
        write("adapt_3dhp_TS6", seed, "adapt", {"3dhp": (80.0 + shift, 276)})  # scored on TS5
        write("adapt_cross_lab", seed, "adapt", {"cross_lab": (72.0, 9)})
        write("grid_cross_view", seed, "control", {"h36m_cross_view": (95.0, 9)})
    table = cross_dataset_table.cells(tmp_path, [1, 2])
    weighted = (90.0 * 392 + 80.0 * 276) / 668
    assert table["adapt"]["3dhp"] == pytest.approx([weighted, weighted + 2.0])
    text = cross_dataset_table.markdown(table, 2)
    assert "| control | 101.0 ± 1.4 | 80.0 ± 0.0 | 95.0 ± 0.0 | 50.0 ± 0.0 |" in text
    change = 100 * (weighted + 1 - 101) / 101
    row = f"{weighted + 1:.1f} ± 1.4 ({change:+.1f} %) | 72.0 ± 0.0 (-10.0 %) | – | – |"
    assert f"| **adapt (default with target 2D)** | {row}" in text


def test_summary_is_mean_and_sample_std_with_change_against_the_control(tmp_path):
    runs = [_fake_run(tmp_path, "control", s, {"h36m": (50.0 + 2 * s, 40.0)}) for s in range(3)]
    runs += [_fake_run(tmp_path, "poseaug", s, {"h36m": (45.0 + s, 38.0 + s)}) for s in range(3)]
    runs.append(run.Run("random", 0, tmp_path / "missing", []))  # not finished: left out
    summary = run.summarize(runs)
    assert summary["selected"]["control"]["h36m"]["mpjpe"] == pytest.approx((52.0, 2.0))
    assert summary["selected"]["poseaug"]["h36m"]["pa_mpjpe"] == pytest.approx((39.0, 1.0))
    assert summary["selected"]["poseaug"]["h36m"]["seeds"] == 3 and "random" not in summary["selected"]
    text = run.markdown(summary, title="t")
    assert "| poseaug | 3 | 46.0 ± 1.0 / 39.0 ± 1.0 | -6.0 mm (-11.5 %) |" in text
    assert "| control | 3 | 52.0 ± 2.0 / 40.0 ± 0.0 |  |" in text


def test_every_arm_and_protocol_is_a_valid_config():
    from configs import common

    for name in protocols.PROTOCOLS:
        config = protocols.get_config(name)
        for overrides in arms.ARMS.values():
            trial = config.copy_and_resolve_references()
            for key, value in overrides.items():
                node = trial
                *parents, leaf = key.split(".")
                for parent in parents:
                    node = node[parent]
                node[leaf] = value
            common.validate(trial)
    assert math.isclose(len(protocols.get_config("cross_view").data.train_cameras.split(",")), 2)


@pytest.mark.slow
def test_tiny_grid_runs_resumes_and_reports(tmp_path):
    command = [
        sys.executable,
        "experiments/run.py",
        "--protocol=cross_view",
        "--smoke",
        "--seeds=0",
        "--arms=baseline,control,random",
        f"--root={tmp_path}",
        "--jobs=2",
        "--set=poseaug.epochs=2",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["selected"]) == {"baseline", "control", "random"}
    assert {"synthetic_source", "synthetic_target"} <= set(summary["selected"]["control"])
    assert "| random | 1 |" in (tmp_path / "summary.md").read_text()
    # A second call finds every run finished and only reports.
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "start " not in again.stdout
    # Another setting in the same grid directory is refused, not mixed in.
    other = subprocess.run(
        command[:-1] + ["--set=poseaug.epochs=3"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert other.returncode != 0 and "another command" in other.stderr + other.stdout


def test_shape_diagnosis_reading_sets_halve_the_hips_and_shrink_the_body_on_its_feet():
    import numpy as np

    from experiments import shape_diagnosis
    from poseaug_tf.core import camera, skeleton
    from poseaug_tf.data import synthetic

    pose_set = synthetic.make_synthetic("source", 64, seed=3)
    sets = shape_diagnosis.reading_sets(pose_set)
    names = skeleton.JOINT_NAMES
    hip, thorax = names.index("Hip"), names.index("Thorax")
    recorded, hips, smaller = (sets[k].pose3d for k in ("recorded", "hips", "smaller"))
    np.testing.assert_allclose(recorded, pose_set.pose3d)
    for side in (names.index("RHip"), names.index("LHip")):  # half the hip bone, same direction, same root
        half = 0.5 * (recorded[:, side] - recorded[:, hip])
        np.testing.assert_allclose(hips[:, side] - hips[:, hip], half, atol=1e-6)
    np.testing.assert_allclose(hips[:, thorax], recorded[:, thorax], atol=1e-6)  # the torso is not a hip bone
    feet = list(skeleton.FEET)
    centre = recorded[:, feet].mean(axis=1, keepdims=True)
    np.testing.assert_allclose(smaller - centre, 0.9 * (recorded - centre), atol=1e-6)  # the feet stay put
    for changed in sets.values():  # the 2D is the changed 3D seen by the same camera
        np.testing.assert_allclose(changed.pose2d, camera.project(changed.pose3d, pose_set.camera).numpy(), atol=1e-6)
    assert np.abs(sets["hips"].pose2d - pose_set.pose2d).max() > 1e-3
    ratio = shape_diagnosis._hip_width_mm(hips) / shape_diagnosis._hip_width_mm(recorded)
    assert ratio == pytest.approx(0.5, rel=1e-5)


def test_mean_std_is_the_sample_deviation_and_one_seed_has_none():
    import numpy as np

    from experiments import stats

    values = [49.1, 50.3, 49.7]
    mean, std = stats.mean_std(values)
    assert mean == pytest.approx(np.mean(values)) and std == pytest.approx(np.std(values, ddof=1))
    assert stats.mean_std([3.0]) == (3.0, 0.0)
    assert stats.cell(values) == f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}" and stats.cell([]) == "–"
