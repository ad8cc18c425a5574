"""tf.train checkpoints of a stage's networks, optimisers and RNG states (exact resume after a kill)."""

from __future__ import annotations

import keras
import tensorflow as tf
from absl import logging

from poseaug_tf.models.layers import rng_states


def training_checkpoint(**objects) -> tf.train.Checkpoint:
    """A tf.train.Checkpoint of `objects` plus the RNG states of every Keras model among them (dropout masks),
    which tf.train does not find through a model (`models.layers.rng_states`)."""
    states = [v for o in objects.values() if isinstance(o, keras.Model) for v in rng_states(o)]
    return tf.train.Checkpoint(rng_states=states, **objects)


def restore_checkpoint(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restores `path` and checks that every object found its values.

    Checkpoints written before the RNG states were saved restore too (their dropout masks then differ from an
    uninterrupted run's); any other mismatch raises.

    Raises:
      AssertionError: the checkpoint does not match the networks (e.g. another model size).
    """
    status = checkpoint.restore(path)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        unmatched = str(error).count("<Variable path=")
        if not unmatched or str(error).count("seed_generator_state") < unmatched:
            raise
        logging.warning("%s predates saved dropout RNG states: the resumed run draws new dropout masks.", path)
