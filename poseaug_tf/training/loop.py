"""`train_and_evaluate`: pretraining, PoseAug, and the results of both, in one resumable workdir (layout:
training/run_dir.py).
"""

from __future__ import annotations

import logging as py_logging
import pathlib
import platform
import time
from collections.abc import Sequence

import keras
import ml_collections
import tensorflow as tf
from absl import logging

import poseaug_tf
from poseaug_tf.data.datasets import load_datasets
from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError
from poseaug_tf.training import devices, model_files, reporting, run_dir
from poseaug_tf.training.callbacks import RunCallback
from poseaug_tf.training.poseaug import run_poseaug
from poseaug_tf.training.pretrain import run_pretraining

STAGES = ("pretrain", "poseaug", "both")


def _log_to_file(workdir: pathlib.Path) -> None:
    handler = py_logging.FileHandler(workdir / run_dir.LOG)
    handler.setFormatter(py_logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    py_logging.getLogger("absl").addHandler(handler)


def _record_run(config, workdir: pathlib.Path, fingerprint: str, strategy) -> None:
    precision = devices.resolve_precision(config.model.precision, config.model.name)
    logging.info("Estimator precision: %s (model.precision=%s).", precision, config.model.precision)
    changed = run_dir.record_config(
        workdir,
        config.to_dict(),
        {
            "poseaug_tf": poseaug_tf.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            "data_fingerprint": fingerprint,
            "replicas": strategy.num_replicas_in_sync,
            "precision": precision,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    if changed:
        logging.warning(
            "The config differs from the one this workdir was started with; resuming with the "
            f"new one (old copy kept as {run_dir.PREVIOUS_CONFIG})."
        )


def _stage_results(history: run_dir.History, stage: str, epoch: int, checkpoint: str) -> dict:
    record = run_dir.find_record(history.records, stage, epoch)
    if record is None:
        return {}
    return {
        name: {k: r[k] for k in reporting.RESULT_KEYS} | {"checkpoint": checkpoint}
        for name, r in record["eval"].items()
        if name != "validation"
    }


def _oracle(records: list[dict]) -> dict:
    """Best MPJPE over epochs on each test set: the paper's protocol, labelled as such."""
    best = {}
    for r in records:
        for name, scores in r["eval"].items():
            if name != "validation" and (name not in best or scores["mpjpe"] < best[name]["mpjpe"]):
                best[name] = {"mpjpe": scores["mpjpe"], "epoch": r["epoch"]}
    return best


def collect_results(workdir: pathlib.Path, history: run_dir.History) -> dict:
    """results.json content from the history and the selection records of every stage and arm.

    Every model gets the same fields; an arm also gets its last epoch ("<arm>_last") for comparison.
    """
    results = {"oracle": {}}
    selections = run_dir.read_selections(workdir)
    for model, (stage, epoch) in run_dir.selected_epochs(history.records, selections).items():
        if stage == run_dir.stage_of(model):
            rule = selections[model]["selection"]
            checkpoint = f"{run_dir.weights_path(workdir, model).name} ({stage} epoch {epoch}, selected by {rule})"
        else:  # the baseline as a stage=poseaug run loaded it
            checkpoint = f"initial estimator of the {stage} arm"
        results[model] = _stage_results(history, stage, epoch, checkpoint)
    if "baseline" in selections:
        results["oracle"]["baseline"] = _oracle(history.stage("pretrain"))
    for arm in run_dir.ARMS:
        if arm not in selections:
            continue
        last = max(r["epoch"] for r in history.stage(arm))
        results[f"{arm}_last"] = _stage_results(history, arm, last, f"{arm} last epoch {last}")
        results["oracle"][arm] = _oracle([r for r in history.stage(arm) if r["epoch"] > 0])
    return results


def parse_arms(value: str) -> list[str]:
    """`config.arms` ("control,poseaug") → arm names in run order; raises ValueError on an unknown name."""
    arms = [a.strip() for a in value.split(",") if a.strip()]
    unknown = [a for a in arms if a not in run_dir.ARMS]
    if unknown or not arms or len(set(arms)) < len(arms):
        raise ValueError(f"Expected `arms` as distinct names from {', '.join(run_dir.ARMS)}; received {value!r}.")
    return arms


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, callbacks: Sequence[RunCallback] = ()
) -> dict:
    """Runs the configured stages in `workdir` (resuming whatever an earlier run left) and reports.

    `callbacks` add work the run itself does not do (train.py passes `figures.FigureCallback`).

    Returns:
      The content of `<workdir>/results.json`.

    Raises:
      ValueError: invalid stage.
      InputError: the workdir is a file or cannot be written, PoseAug requested without a baseline, bad data.
    """
    if config.stage not in STAGES:
        raise ValueError(f"Unknown `stage` {config.stage!r}; valid: {', '.join(STAGES)}.")
    arms = parse_arms(config.arms)
    workdir = files.check_folder(workdir, "workdir")
    baseline = run_dir.weights_path(workdir, "baseline")
    if config.stage == "poseaug" and not (baseline.exists() or config.poseaug.pretrained):
        raise InputError(
            f"stage=poseaug needs pretrained weights: {baseline} does not exist and "
            "`poseaug.pretrained` is empty. Run stage=pretrain (or both) first."
        )
    if config.poseaug.pretrained:
        config.poseaug.pretrained = str(model_files.start_weights(config.poseaug.pretrained))
    keras.utils.set_random_seed(config.seed)
    strategy = devices.get_strategy(config.distribute)
    datasets = load_datasets(config)  # before the workdir is created: bad data leaves nothing behind
    task_id = _task_id(strategy)
    if task_id:  # a multi-worker run's other workers: the chief owns the workdir, figures and exports
        # stage=poseaug starts every worker from the chief's baseline (or `poseaug.pretrained`).
        workdir, callbacks = run_dir.worker_workdir(workdir, task_id), ()
    files.ensure_folder(workdir, "workdir")
    with files.exclusive_folder(workdir, "workdir"):
        return _train_and_evaluate(config, workdir, strategy, datasets, arms, baseline, callbacks)


def _task_id(strategy) -> int:
    """This process's worker index in a multi-worker run (0, the chief, otherwise)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.cluster_spec().as_dict() else 0


def _train_and_evaluate(
    config,
    workdir: pathlib.Path,
    strategy,
    datasets,
    arms: list[str],
    baseline: pathlib.Path,
    callbacks: Sequence[RunCallback],
) -> dict:
    _log_to_file(workdir)
    logging.info("Workdir %s", workdir)
    for path in files.remove_stale_temporaries(workdir):
        logging.info("Removed %s, left by an interrupted write.", path)
    _record_run(config, workdir, datasets.fingerprint(), strategy)
    history = run_dir.History(workdir)
    writer = tf.summary.create_file_writer(str(workdir / run_dir.TENSORBOARD))
    if config.stage in ("pretrain", "both"):
        baseline = run_pretraining(config, workdir, strategy, datasets, history, writer)
    if config.stage in ("poseaug", "both"):
        for arm in arms:
            run_poseaug(config, workdir, strategy, datasets, history, writer, baseline, arm=arm, callbacks=callbacks)
    writer.flush()
    results = collect_results(workdir, history)
    run_dir.write_json(workdir / run_dir.RESULTS, results)
    files.write_text_atomic(workdir / run_dir.RESULTS_TABLE, reporting.results_markdown(results))
    reporting.write_hparams(workdir / run_dir.TENSORBOARD, config.to_dict(), results, run_name=workdir.name)
    for callback in callbacks:
        callback.on_run_end(workdir=workdir, datasets=datasets)
    return results
