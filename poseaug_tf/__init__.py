"""poseaug-tf: PoseAug (CVPR 2021) differentiable 3D human pose augmentation in TensorFlow / Keras 3."""

__version__ = "0.1.0"
