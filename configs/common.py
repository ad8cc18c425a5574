"""Defaults shared by every configuration: the reference's hyper-parameters (REFERENCE.md §6.6).

Every field can be overridden on the command line, e.g. `--config.poseaug.epochs=10`.
"""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """The reference's settings for Human3.6M with VideoPose and ground-truth 2D."""
    c = ml_collections.ConfigDict()
    c.dataset = "h36m"            # "h36m" or "synthetic"
    c.seed = 0
    c.stage = "both"              # "pretrain", "poseaug" or "both"
    c.distribute = "auto"         # "auto" (MirroredStrategy on >1 GPU, multi-worker with TF_CONFIG), "default"
    c.selection = "val"           # reported checkpoint: "val" (best validation MPJPE) or "last"; never a test set

    c.data = ml_collections.ConfigDict(dict(
        dir="data/h36m",           # Human3.6M npz files (see README "Data")
        keypoints="gt",            # gt, cpn_ft_h36m_dbb, detectron_ft_h36m, hr, sh_pt_mpii
        stride=1,                  # frame stride of the training subjects
        test_stride=1,             # frame stride of S9/S11
        train_subjects="S1,S5,S6,S7,S8",
        test_subjects="S9,S11",
        actions="*",               # comma-separated action names, "*" for all
        validation="tail",         # "tail" (last 10% of every sequence), "subject" or "random"
        validation_fraction=0.1,
        validation_subjects="",    # for validation="subject", e.g. "S8"
        cameras_json="",           # override of the built-in camera table
        cache_dir="",              # default ~/.cache/poseaug_tf or $POSEAUG_CACHE_DIR
        mpi_3dhp="",               # test_3dhp.npz or mpi_inf_3dhp_valid.npz; evaluated with flip TTA
        generic="",                # comma-separated name=path.npz test sets (README "Generic test sets")
        synthetic_train=20000,     # synthetic dataset sizes
        synthetic_eval=4000,
        synthetic_target_eval=0,   # h36m runs: also evaluate on this many synthetic "wild" target samples
    ))
    c.model = ml_collections.ConfigDict(dict(
        name="videopose",          # videopose, mlp, semgcn (gcn), stgcn
        dropout_rate=-1.0,         # < 0: the model's reference default
        num_stages=2,              # mlp only
        width=0,                   # 0: reference width (videopose/semgcn channels, mlp units); ST-GCN fixed
        num_blocks=0,              # 0: reference depth (videopose/semgcn residual blocks)
        precision="float32",       # or "mixed_bfloat16": bf16 matmuls, float32 weights/losses (≈1.7× on AVX512-BF16)
    ))
    c.pretrain = ml_collections.ConfigDict(dict(
        epochs=50, batch_size=1024, lr=1e-3, lr_decay_steps=100000, lr_decay_rate=0.96, clip_norm=1.0,
    ))
    c.poseaug = ml_collections.ConfigDict(dict(
        epochs=50, warmup=2, d_interval=2, batch_size=1024,
        lr_g=1e-4, lr_d=1e-4, lr_p=1e-4, clip_norm=1.0,
        feedback="code",           # "code" (released banded ratios), "paper" (Eq. 9) or "none"
        ba_center_start=3.0, ba_center_end=5.0, ba_half_width=2.0,
        rt_center=17.0, rt_half_width=15.0, feedback_weight_ba=0.1, feedback_weight_rt=0.01,
        paper_beta_start=2.0, paper_beta_end=4.0, paper_feedback_weight=1.0,
        regularizer="code",        # "code" (two-sided BA band + BL rectified L2) or "paper" (Eq. 10)
        ba_range_center=0.205, ba_range_half_width=0.165, bl_limit=0.1, paper_ba_threshold=0.2,
        weight_d2d=1.0, weight_d3d=6.0, weight_diff=3.0,
        use_ba=True, use_bl=True, use_rt=True, use_d2d=True, use_d3d=True,
        kcs="part",                # "part" (part-aware KCS) or "full" (whole-body KCS, Table 7)
        depth_guard="min_depth",   # "min_depth" or "reference" (t_z = raw², no guard)
        two_sided_filter=True,     # False: the reference's one-sided out-of-frame check
        bl_swap=True,              # per-epoch bone-length swap of the GAN data (reference)
        protect_estimator_bn=True, # keep the estimator's BN statistics out of the GAN pass (False: reference)
        pool_size=4096,
        max_restarts=2,            # collapse / non-finite guard: rollbacks with a new seed
        min_valid_fraction=0.02,   # an epoch keeping fewer augmented samples than this has collapsed
        pretrained="",             # estimator weights to start from instead of this workdir's baseline
    ))
    c.eval = ml_collections.ConfigDict(dict(batch_size=4096, pck_joints="all"))  # or "3dhp14"
    c.export = ml_collections.ConfigDict(dict(enabled=True, name="", tflite=True))
    c.figures = ml_collections.ConfigDict(dict(enabled=True, every=5))
    return c
