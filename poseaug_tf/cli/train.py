"""Trains a 2D→3D lifter with PoseAug: pretraining, then the alternating PoseAug loop, then a report.

    python train.py                                    # main job: built-in synthetic data, ~10 min on 2 cores
    python train.py --config=configs/h36m.py:videopose --config.data.dir=/path/to/h36m --workdir=runs/vp
    python train.py --config=configs/synthetic.py:smoke --workdir=/tmp/smoke --config.poseaug.feedback=paper

Any config field can be overridden with --config.<field>=<value>; re-running the same command resumes.
"""

from poseaug_tf.infra.runtime import concise_terminal_logging, import_tensorflow_quietly

import_tensorflow_quietly()

import sys  # noqa: E402

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from configs import common  # noqa: E402
from poseaug_tf.infra.user_errors import InputError, absl_flags_parser, exit_on_input_error  # noqa: E402
from poseaug_tf.training import loop, reporting  # noqa: E402
from poseaug_tf.training.passes import NonFiniteLossError  # noqa: E402
from poseaug_tf.training.poseaug import CollapseError  # noqa: E402

PROGRAM = "train.py"


def _unknown_field(error: Exception) -> InputError:
    """ml_collections reports an unknown --config.<field> as a bare KeyError/AttributeError of its last part, the
    message's first line the name and a second line a suggestion ('Did you mean "pretrain" instead of ...?')."""
    text = str(error.args[0]) if error.args else str(error)
    # A nested section's error arrives as the repr of the inner KeyError: undo its escapes.
    text = text.replace("\\n", "\n").replace("\\'", "'").strip("\"'")
    name, _, suggestion = text.partition("\n")
    name = name.strip("\"'")
    hint = f" {suggestion.strip()}" if suggestion.strip() else ""
    field = next(
        (a.split("=")[0][2:] for a in sys.argv[1:] if a.startswith("--config.") and name in a.split("=")[0].split(".")),
        name,
    )
    return InputError(f"unknown config field `{field}`;{hint} Every field is listed in configs/common.py.")


with exit_on_input_error(PROGRAM):
    try:  # config_flags applies the --config.* overrides here when --config is not given, else at parsing
        _CONFIG = config_flags.DEFINE_config_file(
            "config", "configs/synthetic.py", "Training configuration file (configs/*.py[:arg]).", lock_config=True
        )
    except (AttributeError, KeyError) as _error:
        raise _unknown_field(_error) from None
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (default runs/<config name>).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    concise_terminal_logging()
    with exit_on_input_error(PROGRAM):
        config = _CONFIG.value
        try:
            common.validate(config)
        except OSError:  # config_flags defers a failed load of the --config file to the first access
            name = config_flags.get_config_filename(flags.FLAGS["config"])
            raise InputError(
                f"cannot load the config file of --config={name!r}: expected configs/<name>.py[:arg]."
            ) from None
        except ValueError as error:  # a user error: one line, exit code 1, nothing written
            raise InputError(error) from None
        workdir = _WORKDIR.value or f"runs/{config.dataset}_{config.model.name}"
        callbacks = []
        if config.figures.enabled:
            from poseaug_tf.reports import figures  # noqa: E402  (matplotlib only when figures are wanted)

            callbacks.append(figures.FigureCallback(config.figures.every))
        try:
            results = loop.train_and_evaluate(config, workdir, callbacks=callbacks)
        except (NonFiniteLossError, CollapseError) as error:  # a diverged run: one line; its checkpoints stay
            raise InputError(
                f"training stopped: {error} The checkpoints of the finished epochs are kept in {workdir}."
            ) from None
    print(reporting.results_markdown(results))
    if config.export.enabled and config.stage != "pretrain":
        from poseaug_tf.serving import export  # noqa: E402  (TFLite converter only when exporting)

        arm = exported_arm(loop.parse_arms(config.arms))
        with exit_on_input_error(PROGRAM, also=(export.ExportVerificationError,)):
            version_dir = export.export_workdir(
                workdir,
                name=config.export.name or None,
                weights=arm,
                tflite_variants=export.TFLITE_VARIANTS if config.export.tflite else (),
            )
        print(f"Exported the {arm} estimator: {version_dir} (TF Serving layout; see saved_models/README.md)")
    print(f"Results: {workdir}/results.json, {workdir}/results.md; TensorBoard: tensorboard --logdir {workdir}")


def exported_arm(arms: list[str]) -> str:
    """The arm whose estimator a run exports: PoseAug when it ran, else the random arm, else the control."""
    return next(arm for arm in ("poseaug", "random", "control") if arm in arms)


def parse_flags(argv):
    """absl's parser, with one line (exit 1) instead of a traceback for a malformed flag or an unknown field."""
    with exit_on_input_error(PROGRAM):
        try:
            return absl_flags_parser(PROGRAM)(argv)
        except (AttributeError, KeyError) as error:
            raise _unknown_field(error) from None


def run() -> None:
    """`python train.py` (the repository's shortcut) and `poseaug-train` (pyproject's script)."""
    sys.modules["__main__"].__doc__ = __doc__  # --help shows this usage, from the shortcut too
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
