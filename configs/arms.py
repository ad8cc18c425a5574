"""Arms of the experiment runner (experiments/run.py): config overrides applied to one protocol.

Every arm but `baseline` runs the PoseAug stage (`stage=poseaug`) from its seed's baseline weights with the
same learning rates, decay, warm-up, estimator steps and validation selection; only the overrides differ.
`baseline` is the pretrained model the other arms start from (pretraining is shared between the arms of a seed).

The `lever_*` arms are the README's lever study ("What changed and why", cross-view protocol, seed 0). Each one
spells out every setting the study varied, so that it means the same whatever the defaults of configs/common.py.
"""

BASELINE = "baseline"

# Body shape and motion variety (docs/results.md "Limb crossover and body size", "Learned bone lengths"): the defaults
# of configs/common.py are limb crossover at 0.5 per limb, body size ±10 % and no learned bone lengths. BL turns the
# learned bone lengths back on (every arm below run when they were the default spells it out); PLAIN is the default
# before crossover and size (both off, BL on), spelt out by every arm whose tables were run before they existed, so
# that each arm means what its table measured.
BL = {"poseaug.use_bl": True}
PLAIN = {"poseaug.limb_swap": 0.0, "poseaug.body_scale": 0.0, **BL}

# The settings of PoseAug as the official code trains it, for every change this project made to training.
REFERENCE = {
    **PLAIN,
    "poseaug.use_ba": True,
    "poseaug.rt_mode": "reference",
    "poseaug.d2d_real": "source",
    "poseaug.estimator_batches": "separate",
    "poseaug.protect_estimator_bn": False,
    "poseaug.depth_guard": "reference",
    "poseaug.two_sided_filter": False,
}


# Placements (docs/results.md "Placements that keep the camera prior"). TURN is the default of configs/common.py, spelt
# out: the person turns in place (any yaw about the vertical), the camera keeps its position, elevation and roll. YAW
# turns the person and moves it anywhere in the measured position ranges. FREE is the previous default: YAW plus a
# camera tilted anywhere within ±30° pitch and ±10° roll. The tables of the synthetic, cross-view, cross-action and S1
# protocols were run with FREE (the `*_free` arms).
TURN = {"poseaug.pitch_limit_deg": 0.0, "poseaug.roll_limit_deg": 0.0, "poseaug.position": "source"}
YAW = {"poseaug.pitch_limit_deg": 0.0, "poseaug.roll_limit_deg": 0.0, "poseaug.position": "range"}
FREE = {"poseaug.pitch_limit_deg": 30.0, "poseaug.roll_limit_deg": 10.0, "poseaug.position": "range"}

# Adaptation to the protocol's own unlabeled target 2D (training/datasets.py BUILTIN_TARGET): D2d's real samples
# are the target 2D; with ALIGN also the placements' positions and depths come from it (alignment.py).
TARGET = {"data.target_2d": "builtin", "poseaug.d2d_real": "target"}
ALIGN = {**TARGET, "poseaug.align": "target"}


def _lever(*, ba=False, rt="bounded", anchor="noise", d2d="replaced", batches="mixed", fraction=0.5, **extra):
    """A PoseAug arm of the lever study: the study's five levers, then any other override."""
    return {
        "arms": "poseaug",
        **FREE,
        **PLAIN,
        "poseaug.use_ba": ba,
        "poseaug.rt_mode": rt,
        "poseaug.rt_anchor": anchor,
        "poseaug.d2d_real": d2d,
        "poseaug.estimator_batches": batches,
        "poseaug.augmented_fraction": fraction,
        **extra,
    }


ARMS = {
    # The equal-schedule control: the PoseAug stage with augmentation off.
    "control": {"arms": "control"},
    # PoseAug with this project's defaults (configs/common.py), the previous default (learned bone lengths) and the
    # one before it (learned bone lengths, no crossover, no size).
    "poseaug": {"arms": "poseaug"},
    "poseaug_bl": {"arms": "poseaug", **BL},
    "poseaug_turn": {"arms": "poseaug", **PLAIN},
    "poseaug_free": {"arms": "poseaug", **FREE, **PLAIN},
    # The learned-BL default with the placement of its noise alone (no learned offset): what PoseAug learns is the
    # bone lengths.
    "poseaug_noise_rt": {"arms": "poseaug", "poseaug.rt_offset": 0.0, **BL},
    # The same with the paper's feedback (Eq. 9) and regulariser (Eq. 10).
    "poseaug_paper": {"arms": "poseaug", "poseaug.feedback": "paper", "poseaug.regularizer": "paper", **BL},
    "poseaug_paper_free": {
        "arms": "poseaug",
        "poseaug.feedback": "paper",
        "poseaug.regularizer": "paper",
        **FREE,
        **PLAIN,
    },
    # PoseAug as the official code trains it.
    "poseaug_reference": {"arms": "poseaug", **REFERENCE},
    # Non-learned augmentation with the same ingredients: bone-length swap, crossover, size and a uniform random
    # placement of the same kind.
    "random": {"arms": "random"},
    "random_turn": {"arms": "random", **PLAIN},
    "random_free": {"arms": "random", **FREE, **PLAIN},
    # Adaptation to the protocol's unlabeled target 2D (docs/training.md "Adapting to your camera"). `adapt` is the
    # default with target 2D (configs/adapt.py): this project's defaults, D2d's real samples from the target.
    # `random_adapt` is the non-learned arm given target information too (it has no discriminator to read the 2D,
    # so its placements draw positions and depths from the target: alignment.py). `adapt_bl` is the previous recipe
    # (learned bone lengths); `adapt_turn` and `random_adapt_yaw` are both without crossover and size (the recipe
    # before); `adapt_aligned` is `random_adapt_yaw`'s alignment with D2d. `adapt_free`, `adapt_d2d` and
    # `adapt_align` are the recipe before that and its halves, with the placement before that (FREE).
    "adapt": {"arms": "poseaug", **TARGET, **TURN},
    "adapt_bl": {"arms": "poseaug", **TARGET, **TURN, **BL},
    "random_adapt": {"arms": "random", "data.target_2d": "builtin", "poseaug.align": "target", **YAW},
    "adapt_turn": {"arms": "poseaug", **TARGET, **TURN, **PLAIN},
    "adapt_aligned": {"arms": "poseaug", **ALIGN, **YAW, **PLAIN},
    "random_adapt_yaw": {"arms": "random", "data.target_2d": "builtin", "poseaug.align": "target", **YAW, **PLAIN},
    "adapt_free": {"arms": "poseaug", **ALIGN, **FREE, **PLAIN},
    "adapt_d2d": {"arms": "poseaug", **TARGET, **FREE, **PLAIN},
    "adapt_align": {"arms": "poseaug", "data.target_2d": "builtin", "poseaug.align": "target", **FREE, **PLAIN},
    # The placement-axis study: one axis of the placement at a time, and body shape alone.
    "poseaug_yaw": {"arms": "poseaug", **YAW, **PLAIN},
    "random_yaw": {"arms": "random", **YAW, **PLAIN},
    "poseaug_no_rt": {"arms": "poseaug", "poseaug.use_rt": False, **PLAIN},
    "random_bl": {"arms": "random", **TURN, **PLAIN, "poseaug.yaw_limit_deg": 0.0},
    # The shape study, one ingredient at a time on top of the turn (and without it: `*_only`). Limb crossover
    # (poseaug.limb_swap): new combinations of recorded joint angles. Body size (poseaug.body_scale): people smaller
    # or larger than Human3.6M's five, at the same distance. Joint definitions (poseaug.proportions): hip and
    # shoulder widths, spine and neck lengths as other labs place those joints.
    "poseaug_limbs": {"arms": "poseaug", **PLAIN, "poseaug.limb_swap": 0.5},
    "random_limbs": {"arms": "random", **PLAIN, "poseaug.limb_swap": 0.5},
    "random_limbs_only": {"arms": "random", **TURN, **PLAIN, "poseaug.yaw_limit_deg": 0.0, "poseaug.limb_swap": 0.5},
    "poseaug_scale": {"arms": "poseaug", **PLAIN, "poseaug.body_scale": 0.1},
    "random_scale": {"arms": "random", **PLAIN, "poseaug.body_scale": 0.1},
    "random_scale_only": {"arms": "random", **TURN, **PLAIN, "poseaug.yaw_limit_deg": 0.0, "poseaug.body_scale": 0.1},
    "random_proportions": {"arms": "random", **PLAIN, "poseaug.proportions": 0.5},
    "random_proportions_only": {
        "arms": "random",
        **TURN,
        **PLAIN,
        "poseaug.yaw_limit_deg": 0.0,
        "poseaug.proportions": 0.5,
    },
    # Mirrored motions (poseaug.mirror) on top of the learned-BL default and of random.
    "poseaug_mirror": {"arms": "poseaug", "poseaug.mirror": 0.5, **BL},
    "random_mirror": {"arms": "random", "poseaug.mirror": 0.5},
    # Detector keypoints (experiments/detections.sh): D2d judging noisy 2D on both sides (noise.d2d).
    "poseaug_noisy_d2d": {"arms": "poseaug", "noise.d2d": "noisy", **PLAIN},
    # The lever study (one row of the README's table each).
    "lever_reference_ba": {
        "arms": "poseaug",
        **FREE,
        **PLAIN,
        "poseaug.use_ba": True,
        "poseaug.rt_mode": "reference",
        "poseaug.d2d_real": "source",
        "poseaug.estimator_batches": "separate",
        "poseaug.protect_estimator_bn": False,
    },
    "lever_free_source_d2d": _lever(ba=True, anchor="none", d2d="source"),
    "lever_free": _lever(ba=True, anchor="none"),
    "lever_anchored_ba": _lever(ba=True),
    "lever_anchored_weak_ba": _lever(ba=True, **{"poseaug.ba_range_center": 0.05, "poseaug.ba_range_half_width": 0.04}),
    "lever_anchored_ba_paper": _lever(ba=True, **{"poseaug.feedback": "paper", "poseaug.regularizer": "paper"}),
    "lever_anchored_ba_no_feedback": _lever(ba=True, **{"poseaug.feedback": "none"}),
    "lever_anchored": _lever(),
    "lever_anchored_no_feedback": _lever(**{"poseaug.feedback": "none"}),
    "lever_anchored_source_d2d": _lever(d2d="source"),
    "lever_anchored_separate": _lever(batches="separate"),
    "lever_anchored_added": _lever(batches="added"),
    "lever_anchored_quarter": _lever(fraction=0.25),
    "lever_anchored_quarter_margin": _lever(fraction=0.25, **{"poseaug.placement_margin": 0.5}),
    "lever_random_separate": {"arms": "random", **FREE, **PLAIN, "poseaug.estimator_batches": "separate"},
    "lever_random_mixed": {
        "arms": "random",
        **FREE,
        **PLAIN,
        "poseaug.estimator_batches": "mixed",
        "poseaug.augmented_fraction": 0.5,
    },
    "lever_random_added": {"arms": "random", **FREE, **PLAIN, "poseaug.estimator_batches": "added"},
    "lever_random_quarter": {
        "arms": "random",
        **FREE,
        **PLAIN,
        "poseaug.estimator_batches": "mixed",
        "poseaug.augmented_fraction": 0.25,
    },
    "lever_control_separate": {"arms": "control", "poseaug.estimator_batches": "separate"},
    "lever_control_added": {"arms": "control", "poseaug.estimator_batches": "added"},
}

DEFAULT_ARMS = ("baseline", "control", "poseaug", "poseaug_paper", "random")
