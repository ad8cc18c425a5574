"""Peak memory and wall time of one real full-data PoseAug epoch on Human3.6M, end to end through train.py.

    .venv/bin/python bench/bench_full_epoch.py [--precision=float32] [--stride=1] [--pretrained=baseline.weights.h5]

Runs `train.py --config=configs/h36m.py:videopose --config.stage=poseaug` for one epoch with no warm-up, so the
epoch has the GAN pass with feedback and the estimator passes over the augmented buffer and the real data
plus the epoch-0 and epoch-1 evaluations of the 520k-sample S9/S11 test set. The child's resident memory is
sampled from /proc every 0.5 s; pass times come from the run's history.json. Without `--pretrained` the
estimator starts from its random initialisation (same cost; the augmentations' valid fraction may differ).
Uses ../shared/data/h36m (or --h36m_dir) and prints a Markdown table, with the machine's matmul ceilings measured
just before and after (the speed of a shared machine drifts). Takes ≈ 25–35 min at stride 1.
"""

import json
import pathlib
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
FLAGS = flags.FLAGS
flags.DEFINE_enum("precision", "float32", ["float32", "mixed_bfloat16"], "Estimator precision.")
flags.DEFINE_integer("stride", 1, "Frame stride of the training and test subjects.")
flags.DEFINE_string("pretrained", "", "Estimator weights to start from (default: random initialisation).")
flags.DEFINE_string("h36m_dir", str(REPO.parent / "shared/data/h36m"), "Human3.6M folder.")
flags.DEFINE_string("workdir", "", "Run folder (default: a temporary folder, deleted afterwards).")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (FileNotFoundError, StopIteration, ProcessLookupError):
        return 0


def _random_init_weights(path: pathlib.Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from poseaug_tf.infra.runtime import import_tensorflow_quietly; import_tensorflow_quietly();"
        "from configs import h36m; from poseaug_tf.training import devices;"
        "c = h36m.get_config('videopose');"
        "devices.configured_estimator(c, synchronized_bn=False, stage='poseaug').save_weights(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(REPO)], check=True)


def _ceilings() -> str:
    """This machine's float32 and bfloat16 `tf.matmul` ceilings now (bench/roofline.py), measured in a separate
    process so that the timed run's memory and threads are its own."""
    code = (
        "import statistics, sys; sys.path.insert(0, sys.argv[1]);"
        "from poseaug_tf.infra.runtime import import_tensorflow_quietly; tf = import_tensorflow_quietly();"
        "import roofline;"
        "print(', '.join(f'{d.name} {statistics.median(p() for _ in range(5)):,.0f} GFLOP/s' for d in"
        " (tf.float32, tf.bfloat16) for p in [roofline.ceiling_probe(d)]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "bench")], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def main(argv):
    del argv
    if not (pathlib.Path(FLAGS.h36m_dir) / "data_3d_h36m.npz").exists():
        sys.exit(f"No Human3.6M data at {FLAGS.h36m_dir} (--h36m_dir).")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(FLAGS.workdir or pathlib.Path(tmp) / "run")
        pretrained = FLAGS.pretrained
        if not pretrained:
            pretrained = str(pathlib.Path(tmp) / "init.weights.h5")
            _random_init_weights(pathlib.Path(pretrained))
        cmd = [
            sys.executable,
            str(REPO / "train.py"),
            "--config=" + str(REPO / "configs/h36m.py:videopose"),
            f"--config.data.dir={FLAGS.h36m_dir}",
            f"--config.data.stride={FLAGS.stride}",
            f"--config.data.test_stride={FLAGS.stride}",
            "--config.stage=poseaug",
            f"--config.poseaug.pretrained={pretrained}",
            "--config.poseaug.epochs=1",
            "--config.poseaug.warmup=0",
            f"--config.model.precision={FLAGS.precision}",
            "--config.figures.enabled=false",
            "--config.export.enabled=false",
            f"--workdir={workdir}",
        ]
        print("$ " + " ".join(cmd), flush=True)
        ceilings_before = _ceilings()
        start = time.perf_counter()
        log = open(pathlib.Path(tmp) / "train.log", "w")
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        peak, peak_at = 0, 0.0
        while child.poll() is None:
            rss = _rss_kb(child.pid)
            if rss > peak:
                peak, peak_at = rss, time.perf_counter() - start
            time.sleep(0.5)
        wall = time.perf_counter() - start
        log.close()
        if child.returncode:
            print((pathlib.Path(tmp) / "train.log").read_text()[-3000:])
            sys.exit(f"train.py failed with exit code {child.returncode}.")
        record = json.loads((workdir / "history.json").read_text())[-1]["train"]
        ceilings_after = _ceilings()
    gan = record["seconds"]
    # The estimator passes: one over mixed augmented and real batches (the default), or two (`separate`).
    passes = {key[len("p_seconds_") :]: value for key, value in record.items() if key.startswith("p_seconds_")}
    print(
        f"\nOne PoseAug epoch on Human3.6M, stride {FLAGS.stride}, VideoPose, {FLAGS.precision} "
        f"(buffer {int(record.get('buffer_size', 0)):,} valid augmented pairs)\n"
    )
    print("| measure | value |\n|---|---:|")
    print(f"| GAN pass | {gan / 60:.1f} min |")
    for name, seconds in passes.items():
        print(f"| estimator pass ({name}) | {seconds / 60:.1f} min |")
    print(f"| **epoch (GAN and estimator passes)** | **{(gan + sum(passes.values())) / 60:.1f} min** |")
    print(f"| whole command (loading, two evaluations, checkpoints) | {wall / 60:.1f} min |")
    print(f"| **peak resident memory** | **{peak / 1024**2:.2f} GB** (at {peak_at / 60:.1f} min) |")
    print(f"\ntf.matmul ceiling at 1024³ before the run: {ceilings_before}; after: {ceilings_after}")


if __name__ == "__main__":
    app.run(main)
