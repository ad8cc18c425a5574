"""The detector-noise model of a run (config `noise`, poseaug_tf/core/keypoint_noise.py): built once, recorded in the
workdir, and the rule for which training pairs get it."""

from __future__ import annotations

import pathlib

import ml_collections
import numpy as np
from absl import logging

from poseaug_tf.core import keypoint_noise
from poseaug_tf.data.datasets import Datasets
from poseaug_tf.training import run_dir


def build(config: ml_collections.ConfigDict, datasets: Datasets, workdir: pathlib.Path):
    """The run's `KeypointNoise` (None for `noise.model="none"`), written to `<workdir>/noise_model.json`."""
    noise_config = config.noise
    if noise_config.model == "none":
        return None
    if noise_config.model == "generic":
        model = keypoint_noise.generic()
    else:
        detected, clean = datasets.noise_pairs
        model = keypoint_noise.fit(
            detected, clean, source=f"{noise_config.fit_keypoints}, {config.data.train_subjects}, {len(clean)} frames"
        )
    model = model.replace(
        scale=float(noise_config.scale),
        fraction=float(noise_config.fraction),
        p_missing=np.minimum(model.p_missing + noise_config.missing_rate, 1.0),
    )
    run_dir.write_json(workdir / run_dir.NOISE_MODEL, model.to_json())
    logging.info("Detector noise: %s (%s).", model.describe(), run_dir.NOISE_MODEL)
    return model


def on_real(config: ml_collections.ConfigDict) -> bool:
    """Whether the real training pairs get noise (`noise.real`; "auto": when their 2D is ground truth)."""
    if config.noise.real == "auto":
        return config.data.keypoints == "gt" or config.dataset == "synthetic"
    return config.noise.real == "on"


def seed(config: ml_collections.ConfigDict, stage: str) -> int:
    """The stateless seed of a stage's noise; every arm of the PoseAug stage draws the same noise per step."""
    return int(config.seed) * 4 + {"pretrain": 1, "poseaug": 2, "d2d": 3}[stage]
