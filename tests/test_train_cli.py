"""train.py's config checks (every field before any data is loaded) and its one-line stop of a diverged run.

The command-line errors themselves are in tests/test_bad_inputs.py."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from configs import common, synthetic

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path, value, match",
    [
        ("selection", "bogus", "config.selection: expected one of 'val', 'last'"),
        ("eval.pck_joints", "bogus", "config.eval.pck_joints"),
        ("pretrain.epochs", 0, "config.pretrain.epochs: expected a value >= 1; received 0"),
        ("pretrain.lr", -1e-3, "config.pretrain.lr: expected a value > 0"),
        ("model.dropout_rate", 1.0, "config.model.dropout_rate"),
        ("poseaug.augmented_fraction", 1.0, "config.poseaug.augmented_fraction: expected a value > 0 and < 1"),
        ("poseaug.warmup", 12, "config.poseaug.warmup: expected fewer warm-up epochs"),
        ("data.stride", 0, "config.data.stride"),
        ("model.name", "stgcn", "config.model.num_blocks: expected it unset for stgcn"),
        ("model.width", 0, "config.model.width: expected a value >= 1"),
        (
            "poseaug.d2d_real",
            "target",
            "config.data.target_2d: expected unlabeled target 2D files for poseaug.d2d_real",
        ),
        ("poseaug.align", "target", "config.data.target_2d: expected unlabeled target 2D files for poseaug.align"),
        ("poseaug.align", "bogus", "config.poseaug.align: expected one of 'none', 'target'"),
        ("poseaug.position", "target", "config.poseaug.position: expected one of 'range', 'source'"),
        ("data.builtin_target", "3dpw", "config.data.builtin_target: expected one of '', '3dhp', 'cross_lab'"),
        ("data.mpi_3dhp_pose3d", "univ", "config.data.mpi_3dhp_pose3d"),
        ("data.cross_lab_stride", 0, "config.data.cross_lab_stride: expected a value >= 1"),
        ("poseaug.limb_swap", 1.5, "config.poseaug.limb_swap: expected a value >= 0 and <= 1; received 1.5"),
        ("poseaug.body_scale", 1.0, "config.poseaug.body_scale: expected a value >= 0 and <= 0.5; received 1.0"),
        # Non-finite values anywhere, and sizes far beyond any real run (typos), before any data is loaded.
        ("pretrain.lr", float("inf"), "config.pretrain.lr: expected a finite number; received inf"),
        ("poseaug.weight_d2d", float("nan"), "config.poseaug.weight_d2d: expected a finite number; received nan"),
        ("seed", -1, "config.seed: expected a value >= 0 and <= 2147483647; received -1"),
        ("pretrain.batch_size", 100_000_000, "config.pretrain.batch_size: expected a value >= 1 and <= 65536"),
        ("poseaug.batch_size", 100_000_000, "config.poseaug.batch_size: expected a value >= 2 and <= 65536"),
        ("poseaug.pool_size", 1_000_000_000, "config.poseaug.pool_size: expected a value >= 1 and <= 2000000"),
        ("pretrain.lr_decay_steps", 0, "config.pretrain.lr_decay_steps: expected a value >= 1; received 0"),
        ("data.synthetic_train", 2_000_000_000, "config.data.synthetic_train: expected a value >= 1 and <= 2000000"),
        # Detector keypoints.
        ("noise.model", "posefix", "config.noise.model: expected one of 'none', 'generic', 'fitted'"),
        ("noise.model", "fitted", "config.noise.model: 'fitted' measures a detector on Human3.6M"),
        ("noise.real", "yes", "config.noise.real: expected one of 'auto', 'on', 'off'"),
        ("noise.fit_keypoints", "gt", "config.noise.fit_keypoints: expected one of 'cpn_ft_h36m_dbb'"),
        ("noise.scale", float("inf"), "config.noise.scale: expected a finite number"),
        ("noise.scale", 20.0, "config.noise.scale: expected a value >= 0 and <= 10"),
        ("noise.missing_rate", 0.9, "config.noise.missing_rate: expected a value >= 0 and <= 0.5"),
        ("eval.missing_joints", "two", "config.eval.missing_joints: expected comma-separated joint counts"),
        ("eval.missing_joints", "1,16", "config.eval.missing_joints: expected comma-separated joint counts"),
        ("data.keypoints", "sh_pt_mpii+gt", "config.data.keypoints: expected one of 'gt'"),
    ],
)
def test_validate_names_the_field(path, value, match):
    config = synthetic.get_config()
    section, _, field = path.rpartition(".")
    (config[section] if section else config)[field] = value
    with pytest.raises(ValueError, match=match.replace("(", r"\(")):
        common.validate(config)


def test_alignment_needs_the_bounded_rt():
    config = synthetic.get_config()
    config.data.target_2d = "builtin"
    config.poseaug.update(align="target", rt_mode="reference", position="range")
    with pytest.raises(ValueError, match="config.poseaug.align: 'target' places poses through the bounded RT"):
        common.validate(config)
    config.arms = "control"  # nothing is placed: accepted
    common.validate(config)


def test_alignment_draws_positions_from_the_target_not_the_source():
    config = synthetic.get_config()
    config.data.target_2d = "builtin"
    config.poseaug.update(align="target", position="source")
    with pytest.raises(ValueError, match="config.poseaug.position: align='target' draws positions from the target"):
        common.validate(config)


def test_cross_dataset_protocols_share_standard_training():
    from configs import protocols

    standard, fold, lab = (protocols.get_config(name) for name in ("standard", "3dhp", "cross_lab"))
    for config in (fold, lab):
        common.validate(config)
        for section in ("pretrain", "poseaug", "model"):
            assert config[section].to_dict() == standard[section].to_dict()
        assert (config.data.dir, config.data.stride, config.seed) == (standard.data.dir, standard.data.stride, 0)
    assert (fold.data.builtin_target, fold.data.mpi_3dhp_target) == ("3dhp", "TS5")
    assert lab.data.builtin_target == "cross_lab" and lab.data.cross_lab.endswith("bandai_namco_motion")


def test_adapt_config_reuses_the_workdir_and_switches_adaptation_on(tmp_path):
    from configs import adapt

    saved = synthetic.get_config("smoke").to_dict()
    saved["model"]["width"] = 48
    saved["unknown_future_field"] = 1
    saved["poseaug"].update(limb_swap=0.0, body_scale=0.0, pitch_limit_deg=30.0, use_bl=True)  # trained otherwise
    (tmp_path / "config.json").write_text(__import__("json").dumps(saved))
    config = adapt.get_config(str(tmp_path))
    assert (config.dataset, config.model.name, config.model.width) == ("synthetic", "mlp", 48)
    assert (config.stage, config.arms, config.poseaug.pretrained) == ("poseaug", "poseaug", str(tmp_path))
    assert (config.poseaug.d2d_real, config.poseaug.align, config.poseaug.position) == ("target", "none", "source")
    # The recipe's placement and shape ingredients, whatever the source was trained with.
    recipe = config.poseaug
    assert (recipe.pitch_limit_deg, recipe.roll_limit_deg, recipe.limb_swap, recipe.body_scale) == (0.0, 0.0, 0.5, 0.1)
    assert not recipe.use_bl
    assert "unknown_future_field" not in config
    with pytest.raises(ValueError, match="config.data.target_2d: expected unlabeled target 2D"):
        common.validate(config)
    config.data.target_2d = "cam.json"
    common.validate(config)
    with pytest.raises(ValueError, match="expected a finished training workdir"):
        adapt.get_config(str(tmp_path / "missing"))


def test_mlp_depth_is_num_stages_and_stgcn_width_is_fixed():
    config = synthetic.get_config("smoke")
    config.model.num_blocks = 3
    with pytest.raises(ValueError, match=r"config.model.num_blocks: expected it unset for mlp \(model.num_stages"):
        common.validate(config)
    config.model.update(name="stgcn", num_blocks=None, width=64)
    with pytest.raises(ValueError, match=r"config.model.width: expected it unset for stgcn"):
        common.validate(config)


def test_every_shipped_config_is_valid():
    from configs import h36m

    common.validate(synthetic.get_config())
    for estimator in h36m.ESTIMATORS:
        config = h36m.get_config(estimator)
        common.validate(config)
        assert config.model.name == estimator
    assert h36m.get_config("").model.name == "videopose"
    common.validate(synthetic.get_config("smoke"))


@pytest.mark.slow
def test_a_diverging_pretraining_stops_in_one_line_and_keeps_its_workdir(tmp_path):
    workdir = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config=configs/synthetic.py:smoke",
            "--config.pretrain.lr=1e6",
            "--config.figures.enabled=false",
            f"--workdir={workdir}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.match(
        r"train\.py: error: training stopped: `\w+` became (nan|inf) at step \d+ \(pretrain 1/2, steps "
        r"\d+\.\.\d+\)\. The checkpoints",
        last,
    ), last
    assert f"kept in {workdir}." in last and (workdir / "config.json").is_file()


@pytest.mark.slow
def test_a_run_without_poseaug_exports_the_arm_it_trained(tmp_path):
    """`--config.arms=control,random` (the README's non-learned recipe) ends with the random arm's export."""
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "train.py"),
            f"--config={REPO / 'configs/synthetic.py'}:smoke",
            "--config.arms=random",
            "--config.export.enabled=true",
            "--config.export.tflite=false",
            "--config.figures.enabled=false",
            f"--workdir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,  # saved_models/ lands here
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Exported the random estimator: saved_models/run/1" in done.stdout
    metadata = (tmp_path / "saved_models/run/1/assets").glob("*.json")
    assert any("random.weights.h5" in path.read_text() for path in metadata)
