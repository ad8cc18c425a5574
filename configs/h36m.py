"""Human3.6M with the reference's settings (docs/reference.md §6.6), for one estimator per config argument.

    python train.py --config=configs/h36m.py:videopose --config.data.dir=/path/to/h36m --workdir=runs/h36m_vp
    python train.py --config=configs/h36m.py:semgcn --config.data.dir=/path/to/h36m    # also :mlp, :stgcn

Useful overrides: --config.data.keypoints=cpn_ft_h36m_dbb, --config.data.train_subjects=S1 (limited data),
--config.data.stride=10 (faster), --config.poseaug.feedback=paper, --config.data.mpi_3dhp=test_3dhp.npz.

Runtime on a 2-core CPU (README, Measured performance): one PoseAug epoch on all 1.3M training samples takes
about 20 minutes, so the full schedule (50 pretraining + 50 PoseAug epochs) takes about a day; a GPU is
recommended, or --config.data.stride=10 for a tenth of that. Expected S9/S11 MPJPE with GT 2D (the paper's
Table 4, without → with PoseAug; test-set-selected epochs, which this project does not do): VideoPose 41.8 →
38.2 mm, SimpleBaseline (mlp) 43.3 → 39.4, SemGCN 44.4 → 41.5, ST-GCN 41.7 → 36.9.
"""

import ml_collections

from configs import common

# The reference's per-estimator differences from common.base_config(); every other field is the default there.
ESTIMATORS = {
    "videopose": {},
    "mlp": {"model.dropout_rate": 0.25},
    "semgcn": {"model.dropout_rate": 0.0, "pretrain.lr": 2e-2, "pretrain.epochs": 100, "poseaug.lr_p": 1e-3},
    # Pretraining with the per-layer default dropouts, PoseAug with dropout 0 (docs/reference.md §4.3).
    "stgcn": {},
}


def get_config(arg: str = "videopose") -> ml_collections.ConfigDict:
    """The config of estimator `arg` (a key of ESTIMATORS)."""
    estimator = arg or "videopose"
    if estimator not in ESTIMATORS:
        raise ValueError(f"configs/h36m.py: expected an estimator from {', '.join(ESTIMATORS)}; received {arg!r}.")
    c = common.base_config()
    c.model.name = estimator
    for path, value in ESTIMATORS[estimator].items():
        section, field = path.split(".")
        c[section][field] = value
    return c
