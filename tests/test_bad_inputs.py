"""Malformed inputs to the four entry points (train.py, export.py, predict, visualize), one table.

Each case runs the real command as a fresh process would (forked from one that loaded TensorFlow once:
`tests/cli_runner.py`) and asserts what the README promises for a user error: exit
code 1, exactly one line on stderr naming the file or field and what was expected (besides the program's own INFO
and WARNING log records), no traceback, and nothing written or changed: every file under the case's folder and
the shared workdir is compared byte for byte before and after.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import stat
from collections.abc import Callable

import numpy as np
import pytest

from configs import common
from poseaug_tf.serving import export
from poseaug_tf.training import devices
from tests import cli_runner, fake_workdir

REPO = pathlib.Path(__file__).resolve().parents[1]
PROGRAMS = {
    "train": ["train.py"],
    "export": ["export.py"],
    "predict": ["-m", "poseaug_tf.cli.predict"],
    "visualize": ["-m", "poseaug_tf.cli.visualize"],
}
PREFIXES = {
    "train": "train.py: error: ",
    "export": "export.py: error: ",
    "predict": "predict: error: ",
    "visualize": "visualize: error: ",
}
SMOKE = ["--config=configs/synthetic.py:smoke", "--config.figures.enabled=false", "--config.export.enabled=false"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, pathlib.Path]:
    """A workdir with config, history, selections, an augmentor checkpoint and estimator weights; an exported
    SavedModel (with a float32 TFLite file) of that estimator; a valid COCO-17 keypoint file."""
    root = tmp_path_factory.mktemp("world")
    workdir = fake_workdir.make_fake_workdir(root / "run")
    config = common.base_config()
    config.model.name, config.model.width, config.model.num_stages = "mlp", 24, 1
    (workdir / "config.json").write_text(
        json.dumps({**json.loads((workdir / "config.json").read_text()), "model": config.model.to_dict()})
    )
    model = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug")
    for name in ("poseaug", "baseline"):
        model.save_weights(str(workdir / f"{name}.weights.h5"))
    model_dir = export.export_model(
        model, root / "models" / "m", tflite_variants=("float32",), sets=export.verification_sets(num_samples=64)
    )
    rng = np.random.default_rng(0)
    frames = [
        {
            "keypoints": np.concatenate(
                [rng.uniform([200, 100], [440, 400], (17, 2)), rng.uniform(0.6, 1.0, (17, 1))], -1
            ).tolist()
        }
        for _ in range(3)
    ]
    good = root / "good.json"
    good.write_text(json.dumps({"image_size": [640, 480], "layout": "coco17", "frames": frames}))
    return {"workdir": workdir, "model": model_dir, "good": good}


@dataclasses.dataclass(frozen=True)
class Case:
    """`args(case_dir, world)` builds the argv; `prepare(case_dir, world)` writes the bad input into case_dir."""

    id: str
    program: str
    args: Callable[[pathlib.Path, dict], list[str]]
    expect: str
    prepare: Callable[[pathlib.Path, dict], None] = lambda case, world: None


def _keypoints_doc(world, **changes) -> dict:
    doc = json.loads(world["good"].read_text())
    doc.update(changes)
    return doc


def write(name: str, content: bytes | str | dict | Callable) -> Callable[[pathlib.Path, dict], None]:
    """prepare(): writes `content` (bytes, text, a JSON document, or a function of the world giving one)."""

    def prepare(case: pathlib.Path, world: dict) -> None:
        value = content(world) if callable(content) else content
        path = case / name
        if isinstance(value, bytes):
            path.write_bytes(value)
        else:
            path.write_text(value if isinstance(value, str) else json.dumps(value))

    return prepare


def both(*steps):
    def prepare(case, world):
        for step in steps:
            step(case, world)

    return prepare


def copy_model(case: pathlib.Path, world: dict) -> None:
    shutil.copytree(world["model"], case / "m")


def copy_workdir(case: pathlib.Path, world: dict) -> None:
    shutil.copytree(world["workdir"], case / "run")


def truncate(name: str, keep: float = 0.5):
    def prepare(case, world):
        path = case / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return prepare


def variables_file(case: pathlib.Path) -> str:
    return str(next((case / "m" / "variables").glob("variables.data-*")).relative_to(case))


def truncate_variables(case, world):
    copy_model(case, world)
    truncate(variables_file(case))(case, world)


def unwritable(case: pathlib.Path) -> pathlib.Path:
    """A folder this process cannot write to: a read-only one of its own, or /sys for root (which ignores
    permissions; /sys refuses new entries even to root)."""
    return pathlib.Path("/sys") if os.geteuid() == 0 else case / "ro"


def make_unwritable(case: pathlib.Path, world: dict) -> None:
    if os.geteuid() != 0:
        (case / "ro").mkdir()
        (case / "ro").chmod(stat.S_IRUSR | stat.S_IXUSR)


def h36m_dir_with(content: bytes):
    def prepare(case, world):
        (case / "h36m").mkdir()
        (case / "h36m" / "data_3d_h36m.npz").write_bytes(content)

    return prepare


def predict(input_name="in.json", *extra, model=None, output="out.json"):
    def args(case, world):
        model_path = world["model"] if model is None else case / model
        input_path = world["good"] if input_name is None else case / input_name
        return ["--model", str(model_path), "--input", str(input_path), "--output", str(case / output), *extra]

    return args


def fixed(*argv):
    return lambda case, world: [a.format(case=case, **world) for a in argv]


def _npz(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


_COCO = np.random.default_rng(1).uniform(100, 400, (2, 17, 2))

CASES = [
    # predict: input files
    Case("predict-missing-input", "predict", predict("nope.json"), "nope.json: input file does not exist"),
    Case("predict-empty", "predict", predict(), "in.json: the file is empty", write("in.json", b"")),
    Case("predict-not-json", "predict", predict(), "in.json: not valid JSON", write("in.json", "{frames: [")),
    Case(
        "predict-json-no-frames",
        "predict",
        predict(),
        "in.json: expected key 'frames'",
        write("in.json", {"image_size": [640, 480]}),
    ),
    Case(
        "predict-14-keypoints",
        "predict",
        predict(),
        "in.json: cannot infer the layout of 14 keypoints",
        write("in.json", lambda w: _keypoints_doc(w, layout=None, frames=[{"keypoints": [[300, 200]] * 14}])),
    ),
    Case(
        "predict-unknown-layout-in-file",
        "predict",
        predict(),
        "in.json, field 'layout': unknown layout 'cocoa'",
        write("in.json", lambda w: _keypoints_doc(w, layout="cocoa")),
    ),
    Case(
        "predict-unknown-layout-flag",
        "predict",
        predict(None, "--layout", "coco18"),
        "--layout: unknown layout 'coco18'",
    ),
    Case(
        "predict-infinite",
        "predict",
        predict(),
        "in.json: frame 0, keypoint 0: non-finite coordinate",
        write(
            "in.json", '{"image_size": [640, 480], "frames": [{"keypoints": [[Infinity, 1]' + ", [1, 2]" * 16 + "]}]}"
        ),
    ),
    Case(
        "predict-string-coordinate",
        "predict",
        predict(),
        "in.json: frame 0, keypoint 0: expected a number",
        write("in.json", lambda w: _keypoints_doc(w, frames=[{"keypoints": [["1", 2]] * 17}])),
    ),
    Case(
        "predict-image-size-strings",
        "predict",
        predict(),
        "in.json: 'image_size' must be numbers",
        write("in.json", lambda w: _keypoints_doc(w, image_size=["640", "480"])),
    ),
    Case(
        "predict-image-size-huge",
        "predict",
        predict(),
        "image_size [width, height] of 1 to 100000 pixels",
        write("in.json", lambda w: _keypoints_doc(w, image_size=[1e30, 1e30])),
    ),
    Case(
        "predict-image-size-zero",
        "predict",
        predict(),
        "image_size [width, height] of 1 to 100000 pixels",
        write("in.json", lambda w: _keypoints_doc(w, image_size=[0, 0])),
    ),
    Case(
        "predict-image-size-flag",
        "predict",
        predict(None, "--image-size", "1920*1080"),
        "--image-size: expected WIDTHxHEIGHT",
    ),
    Case(
        "predict-no-image-size",
        "predict",
        predict(),
        "in.json: no image size",
        write("in.json", lambda w: {k: v for k, v in _keypoints_doc(w).items() if k != "image_size"}),
    ),
    Case(
        "predict-keypoints-outside",
        "predict",
        predict(),
        "lies far outside the 64x48 image",
        write("in.json", lambda w: _keypoints_doc(w, image_size=[64, 48])),
    ),
    Case("predict-low-confidence", "predict", predict(None, "--min-confidence", "0.99"), "good.json: frame 0"),
    Case(
        "predict-bad-min-confidence",
        "predict",
        predict(None, "--min-confidence", "7"),
        "--min-confidence: expected a score in [0, 1]",
    ),
    Case(
        "predict-binary-csv",
        "predict",
        predict("in.csv", "--image-size", "640x480"),
        "in.csv: not a text file",
        write("in.csv", bytes(range(256)) * 4),
    ),
    Case(
        "predict-csv-field",
        "predict",
        predict("in.csv", "--image-size", "640x480"),
        "in.csv: line 1 (frame 0), column 1: expected a number",
        write("in.csv", "1,x," + "1," * 49 + "1\n"),
    ),
    Case(
        "predict-csv-width",
        "predict",
        predict("in.csv", "--image-size", "640x480"),
        "in.csv: 7 values per frame",
        write("in.csv", "1,2,3,4,5,6,7\n"),
    ),
    Case(
        "predict-truncated-npz",
        "predict",
        predict("in.npz", "--image-size", "640x480"),
        "in.npz: not a readable npz file",
        both(write("in.npz", _npz(keypoints=_COCO)), truncate("in.npz")),
    ),
    Case(
        "predict-garbage-npz",
        "predict",
        predict("in.npz", "--image-size", "640x480"),
        "in.npz: not a readable npz file",
        write("in.npz", b"PK\x03\x04" + bytes(200)),
    ),
    Case(
        "predict-object-npz",
        "predict",
        predict("in.npz", "--image-size", "640x480"),
        "in.npz: not a readable npz file of plain arrays",
        write("in.npz", _npz(keypoints=np.array([{"a": 1}], dtype=object))),
    ),
    Case(
        "predict-npz-no-keypoints",
        "predict",
        predict("in.npz", "--image-size", "640x480"),
        "in.npz: expected array 'keypoints'",
        write("in.npz", _npz(points=_COCO)),
    ),
    Case(
        "predict-unknown-extension",
        "predict",
        predict("in.txt"),
        "in.txt: unknown extension '.txt'",
        write("in.txt", "1,2"),
    ),
    # predict: model and output paths
    Case("predict-missing-model", "predict", predict(None, model="nope"), "nope: expected a SavedModel folder"),
    Case(
        "predict-truncated-variables",
        "predict",
        predict(None, model="m"),
        "m: cannot load the SavedModel",
        truncate_variables,
    ),
    Case(
        "predict-garbage-tflite",
        "predict",
        predict(None, model="m.tflite"),
        "m.tflite: cannot load the TFLite",
        write("m.tflite", b"TFL3" + bytes(64)),
    ),
    Case(
        "predict-output-is-input",
        "predict",
        predict("in.json", output="in.json"),
        "is the input file",
        write("in.json", lambda w: _keypoints_doc(w)),
    ),
    Case("predict-output-extension", "predict", predict(None, output="out.txt"), "--output: expected a .json"),
    Case("predict-output-folder-missing", "predict", predict(None, output="no/out.json"), "does not exist"),
    Case(
        "predict-output-read-only",
        "predict",
        lambda case, world: predict(None)(case, world)[:-1] + [str(unwritable(case) / "out.json")],
        "is not writable",
        make_unwritable,
    ),
    # train.py
    Case(
        "train-misspelt-choice",
        "train",
        fixed(*SMOKE, "--config.poseaug.feedback=Code", "--workdir={case}/w"),
        "config.poseaug.feedback: expected one of 'code', 'paper', 'none'; received 'Code'",
    ),
    Case(
        "train-unknown-field",
        "train",
        fixed(*SMOKE, "--config.pretrain.foo=1", "--workdir={case}/w"),
        "unknown config field `config.pretrain.foo`",
    ),
    Case(
        "train-misspelt-section",
        "train",
        fixed(*SMOKE, "--config.pretrian.epochs=1", "--workdir={case}/w"),
        'unknown config field `config.pretrian.epochs`; Did you mean "pretrain" instead of "pretrian"?',
    ),
    Case(
        "train-infinite-rate",
        "train",
        fixed(*SMOKE, "--config.pretrain.lr=inf", "--workdir={case}/w"),
        "config.pretrain.lr: expected a finite number; received inf",
    ),
    Case(
        "train-nan-weight",
        "train",
        fixed(*SMOKE, "--config.poseaug.weight_d2d=nan", "--workdir={case}/w"),
        "config.poseaug.weight_d2d: expected a finite number; received nan",
    ),
    Case(
        "train-huge-synthetic-set",
        "train",
        fixed(*SMOKE, "--config.data.synthetic_train=2000000000", "--workdir={case}/w"),
        "config.data.synthetic_train: expected a value >= 1 and <= 2000000",
    ),
    Case(
        "train-unknown-camera",
        "train",
        fixed(
            "--config=configs/protocols.py:cross_view",
            "--config.data.dir={case}",
            "--config.data.train_cameras=5",
            "--workdir={case}/w",
        ),
        "config.data.train_cameras: Unknown Human3.6M camera '5'",
    ),
    Case(
        "train-unknown-estimator",
        "train",
        fixed("--config=configs/h36m.py:vidopose", "--workdir={case}/w"),
        "configs/h36m.py: expected an estimator from videopose, mlp, semgcn, stgcn; received 'vidopose'",
    ),
    Case(
        "train-out-of-range",
        "train",
        fixed(*SMOKE, "--config.pretrain.epochs=0", "--workdir={case}/w"),
        "config.pretrain.epochs: expected a value >= 1; received 0",
    ),
    Case(
        "train-unknown-arm",
        "train",
        fixed(*SMOKE, "--config.arms=contrl", "--workdir={case}/w"),
        "config.arms: expected distinct names from control, poseaug, random",
    ),
    Case(
        "train-missing-pretrained",
        "train",
        fixed(*SMOKE, "--config.poseaug.pretrained={case}/nope.weights.h5", "--workdir={case}/w"),
        "config.poseaug.pretrained: {case}/nope.weights.h5 does not exist",
    ),
    Case(
        "train-not-a-number",
        "train",
        fixed(*SMOKE, "--config.pretrain.lr=fast", "--workdir={case}/w"),
        "config.pretrain.lr",
    ),
    Case(
        "train-missing-config",
        "train",
        fixed("--config=configs/nope.py", "--workdir={case}/w"),
        "cannot load the config file of --config='configs/nope.py'",
    ),
    Case(
        "train-workdir-is-a-file",
        "train",
        fixed(*SMOKE, "--workdir={case}/w"),
        "w: the workdir is a file",
        write("w", "not a folder"),
    ),
    Case(
        "train-cache-dir-is-a-file",
        "train",
        fixed(
            "--config=configs/h36m.py:videopose",
            "--config.data.dir={case}/h36m",
            "--config.data.cache_dir={case}/cache",
            "--workdir={case}/w",
        ),
        "cache: the data cache folder (config.data.cache_dir or $POSEAUG_CACHE_DIR) is a file",
        both(write("cache", "x"), h36m_dir_with(b"x")),
    ),
    Case(
        "train-h36m-missing",
        "train",
        fixed("--config=configs/h36m.py:videopose", "--config.data.dir={case}/h36m", "--workdir={case}/w"),
        "h36m/data_3d_h36m.npz does not exist",
    ),
    Case(
        "train-h36m-corrupt",
        "train",
        fixed("--config=configs/h36m.py:videopose", "--config.data.dir={case}/h36m", "--workdir={case}/w"),
        "data_3d_h36m.npz: not a readable npz file",
        h36m_dir_with(b"PK\x03\x04" + bytes(100)),
    ),
    # export.py
    Case(
        "export-missing-workdir",
        "export",
        fixed("--workdir={case}/nope", "--output_root={case}/out"),
        "nope/config.json does not exist",
    ),
    Case(
        "export-truncated-weights",
        "export",
        fixed("--workdir={case}/run", "--output_root={case}/out"),
        "poseaug.weights.h5: cannot load the weights",
        both(copy_workdir, truncate("run/poseaug.weights.h5")),
    ),
    Case(
        "export-corrupt-config",
        "export",
        fixed("--workdir={case}/run", "--output_root={case}/out"),
        "run/config.json: not valid JSON",
        both(copy_workdir, write("run/config.json", "{")),
    ),
    Case(
        "export-config-without-model",
        "export",
        fixed("--workdir={case}/run", "--output_root={case}/out"),
        "run/config.json: no field 'model' for the model",
        both(copy_workdir, write("run/config.json", {"seed": 0})),
    ),
    Case(
        "export-read-only-root",
        "export",
        lambda case, world: [f"--workdir={world['workdir']}", f"--output_root={unwritable(case)}", "--tflite="],
        "cannot create or write the export folder",
        make_unwritable,
    ),
    Case(
        "export-bad-version",
        "export",
        fixed("--workdir={workdir}", "--output_root={case}/out", "--version=0"),
        "version: expected a positive integer; received 0",
    ),
    Case(
        "export-bad-variant",
        "export",
        fixed("--workdir={workdir}", "--output_root={case}/out", "--tflite=int4"),
        "tflite: expected variants from float32, float16, int8; received int4",
    ),
    Case(
        "export-existing-version",
        "export",
        fixed("--workdir={workdir}", "--output_root={case}", "--name=models", "--version=1", "--tflite="),
        "already exists; pass overwrite=True (--overwrite)",
        lambda case, world: shutil.copytree(world["model"], case / "models" / "1"),
    ),
    Case(
        "export-bad-name",
        "export",
        fixed("--workdir={workdir}", "--output_root={case}/out", "--name=a/b"),
        "name: expected a plain folder name",
    ),
    Case(
        "export-missing-h36m",
        "export",
        fixed("--workdir={workdir}", "--output_root={case}/out", "--tflite=", "--h36m_dir={case}/h36m"),
        "h36m/data_3d_h36m.npz does not exist",
    ),
    # visualize
    Case("visualize-missing-workdir", "visualize", fixed("--workdir={case}/nope"), "nope: not a training directory"),
    Case(
        "visualize-unknown-figure",
        "visualize",
        fixed("--workdir={case}/run", "--figures=curves"),
        "figures: unknown figure 'curves'",
        copy_workdir,
    ),
    Case(
        "visualize-workdir-is-a-file",
        "visualize",
        fixed("--workdir={case}/run"),
        "run: not a training directory",
        write("run", "x"),
    ),
    Case(
        "visualize-bad-epochs",
        "visualize",
        fixed("--workdir={workdir}", "--epochs=best"),
        "flag --epochs=best: value should be one of <selected|last>",
    ),
    Case(
        "visualize-unwritable-out-dir",
        "visualize",
        lambda case, world: [f"--workdir={world['workdir']}", f"--out_dir={unwritable(case) / 'figures'}"],
        "cannot create or write the figures folder",
        make_unwritable,
    ),
    Case(
        "visualize-corrupt-history",
        "visualize",
        fixed("--workdir={case}/run"),
        "run/history.json: not valid JSON",
        both(copy_workdir, write("run/history.json", "[{")),
    ),
]


# The programs' own progress records (absl INFO and WARNING lines) may precede the error line.


def snapshot(folder: pathlib.Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def test_the_table_is_large_and_covers_every_entry_point():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)
    assert {c.program for c in CASES} == set(PROGRAMS)


@pytest.fixture(scope="module")
def runner():
    runner = cli_runner.Runner(cwd=str(REPO))
    yield runner
    runner.close()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_ends_in_one_line_and_changes_nothing(case, world, runner, tmp_path):
    case.prepare(tmp_path, world)
    before = snapshot(tmp_path)
    world_before = snapshot(world["workdir"])
    done = runner.run(
        PROGRAMS[case.program],
        case.args(tmp_path, world),
        cwd=str(REPO),
        env={"POSEAUG_CACHE_DIR": str(tmp_path.parent / f"{tmp_path.name}-cache")},
    )
    # Progress lines may come first (the log's own lines, no absl prefix); the error is the one last line.
    output = [line for line in done.stderr.splitlines() if line.strip()]
    lines = [line for line in output if line.startswith(PREFIXES[case.program])]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and output[-1] == lines[0], done.stderr
    assert lines[0].startswith(PREFIXES[case.program]), lines[0]
    assert case.expect.format(case=tmp_path, **world) in lines[0], lines[0]
    assert snapshot(tmp_path) == before
    assert snapshot(world["workdir"]) == world_before
