"""End-to-end: train_and_evaluate on the synthetic smoke config, resume after kill -9, collapse guard."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from configs import synthetic
from poseaug_tf.training import loop, reporting

REPO = pathlib.Path(__file__).resolve().parents[2]


def smoke_config(**poseaug):
    config = synthetic.get_config("smoke")
    for key, value in poseaug.items():
        config.poseaug[key] = value
    return config


@pytest.mark.slow
def test_train_and_evaluate_smoke(tmp_path):
    results = loop.train_and_evaluate(smoke_config(), tmp_path)
    for name in ("config.json", "run_info.json", "history.json", "results.json", "results.md",
                 "baseline.weights.h5", "poseaug.weights.h5"):
        assert (tmp_path / name).is_file(), name
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "pretrain" / "ckpt" / "checkpoint").is_file()
    assert (tmp_path / "poseaug" / "ckpt" / "checkpoint").is_file()
    history = reporting.History(tmp_path)
    assert [r["epoch"] for r in history.stage("pretrain")] == [1, 2]
    assert [r["epoch"] for r in history.stage("poseaug")] == [0, 1, 2, 3]
    assert [r["epoch"] for r in history.stage("control")] == [0, 1, 2, 3]
    # After the warm-up epoch the estimator trains on batches of real and augmented pairs.
    last = history.stage("poseaug")[-1]["train"]
    assert {"g_loss", "d2d_loss", "p_loss_mixed", "ratio_ba", "ratio_rt", "aug_scale_2d"} <= set(last)
    assert "d3d_loss" not in last  # BA is off by default, and D3d judges only the BA pose
    control = history.stage("control")[-1]["train"]
    assert "p_loss_mixed" in control and not any(k.startswith(("g_", "d2d_")) for k in control)
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert "| synthetic_target | control |" in (tmp_path / "results.md").read_text()
    for model in ("baseline", "control", "poseaug", "control_last", "poseaug_last"):
        for name in ("synthetic_source", "synthetic_target"):
            r = results[model][name]
            assert r["frames"] == 256
            assert all(np.isfinite(r[k]) for k in ("mpjpe", "pa_mpjpe", "pck", "auc"))
            assert 0 < r["pa_mpjpe"] <= r["mpjpe"]
            assert "selected by val" in r["checkpoint"] or model.endswith("_last")
    assert "Oracle" in (tmp_path / "results.md").read_text()


def _train_command(workdir):
    return [sys.executable, "train.py", "--config=configs/synthetic.py:smoke", f"--workdir={workdir}"]


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path):
    """kill -9 in the middle of the PoseAug stage; the same command resumes and finishes every epoch once."""
    workdir = tmp_path / "run"
    proc = subprocess.Popen(_train_command(workdir), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    state = workdir / "poseaug" / "ckpt" / "checkpoint"
    try:
        # Wait for PoseAug epoch 1 to be committed (the checkpoint after epoch 0 is the first one).
        while time.time() < deadline and not (state.exists() and "ckpt-2" in state.read_text()):
            time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert state.exists(), "the PoseAug stage never checkpointed"
    done = subprocess.run(_train_command(workdir), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in (workdir / "train.log").read_text()
    history = reporting.History(workdir)
    assert [r["epoch"] for r in history.stage("pretrain")] == [1, 2]
    assert [r["epoch"] for r in history.stage("poseaug")] == [0, 1, 2, 3]
    assert json.loads((workdir / "results.json").read_text())["poseaug"]


@pytest.mark.slow
def test_collapse_guard_rolls_back_then_gives_up(tmp_path):
    # No epoch can keep more than 100% of its augmented poses: every post-warm-up epoch "collapses".
    config = smoke_config(min_valid_fraction=1.01, max_restarts=1, epochs=2)
    with pytest.raises(RuntimeError, match=r"project inside the image.*gave up after 1 rollbacks"):
        loop.train_and_evaluate(config, tmp_path)
    assert json.loads((tmp_path / "poseaug" / "restarts.json").read_text()) == 1
    log = (tmp_path / "train.log").read_text()
    assert "Rolled back to epoch 1 with a new seed (restart 1 of 1)" in log


@pytest.mark.slow
def test_non_finite_loss_is_detected_and_named(tmp_path):
    config = smoke_config(lr_g=float("nan"), max_restarts=0, epochs=1)
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
