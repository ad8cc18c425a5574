"""Defaults shared by every configuration: the reference's hyper-parameters (docs/reference.md §6.6).

Every field can be overridden on the command line, e.g. `--config.poseaug.epochs=10`.
"""

import math

import ml_collections
from ml_collections import config_dict


def base_config() -> ml_collections.ConfigDict:
    """The reference's settings for Human3.6M with VideoPose and ground-truth 2D."""
    c = ml_collections.ConfigDict()
    c.dataset = "h36m"  # "h36m" or "synthetic"
    c.seed = 0
    c.stage = "both"  # "pretrain", "poseaug" or "both"
    # Arms of the PoseAug stage, run in this order from the same baseline with the same schedule:
    # "control" (augmentation off), "poseaug" (the learned augmentor), "random" (non-learned placements).
    c.arms = "control,poseaug"
    c.distribute = "auto"  # "auto" (MirroredStrategy on >1 GPU, multi-worker with TF_CONFIG), "default"
    c.selection = "val"  # reported checkpoint: "val" (best validation MPJPE) or "last"; never a test set

    c.data = ml_collections.ConfigDict(
        dict(
            dir="data/h36m",  # Human3.6M npz files (see docs/data.md "Human3.6M")
            keypoints="gt",  # gt, cpn_ft_h36m_dbb, detectron_ft_h36m, hr, sh_pt_mpii
            stride=1,  # frame stride of the training subjects
            test_stride=1,  # frame stride of S9/S11
            train_subjects="S1,S5,S6,S7,S8",
            test_subjects="S9,S11",
            actions="*",  # comma-separated action names, "*" for all
            train_cameras="",  # cross-view protocol: training cameras (indices 0-3 or ids), "" for all;
            #   S9/S11 in the other cameras become the `h36m_cross_view` set
            holdout_actions="",  # cross-action protocol: actions removed from training, evaluated on S9/S11
            #   as the `h36m_cross_action` set (e.g. "Sitting,SittingDown,Photo")
            validation="tail",  # "tail" (last 10% of every sequence), "subject" or "random"
            validation_fraction=0.1,
            validation_subjects="",  # for validation="subject", e.g. "S8"
            cameras_json="",  # override of the built-in camera table
            cache_dir="",  # default ~/.cache/poseaug_tf or $POSEAUG_CACHE_DIR
            # MPI-INF-3DHP test set (`3dhp`, flip TTA, PCK/AUC on the standard 14 joints): the official folder
            # (TS<n>/annot_data.mat, valid frames) or an npz (PoseAug's test_3dhp.npz, SPIN's mpi_inf_3dhp_valid.npz)
            mpi_3dhp="",
            mpi_3dhp_pose3d="univ_annot3",  # official folder: "univ_annot3" (published tables) or "annot3"
            # Sequences whose unlabeled 2D is the adaptation target (builtin_target="3dhp", e.g. "TS5"); they are
            # removed from the `3dhp` test set, so that adaptation never sees an evaluated frame.
            mpi_3dhp_target="",
            # Another lab's motion capture through Human3.6M's cameras (`cross_lab`, poseaug_tf/data/cross_lab.py):
            # the Bandai Namco Research Motiondataset-1 folder; the test set is its evaluated half.
            cross_lab="",
            cross_lab_stride=4,  # every 4th frame of the 30 fps clips
            # What `target_2d="builtin"` means on Human3.6M (data/datasets.py BUILTIN_TARGET): "" for the
            # protocol's own shift (held-out cameras or eval_keypoints), "3dhp" or "cross_lab".
            builtin_target="",
            generic="",  # comma-separated name=path.npz test sets (docs/data.md "Generic test sets")
            synthetic_train=20000,  # synthetic dataset sizes
            synthetic_eval=4000,
            synthetic_target_eval=0,  # h36m runs: also evaluate on this many synthetic "wild" target samples
            # Unlabeled 2D of the camera to adapt to (docs/training.md "Adapting to your camera"): comma-separated
            # keypoint files in any layout/format the predict CLI reads, or "builtin": the protocols' own target
            # (data/datasets.py BUILTIN_TARGET). Read by poseaug.d2d_real and poseaug.align.
            target_2d="",
            target_layout="",  # layout of every target file ("" : from the file or its joint count)
            target_image_size="",  # WxH pixels of every target file ("": from the file)
            # Also evaluate S9/S11 with 2D from this detector (the `h36m_<name>` set, e.g. "sh_pt_mpii"): a lifter
            # trained on ground-truth 2D meets a detector's noise. With it, target_2d="builtin" is the training
            # subjects' 2D from the same detector.
            eval_keypoints="",
        )
    )
    c.model = ml_collections.ConfigDict(
        dict(
            name="videopose",  # videopose, mlp, semgcn (gcn), stgcn
            # None (unset) means the model's reference value for the three fields below.
            dropout_rate=config_dict.placeholder(float),  # ST-GCN: its per-layer rates, 0 in PoseAug
            num_stages=2,  # mlp only
            width=config_dict.placeholder(int),  # videopose/semgcn channels, mlp units; ST-GCN fixed
            num_blocks=config_dict.placeholder(int),  # videopose/semgcn residual blocks (mlp: num_stages)
            # "mixed_bfloat16": bf16 matmuls, float32 weights/losses; "auto": bf16 where the hardware has it.
            # float32 by default although bf16 is as accurate (docs/training.md "Precision"): the same digits
            # everywhere.
            precision="float32",
        )
    )
    c.pretrain = ml_collections.ConfigDict(
        dict(
            epochs=50,
            batch_size=1024,
            lr=1e-3,
            lr_decay_steps=100000,
            lr_decay_rate=0.96,
            clip_norm=1.0,
        )
    )
    c.poseaug = ml_collections.ConfigDict(
        dict(
            epochs=50,
            warmup=2,
            d_interval=2,
            batch_size=1024,
            lr_g=1e-4,
            lr_d=1e-4,
            lr_p=1e-4,
            # The generator step's loss weights and switches (GANSettings in training/gan.py reads them;
            # defaults are the reference's constants, docs/reference.md §5, §6.6, unless a line says otherwise).
            weight_d2d=1.0,
            weight_d3d=6.0,
            weight_diff=3.0,  # the feedback + regulariser term
            use_d2d=True,
            use_d3d=True,  # also off without BA: nothing for D3d to judge
            feedback="code",  # "code" (the released banded error ratios), "paper" (Eq. 9) or "none"
            ba_half_width=2.0,  # "code": band of the BA ratio around β (β itself: ba_center_*)
            rt_center=17.0,  # "code": band of the RT ratio
            rt_half_width=15.0,
            feedback_weight_ba=0.1,
            feedback_weight_rt=0.01,
            paper_feedback_weight=1.0,  # "paper"
            regularizer="code",  # "code" (two-sided BA band + BL rectified L2) or "paper" (rectified L2, Eq. 10)
            ba_range_center=0.205,  # "code": mean 1 − cos of the bone changes kept in [0.04, 0.37]
            ba_range_half_width=0.165,
            bl_limit=0.1,  # bone-length ratios beyond ±bl_limit are penalised (both regularisers)
            paper_ba_threshold=0.2,  # "paper"
            clip_norm=1.0,  # global gradient norm of the generator and discriminator steps
            # Filter of the augmented pairs the estimator sees: every normalised 2D coordinate within ±valid_bound
            # (two_sided_filter=False: only <= valid_bound, the reference's one-sided check, docs/reference.md §9.3).
            valid_bound=1.0,
            two_sided_filter=True,
            # D2d's real 2D: "replaced" (source poses at random placements; DEVIATION(docs/reference.md §1.11)),
            # "source" (the source poses' own projections, the reference), "target" (the unlabeled target 2D of
            # data.target_2d: the domain-adaptive discriminator) or "mix" (half of each batch target, half replaced).
            d2d_real="replaced",
            ba_center_start=3.0,
            ba_center_end=5.0,
            paper_beta_start=2.0,
            paper_beta_end=4.0,
            # BA is off by default: with the code's feedback and band it bends every bone by ≈ 40° and cost 25 mm on
            # the cross-view protocol (docs/results.md "What changed and why"); use_ba=True is the reference.
            use_ba=False,
            # BL is off by default (DEVIATION(docs/reference.md §2.3): the reference learns nine bone-length ratios
            # within ±20 %): on both real cross-dataset sets the default without it is better (docs/results.md
            # "Learned bone lengths"); use_bl=True is the reference and `poseaug_bl` in configs/arms.py.
            use_bl=False,
            use_rt=True,
            kcs="part",  # "part" (part-aware KCS) or "full" (whole-body KCS, Table 7)
            depth_guard="min_depth",  # "min_depth" or "reference" (t_z = raw², no guard)
            bl_swap=True,  # per-epoch bone-length swap of the GAN data (reference)
            # Per-limb probability that a GAN input pose takes that limb's joint angles from another training pose
            # (poseaug_tf/core/limb_swap.py; DEVIATION(docs/reference.md §6.2): the reference has no crossover;
            # configs/arms.py PLAIN: 0, off).
            limb_swap=0.5,
            # Body-size factor of every GAN pose, uniform in [1 − body_scale, 1 + body_scale], about the feet's
            # midpoint so that the person stays on the ground (DEVIATION(docs/reference.md §6.2): the reference's
            # only size change is the swap among the five training subjects; configs/arms.py PLAIN: 0, off).
            body_scale=0.1,
            # Length factor in [1 − proportions, 1 + proportions] of the bones whose length depends on where a lab
            # puts the joints (hip and shoulder width, Hip→Spine, Thorax→Head; pipeline.DEFINITION_GROUPS), drawn
            # per GAN pose (DEVIATION(docs/reference.md §6.2): not in the reference). 0: off.
            proportions=0.0,
            # Probability that a GAN pose is mirrored (x → −x in the camera frame, left and right swapped): the
            # mirrored motion (DEVIATION(docs/reference.md §6.2): not in the reference). 0: off.
            mirror=0.0,
            protect_estimator_bn=True,  # keep the estimator's BN statistics out of the GAN pass (False: reference)
            estimator_batches="mixed",  # "separate": a pass on the augmented pairs, then one on real (reference);
            #   "mixed": one pass whose batches mix real and augmented pairs;
            #   "added": two real passes, augmented pairs added to every batch
            augmented_fraction=0.25,  # "mixed": share of augmented pairs in each estimator batch
            augmented_per_real=1.0,  # "added": augmented pairs per real pair in each estimator batch
            rt_mode="bounded",  # "bounded" (placement ranges) or "reference" (any rotation, free translation)
            rt_anchor="noise",  # bounded RT: "noise" (uniform anchor from the branch noise + learned offset)
            #   or "none" (fully learned placement; collapses onto saturated values)
            rt_offset=0.25,  # bounded, anchored RT: largest learned offset, in unit parameters ([−1, 1])
            placement_margin=0.0,  # bounded RT / random arm: training depth and image-position ranges widened
            #   by this fraction of their width on each side
            # Bounded RT / random arm. The default turns the person in place and keeps the camera prior: any yaw
            # about the vertical, no pitch or roll (the source camera's elevation and roll), the root where the
            # source pose stands (position="source"). The previous default, pitch ±30°, roll ±10°, position="range"
            # (the root anywhere in the measured ranges), cost 5–11 % on the real cross-dataset sets (README,
            # "Placements that keep the camera prior"); configs/arms.py FREE restores it.
            yaw_limit_deg=180.0,
            pitch_limit_deg=0.0,
            roll_limit_deg=0.0,
            position="source",
            pool_size=4096,
            max_restarts=2,  # collapse / non-finite guard: rollbacks with a new seed
            min_valid_fraction=0.02,  # an epoch keeping fewer augmented samples than this has collapsed
            # Global position alignment: "target" draws the placements' image position and depth from the
            # target 2D of data.target_2d (poseaug_tf/core/alignment.py), "none" from the training poses' ranges.
            align="none",
            # Estimator to start from instead of this workdir's baseline: a .weights.h5 file, a training workdir
            # (its poseaug.weights.h5, else baseline.weights.h5; <workdir>:<model> picks one), an exported
            # version folder or a preset (docs/deployment.md "Pretrained presets").
            pretrained="",
        )
    )
    # Detector errors on the 2D the estimator trains on (poseaug_tf/core/keypoint_noise.py,
    # docs/detector_keypoints.md), drawn anew in every estimator step. Off by default: ground-truth-2D results stay
    # as they were.
    c.noise = ml_collections.ConfigDict(
        dict(
            model="none",  # "none", "generic" (PoseFix's scheme, no detector data) or "fitted"
            fit_keypoints="sh_pt_mpii",  # "fitted": the detector whose 2D of the training subjects is measured
            scale=1.0,  # factor on every displacement of the model
            fraction=1.0,  # share of the noised pairs that get the detector errors (the rest stay clean)
            missing_rate=0.0,  # added per-joint probability that a joint is missing (joint dropout)
            # The pairs that get noise: augmented pairs always; real pairs when "on", or with "auto" when their 2D
            # is ground truth (data.keypoints=gt): a detector's 2D already has its own errors.
            real="auto",
            # What D2d judges: "clean" 2D on both sides (the projections), or "noisy": both with this noise.
            d2d="clean",
        )
    )
    # missing_joints: also score every Human3.6M test set with this many random joints missing per frame
    # (comma-separated counts, e.g. "1,2"; the `<set>_miss<k>` sets, filled as the exported model fills them).
    c.eval = ml_collections.ConfigDict(dict(batch_size=4096, pck_joints="all", missing_joints=""))  # or "3dhp14"
    c.export = ml_collections.ConfigDict(dict(enabled=True, name="", tflite=True))
    c.figures = ml_collections.ConfigDict(dict(enabled=True, every=5))
    return c


DETECTORS = ("cpn_ft_h36m_dbb", "detectron_ft_h36m", "hr", "sh_pt_mpii")
KEYPOINTS = ("gt", *DETECTORS)
# Enumerated fields and their choices; `validate` rejects anything else before any data is loaded.
CHOICES = {
    "dataset": ("h36m", "synthetic"),
    "stage": ("pretrain", "poseaug", "both"),
    "distribute": ("auto", "default", "mirrored"),
    "selection": ("val", "last"),
    # "gt+<detector>": both sources, every training frame twice (mixed batches).
    "data.keypoints": (*KEYPOINTS, *(f"gt+{d}" for d in DETECTORS)),
    "data.eval_keypoints": ("", *KEYPOINTS),
    "data.validation": ("tail", "subject", "random"),
    "data.mpi_3dhp_pose3d": ("univ_annot3", "annot3"),
    "data.builtin_target": ("", "3dhp", "cross_lab"),
    "model.name": ("videopose", "mlp", "semgcn", "gcn", "stgcn"),
    "model.precision": ("float32", "mixed_bfloat16", "auto"),
    "poseaug.feedback": ("code", "paper", "none"),
    "poseaug.regularizer": ("code", "paper"),
    "poseaug.kcs": ("part", "full"),
    "poseaug.depth_guard": ("min_depth", "reference"),
    "poseaug.estimator_batches": ("separate", "mixed", "added"),
    "poseaug.rt_mode": ("reference", "bounded"),
    "poseaug.d2d_real": ("source", "replaced", "target", "mix"),
    "poseaug.rt_anchor": ("noise", "none"),
    "poseaug.align": ("none", "target"),
    "poseaug.position": ("range", "source"),
    "eval.pck_joints": ("all", "3dhp14"),
    "noise.model": ("none", "generic", "fitted"),
    "noise.fit_keypoints": DETECTORS,
    "noise.real": ("auto", "on", "off"),
    "noise.d2d": ("clean", "noisy"),
}
# The arms of the PoseAug stage. poseaug_tf/training/run_dir.py ARMS holds the same names for the library, which may
# not read the configs (nor the configs any training code: pyproject.toml's import contracts); a test keeps them equal.
ARM_NAMES = ("control", "poseaug", "random")
# Sizes that decide memory: a value beyond these is a typo (1e8 for 1e3), refused before any data is loaded
# instead of growing until the kernel kills the process. Human3.6M's full training set is 1.46M samples.
MAX_BATCH = 65536
MAX_SAMPLES = 2_000_000
# Numeric fields: (lowest, highest, bounds included); None for no upper bound. Every numeric field, listed here or
# not, must also be finite (`validate`).
RANGES = {
    "seed": (0, 2**31 - 1, True),
    "pretrain.lr_decay_steps": (1, None, True),
    "pretrain.lr_decay_rate": (0, 1, False),
    "pretrain.epochs": (1, None, True),
    "pretrain.batch_size": (1, MAX_BATCH, True),
    "pretrain.lr": (0, None, False),
    "pretrain.clip_norm": (0, None, False),
    "poseaug.epochs": (1, None, True),
    "poseaug.warmup": (0, None, True),
    "poseaug.d_interval": (1, None, True),
    "poseaug.batch_size": (2, MAX_BATCH, True),
    "poseaug.lr_g": (0, None, True),
    "poseaug.lr_d": (0, None, True),
    "poseaug.lr_p": (0, None, False),
    "poseaug.clip_norm": (0, None, False),
    "poseaug.augmented_fraction": (0, 1, False),
    "poseaug.placement_margin": (0, None, True),
    "poseaug.rt_offset": (0, 2, True),
    "poseaug.augmented_per_real": (0, None, False),
    "poseaug.yaw_limit_deg": (0, 180, True),
    "poseaug.pitch_limit_deg": (0, 180, True),
    "poseaug.roll_limit_deg": (0, 180, True),
    "poseaug.limb_swap": (0, 1, True),
    "poseaug.body_scale": (0, 0.5, True),  # factors stay positive
    "poseaug.proportions": (0, 0.9, True),
    "poseaug.mirror": (0, 1, True),
    "poseaug.pool_size": (1, MAX_SAMPLES, True),
    "poseaug.max_restarts": (0, None, True),
    "poseaug.min_valid_fraction": (0, 1, True),
    "poseaug.valid_bound": (0, None, False),
    "data.stride": (1, None, True),
    "data.test_stride": (1, None, True),
    "data.validation_fraction": (0, 1, False),
    "data.cross_lab_stride": (1, None, True),
    "data.synthetic_train": (1, MAX_SAMPLES, True),
    "data.synthetic_eval": (1, MAX_SAMPLES, True),
    "data.synthetic_target_eval": (0, MAX_SAMPLES, True),
    "eval.batch_size": (1, 1 << 20, True),
    "model.num_stages": (1, None, True),
    "noise.scale": (0, 10, True),
    "noise.missing_rate": (0, 0.5, True),
    "noise.fraction": (0, 1, True),
}


def _get(config: ml_collections.ConfigDict, path: str):
    node = config
    for key in path.split("."):
        node = node[key]
    return node


def _numeric_leaves(node: ml_collections.ConfigDict, prefix: str = ""):
    for key, value in node.items():
        if isinstance(value, ml_collections.ConfigDict):
            yield from _numeric_leaves(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}", value


def validate(config: ml_collections.ConfigDict) -> None:
    """Checks every enumerated field, numeric range and the arm list; raises ValueError naming the field.

    Raises:
      ValueError: one line naming the field, the value received and what is valid.
    """
    for path, value in _numeric_leaves(config):
        if not math.isfinite(value):
            raise ValueError(f"config.{path}: expected a finite number; received {value!r}.")
    for path, choices in CHOICES.items():
        value = _get(config, path)
        if value not in choices:
            raise ValueError(f"config.{path}: expected one of {', '.join(map(repr, choices))}; received {value!r}.")
    for path, (low, high, inclusive) in RANGES.items():
        value = _get(config, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"config.{path}: expected a number; received {value!r}.")
        outside = (
            (value < low or (high is not None and value > high))
            if inclusive
            else (value <= low or (high is not None and value >= high))
        )
        if outside or value != value:
            bound = f"{'>=' if inclusive else '>'} {low}" + (
                f" and {'<=' if inclusive else '<'} {high}" if high is not None else ""
            )
            raise ValueError(f"config.{path}: expected a value {bound}; received {value!r}.")
    model = config.model
    for field, ok, expected in (
        ("dropout_rate", lambda v: 0 <= v < 1, "a value in [0, 1)"),
        ("width", lambda v: v >= 1, "a value >= 1"),
        ("num_blocks", lambda v: v >= 0, "a value >= 0"),
    ):
        value = model[field]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value)):
            raise ValueError(
                f"config.model.{field}: expected {expected} (unset: the model's default); received {value!r}."
            )
    if model.num_blocks is not None and model.name in ("mlp", "stgcn"):
        use = "model.num_stages sets the depth of mlp" if model.name == "mlp" else "stgcn's depth is fixed"
        raise ValueError(
            f"config.model.num_blocks: expected it unset for {model.name} ({use}); received {model.num_blocks}."
        )
    if model.width is not None and model.name == "stgcn":
        raise ValueError(
            f"config.model.width: expected it unset for stgcn (its channel plan is fixed); received {model.width}."
        )
    missing = str(config.eval.missing_joints).strip()
    if missing and not all(k.strip().isdigit() and 1 <= int(k) < 16 for k in missing.split(",")):
        raise ValueError(
            f"config.eval.missing_joints: expected comma-separated joint counts in 1..15; received {missing!r}."
        )
    if config.noise.model == "fitted" and config.dataset != "h36m":
        raise ValueError(
            "config.noise.model: 'fitted' measures a detector on Human3.6M's training subjects; expected "
            f"dataset='h36m'; received {config.dataset!r} (use 'generic')."
        )
    arms = [a.strip() for a in str(config.arms).split(",") if a.strip()]
    if not arms or any(a not in ARM_NAMES for a in arms) or len(set(arms)) < len(arms):
        raise ValueError(f"config.arms: expected distinct names from {', '.join(ARM_NAMES)}; received {config.arms!r}.")
    a = config.poseaug
    needs_target = [
        f"poseaug.{k}={a[k]!r}"
        for k, off in (("d2d_real", ("source", "replaced")), ("align", ("none",)))
        if a[k] not in off
    ]
    if needs_target and not str(config.data.target_2d).strip():
        raise ValueError(
            f"config.data.target_2d: expected unlabeled target 2D files for {', '.join(needs_target)}; received none."
        )
    if a.align == "target" and a.position != "range":
        raise ValueError(
            "config.poseaug.position: align='target' draws positions from the target; expected 'range'; "
            f"received {a.position!r}."
        )
    if a.align == "target" and a.rt_mode != "bounded" and "poseaug" in arms:
        raise ValueError(
            "config.poseaug.align: 'target' places poses through the bounded RT; expected "
            f"poseaug.rt_mode='bounded'; received {a.rt_mode!r}."
        )
    if a.warmup >= a.epochs:
        raise ValueError(
            f"config.poseaug.warmup: expected fewer warm-up epochs than poseaug.epochs "
            f"({a.epochs}); received {a.warmup}."
        )
    if a.estimator_batches == "mixed" and not 1 <= round(a.batch_size * a.augmented_fraction) < a.batch_size:
        raise ValueError(
            f"config.poseaug.augmented_fraction: {a.augmented_fraction} of a batch of "
            f"{a.batch_size} leaves no real or no augmented sample."
        )
