"""Stage 1: supervised pretraining of the baseline estimator (docs/reference.md §6.1)."""

from __future__ import annotations

import pathlib

import ml_collections
import tensorflow as tf
from absl import logging

from poseaug_tf.data.datasets import Datasets
from poseaug_tf.data.pipeline import train_dataset
from poseaug_tf.evaluation import Evaluator
from poseaug_tf.training import checkpoints, detector_noise, devices, optim, reporting, run_dir, steps
from poseaug_tf.training.passes import run_pass
from poseaug_tf.training.selection import SelectionState


def run_pretraining(
    config: ml_collections.ConfigDict,
    workdir: pathlib.Path,
    strategy: tf.distribute.Strategy,
    datasets: Datasets,
    history: run_dir.History,
    writer: tf.summary.SummaryWriter,
) -> pathlib.Path:
    """Trains (or resumes) the baseline and writes `<workdir>/baseline.weights.h5`.

    Returns:
      Path of the selected baseline weights.
    """
    pretrain_config = config.pretrain
    stage_dir = workdir / run_dir.stage_of("baseline")
    stage_dir.mkdir(parents=True, exist_ok=True)
    with strategy.scope():
        estimator = devices.configured_estimator(
            config, synchronized_bn=strategy.num_replicas_in_sync > 1, stage="pretrain"
        )
        optimizer = optim.pretrain_optimizer(config)
        optimizer.build(estimator.trainable_variables)
    state = SelectionState()  # host-side bookkeeping, not a replicated variable
    ckpt = checkpoints.training_checkpoint(estimator=estimator, optimizer=optimizer, state=state)
    manager = tf.train.CheckpointManager(ckpt, stage_dir / run_dir.CHECKPOINTS, max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoints.restore_checkpoint(ckpt, manager.latest_checkpoint)
        logging.info("Pretraining: resumed from %s (epoch %d).", manager.latest_checkpoint, int(state.epoch))
    history.truncate("pretrain", int(state.epoch))
    noise = detector_noise.build(config, datasets, workdir) if detector_noise.on_real(config) else None
    step = steps.distribute(
        steps.make_estimator_step(
            estimator,
            optimizer,
            clip_norm=pretrain_config.clip_norm,
            noise=noise,
            noise_seed=detector_noise.seed(config, "pretrain"),
        ),
        strategy,
    )
    evaluator = Evaluator(estimator, datasets, batch_size=config.eval.batch_size)
    num_batches = len(datasets.train) // pretrain_config.batch_size
    for epoch in range(int(state.epoch) + 1, pretrain_config.epochs + 1):
        ds = train_dataset(datasets.train, batch_size=pretrain_config.batch_size, seed=config.seed * 1009 + epoch)
        train = run_pass(
            step,
            strategy.experimental_distribute_dataset(ds),
            total=num_batches,
            desc=f"pretrain {epoch}/{pretrain_config.epochs}",
            first_step=(epoch - 1) * num_batches,
        )
        results = evaluator.all()
        reporting.record_epoch(
            history, writer, stage="pretrain", epoch=epoch, epochs=pretrain_config.epochs, train=train, results=results
        )
        state.update(stage_dir, estimator, epoch, results["validation"].mpjpe)
        manager.save()
    return state.publish(estimator, stage_dir, workdir, name="baseline", selection=config.selection)
