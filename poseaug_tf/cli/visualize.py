"""Command line: draw the figures of a training workdir into `<workdir>/figures/`.

    python -m poseaug_tf.cli.visualize --workdir=runs/synthetic
    python -m poseaug_tf.cli.visualize --workdir=runs/smoke --figures=training_curves,per_joint_errors --dpi=100

Reads config.json, history.json, baseline.json/poseaug.json and poseaug/ckpt of the workdir (nothing is
retrained or re-evaluated; the augmentor figures regenerate the run's data from config.json). See
`poseaug_tf.reports.figures` for what each figure shows.
"""

from __future__ import annotations

import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Training directory (the --workdir of train.py).")
flags.DEFINE_list(
    "figures",
    [],
    "Figures to draw (default all): augmentations, distributions, "
    "training_curves, per_joint_errors, per_action_errors.",
)
flags.DEFINE_string("out_dir", None, "Output folder (default <workdir>/figures).")
flags.DEFINE_integer("num_samples", 2048, "Source poses sampled for the augmentation distributions.")
flags.DEFINE_integer("num_poses", 4, "Rows of the augmentation grid.")
flags.DEFINE_integer("seed", 0, "Seed of the sample choice and of the augmentor noise.")
flags.DEFINE_enum(
    "epochs",
    "selected",
    ["selected", "last"],
    "Epochs of the error figures: the ones the run selected (config.selection; baseline.json, poseaug.json) "
    "or the last epoch of each stage.",
)
flags.DEFINE_integer("dpi", 80, "PNG resolution; pixel sizes are the fixed figure sizes (inches) × dpi.")
flags.mark_flag_as_required("workdir")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    import matplotlib

    matplotlib.use("Agg")  # headless; the library draws on Agg canvases anyway
    from absl import logging

    from poseaug_tf.infra.user_errors import exit_on_input_error
    from poseaug_tf.reports import figures

    with exit_on_input_error("visualize"):
        written = figures.write_figures(
            FLAGS.workdir,
            names=FLAGS.figures or None,
            out_dir=FLAGS.out_dir,
            num_samples=FLAGS.num_samples,
            num_poses=FLAGS.num_poses,
            seed=FLAGS.seed,
            dpi=FLAGS.dpi,
            epochs=FLAGS.epochs,
        )
    for name, path in written.items():
        logging.info("%s: %s", name, path)
    if not written:
        logging.warning("No figure written: %s holds neither a history nor a PoseAug checkpoint.", FLAGS.workdir)


def run() -> None:
    """`python -m poseaug_tf.cli.visualize` and `poseaug-visualize` (pyproject's script)."""
    sys.modules["__main__"].__doc__ = __doc__  # --help shows this usage, from the shortcut too
    from poseaug_tf.infra.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    from poseaug_tf.infra.user_errors import absl_flags_parser

    app.run(main, flags_parser=absl_flags_parser("visualize"))


if __name__ == "__main__":
    run()
