"""Tests for poseaug_tf.training.gan (GANSettings): read from the config section, which holds them all."""

import dataclasses

import pytest

from configs import common, synthetic
from poseaug_tf.training.gan import GANSettings
from tests.training import gan_defaults


def test_every_field_but_placement_is_a_config_field_and_has_no_second_default():
    section = common.base_config().poseaug
    fields = GANSettings.field_names()
    assert set(fields) == {f.name for f in dataclasses.fields(GANSettings)} - {"placement"}
    assert set(fields) <= set(section)
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(GANSettings) if f.name != "placement")


def test_from_config_reads_overrides_and_turns_d3d_off_without_ba():
    config = synthetic.get_config("smoke")
    config.poseaug.weight_d3d = 2.5
    config.poseaug.valid_bound = 0.9
    config.poseaug.use_ba = False
    settings = GANSettings.from_config(config.poseaug)
    assert (settings.weight_d3d, settings.valid_bound, settings.use_d3d) == (2.5, 0.9, False)
    config.poseaug.use_ba = True
    assert GANSettings.from_config(config.poseaug).use_d3d is config.poseaug.use_d3d


def test_from_config_names_a_missing_field():
    section = common.base_config().poseaug.to_dict()
    del section["rt_center"], section["valid_bound"]
    with pytest.raises(ValueError, match=r"config.poseaug: missing rt_center, valid_bound"):
        GANSettings.from_config(section)


def test_settings_are_frozen_and_reject_unknown_fields():
    with pytest.raises(dataclasses.FrozenInstanceError):
        gan_defaults.settings().weight_d2d = 2.0
    with pytest.raises(TypeError):
        gan_defaults.settings(weight_d4d=1.0)
