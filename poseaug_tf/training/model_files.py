"""Estimator weights a run starts from (`poseaug.pretrained`: a file, a workdir, an export or a preset), and the
models of a finished run rebuilt from its workdir (export, figures)."""

from __future__ import annotations

import json
import pathlib

import ml_collections
import tensorflow as tf

from poseaug_tf import models
from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError, one_line
from poseaug_tf.serving import contract, presets
from poseaug_tf.training import devices, run_dir
from poseaug_tf.training.gan import augmentor_options


def is_export(path: pathlib.Path) -> bool:
    """Whether `path` is a version folder written by export.py (a SavedModel with this project's metadata)."""
    return (path / "saved_model.pb").is_file() and (path / "assets" / contract.METADATA_FILENAME).is_file()


def start_weights(value: str) -> pathlib.Path:
    """The estimator weights `poseaug.pretrained` names: a `.weights.h5` file, a workdir (its `poseaug` model,
    else its `baseline`), `<workdir>:<model>`, an exported version folder (`saved_models/<name>/<version>`), or
    a preset (poseaug_tf/serving/presets.py; resolved to its verified local folder).

    Raises:
      InputError: the file, the workdir or its model's weights do not exist.
    """
    if presets.is_preset(value):
        return presets.resolve(value)
    path, _, model = str(value).rpartition(":") if ":" in str(value) else (str(value), "", "")
    path = pathlib.Path(path)
    if (path.is_file() or is_export(path)) and not model:
        return path
    if not path.is_dir():
        raise InputError(
            f"config.poseaug.pretrained: {value} does not exist; expected a <name>.weights.h5 file of the same "
            "model, a training workdir, <workdir>:<model> or an exported version folder."
        )
    if model and model not in run_dir.MODELS:
        raise InputError(
            f"config.poseaug.pretrained: unknown model {model!r}; expected one of {', '.join(run_dir.MODELS)}."
        )
    for candidate in [model] if model else ["poseaug", "baseline"]:
        if run_dir.weights_path(path, candidate).is_file():
            return run_dir.weights_path(path, candidate)
    raise InputError(
        f"config.poseaug.pretrained: {path} holds no {model or 'poseaug or baseline'} weights "
        f"({run_dir.weights_path(path, model or 'poseaug').name}); is it a finished training workdir?"
    )


def load_start_weights(estimator, start: pathlib.Path) -> None:
    """Loads `start_weights(...)` into `estimator`: a weights file, or the variables of an exported SavedModel.

    An export tracks the estimator's variables in the model's own order (keras.export.ExportArchive.track);
    they are matched by name and shape. Dropout seed states are not weights and keep this run's seeding.

    Raises:
      InputError: the export holds another model (its variables do not match the config's estimator).
    """
    start = pathlib.Path(start)
    if presets.is_preset(start):
        preset_class = json.loads((start / presets.CONFIG_FILE).read_text()).get("class_name")
        if preset_class != type(estimator).__name__:
            raise presets.PresetError(
                f"config.poseaug.pretrained: {start} holds a {preset_class}; this config builds a "
                f"{type(estimator).__name__} (set config.model to the preset's model)."
            )
        presets.load_weights_into(estimator, start)
        return
    if not is_export(start):
        estimator.load_weights(str(start))
        return

    def weights(variables, name):
        # Seed states are numbered in creation order (seed_generator_<n>), so only the weights are compared.
        return [(name(v), tuple(v.shape), v) for v in variables if "seed_generator" not in name(v)]

    exported = weights(tf.saved_model.load(str(start)).variables, lambda v: v.name.removesuffix(":0"))
    mine = weights(estimator.variables, lambda v: v.path)
    if [e[:2] for e in exported] != [m[:2] for m in mine]:
        raise InputError(
            f"config.poseaug.pretrained: {start} holds another model ({len(exported)} weight arrays) than this "
            f"config's {estimator.name} ({len(mine)}); adapt with the model settings it was trained with."
        )
    for (*_, variable), (*_, value) in zip(mine, exported):
        variable.assign(value)


def load_estimator(workdir: str | pathlib.Path, *, weights: str = "poseaug"):
    """Rebuilds a run's estimator from config.json and loads `<weights>.weights.h5`.

    Args:
      workdir: training workdir.
      weights: "poseaug" (the selected final estimator), "baseline", or another arm ("control", "random").

    Returns:
      (estimator: keras.Model, config dict).

    Raises:
      InputError: the workdir lacks config.json or the weights file, or they cannot be read.
    """
    workdir = pathlib.Path(workdir)
    config_path, path = workdir / run_dir.CONFIG, run_dir.weights_path(workdir, weights)
    for required in (config_path, path):
        if not required.is_file():
            raise InputError(f"{required} does not exist; expected a training workdir with {required.name}.")
    config_dict = files.read_json(config_path)
    config = ml_collections.ConfigDict(config_dict)
    try:
        model = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug", precision="float32")
    except (KeyError, AttributeError) as error:
        field = str(error).strip("\"'")
        raise InputError(
            f"{config_path}: no field {field!r} for the model; expected the config.json that train.py wrote."
        ) from None
    try:
        model.load_weights(str(path))
    except (OSError, ValueError, KeyError) as error:  # truncated or foreign file, or another model's weights
        raise InputError(
            f"{path}: cannot load the weights into the {config.model.name} of config.json "
            f"({type(error).__name__}: {one_line(error)})."
        ) from None
    return model, config_dict


def load_augmentor(run: run_dir.RunRecords, *, arm: str = "poseaug"):
    """The augmentor of an arm, restored from `<workdir>/<arm>/ckpt` (None without a checkpoint)."""
    latest = tf.train.latest_checkpoint(str(run.workdir / arm / run_dir.CHECKPOINTS))
    if latest is None:
        return None
    config = run.config if run.config is not None else ml_collections.ConfigDict()
    augmentor = models.build_augmentor(
        **augmentor_options(config.get("poseaug", {})),
        placement=files.read_json(run.workdir / arm / run_dir.PLACEMENT),
        seed=int(config.get("seed", 0)),
    )
    tf.train.Checkpoint(augmentor=augmentor).restore(latest).expect_partial()
    return augmentor
