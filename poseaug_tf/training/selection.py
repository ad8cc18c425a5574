"""Honest model selection: the per-stage epoch counter, validation-best bookkeeping and the published weights."""

from __future__ import annotations

import pathlib

import keras
import tensorflow as tf
from absl import logging

from poseaug_tf import files
from poseaug_tf.training import reporting


def save_weights_atomic(model: keras.Model, path: pathlib.Path) -> None:
    """`model.save_weights` through a temporary file, so an interruption never leaves a truncated file."""
    with files.atomic_path(path) as tmp:
        model.save_weights(tmp)


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
        save_weights_atomic(model, stage_dir / "last.weights.h5")
        if eligible and val_mpjpe < float(self.best_val):
            save_weights_atomic(model, stage_dir / "best.weights.h5")
            self.best_val.assign(val_mpjpe)
            self.best_epoch.assign(epoch)
        self.epoch.assign(epoch)

    def selected(self, selection: str) -> tuple[str, int]:
        """(weights file name, epoch) of the reported model; never chosen on a test set."""
        if selection == "val" and int(self.best_epoch) > 0:
            return "best.weights.h5", int(self.best_epoch)
        if selection in ("val", "last"):  # "val" before any eligible epoch (only warm-up epochs ran): last
            return "last.weights.h5", int(self.epoch)
        raise ValueError(f"Unknown `selection` {selection!r}; valid: 'val', 'last'.")

    def publish(
        self, model: keras.Model, stage_dir: pathlib.Path, workdir: pathlib.Path, *, stem: str, selection: str
    ) -> pathlib.Path:
        """Loads the selected weights into `model` and writes `<workdir>/<stem>.weights.h5` and `<stem>.json`."""
        weights, epoch = self.selected(selection)
        model.load_weights(stage_dir / weights)
        path = workdir / f"{stem}.weights.h5"
        save_weights_atomic(model, path)
        reporting.write_json_atomic(workdir / f"{stem}.json", {"epoch": epoch, "selection": selection})
        logging.info("%s: epoch %d selected by %s → %s", stem, epoch, selection, path)
        return path
