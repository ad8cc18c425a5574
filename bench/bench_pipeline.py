"""Benchmark of the data layer: tf.data throughput, H36M cache build/load time and peak memory.

Run (from the repository root):
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/bench_pipeline.py                 # everything
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/bench_pipeline.py --part synthetic --runs 5

Parts run in separate processes so each reports its own peak RSS (resource.getrusage). The real-data part
uses ../shared/data/h36m (or $POSEAUG_H36M_DIR) and a fresh temporary cache directory; it is skipped when the
data are absent. Throughput is the median of `--runs` runs: steady state over `--batches` batches of 1024, and
one full epoch including the shuffle-buffer fill.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from poseaug_tf.infra.runtime import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()
H36M_DIR = pathlib.Path(os.environ.get("POSEAUG_H36M_DIR", REPO.parent / "shared" / "data" / "h36m"))
H36M_TRAIN_SAMPLES = 1_464_400
BATCH = 1024


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synthetic(n: int):
    import numpy as np

    from poseaug_tf.data import PoseSet

    rng = np.random.default_rng(0)
    return PoseSet(
        pose3d=rng.standard_normal((n, 16, 3), dtype=np.float32),
        pose2d=rng.standard_normal((n, 16, 2), dtype=np.float32),
        camera=rng.standard_normal((n, 9), dtype=np.float32),
        action=np.full(n, "Walking", dtype=object),
        subject=np.full(n, "S1", dtype=object),
        sequence=np.zeros(n, np.int32),
        name=f"synthetic {n}",
    )


def _throughput(dataset, batches: int, runs: int) -> tuple[float, float]:
    """Median (batches/s, samples/s) over `runs` passes of `batches` batches, after one warm-up pass."""
    rates = []
    for run in range(runs + 1):
        iterator = iter(dataset)
        next(iterator)  # exclude the shuffle-buffer fill and the first-batch setup from steady state
        start, samples = time.perf_counter(), 0
        for _ in range(batches):
            samples += int(next(iterator)["pose_3d"].shape[0])
        if run:
            rates.append((batches / (time.perf_counter() - start), samples / (time.perf_counter() - start)))
    return statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)


def _epoch_seconds(dataset, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in dataset:
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pipeline_rows(label: str, pose_set, args) -> None:
    from poseaug_tf.data.pipeline import eval_dataset, train_dataset

    train = train_dataset(pose_set, batch_size=BATCH, seed=0)
    evaluation = eval_dataset(pose_set, batch_size=BATCH)
    for kind, dataset in (("train (shuffle+gather)", train), ("eval (ordered slices)", evaluation)):
        bps, sps = _throughput(dataset, min(args.batches, len(pose_set) // BATCH - 1), args.runs)
        epoch = _epoch_seconds(dataset, max(1, args.runs // 2))
        print(
            f"| {label} | {kind} | {len(pose_set):,} | {bps:,.0f} | {sps:,.0f} | {epoch:.2f} s "
            f"({len(pose_set) / epoch:,.0f}/s) |",
            flush=True,
        )


def part_synthetic(args) -> None:
    pose_set = _synthetic(H36M_TRAIN_SAMPLES)
    _pipeline_rows("synthetic H36M-size", pose_set, args)
    print(f"peak RSS (synthetic part): {_peak_rss_mb():,.0f} MB")


def part_real(args) -> None:
    if not (H36M_DIR / "data_3d_h36m.npz").is_file():
        print(f"real data: {H36M_DIR} absent, skipped")
        return
    from poseaug_tf.data import load_h36m
    from poseaug_tf.data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS

    with tempfile.TemporaryDirectory() as cache_dir:
        for what in ("build", "load"):
            start = time.perf_counter()
            train = load_h36m(H36M_DIR, TRAIN_SUBJECTS, "gt", cache_dir=cache_dir)
            mid = time.perf_counter()
            test = load_h36m(H36M_DIR, TEST_SUBJECTS, "sh_pt_mpii", cache_dir=cache_dir)
            end = time.perf_counter()
            print(
                f"cache {what}: train gt {len(train):,} samples {mid - start:.2f} s; "
                f"test sh_pt_mpii {len(test):,} samples {end - mid:.2f} s; peak RSS so far "
                f"{_peak_rss_mb():,.0f} MB",
                flush=True,
            )
            if what == "build":
                sizes = sum(p.stat().st_size for p in pathlib.Path(cache_dir).glob("*.h5"))
                print(f"cache size on disk: {sizes / 2**20:,.0f} MB")
                del train, test
    _pipeline_rows("real H36M train (gt)", train, args)
    print(f"peak RSS (real part): {_peak_rss_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "synthetic", "real"), default="all")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    if args.part == "all":
        print("| data | pipeline | samples | batches/s | samples/s | full epoch |")
        print("|---|---|---|---|---|---|", flush=True)
        for part in ("synthetic", "real"):
            subprocess.run(
                [sys.executable, __file__, "--part", part, "--runs", str(args.runs), "--batches", str(args.batches)],
                check=True,
            )
        return
    {"synthetic": part_synthetic, "real": part_real}[args.part](args)


if __name__ == "__main__":
    main()
