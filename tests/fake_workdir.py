"""A tiny training workdir written by hand (no training): config, history, selections and an augmentor checkpoint.

Used by tests/reports/test_figures.py and tests/cli/test_visualize.py. History values are drawn from a seeded RNG
so tests can compare what a figure shows with what the file holds.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots import canvas

SETS = ("validation", "synthetic_source", "synthetic_target")
ACTIONS = ("sitting", "standing", "walking")
PRETRAIN_EPOCHS = 2
POSEAUG_EPOCHS = 3
BASELINE_EPOCH = 2  # baseline.json
POSEAUG_EPOCH = 2  # poseaug.json (not the last epoch, so that selection is visible)
GAN_KEYS = (
    "g_loss",
    "g_adv_2d",
    "g_adv_3d",
    "d3d_loss",
    "d2d_loss",
    "d3d_real_score",
    "d3d_fake_score",
    "aug_valid_fraction",
    "aug_ba_diff",
    "aug_blr_abs",
    "aug_rot_angle",
    "aug_depth",
    "g_grad_norm",
)
FEEDBACK_KEYS = ("g_feedback", "ratio_ba", "ratio_rt", "p_loss_real", "p_loss_fake", "buffer_size")


def _eval(rng: np.random.Generator) -> dict:
    out = {}
    for name in SETS:
        per_joint = [0.0] + list(rng.uniform(20.0, 120.0, skeleton.NUM_JOINTS - 1))
        out[name] = {
            "mpjpe": float(np.mean(per_joint)),
            "pa_mpjpe": float(rng.uniform(20, 40)),
            "pck": 90.0,
            "auc": 50.0,
            "frames": 64,
            "flip_tta": False,
            "per_action_mpjpe": {a: float(rng.uniform(30, 90)) for a in ACTIONS},
            "per_joint_mpjpe": per_joint,
        }
    return out


def history_records(seed: int = 0) -> list[dict]:
    """Pretraining epochs 1..2, then PoseAug epochs 0..3 (epoch 1 is the warm-up: no feedback keys)."""
    rng = np.random.default_rng(seed)
    records = [
        {"stage": "pretrain", "epoch": e, "train": {"loss": float(1.0 / e), "grad_norm": 2.0}, "eval": _eval(rng)}
        for e in range(1, PRETRAIN_EPOCHS + 1)
    ]
    records.append({"stage": "poseaug", "epoch": 0, "train": {}, "eval": _eval(rng)})
    for e in range(1, POSEAUG_EPOCHS + 1):
        train = {k: float(rng.uniform(0.1, 2.0)) for k in GAN_KEYS}
        if e > 1:
            train |= {k: float(rng.uniform(0.5, 1.5)) for k in FEEDBACK_KEYS}
        records.append({"stage": "poseaug", "epoch": e, "train": train, "eval": _eval(rng)})
    return records


def small_config():
    """The smoke synthetic config, shrunk so that loading its data takes well under a second."""
    from configs import synthetic

    config = synthetic.get_config("smoke")
    config.data.synthetic_train = 192
    config.data.synthetic_eval = 48
    config.poseaug.batch_size = 64
    return config


def make_fake_workdir(path: pathlib.Path, *, with_checkpoint: bool = True) -> pathlib.Path:
    """Writes config.json, history.json, results.json, baseline.json, poseaug.json and (optionally) a freshly
    built augmentor's checkpoint in poseaug/ckpt with its placement.json (the default bounded RT)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(small_config().to_dict()))
    (path / "history.json").write_text(json.dumps(history_records()))
    (path / "baseline.json").write_text(json.dumps({"epoch": BASELINE_EPOCH, "selection": "val"}))
    (path / "poseaug.json").write_text(json.dumps({"epoch": POSEAUG_EPOCH, "selection": "val"}))
    (path / "results.json").write_text(json.dumps({"baseline": {}, "poseaug": {}, "oracle": {}}))
    if with_checkpoint:
        import tensorflow as tf

        from poseaug_tf import models
        from poseaug_tf.core import placement

        rng = np.random.default_rng(0)
        poses = rng.normal(0.0, 0.3, (64, skeleton.NUM_JOINTS, 3)) + rng.uniform([-1, -0.5, 4], [1, 0.5, 6], (64, 1, 3))
        ranges = placement.measure_placement(poses).to_config()
        (path / "poseaug").mkdir()
        (path / "poseaug" / "placement.json").write_text(json.dumps(ranges))
        augmentor = models.build_augmentor(seed=0, use_ba=False, rt_mode="bounded", placement=ranges)
        tf.train.Checkpoint(augmentor=augmentor).save(str(path / "poseaug" / "ckpt" / "ckpt"))
    return path


def png_size(path: pathlib.Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; raises AssertionError if the file is not a PNG."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} has no PNG signature"
    assert data[12:16] == b"IHDR", f"{path} does not start with an IHDR chunk"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def expected_pixel_size(name: str, *, dpi: int = canvas.DPI) -> tuple[int, int]:
    """(width, height) in pixels of the PNG `canvas.save_png` writes for figure `name`."""
    width, height = canvas.FIGURE_SIZES[name]
    return int(round(width * dpi)), int(round(height * dpi))
