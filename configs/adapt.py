"""Adapt a trained lifter to your camera: PoseAug with unlabeled 2D keypoints of that camera.

    python train.py --config=configs/adapt.py:runs/synthetic --config.data.target_2d=my_camera.json \\
        --workdir=runs/adapted

The argument is a finished training workdir: the run reuses its config.json (model, source data, schedule) and
starts from its selected estimator (`poseaug`, else `baseline`; `<workdir>:<model>` picks one). It then runs the
PoseAug stage with the domain-adaptive discriminator (D2d's real samples are the target 2D) and global position
alignment (placements follow where the target camera sees people). The reported model is selected on the
source validation split, as in training: no target 3D is needed or read. Export as usual:
`python export.py --workdir=runs/adapted`.
"""

import json
import pathlib

import ml_collections

from configs import common


def _update(config: ml_collections.ConfigDict, saved: dict) -> None:
    """Copies the saved values of the fields this version knows (a newer field keeps its default)."""
    for key, value in saved.items():
        if key not in config:
            continue
        if isinstance(config[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _update(config[key], value)
        else:
            config[key] = value


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    workdir = pathlib.Path(arg.rpartition(":")[0] if ":" in arg else arg)
    saved_path = workdir / "config.json"
    if not arg or not saved_path.is_file():
        raise ValueError(
            f"configs/adapt.py:{arg}: expected a finished training workdir after the colon; "
            f"{saved_path} does not exist."
        )
    c = common.base_config()
    _update(c, json.loads(saved_path.read_text()))
    c.stage = "poseaug"
    c.arms = "poseaug"
    c.poseaug.pretrained = arg
    c.poseaug.d2d_real = "target"
    c.poseaug.align = "target"
    return c
