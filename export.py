"""Exports a trained estimator for TF Serving and LiteRT (shortcut of poseaug_tf/cli/export.py, the command)."""

from poseaug_tf.cli.export import run

if __name__ == "__main__":
    run()
