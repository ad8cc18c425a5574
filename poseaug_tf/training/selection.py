"""Honest model selection: the per-stage epoch counter, validation-best bookkeeping and the published weights."""

from __future__ import annotations

import pathlib

import keras
import tensorflow as tf
from absl import logging

from poseaug_tf.training import run_dir


class SelectionState(tf.Module):
    """Epoch counter and best-validation bookkeeping of one stage, checkpointed with its networks."""

    def __init__(self):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.best_val = tf.Variable(float("inf"), dtype=tf.float64, name="best_val")
        self.best_epoch = tf.Variable(0, dtype=tf.int64, name="best_epoch")

    def update(
        self, stage_dir: pathlib.Path, model: keras.Model, epoch: int, val_mpjpe: float, *, eligible: bool = True
    ) -> None:
        """Saves `last` (and `best` when an eligible epoch improved validation) weights; commit with the
        checkpoint after."""
        run_dir.save_weights(model, stage_dir / run_dir.STAGE_WEIGHTS["last"])
        if eligible and val_mpjpe < float(self.best_val):
            run_dir.save_weights(model, stage_dir / run_dir.STAGE_WEIGHTS["best"])
            self.best_val.assign(val_mpjpe)
            self.best_epoch.assign(epoch)
        self.epoch.assign(epoch)

    def selected(self, selection: str) -> tuple[str, int]:
        """(weights file name, epoch) of the reported model; never chosen on a test set."""
        # DEVIATION(docs/reference.md §9.2): the reference keeps the epoch that scores best on the test set.
        if selection == "val" and int(self.best_epoch) > 0:
            return run_dir.STAGE_WEIGHTS["best"], int(self.best_epoch)
        if selection in ("val", "last"):  # "val" before any eligible epoch (only warm-up epochs ran): last
            return run_dir.STAGE_WEIGHTS["last"], int(self.epoch)
        raise ValueError(f"Unknown `selection` {selection!r}; valid: 'val', 'last'.")

    def publish(
        self, model: keras.Model, stage_dir: pathlib.Path, workdir: pathlib.Path, *, name: str, selection: str
    ) -> pathlib.Path:
        """Loads the selected weights into `model`; publishes them as `<workdir>/<name>.weights.h5` and `<name>.json`.

        `name`: the reported model (run_dir.MODELS).
        """
        weights, epoch = self.selected(selection)
        model.load_weights(stage_dir / weights)
        path = run_dir.weights_path(workdir, name)
        run_dir.save_weights(model, path)
        run_dir.write_selection(workdir, name, epoch, selection)
        logging.info("%s: epoch %d selected by %s → %s", name, epoch, selection, path)
        return path
