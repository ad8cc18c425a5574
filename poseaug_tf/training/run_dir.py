"""The run directory: the one module that names, writes and reads the files of a training workdir.

Layout (arms: `control`, `poseaug`, `random`, see training/poseaug.py; models: `baseline` and the arms):
  config.json, run_info.json        resolved config; package/TF versions and data fingerprint
  config.previous.json              the config a resumed run was started with, when it differed
  history.json                      per-epoch training means and evaluation results of every stage and arm
  pretrain/ckpt, <arm>/ckpt         tf.train checkpoints (networks, optimisers, pools, RNG states, counters)
  {pretrain,<arm>}/{best,last}.weights.h5
  <arm>/placement.json, restarts.json   measured placement ranges (bounded RT, random arm); rollbacks so far
  <model>.weights.h5, <model>.json  the selected models and {"epoch", "selection"} (validation-best or last)
  results.json, results.md          baseline and every arm on every evaluation set
  tensorboard/, train.log           scalars of every loss, ratio and metric (tensorboard/hparams/<model>: HParams
                                    trials of the reported models); the log of every run here
  figures/                          PNGs of figures.py

Every write goes through `files.atomic_path`: an interruption leaves the old file or the new one, never a torn one.

A multi-worker run's chief (worker 0) writes the workdir; worker i > 0 writes the same files to
`<workdir>.worker<i>` (`worker_workdir`), which it needs to resume after a restart, since its machine may not see
the chief's disk.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import ml_collections

from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError

# The models a run reports: the pretrained baseline, then the arms of the PoseAug stage (training/poseaug.py),
# run in the config's order. (configs/arms.py is something else: the experiment runner's named override sets.)
ARMS = ("control", "poseaug", "random")
MODELS = ("baseline", *ARMS)
CONFIG = "config.json"
PREVIOUS_CONFIG = "config.previous.json"
RUN_INFO = "run_info.json"
HISTORY = "history.json"
RESULTS = "results.json"
RESULTS_TABLE = "results.md"
LOG = "train.log"
TENSORBOARD = "tensorboard"
FIGURES = "figures"
NOISE_MODEL = "noise_model.json"  # the detector-noise model the estimator trained with (keypoint_noise.py)
PLACEMENT = "placement.json"  # in <arm>/
RESTARTS = "restarts.json"  # in <arm>/
CHECKPOINTS = "ckpt"  # in pretrain/ and <arm>/
STAGE_WEIGHTS = {"best": "best.weights.h5", "last": "last.weights.h5"}  # in pretrain/ and <arm>/
EPOCHS = ("selected", "last")  # what `read_run` reports: the epochs the run selected, or the last epochs


def worker_workdir(workdir: pathlib.Path, task_id: int) -> pathlib.Path:
    """The run directory of multi-worker task `task_id`: the workdir itself for the chief (0), else the sibling
    `<workdir>.worker<task_id>`."""
    return workdir if task_id == 0 else workdir.with_name(f"{workdir.name}.worker{task_id}")


def stage_of(model: str) -> str:
    """History stage (and folder) of a reported model: the baseline comes from pretraining, an arm from itself."""
    return "pretrain" if model == "baseline" else model


def weights_path(workdir: pathlib.Path, model: str) -> pathlib.Path:
    """`<workdir>/<model>.weights.h5`: the selected weights of `model` (MODELS)."""
    return pathlib.Path(workdir) / f"{model}.weights.h5"


def write_json(path: pathlib.Path, payload: Any) -> None:
    """Writes JSON (sorted keys, NumPy scalars as numbers) atomically."""
    with files.atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_jsonable))


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


def save_weights(model, path: pathlib.Path) -> None:
    """`model.save_weights` through a temporary file, so an interruption never leaves a truncated file."""
    with files.atomic_path(path) as tmp:
        model.save_weights(tmp)


def record_config(workdir: pathlib.Path, config: dict, run_info: dict) -> bool:
    """Writes config.json (keeping a different earlier one as config.previous.json) and run_info.json.

    Returns:
      Whether the workdir had been started with a different config.
    """
    previous = files.read_json(workdir / CONFIG)
    changed = previous is not None and previous != config
    if changed:
        write_json(workdir / PREVIOUS_CONFIG, previous)
    write_json(workdir / CONFIG, config)
    write_json(workdir / RUN_INFO, run_info)
    return changed


def read_config(workdir: pathlib.Path) -> ml_collections.ConfigDict | None:
    """config.json as a ConfigDict (None when absent); InputError when it is not JSON."""
    config = files.read_json(pathlib.Path(workdir) / CONFIG)
    return None if config is None else ml_collections.ConfigDict(config)


class History:
    """Per-epoch records of a run (`<workdir>/history.json`), appended after each epoch and reloaded on resume.

    A record: {"stage": "pretrain"|<arm>, "epoch": int, "train": {metric: mean}, "eval": {set: {...}}}.
    """

    def __init__(self, workdir: pathlib.Path):
        self.path = pathlib.Path(workdir) / HISTORY
        self.records: list[dict] = files.read_json(self.path, default=[])

    def truncate(self, stage: str, epoch: int) -> None:
        """Drops records of `stage` after `epoch` (epochs redone after a resume or a rollback)."""
        self.records = [r for r in self.records if not (r["stage"] == stage and r["epoch"] > epoch)]

    def append(self, record: dict) -> None:
        self.records.append(record)
        write_json(self.path, self.records)

    def stage(self, stage: str) -> list[dict]:
        return [r for r in self.records if r["stage"] == stage]


def write_selection(workdir: pathlib.Path, model: str, epoch: int, selection: str) -> None:
    """`<workdir>/<model>.json`: which epoch the published `<model>.weights.h5` is, and by which rule."""
    write_json(pathlib.Path(workdir) / f"{model}.json", {"epoch": epoch, "selection": selection})


def read_selections(workdir: pathlib.Path) -> dict[str, dict]:
    """{model: {"epoch", "selection"}} of the models whose selection record exists."""
    return {m: s for m in MODELS if (s := files.read_json(pathlib.Path(workdir) / f"{m}.json")) is not None}


def last_epochs(history: list[dict]) -> dict[str, dict]:
    """{model: {"epoch": last epoch of its stage, "selection": "last"}} of the models with a history."""
    last = {m: max((r["epoch"] for r in history if r["stage"] == stage_of(m)), default=None) for m in MODELS}
    return {m: {"epoch": e, "selection": "last"} for m, e in last.items() if e is not None}


def find_record(history: list[dict], stage: str, epoch: int) -> dict | None:
    return next((r for r in history if r["stage"] == stage and r["epoch"] == epoch), None)


def selected_epochs(
    history: list[dict], selections: dict[str, dict], *, unrecorded_arms: bool = False
) -> dict[str, tuple[str, int]]:
    """(stage, epoch) of each reported model; never chosen on a test set.

    The baseline is the pretraining epoch of its selection record, else epoch 0 of the first arm that has one
    (the loaded baseline of a stage=poseaug run). An arm is the epoch of its record; without one (a running arm),
    its last trained epoch when `unrecorded_arms`, else it is not reported.
    """
    picks = {}
    if "baseline" in selections:
        picks["baseline"] = ("pretrain", selections["baseline"]["epoch"])
    for arm in ARMS:
        if find_record(history, *picks.get("baseline", ("", -1))) is None and find_record(history, arm, 0) is not None:
            picks["baseline"] = (arm, 0)
        trained = [r["epoch"] for r in history if r["stage"] == arm and r["epoch"] > 0]
        if arm in selections:
            picks[arm] = (arm, selections[arm]["epoch"])
        elif unrecorded_arms and trained:
            picks[arm] = (arm, max(trained))
    return picks


@dataclasses.dataclass
class RunRecords:
    """What a workdir holds about a finished (or running) run."""

    workdir: pathlib.Path
    config: ml_collections.ConfigDict | None
    history: list[dict]
    selection: dict[str, dict]  # model (MODELS) → {"epoch", "selection"}


def read_run(workdir: str | pathlib.Path, *, epochs: str = "selected") -> RunRecords:
    """Reads config.json, history.json and the selection records of a workdir (missing ones empty).

    Args:
      workdir: training directory.
      epochs: "selected": the epochs the run selected by its `config.selection` (`<model>.json`); "last": the
        last epoch of each stage
        instead (e.g. to see PoseAug's effect when validation selected an early epoch).

    Raises:
      ValueError: unknown `epochs`.
      InputError: `workdir` is not a directory, or a record is not JSON.
    """
    if epochs not in EPOCHS:
        raise ValueError(f"Unknown `epochs` {epochs!r}; valid: {', '.join(EPOCHS)}.")
    workdir = pathlib.Path(workdir)
    if not workdir.is_dir():
        raise InputError(f"{workdir}: not a training directory; expected the --workdir of a train.py run.")
    history = files.read_json(workdir / HISTORY, default=[])
    chosen = last_epochs(history) if epochs == "last" else read_selections(workdir)
    return RunRecords(workdir, read_config(workdir), history, chosen)
