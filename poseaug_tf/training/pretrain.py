"""Stage 1: supervised pretraining of the baseline estimator (REFERENCE.md §6.1)."""

from __future__ import annotations

import os
import pathlib

import keras
import ml_collections
import tensorflow as tf
from absl import logging

from poseaug_tf.data.pipeline import train_dataset
from poseaug_tf.training import networks, reporting, steps
from poseaug_tf.training.datasets import Datasets, Evaluator
from poseaug_tf.training.epoch import run_epoch

BASELINE_WEIGHTS = "baseline.weights.h5"


def save_weights_atomic(model: keras.Model, path: pathlib.Path) -> None:
    """`model.save_weights` through a temporary file, so an interruption never leaves a truncated file."""
    tmp = path.with_name(f".tmp-{path.name}")
    model.save_weights(tmp)
    os.replace(tmp, path)


class SelectionState(tf.Module):
    """Epoch counter and best-validation bookkeeping, checkpointed with the networks."""

    def __init__(self):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.best_val = tf.Variable(float("inf"), dtype=tf.float64, name="best_val")
        self.best_epoch = tf.Variable(0, dtype=tf.int64, name="best_epoch")

    def update(self, stage_dir: pathlib.Path, model: keras.Model, epoch: int, val_mpjpe: float, *,
               eligible: bool = True) -> None:
        """Saves `last` (and `best` when an eligible epoch improved validation) weights; commit with the
        checkpoint after."""
        save_weights_atomic(model, stage_dir / "last.weights.h5")
        if eligible and val_mpjpe < float(self.best_val):
            save_weights_atomic(model, stage_dir / "best.weights.h5")
            self.best_val.assign(val_mpjpe)
            self.best_epoch.assign(epoch)
        self.epoch.assign(epoch)

    def selected(self, selection: str) -> tuple[str, int]:
        """(weights file name, epoch) of the reported model."""
        if selection == "val" and int(self.best_epoch) > 0:
            return "best.weights.h5", int(self.best_epoch)
        if selection == "val":  # no eligible epoch yet (e.g. only warm-up epochs ran)
            return "last.weights.h5", int(self.epoch)
        if selection == "last":
            return "last.weights.h5", int(self.epoch)
        raise ValueError(f"Unknown `selection` {selection!r}; valid: 'val', 'last'.")


def epoch_record(stage: str, epoch: int, train: dict, results: dict) -> dict:
    return {"stage": stage, "epoch": epoch, "train": train,
            "eval": {name: r.summary() | {"per_action_mpjpe": dict(r.per_action_mpjpe),
                                          "per_joint_mpjpe": list(r.per_joint_mpjpe)}
                     for name, r in results.items()}}


def log_epoch(stage: str, epoch: int, epochs: int, train: dict, results: dict) -> None:
    scores = ", ".join(f"{name} {r.mpjpe:.1f}/{r.pa_mpjpe:.1f}" for name, r in results.items())
    loss = ", ".join(f"{k} {v:.4g}" for k, v in train.items() if k in ("loss", "g_loss", "p_loss_real"))
    logging.info("%s epoch %d/%d: %s | MPJPE/PA-MPJPE mm: %s", stage, epoch, epochs, loss, scores)


def run_pretraining(config: ml_collections.ConfigDict, workdir: pathlib.Path, strategy: tf.distribute.Strategy,
                    datasets: Datasets, history: reporting.History,
                    writer: tf.summary.SummaryWriter) -> pathlib.Path:
    """Trains (or resumes) the baseline and writes `<workdir>/baseline.weights.h5`.

    Returns:
      Path of the selected baseline weights.
    """
    p = config.pretrain
    stage_dir = workdir / "pretrain"
    stage_dir.mkdir(parents=True, exist_ok=True)
    with strategy.scope():
        estimator = networks.build_estimator(config, synchronized_bn=strategy.num_replicas_in_sync > 1,
                                             stage="pretrain")
        optimizer = networks.pretrain_optimizer(config)
        optimizer.build(estimator.trainable_variables)
        state = SelectionState()
    ckpt = tf.train.Checkpoint(estimator=estimator, optimizer=optimizer, state=state)
    manager = tf.train.CheckpointManager(ckpt, stage_dir / "ckpt", max_to_keep=2)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("Pretraining: resumed from %s (epoch %d).", manager.latest_checkpoint, int(state.epoch))
    history.truncate("pretrain", int(state.epoch))
    step = steps.distribute(steps.make_estimator_step(estimator, optimizer, clip_norm=p.clip_norm), strategy)
    evaluator = Evaluator(estimator, datasets, batch_size=config.eval.batch_size)
    num_batches = len(datasets.train) // p.batch_size
    for epoch in range(int(state.epoch) + 1, p.epochs + 1):
        ds = train_dataset(datasets.train, batch_size=p.batch_size, seed=config.seed * 1009 + epoch)
        train = run_epoch(step, strategy.experimental_distribute_dataset(ds), total=num_batches,
                          desc=f"pretrain {epoch}/{p.epochs}", first_step=(epoch - 1) * num_batches)
        results = evaluator.all()
        history.append(epoch_record("pretrain", epoch, train, results))
        reporting.write_scalars(writer, "pretrain/train", train, epoch)
        for name, r in results.items():
            reporting.write_scalars(writer, f"pretrain/{name}", r.summary(), epoch)
        log_epoch("pretrain", epoch, p.epochs, train, results)
        state.update(stage_dir, estimator, epoch, results["validation"].mpjpe)
        manager.save()
    weights, epoch = state.selected(config.selection)
    baseline = workdir / BASELINE_WEIGHTS
    estimator.load_weights(stage_dir / weights)
    save_weights_atomic(estimator, baseline)
    reporting.write_json_atomic(workdir / "baseline.json", {"epoch": epoch, "selection": config.selection})
    logging.info("Baseline: epoch %d selected by %s → %s", epoch, config.selection, baseline)
    return baseline
