"""Data loading: Human3.6M, MPI-INF-3DHP, generic npz test sets, synthetic poses and tf.data pipelines.

Every loader returns a `PoseSet` (NumPy arrays, see pose_set.py); `pipeline` turns one into a tf.data.Dataset.
"""

from poseaug_tf.data.generic import load_generic
from poseaug_tf.data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, load_h36m
from poseaug_tf.data.mpi_3dhp import load_3dhp
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError, PoseSet, split_validation
from poseaug_tf.data.synthetic import make_synthetic

__all__ = [
    "DataFileNotFoundError",
    "DataFormatError",
    "PoseSet",
    "TEST_SUBJECTS",
    "TRAIN_SUBJECTS",
    "load_3dhp",
    "load_generic",
    "load_h36m",
    "make_synthetic",
    "split_validation",
]
