"""The models a run reports: the pretrained baseline, then the arms of the PoseAug stage (training/poseaug.py).

(configs/arms.py is something else: the experiment runner's named override sets.)
"""

ARMS = ("control", "poseaug", "random")
MODELS = ("baseline", *ARMS)
