"""The loss weights and switches of the PoseAug steps, read from `config.poseaug` into one frozen dataclass.

The fields, their defaults and their meaning live in `configs/common.py` (the only source of every hyper-parameter);
`GANSettings.from_config(config.poseaug)` reads them, failing on a missing field (e.g. a config.json of an older
version). No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poseaug_tf.placement import Placement


@dataclasses.dataclass(frozen=True)
class GANSettings:
    """Hyper-parameters of the generator and discriminator steps (training/steps.py); see `config.poseaug`."""

    weight_d2d: float
    weight_d3d: float
    weight_diff: float
    use_d2d: bool
    use_d3d: bool
    feedback: str
    ba_half_width: float
    rt_center: float
    rt_half_width: float
    feedback_weight_ba: float
    feedback_weight_rt: float
    paper_feedback_weight: float
    regularizer: str
    ba_range_center: float
    ba_range_half_width: float
    bl_limit: float
    paper_ba_threshold: float
    clip_norm: float
    valid_bound: float
    two_sided_filter: bool
    d2d_real: str
    placement: Placement | None = None  # the ranges of d2d_real="replaced"; measured, not a config field

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The fields read from `config.poseaug`."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "placement")

    @classmethod
    def from_config(cls, poseaug: Mapping, placement: Placement | None = None) -> GANSettings:
        """The settings of a `config.poseaug` section (which holds other fields too).

        Raises:
          ValueError: a field of `field_names()` is missing from the section.
        """
        names = cls.field_names()
        missing = [name for name in names if name not in poseaug]
        if missing:
            raise ValueError(f"config.poseaug: missing {', '.join(missing)}; expected every GANSettings field.")
        values = {name: poseaug[name] for name in names}
        # DEVIATION(docs/reference.md §3.1) with use_ba=False (default): D3d judges the BA pose, which without BA
        # is the source pose itself: nothing for it to learn or to teach the generator, so it is not run.
        values["use_d3d"] = values["use_d3d"] and poseaug["use_ba"]
        return cls(**values, placement=placement)
