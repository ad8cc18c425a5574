"""The visual report of a workdir: every figure from a hand-made run, the selection logic, TensorBoard
images, and failure handling."""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.reports import figures
from poseaug_tf.reports.plots import errors
from poseaug_tf.training import model_files, run_dir
from tests import fake_workdir
from tests.fake_workdir import expected_pixel_size, png_size

DPI = 40


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return fake_workdir.make_fake_workdir(tmp_path_factory.mktemp("run"))


def test_write_figures_writes_every_png_at_its_fixed_size(workdir):
    written = figures.write_figures(workdir, num_samples=96, num_poses=2, dpi=DPI)
    assert set(written) == set(figures.FIGURE_NAMES) | {"per_action_table"}
    for name in figures.FIGURE_NAMES:
        assert written[name] == workdir / "figures" / f"{name}.png"
        assert png_size(written[name]) == expected_pixel_size(name, dpi=DPI)
        assert written[name].stat().st_size > 2000
    scores, _ = figures.selected_scores(run_dir.read_run(workdir))
    assert written["per_action_table"].read_text() == errors.per_action_markdown(scores)


def test_selected_scores_follow_the_selection_files(workdir, tmp_path):
    history = fake_workdir.history_records()
    scores, labels = figures.selected_scores(run_dir.read_run(workdir))
    baseline = next(r for r in history if r["stage"] == "pretrain" and r["epoch"] == fake_workdir.BASELINE_EPOCH)
    poseaug = next(r for r in history if r["stage"] == "poseaug" and r["epoch"] == fake_workdir.POSEAUG_EPOCH)
    assert scores == {"baseline": baseline["eval"], "poseaug": poseaug["eval"]}
    assert labels["poseaug"] == f"poseaug (poseaug epoch {fake_workdir.POSEAUG_EPOCH})"
    # Without baseline.json / poseaug.json: PoseAug epoch 0 (the loaded baseline) and the last PoseAug epoch.
    (tmp_path / "history.json").write_text(json.dumps(history))
    scores, _ = figures.selected_scores(run_dir.read_run(tmp_path))
    assert scores == {"baseline": history[fake_workdir.PRETRAIN_EPOCHS]["eval"], "poseaug": history[-1]["eval"]}


def test_control_and_random_arms_are_selected_from_their_own_stages(workdir, tmp_path):
    workdir = pathlib.Path(shutil.copytree(workdir, tmp_path / "run"))
    history = fake_workdir.history_records()
    arms = {"control": 3, "random": 1}
    for arm, epoch in arms.items():
        history += [dict(r, stage=arm) for r in fake_workdir.history_records(seed=len(arm)) if r["stage"] == "poseaug"]
        (workdir / f"{arm}.json").write_text(json.dumps({"epoch": epoch, "selection": "val"}))
    (workdir / "history.json").write_text(json.dumps(history))
    scores, labels = figures.selected_scores(run_dir.read_run(workdir))
    for arm, epoch in arms.items():
        assert scores[arm] == next(r for r in history if r["stage"] == arm and r["epoch"] == epoch)["eval"]
        assert labels[arm] == f"{arm} ({arm} epoch {epoch})"
    last = run_dir.read_run(workdir, epochs="last").selection
    assert last["control"]["epoch"] == last["random"]["epoch"] == fake_workdir.POSEAUG_EPOCHS
    assert "per_joint_errors" in figures.write_figures(workdir, names=["per_joint_errors", "training_curves"], dpi=40)


def test_last_selection_uses_the_last_epoch_of_each_stage(workdir):
    history = fake_workdir.history_records()
    run = run_dir.read_run(workdir, epochs="last")
    assert run.selection == {
        "baseline": {"epoch": fake_workdir.PRETRAIN_EPOCHS, "selection": "last"},
        "poseaug": {"epoch": fake_workdir.POSEAUG_EPOCHS, "selection": "last"},
    }
    scores, _ = figures.selected_scores(run)
    assert scores == {"baseline": history[fake_workdir.PRETRAIN_EPOCHS - 1]["eval"], "poseaug": history[-1]["eval"]}
    with pytest.raises(ValueError, match="Unknown `epochs` 'best'"):
        run_dir.read_run(workdir, epochs="best")


def test_workdir_without_checkpoint_skips_the_augmentor_figures(tmp_path):
    fake_workdir.make_fake_workdir(tmp_path, with_checkpoint=False)
    written = figures.write_figures(tmp_path, names=["augmentations", "training_curves"], dpi=DPI)
    assert list(written) == ["training_curves"]


def test_failing_figure_raises_when_strict_and_is_skipped_otherwise(workdir, monkeypatch, tmp_path):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(figures._BUILDERS, "per_joint_errors", broken)
    names = ["per_joint_errors", "training_curves"]
    with pytest.raises(RuntimeError, match="boom"):
        figures.write_figures(workdir, names=names, dpi=DPI, out_dir=tmp_path)
    written = figures.write_figures(workdir, names=names, dpi=DPI, out_dir=tmp_path, strict=False)
    assert list(written) == ["training_curves"]


def test_bad_arguments_raise(workdir, tmp_path):
    with pytest.raises(ValueError, match="figures: unknown figure 'curves'; valid: augmentations"):
        figures.write_figures(workdir, names=["curves"])
    with pytest.raises(ValueError, match="num_samples, num_poses: expected positive numbers; received 0, 4"):
        figures.write_figures(workdir, num_samples=0)
    with pytest.raises(ValueError, match="missing: not a training directory"):
        figures.write_figures(tmp_path / "missing")
    with pytest.raises(ValueError, match="'workdir' entry"):
        figures.tensorboard_images(None, {"augmentor": None}, 0)


def test_tensorboard_images_write_image_summaries(workdir, tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    augmentor = model_files.load_augmentor(run_dir.read_run(workdir))
    images = figures.tensorboard_images(
        writer,
        {"workdir": workdir, "augmentor": augmentor},
        step=7,
        names=("augmentations", "training_curves"),
        num_samples=64,
    )
    for name in ("augmentations", "training_curves"):
        width, height = expected_pixel_size(name)
        assert images[name].shape == (height, width, 3) and images[name].dtype == np.uint8
        assert images[name].min() < 100 < images[name].max()  # drawn, not blank
    tags = set()
    for event_file in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags |= {(v.tag, event.step) for v in event.summary.value}
    assert tags == {("figures/augmentations", 7), ("figures/training_curves", 7)}
