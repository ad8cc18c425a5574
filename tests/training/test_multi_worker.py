"""train.py as a real two-worker `MultiWorkerMirroredStrategy` run (two processes, TF_CONFIG on 127.0.0.1 ports):
both resume after kill -9, every worker writes its own copy of the run, and the results are one process's."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from poseaug_tf.infra import runtime

REPO = pathlib.Path(__file__).resolve().parents[2]
KILL_AT = REPO / "tests" / "training" / "kill_at.py"
# The smoke config without dropout (each replica would draw its own masks, so no two layouts could agree) and
# figures, with one arm.
FLAGS = (
    "--config=configs/synthetic.py:smoke",
    "--config.model.dropout_rate=0.0",
    "--config.figures.enabled=false",
    "--config.arms=poseaug",
)
TIMEOUT = 900


def _workers(workdir: pathlib.Path, *, kill_chief_at: str | None = None) -> list[subprocess.CompletedProcess]:
    """Runs both workers to the end (or until the chief kills itself at `kill_chief_at`, after which the other
    worker, stuck in a collective, is killed too: a lost machine). Returns both processes' results."""
    procs = []
    for index, tf_config in enumerate(runtime.local_cluster_tf_configs(2)):
        env = {**os.environ, "TF_CONFIG": tf_config, "CUDA_VISIBLE_DEVICES": ""}
        program = [str(KILL_AT), kill_chief_at] if kill_chief_at and index == 0 else ["train.py"]
        command = [sys.executable, *program, *FLAGS, f"--workdir={workdir}"]
        procs.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for index, proc in enumerate(procs):
        if kill_chief_at and index == 1:
            procs[0].wait(timeout=TIMEOUT)
            proc.kill()
        out, err = proc.communicate(timeout=TIMEOUT)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode()))
    return results


def _metrics(path: pathlib.Path) -> dict[str, float]:
    """Every MPJPE/PA-MPJPE of a results.json, flattened to "model/set/metric"."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            elif key in ("mpjpe", "pa_mpjpe"):
                flat[prefix + key] = value

    walk(json.loads(path.read_text()), "")
    return flat


@pytest.mark.slow
def test_two_workers_resumed_after_kill_9_match_one_process(tmp_path):
    """The chief dies before its 20th batch (PoseAug stage), the other worker with it; both restart and finish with
    the one-process numbers. (Exact, byte-identical resume is tests/training/test_loop.py's, in one process.)"""
    single = tmp_path / "single"
    done = subprocess.run(
        [sys.executable, "train.py", *FLAGS, f"--workdir={single}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    workdir = tmp_path / "workers"
    killed = _workers(workdir, kill_chief_at="batch:20")
    assert killed[0].returncode == -9, killed[0].stderr[-3000:]
    assert not (workdir / "results.json").exists()
    for proc in _workers(workdir):
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed from" in (workdir / "train.log").read_text()
    assert json.loads((workdir / "run_info.json").read_text())["replicas"] == 2
    # Worker 1 trained the same replicated networks into its own copy of the run.
    other = workdir.with_name("workers.worker1")
    assert (other / "results.json").read_text() == (workdir / "results.json").read_text()
    assert not (workdir / "figures").exists()
    # Same numbers as one process up to float reassociation of the all-reduce (as the two-device test).
    expected, got = _metrics(single / "results.json"), _metrics(workdir / "results.json")
    assert len(expected) >= 8 and expected.keys() == got.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-3), key
