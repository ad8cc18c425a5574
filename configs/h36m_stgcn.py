"""Human3.6M, estimator `stgcn`, the reference's settings (docs/reference.md §6.6).

    python train.py --config=configs/h36m_stgcn.py --config.data.dir=/path/to/h36m --workdir=runs/h36m_stgcn

Useful overrides: --config.data.keypoints=cpn_ft_h36m_dbb, --config.data.train_subjects=S1 (limited data),
--config.data.stride=10 (faster), --config.poseaug.feedback=paper, --config.data.mpi_3dhp=test_3dhp.npz.
Full schedule: many hours on a CPU; a GPU is recommended.
"""

import ml_collections

from configs import common


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    del arg
    c = common.base_config()
    c.model.name = "stgcn"
    # Pretraining uses the per-layer default dropouts, PoseAug dropout 0 (docs/reference.md §4.3).
    c.model.dropout_rate = -1.0
    return c
