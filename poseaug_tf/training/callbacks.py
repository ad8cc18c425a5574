"""Hooks through which an entry point adds work to a run (figures, TensorBoard images) that training does not
know about: training calls them and imports nothing above itself."""

from __future__ import annotations

import pathlib


class RunCallback:
    """Does nothing; subclasses override the hooks they need (e.g. `figures.FigureCallback`)."""

    def on_arm_epoch_end(self, *, arm: str, epoch: int, workdir: pathlib.Path, writer, augmentor, datasets) -> None:
        """After an arm's epoch is recorded, before it is checkpointed. `augmentor` is the live PoseAugmentor
        (its weights must not be changed); `writer` the run's `tf.summary` writer."""

    def on_run_end(self, *, workdir: pathlib.Path, datasets) -> None:
        """After results.json and results.md are written."""
