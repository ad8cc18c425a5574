"""Human3.6M, estimator `semgcn`, the reference's settings (docs/reference.md §6.6).

    python train.py --config=configs/h36m_semgcn.py --config.data.dir=/path/to/h36m --workdir=runs/h36m_semgcn

Useful overrides: --config.data.keypoints=cpn_ft_h36m_dbb, --config.data.train_subjects=S1 (limited data),
--config.data.stride=10 (faster), --config.poseaug.feedback=paper, --config.data.mpi_3dhp=test_3dhp.npz.
Full schedule: many hours on a CPU; a GPU is recommended.
"""

import ml_collections

from configs import common


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    del arg
    c = common.base_config()
    c.model.name = "semgcn"
    c.pretrain.lr = 2e-2
    c.pretrain.epochs = 100
    c.poseaug.lr_p = 1e-3
    c.model.dropout_rate = 0.0
    return c
