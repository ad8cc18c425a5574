"""Adapt a trained lifter to your camera: PoseAug with unlabeled 2D keypoints of that camera.

    python train.py --config=configs/adapt.py:runs/synthetic --config.data.target_2d=my_camera.json \\
        --workdir=runs/adapted
    python train.py --config=configs/adapt.py:saved_models/synthetic/1 --config.data.target_2d=my_camera.json \\
        --workdir=runs/adapted

The argument is a finished training workdir or an exported version folder: the run reuses its training config
(config.json, or the export's metadata: model, source data, schedule) and starts from its estimator (a workdir's
`poseaug`, else `baseline`, `<workdir>:<model>` picks one; the export's own weights). It then runs the
PoseAug stage with the domain-adaptive discriminator (D2d's real samples are the target 2D), the default limb
crossover and body size without learned bone lengths, and the default placement (the person turns in place);
`--config.poseaug.align=target --config.poseaug.position=range` adds global position alignment (placements follow
where the target camera sees people). The reported model is selected on the
source validation split, as in training: no target 3D is needed or read. Export as usual:
`python export.py --workdir=runs/adapted`.
"""

import json
import pathlib

import ml_collections

from configs import common
from poseaug_tf.serving.contract import METADATA_FILENAME

# Fields of config.poseaug the recipe takes from configs/common.py: no position alignment, the person turns in place,
# limb crossover and body size, no learned bone lengths.
RECIPE_DEFAULTS = ("align", "position", "pitch_limit_deg", "roll_limit_deg", "limb_swap", "body_scale", "use_bl")


def _update(config: ml_collections.ConfigDict, saved: dict) -> None:
    """Copies the saved values of the fields this version knows (a newer field keeps its default)."""
    for key, value in saved.items():
        if key not in config:
            continue
        if isinstance(config[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _update(config[key], value)
        else:
            config[key] = value


def _saved_config(arg: str) -> dict:
    start = pathlib.Path(arg.rpartition(":")[0] if ":" in arg else arg)
    exported = start / "assets" / METADATA_FILENAME
    if exported.is_file():
        saved = json.loads(exported.read_text()).get("training_config")
        if not saved:
            raise ValueError(f"configs/adapt.py:{arg}: {exported} records no training config to adapt with.")
        return saved
    if not arg or not (start / "config.json").is_file():
        raise ValueError(
            f"configs/adapt.py:{arg}: expected a finished training workdir or an exported version folder after "
            f"the colon; {start / 'config.json'} does not exist."
        )
    return json.loads((start / "config.json").read_text())


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    c = common.base_config()
    # The recipe keeps this version's placement and shape defaults, whatever the source model was trained with.
    recipe = {key: c.poseaug[key] for key in RECIPE_DEFAULTS}
    _update(c, _saved_config(arg))
    c.stage = "poseaug"
    c.arms = "poseaug"
    c.poseaug.pretrained = arg
    # The "with target 2D" recipe (docs/training.md "Adapting to your camera"; configs/arms.py `adapt`): D2d learns the
    # target's 2D; the placement keeps the camera prior (the person turns in place). For a camera that frames people
    # very differently (far away, anywhere in a wide frame) add --config.poseaug.align=target
    # --config.poseaug.position=range (`adapt_aligned` measured that without crossover and size).
    c.poseaug.update(d2d_real="target", **recipe)
    return c
