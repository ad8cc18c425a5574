"""End-to-end: train_and_evaluate on the synthetic smoke config, resume after kill -9, collapse guard."""

import hashlib
import json
import pathlib
import signal
import stat
import subprocess

import numpy as np
import pytest

from configs import synthetic
from poseaug_tf.serving import contract, export
from poseaug_tf.training import loop, run_dir
from tests import cli_runner

REPO = pathlib.Path(__file__).resolve().parents[2]


def smoke_config(**poseaug):
    config = synthetic.get_config("smoke")
    for key, value in poseaug.items():
        config.poseaug[key] = value
    return config


def poseaug_only(smoke_run, **poseaug):
    """The PoseAug arm alone, started from the shared smoke run's baseline (no pretraining, no control arm)."""
    config = smoke_config(pretrained=f"{smoke_run['workdir']}:baseline", **poseaug)
    config.stage, config.arms = "poseaug", "poseaug"
    return config


@pytest.mark.slow
def test_train_and_evaluate_smoke(smoke_run, tmp_path_factory):
    workdir, results = smoke_run["workdir"], smoke_run["results"]
    # Records, weights, checkpoints and logs are readable by others (a TF Serving or TensorBoard user).
    modes = {p: stat.S_IMODE(m) for p, m in smoke_run["modes"].items()}
    assert {m for p, m in modes.items() if p.is_dir()} == {0o755}
    assert {m for p, m in modes.items() if p.is_file()} == {0o644}, modes
    for name in (
        "config.json",
        "run_info.json",
        "history.json",
        "results.json",
        "results.md",
        "baseline.weights.h5",
        "poseaug.weights.h5",
    ):
        assert (workdir / name).is_file(), name
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    assert (workdir / "pretrain" / "ckpt" / "checkpoint").is_file()
    assert (workdir / "poseaug" / "ckpt" / "checkpoint").is_file()
    history = run_dir.History(workdir)
    assert [r["epoch"] for r in history.stage("pretrain")] == [1, 2]
    assert [r["epoch"] for r in history.stage("poseaug")] == [0, 1, 2, 3]
    assert [r["epoch"] for r in history.stage("control")] == [0, 1, 2, 3]
    # After the warm-up epoch the estimator trains on batches of real and augmented pairs.
    last = history.stage("poseaug")[-1]["train"]
    assert {"g_loss", "d2d_loss", "p_loss_mixed", "ratio_ba", "ratio_rt", "aug_scale_2d"} <= set(last)
    assert "d3d_loss" not in last  # BA is off by default, and D3d judges only the BA pose
    control = history.stage("control")[-1]["train"]
    assert "p_loss_mixed" in control and not any(k.startswith(("g_", "d2d_")) for k in control)
    assert json.loads((workdir / "results.json").read_text()) == results
    assert "| synthetic_target | control |" in (workdir / "results.md").read_text()
    for model in ("baseline", "control", "poseaug", "control_last", "poseaug_last"):
        for name in ("synthetic_source", "synthetic_target"):
            r = results[model][name]
            assert r["frames"] == 256
            assert all(np.isfinite(r[k]) for k in ("mpjpe", "pa_mpjpe", "pck", "auc"))
            assert 0 < r["pa_mpjpe"] <= r["mpjpe"]
            assert "selected by val" in r["checkpoint"] or model.endswith("_last")
    assert "Oracle" in (workdir / "results.md").read_text()
    # The barely trained smoke model exports with the default options (every TFLite variant within tolerance).
    version_dir = export.export_workdir(workdir, output_root=tmp_path_factory.mktemp("saved_models"))
    assert json.loads((version_dir / contract.REPORT_FILENAME).read_text())["passed"]


KILL_AT = REPO / "tests" / "training" / "kill_at.py"


@pytest.fixture
def runner():
    runner = cli_runner.Runner(cwd=str(REPO))
    yield runner
    runner.close()


def _train(runner, workdir, kill_at: str | None = None) -> subprocess.CompletedProcess:
    """train.py (or kill_at.py killing it at `kill_at`) in a process forked from one that loaded TensorFlow."""
    program, point = ([str(KILL_AT)], [kill_at]) if kill_at else (["train.py"], [])
    # With detector noise and joint dropout on: their draws must resume exactly too. Figures off: they are drawn
    # from the records, not part of what resumes, and would double the run time.
    noise = ["--config.noise.model=generic", "--config.noise.missing_rate=0.1"]
    args = [*point, "--config=configs/synthetic.py:smoke", "--config.figures.enabled=false", f"--workdir={workdir}"]
    args += noise
    return runner.run(program, args, cwd=str(REPO), env={}, timeout=900)


def _run_files(workdir: pathlib.Path) -> dict[str, str]:
    """What a finished run reports: results.json and every weights file (sha256 of the bytes)."""
    paths = [workdir / "results.json", *sorted(workdir.glob("*.weights.h5"))]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# Each process of the interrupted run is killed at one point (tests/training/kill_at.py), resuming where the
# previous one stopped: mid-epoch in pretraining, inside a checkpoint write, inside a weights/record write, then
# the same in the PoseAug stage (whose arms start once pretraining is done).
KILL_POINTS = ("batch:5", "checkpoint:1", "file:2", "batch:12", "checkpoint:2", "file:3", "batch:9")


@pytest.mark.slow
def test_resume_after_kill_9_is_exact(tmp_path, runner):
    """kill -9 at several points of both stages, dropout on: the finished run's results.json and weights are
    byte-identical to an uninterrupted run's, and the kills' leftovers are removed on resume."""
    config = synthetic.get_config("smoke")
    assert config.model.name == "mlp" and config.model.dropout_rate is None  # the model's default dropout, 0.5
    reference = tmp_path / "uninterrupted"
    done = _train(runner, reference)
    assert done.returncode == 0, done.stderr[-3000:]

    workdir = tmp_path / "interrupted"
    stages_reached = set()
    for point in KILL_POINTS:
        killed = _train(runner, workdir, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-3000:])
        stages_reached |= {r["stage"] for r in run_dir.History(workdir).records}
        if point.startswith("checkpoint"):
            assert list(workdir.rglob("ckpt-*_temp")), f"{point} left no unfinished checkpoint"
    assert {"pretrain", "control"} <= stages_reached
    done = _train(runner, workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (workdir / "train.log").read_text()
    assert "resumed from" in log and "left by an interrupted write" in log
    assert not list(workdir.rglob("ckpt-*_temp")) and not list(workdir.rglob(".tmp-*"))
    history = run_dir.History(workdir)
    assert [r["epoch"] for r in history.stage("pretrain")] == [1, 2]
    assert [r["epoch"] for r in history.stage("poseaug")] == [0, 1, 2, 3]
    assert _run_files(workdir) == _run_files(reference)


def test_a_second_run_on_the_same_workdir_is_refused(tmp_path):
    from poseaug_tf.infra import files
    from poseaug_tf.infra.user_errors import InputError

    with files.exclusive_folder(tmp_path, "workdir"):
        with pytest.raises(InputError, match="in use by another process"):
            loop.train_and_evaluate(smoke_config(), tmp_path)


@pytest.mark.slow
def test_collapse_guard_rolls_back_then_gives_up(tmp_path, smoke_run):
    # No epoch can keep more than 100% of its augmented poses: every post-warm-up epoch "collapses".
    config = poseaug_only(smoke_run, min_valid_fraction=1.01, max_restarts=1, epochs=2)
    with pytest.raises(RuntimeError, match=r"project inside the image.*gave up after 1 rollbacks"):
        loop.train_and_evaluate(config, tmp_path)
    assert json.loads((tmp_path / "poseaug" / "restarts.json").read_text()) == 1
    log = (tmp_path / "train.log").read_text()
    assert "Rolled back to epoch 1 with a new seed (restart 1 of 1)" in log


@pytest.mark.slow
def test_non_finite_loss_is_detected_and_named(tmp_path, smoke_run):
    config = poseaug_only(smoke_run, lr_g=float("nan"), max_restarts=0, epochs=2)
    with pytest.raises(FloatingPointError, match=r"`g_\w+` became nan at step \d+"):
        loop.train_and_evaluate(config, tmp_path)


def test_poseaug_stage_needs_a_baseline(tmp_path):
    config = smoke_config()
    config.stage = "poseaug"
    with pytest.raises(ValueError, match="needs pretrained weights"):
        loop.train_and_evaluate(config, tmp_path)


def test_unknown_stage_is_rejected(tmp_path):
    config = smoke_config()
    config.stage = "finetune"
    with pytest.raises(ValueError, match="Unknown `stage` 'finetune'"):
        loop.train_and_evaluate(config, tmp_path)
