"""Run reporting: history records of an epoch, TensorBoard scalars, the log line and the results tables."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import tensorflow as tf
from absl import logging

from poseaug_tf.training import run_dir
from poseaug_tf.training.run_dir import History

RESULT_KEYS = ("mpjpe", "pa_mpjpe", "pck", "auc", "frames")


def write_scalars(writer: tf.summary.SummaryWriter, prefix: str, values: Mapping[str, float], step: int) -> None:
    """TensorBoard scalars `<prefix>/<name>`; non-numeric values are skipped."""
    with writer.as_default(step=step):
        for name, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                tf.summary.scalar(f"{prefix}/{name}", value)


HPARAMS_DIR = "hparams"  # under the workdir's tensorboard/: one run per reported model
HPARAM_METRICS = ("mpjpe", "pa_mpjpe")


def hparams_of(config: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """The config's scalar fields, flattened ("poseaug.use_ba"), as TensorBoard HParams values (None dropped)."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                walk(value, f"{name}.")
            elif isinstance(value, (bool, int, float, str)):
                flat[name] = value

    walk(config, "")
    return flat


def write_hparams(tensorboard_dir, config: Mapping[str, Any], results: Mapping[str, Any], run_name: str) -> None:
    """TensorBoard HParams of a run: one trial per reported model (baseline and every arm), with the config's
    fields and the model's MPJPE / PA-MPJPE on every evaluation set, so that `tensorboard --logdir <grid>` lists
    every (seed, arm, model) of an experiment grid in one table (HPARAMS tab).

    Args:
      tensorboard_dir: the workdir's tensorboard/ folder. config: the resolved config (dict).
      results: results.json's content. run_name: the trial name's prefix (the workdir's name).
    """
    from tensorboard.plugins.hparams import api as hp

    fields = hparams_of(config)
    for model, sets in results.items():
        if model in ("oracle",) or model.endswith("_last"):
            continue  # only the validation-selected models are compared
        writer = tf.summary.create_file_writer(str(pathlib.Path(tensorboard_dir) / HPARAMS_DIR / model))
        with writer.as_default():
            hp.hparams({**fields, "reported_model": model}, trial_id=f"{run_name}/{model}")
            for set_name, metrics in sets.items():
                for metric in HPARAM_METRICS:
                    if isinstance(metrics, Mapping) and metric in metrics:
                        tf.summary.scalar(f"{set_name}/{metric}", metrics[metric], step=0)
        writer.close()


def epoch_record(stage: str, epoch: int, train: dict, results: Mapping) -> dict:
    """A history record from an epoch's training means and its `EvalResult`s by set name."""
    return {
        "stage": stage,
        "epoch": epoch,
        "train": train,
        "eval": {
            name: r.summary()
            | {
                "per_action_mpjpe": dict(r.per_action_mpjpe),
                "per_action_pck": dict(r.per_action_pck),
                "per_action_auc": dict(r.per_action_auc),
                "per_joint_mpjpe": list(r.per_joint_mpjpe),
            }
            for name, r in results.items()
        },
    }


def record_epoch(
    history: History,
    writer: tf.summary.SummaryWriter,
    *,
    stage: str,
    epoch: int,
    epochs: int,
    train: dict,
    results: Mapping,
) -> None:
    """Appends the epoch to the history, writes its TensorBoard scalars and logs one line."""
    history.append(epoch_record(stage, epoch, train, results))
    write_scalars(writer, f"{stage}/train", train, epoch)
    for name, r in results.items():
        write_scalars(writer, f"{stage}/{name}", r.summary(), epoch)
    scores = ", ".join(f"{name} {r.mpjpe:.1f}/{r.pa_mpjpe:.1f}" for name, r in results.items())
    loss = ", ".join(f"{k} {v:.4g}" for k, v in train.items() if k in ("loss", "g_loss", "p_loss_real"))
    logging.info("%s epoch %d/%d: %s | MPJPE/PA-MPJPE mm: %s", stage, epoch, epochs, loss, scores)


def _model_rows(results: Mapping[str, Any], models: tuple[str, ...]) -> list[str]:
    lines = [
        "| set | model | MPJPE (mm) | PA-MPJPE (mm) | PCK (%) | AUC (%) | frames | checkpoint |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sets = sorted({s for model in models for s in results.get(model, {})})
    for name in sets:
        for model in models:
            r = results.get(model, {}).get(name)
            if r:
                lines.append(
                    f"| {name} | {model} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['pck']:.1f} | "
                    f"{r['auc']:.1f} | {r['frames']} | {r['checkpoint']} |"
                )
    return lines


def results_markdown(results: Mapping[str, Any]) -> str:
    """Baseline and arms (control, PoseAug, random) table (mm and %) for `<workdir>/results.md` and the console."""
    lines = _model_rows(results, run_dir.MODELS)
    last = tuple(f"{m}_last" for m in run_dir.MODELS if f"{m}_last" in results)
    if last:
        lines += ["", "Last epoch of each arm (no selection):", ""] + _model_rows(results, last)
    oracle = results.get("oracle")
    if oracle:
        lines += [
            "",
            "Oracle (best epoch chosen on the test set itself, as the paper's tables; not a valid "
            "model-selection protocol, shown for comparison only):",
            "",
            "| set | model | best MPJPE (mm) | epoch |",
            "|---|---|---|---|",
        ]
        for model, per_set in oracle.items():
            for name, r in sorted(per_set.items()):
                lines.append(f"| {name} | {model} | {r['mpjpe']:.1f} | {r['epoch']} |")
    return "\n".join(lines) + "\n"
