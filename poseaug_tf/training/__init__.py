"""Training: compiled steps, the pretraining and PoseAug stages, checkpoints and reports."""
