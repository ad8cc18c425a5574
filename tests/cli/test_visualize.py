"""`python -m poseaug_tf.cli.visualize`: flags → PNGs in the workdir; and (slow) the figures of a real smoke run."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from absl import app, flags
from absl.testing import flagsaver

from poseaug_tf.cli import visualize
from poseaug_tf.reports import figures
from poseaug_tf.training import run_dir
from tests import fake_workdir
from tests.fake_workdir import expected_pixel_size, png_size

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def parsed_flags():
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def test_main_writes_the_selected_figures(tmp_path):
    fake_workdir.make_fake_workdir(tmp_path / "run", with_checkpoint=False)
    out = tmp_path / "out"
    with flagsaver.flagsaver(
        workdir=str(tmp_path / "run"), figures=["training_curves", "per_joint_errors"], out_dir=str(out), dpi=50
    ):
        visualize.main(["visualize"])
    assert sorted(p.name for p in out.iterdir()) == ["per_joint_errors.png", "training_curves.png"]
    assert png_size(out / "training_curves.png") == expected_pixel_size("training_curves", dpi=50)


def test_main_rejects_extra_arguments_and_unknown_figures(tmp_path, capsys):
    fake_workdir.make_fake_workdir(tmp_path, with_checkpoint=False)
    with flagsaver.flagsaver(workdir=str(tmp_path)):
        with pytest.raises(app.UsageError, match="Unexpected arguments: extra"):
            visualize.main(["visualize", "extra"])
    with flagsaver.flagsaver(workdir=str(tmp_path), figures=["nope"]):
        with pytest.raises(SystemExit, match="1"):
            visualize.main(["visualize"])
    assert capsys.readouterr().err == (
        "visualize: error: figures: unknown figure 'nope'; valid: augmentations, "
        "distributions, training_curves, per_joint_errors, per_action_errors.\n"
    )


def test_module_runs_as_a_script(tmp_path):
    fake_workdir.make_fake_workdir(tmp_path, with_checkpoint=False)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-m", "poseaug_tf.cli.visualize", f"--workdir={tmp_path}", "--figures=per_action_errors"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert png_size(tmp_path / "figures" / "per_action_errors.png") == expected_pixel_size("per_action_errors")
    assert (tmp_path / "figures" / "per_action.md").read_text().startswith("MPJPE (mm)")


@pytest.mark.slow
def test_figures_of_a_real_smoke_run(smoke_run):
    workdir = smoke_run["workdir"]
    assert (workdir / "figures" / "training_curves.png").is_file()  # drawn by the callback at the end
    written = figures.write_figures(workdir, num_samples=256)
    assert set(written) == set(figures.FIGURE_NAMES) | {"per_action_table"}
    for name in figures.FIGURE_NAMES:
        assert png_size(written[name]) == expected_pixel_size(name)
    scores, _ = figures.selected_scores(run_dir.read_run(workdir))
    assert set(scores) == {"baseline", "control", "poseaug"} and "synthetic_target" in scores["poseaug"]
