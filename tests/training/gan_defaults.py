"""`GANSettings` with the config's defaults (configs/common.py), for tests and scripts that build the steps directly.

Unlike `GANSettings.from_config`, D3d stays on whatever `use_ba` says, so the steps' every branch is exercised.
"""

from configs import common
from poseaug_tf.training.gan import GANSettings


def settings(**changes) -> GANSettings:
    section = common.base_config().poseaug
    return GANSettings(**{**{name: section[name] for name in GANSettings.field_names()}, **changes})
