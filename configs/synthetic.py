"""The main job: VideoPose-style lifter on the built-in synthetic data, pretraining then PoseAug.

    python train.py                      # this config, workdir runs/synthetic
    python train.py --config=configs/synthetic.py:smoke --workdir=/tmp/smoke   # seconds, for tests

Trains on the "lab" source split, selects checkpoints on held-out source samples, and evaluates baseline and
PoseAug on held-out source and on the shifted "wild" target split. About ten minutes on 2 CPU cores.
"""

import ml_collections

from configs import common


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    c = common.base_config()
    c.dataset = "synthetic"
    c.model.name = "videopose"
    c.model.width = 256  # a small VideoPose (≈0.3M parameters) keeps the main job near 10 min
    c.model.num_blocks = 2
    c.data.synthetic_train = 32768
    c.data.synthetic_eval = 4096
    c.pretrain.epochs = 12
    c.pretrain.batch_size = 256
    c.poseaug.epochs = 12
    c.poseaug.batch_size = 256
    c.poseaug.pool_size = 1024
    c.figures.every = 4
    if "smoke" in arg.split(","):
        c.model.name = "mlp"
        c.model.num_blocks = None  # the mlp's depth is model.num_stages
        c.data.synthetic_train = 1024
        c.data.synthetic_eval = 256
        c.pretrain.epochs = 2
        c.pretrain.batch_size = 128
        c.poseaug.epochs = 3
        c.poseaug.warmup = 1
        c.poseaug.batch_size = 128
        c.poseaug.pool_size = 256
        c.eval.batch_size = 256
        c.figures.every = 1
        c.export.enabled = False
    return c
