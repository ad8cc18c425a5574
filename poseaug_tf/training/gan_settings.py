"""The loss weights and switches of the PoseAug steps: one frozen dataclass, the only source of their defaults.

`configs/common.py` builds the matching fields of `config.poseaug` from `GANSettings.config_fields()`, and
`GANSettings.from_config(config.poseaug)` reads them back, failing on a missing field (e.g. a config.json of
an older version). The defaults are the reference's constants (docs/reference.md §5, §6.6) except where a
field says otherwise. No TensorFlow here: configs import this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poseaug_tf.placement import Placement

FEEDBACKS = ("code", "paper", "none")
REGULARIZERS = ("code", "paper")
D2D_REAL = ("source", "replaced", "target", "mix")


@dataclasses.dataclass(frozen=True)
class GANSettings:
    """Hyper-parameters of the generator and discriminator steps (training/steps.py)."""

    # Generator loss: weights of the 2D and 3D adversarial terms and of the feedback + regulariser term.
    weight_d2d: float = 1.0
    weight_d3d: float = 6.0
    weight_diff: float = 3.0
    use_d2d: bool = True
    use_d3d: bool = True  # from_config also turns it off without BA (nothing for D3d to judge)
    # Feedback: "code" (the released banded error ratios), "paper" (Eq. 9) or "none".
    feedback: str = "code"
    ba_half_width: float = 2.0  # "code": band of the BA ratio around β (β itself: poseaug.ba_center_*)
    rt_center: float = 17.0  # "code": band of the RT ratio
    rt_half_width: float = 15.0
    feedback_weight_ba: float = 0.1
    feedback_weight_rt: float = 0.01
    paper_feedback_weight: float = 1.0  # "paper"
    # Regulariser: "code" (two-sided BA band + BL rectified L2) or "paper" (rectified L2 of Eq. 10).
    regularizer: str = "code"
    ba_range_center: float = 0.205  # "code": mean 1 − cos of the bone changes kept in [0.04, 0.37]
    ba_range_half_width: float = 0.165
    bl_limit: float = 0.1  # bone-length ratios beyond ±bl_limit are penalised (both regularisers)
    paper_ba_threshold: float = 0.2  # "paper"
    clip_norm: float = 1.0  # global gradient norm of the generator and discriminator steps
    # Filter of the augmented pairs the estimator sees: every normalised 2D coordinate within ±valid_bound
    # (two-sided; False: only <= valid_bound, the reference's one-sided check, docs/reference.md §9.3).
    valid_bound: float = 1.0
    two_sided_filter: bool = True
    # D2d's real 2D: "replaced" (source poses at random placements; DEVIATION(docs/reference.md §1.11)),
    # "source" (the source poses' own projections, the reference), "target" (the unlabeled target 2D of
    # `data.target_2d`: the domain-adaptive discriminator) or "mix" (half of each batch target, half replaced).
    d2d_real: str = "replaced"
    placement: Placement | None = None  # the ranges of d2d_real="replaced"; measured, not a config field

    @classmethod
    def config_fields(cls) -> dict[str, Any]:
        """{field: default} of every field that is also a `config.poseaug` field."""
        return {f.name: f.default for f in dataclasses.fields(cls) if f.name != "placement"}

    @classmethod
    def from_config(cls, poseaug: Mapping[str, Any], placement: Placement | None = None) -> GANSettings:
        """The settings of a `config.poseaug` section (which holds other fields too).

        Raises:
          ValueError: a field of `config_fields()` is missing from the section.
        """
        names = cls.config_fields()
        missing = [name for name in names if name not in poseaug]
        if missing:
            raise ValueError(f"config.poseaug: missing {', '.join(missing)}; expected every GANSettings field.")
        values = {name: poseaug[name] for name in names}
        # DEVIATION(docs/reference.md §3.1) with use_ba=False (default): D3d judges the BA pose, which without BA
        # is the source pose itself: nothing for it to learn or to teach the generator, so it is not run.
        values["use_d3d"] = values["use_d3d"] and poseaug["use_ba"]
        return cls(**values, placement=placement)
