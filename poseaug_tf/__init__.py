"""poseaug-tf: PoseAug (CVPR 2021) differentiable 3D human pose augmentation in TensorFlow / Keras 3.

from poseaug_tf import Lifter
lifter = Lifter.from_preset("presets/h36m_videopose")      # or Lifter.load("saved_models/demo/1")
pose_3d = lifter.lift_pixels(keypoints_px, image_size=(1920, 1080))
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy: importing the package (configs do) must not start TensorFlow.
    if name == "Lifter":
        from poseaug_tf.serving.inference import Lifter

        return Lifter
    raise AttributeError(f"module 'poseaug_tf' has no attribute {name!r}")
