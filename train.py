"""Trains a 2D→3D lifter with PoseAug (shortcut of poseaug_tf/cli/train.py, where the command and its usage are)."""

from poseaug_tf.cli.train import run

if __name__ == "__main__":
    run()
