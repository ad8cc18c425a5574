"""Size, latency, throughput and accuracy change of every exported variant; prints a Markdown table.

Run after `python export.py --workdir=W` (about a minute on 2 CPU cores):
  python bench/bench_export.py --version_dir=saved_models/<name>/<version>
  python bench/bench_export.py --version_dir=... --workdir=W --h36m_dir=../shared/data/h36m --num_threads=1,2

Single-pose latency: median over `--repeats` runs of the mean time of `--calls` back-to-back one-pose calls.
Throughput: median over `--repeats` runs of one batch-256 (and batch-1024) call. The SavedModel is called through
its `serving_default` concrete function; TFLite through LiteRT with each `--num_threads` setting.
Accuracy: max |Δ| from the Keras model and the MPJPE change (mm) on Human3.6M S9/S11 (stride 20, GT 2D) when
the data folder exists, else on held-out synthetic source poses.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from poseaug_tf.infra.runtime import import_tensorflow_quietly  # noqa: E402
from poseaug_tf.training import model_files  # noqa: E402

import_tensorflow_quietly()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from poseaug_tf.serving import contract, export, inference  # noqa: E402

_VERSION_DIR = flags.DEFINE_string("version_dir", None, "Exported version folder.", required=True)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Training workdir of the Keras reference; default: from the export metadata's weights path."
)
_H36M_DIR = flags.DEFINE_string(
    "h36m_dir",
    str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "h36m"),
    "Human3.6M folder (skipped when absent).",
)
_NUM_THREADS = flags.DEFINE_list("num_threads", ["1", "2"], "TFLite interpreter thread counts to time.")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed runs (median reported).")
_CALLS = flags.DEFINE_integer("calls", 200, "One-pose calls per latency run.")


def _median_seconds(fn, repeats: int, calls: int = 1) -> float:
    fn()  # warm-up (allocation, tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def _timings(predict, inputs: dict) -> dict:
    row = {"latency_ms": 1000 * _median_seconds(lambda: predict(inputs[1]), _REPEATS.value, _CALLS.value)}
    for batch in (256, 1024):
        row[f"poses_per_s_{batch}"] = batch / _median_seconds(lambda b=batch: predict(inputs[b]), _REPEATS.value)
    return row


def _reference_set():
    h36m = _H36M_DIR.value if _H36M_DIR.value and pathlib.Path(_H36M_DIR.value).is_dir() else None
    sets = export.verification_sets(h36m)
    return sets[-1]


def main(argv):
    del argv
    version_dir = pathlib.Path(_VERSION_DIR.value)
    meta = contract.read_metadata(version_dir) or {}
    workdir = _WORKDIR.value or str(pathlib.Path(meta.get("source", "")).parent)
    model, _ = model_files.load_estimator(workdir)
    vset = _reference_set()
    reference = model.predict(vset.pose_2d, batch_size=1024, verbose=0)
    rng = np.random.default_rng(0)
    inputs = {b: vset.pose_2d[rng.choice(len(vset.pose_2d), b)] for b in (1, 256, 1024)}

    variants = [("saved_model", str(version_dir), inference.SavedModelBackend(version_dir))]
    for path in sorted((version_dir / contract.TFLITE_DIR).glob("*.tflite")):
        for threads in _NUM_THREADS.value:
            variants.append(
                (
                    f"{path.stem.split('_')[-1]} ({threads} thr)",
                    str(path),
                    inference.TFLiteBackend(path, num_threads=int(threads)),
                )
            )
    print(
        f"Model {meta.get('model', {}).get('class')} ({meta.get('model', {}).get('parameters', 0):,} params), "
        f"{version_dir}; accuracy on {vset.name} ({len(vset.pose_2d)} poses); {os.cpu_count()} CPU cores\n"
    )
    print(
        "| variant | size (MB) | 1-pose latency (ms) | batch-256 poses/s | batch-1024 poses/s | max abs Δ (mm) "
        "| ΔMPJPE (mm) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, path, backend in variants:
        path = pathlib.Path(path)
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
        if path.is_dir():  # the SavedModel folder also holds the TFLite files and the report: count the model only
            size -= sum(p.stat().st_size for p in (path / contract.TFLITE_DIR).glob("*"))
        prediction = np.concatenate(
            [backend.predict(vset.pose_2d[i : i + 1024]) for i in range(0, len(vset.pose_2d), 1024)]
        )
        stats = export.compare(reference, prediction, vset.pose_3d)
        row = _timings(backend.predict, inputs)
        print(
            f"| {name} | {size / 1e6:.1f} | {row['latency_ms']:.3f} | {row['poses_per_s_256']:,.0f} | "
            f"{row['poses_per_s_1024']:,.0f} | {stats['max_abs_mm']:.2e} | {stats['delta_mpjpe_mm']:+.3f} |"
        )
    keras_fn = tf.function(lambda x: model(x, training=False))
    row = _timings(lambda x: keras_fn(tf.constant(x)).numpy(), inputs)
    print(
        f"| keras (tf.function) | - | {row['latency_ms']:.3f} | {row['poses_per_s_256']:,.0f} | "
        f"{row['poses_per_s_1024']:,.0f} | 0 | +0.000 (MPJPE {stats['mpjpe_keras_mm']:.1f}) |"
    )


if __name__ == "__main__":
    app.run(main)
