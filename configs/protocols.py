"""Generalisation protocols: one training distribution, an in-domain test and a shifted test, sized for a CPU.

    python train.py --config=configs/protocols.py:cross_view --workdir=runs/cross_view      # one run
    python experiments/run.py --protocol=cross_view --seeds=0,1,2                           # arms × seeds

Protocols (Human3.6M from `data.dir`, default ../shared/data/h36m; GT 2D; models selected on the held-out tail
of the training recordings, never on a test set):

  standard      S1,S5-S8 → S9,S11 (`h36m`), the synthetic "wild" split (`synthetic_target`) and, when their folders
                are in ../shared/data, the two real cross-dataset sets: MPI-INF-3DHP's test sequences (`3dhp`) and
                another lab's motion capture through Human3.6M's cameras (`cross_lab`, its evaluated half).
  3dhp          `standard`'s training and sets; the builtin adaptation target is the 2D of the 3DHP sequences in
                data.mpi_3dhp_target (default TS5), which leave the `3dhp` test set (TS6 is evaluated). Run it
                again with --set=data.mpi_3dhp_target=TS6 for the other fold (docs/results.md "The real
                cross-dataset protocols").
  cross_lab     `standard`'s training and sets; the builtin adaptation target is the 2D of cross_lab's unlabeled
                half (other clips and motions than the evaluated half).
  cross_view    cameras 0 and 2 (one side of the room: most subjects are seen from behind) → S9,S11 in
                cameras 0,2 (`h36m`) and in the unseen cameras 1 and 3 (`h36m_cross_view`, mostly frontal).
  cross_action  all actions but Sitting, SittingDown and Photo → S9,S11 other actions (`h36m`) and the
                held-out ones (`h36m_cross_action`).
  s1            S1 only (limited data, paper Fig. 6) → S9,S11 (`h36m`).
  detections    trained on ground-truth 2D → S9,S11 with ground-truth 2D (`h36m`) and with the Stacked-Hourglass
                detections (`h36m_sh_pt_mpii`, real detector output, a median 9 px from the truth).
  synthetic     the main job (configs/synthetic.py): synthetic lab → held-out lab and the "wild" split.

Unlabeled target 2D of the adaptation arms (`data.target_2d="builtin"`, configs/arms.py `adapt*`): synthetic,
the target split's "train" stream (the evaluated one is "eval"); cross_view, the training subjects in cameras
1 and 3; detections, the training subjects' Stacked-Hourglass detections; 3dhp, the other fold's sequences;
cross_lab, the unlabeled half. Never S9/S11, never an evaluated frame.

Sizes (a VideoPose of 2 blocks × 512 channels, 1.1M parameters; frame strides below) keep a grid of 5 arms ×
3 seeds under an hour on 2 CPU cores. Append ",smoke" for a seconds-long run on synthetic data (tests).
"""

import os

import ml_collections

from configs import common, synthetic

PROTOCOLS = ("standard", "3dhp", "cross_lab", "cross_view", "cross_action", "s1", "detections", "synthetic")
HOLDOUT_ACTIONS = "Sitting,SittingDown,Photo"
SHARED_DATA = "../shared/data"
MPI_3DHP_DIR = f"{SHARED_DATA}/mpi_inf_3dhp_test"
CROSS_LAB_DIR = f"{SHARED_DATA}/bandai_namco_motion"


def _h36m(c: ml_collections.ConfigDict) -> None:
    c.dataset = "h36m"
    c.data.dir = f"{SHARED_DATA}/h36m"
    c.data.stride = 20
    c.data.test_stride = 10
    c.model.name = "videopose"
    c.model.width = 512
    c.model.num_blocks = 2
    c.pretrain.epochs = 30
    c.pretrain.batch_size = 256
    c.poseaug.epochs = 10
    c.figures.enabled = False
    c.export.enabled = False


def get_config(arg: str = "standard") -> ml_collections.ConfigDict:
    name, *flags = arg.split(",")
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {name!r}; valid: {', '.join(PROTOCOLS)}.")
    if name == "synthetic" or "smoke" in flags:
        c = synthetic.get_config(",".join(flags))
        c.figures.enabled = False
        c.export.enabled = False
        c.protocol = name
        return c
    c = common.base_config()
    c.protocol = name
    _h36m(c)
    if name in ("standard", "3dhp", "cross_lab"):
        c.data.synthetic_target_eval = 4096
        # The cross-dataset sets join `standard` when present, so one grid scores every arm on all of them.
        c.data.mpi_3dhp = MPI_3DHP_DIR if name == "3dhp" or os.path.isdir(MPI_3DHP_DIR) else ""
        c.data.cross_lab = CROSS_LAB_DIR if name == "cross_lab" or os.path.isdir(CROSS_LAB_DIR) else ""
        if name == "3dhp":
            c.data.builtin_target = "3dhp"
            c.data.mpi_3dhp_target = "TS5"
        elif name == "cross_lab":
            c.data.builtin_target = "cross_lab"
    elif name == "cross_view":
        c.data.train_cameras = "0,2"
        c.data.stride = 10
    elif name == "cross_action":
        c.data.holdout_actions = HOLDOUT_ACTIONS
    elif name == "detections":
        c.data.eval_keypoints = "sh_pt_mpii"
    elif name == "s1":
        c.data.train_subjects = "S1"
        c.data.stride = 5
    return c
