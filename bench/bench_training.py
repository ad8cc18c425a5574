"""Training throughput on this machine: pretraining step, PoseAug GAN iteration, evaluation, and one PoseAug
epoch on Human3.6M for each precision (when ../shared/data/h36m is present). Prints Markdown tables.

    .venv/bin/python bench/bench_training.py [--model=videopose] [--batch=1024] [--runs=7] [--h36m_stride=10]
        [--precisions=float32,mixed_bfloat16]

Each timing is the median over `--runs` repetitions of `--steps` steps after a warm-up (tracing excluded). Every
rate is printed beside the matrix-product rate it implies and that rate's share of the machine's `tf.matmul`
ceiling (`roofline.py`), in the step's own precision and in float32. The ceilings are measured just before and
just after each repetition and averaged, and the share is the median of the repetitions' shares: the speed of a
shared virtual machine drifts by tens of per cent within minutes, so a ceiling measured once at the start does not
describe a step timed later. Shares are what compares across runs, trees and machines; to compare two code
versions, run this script in each, alternately. FLOPs per sample come from the networks' traced graphs: a
training pass is 3 forward passes (forward, input and weight gradients), a pass that only needs input gradients
(the feedback's frozen estimator, the discriminators in the G step) is 2.
"""

import itertools
import pathlib
import resource
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from poseaug_tf.infra.runtime import import_tensorflow_quietly  # noqa: E402

tf = import_tensorflow_quietly()

import numpy as np  # noqa: E402
import roofline  # noqa: E402
from absl import app, flags  # noqa: E402

from configs import common  # noqa: E402
from poseaug_tf import evaluation  # noqa: E402
from poseaug_tf.data import pipeline, synthetic  # noqa: E402
from poseaug_tf.data.pipeline import train_dataset  # noqa: E402
from poseaug_tf.training import devices, gan, optim, poseaug, steps  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "videopose", "Estimator name.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Estimator precisions to measure.")
flags.DEFINE_integer("batch", 1024, "Global batch size.")
flags.DEFINE_integer("runs", 7, "Repetitions (median reported).")
flags.DEFINE_integer("steps", 5, "Steps per repetition.")
flags.DEFINE_integer("h36m_stride", 10, "Frame stride of the Human3.6M epoch timing (0 skips it).")
flags.DEFINE_string("h36m_dir", str(pathlib.Path(__file__).resolve().parents[2] / "shared/data/h36m"), "Data.")


def _ceiling(probe) -> float:
    """The median of three ceiling probes (one chain takes 0.1–0.3 s, too short to average out the jitter)."""
    return statistics.median(probe() for _ in range(3))


def _timed(fn, batches, *, runs, steps_per_run, batch_size, flops, ceilings):
    """Median samples/s of `fn(batch)` over `runs` × `steps_per_run` steps (after two warm-up calls, which trace
    both GAN-step variants), with the min and max, and the median share of each ceiling in `ceilings` (name →
    `roofline.ceiling_probe`) measured around each repetition."""
    fn(batches[0])
    fn(batches[0])
    rates, shares = [], {name: [] for name in ceilings}
    for _ in range(runs):
        before = {name: _ceiling(probe) for name, probe in ceilings.items()}
        start = time.perf_counter()
        for i in range(steps_per_run):
            out = fn(batches[i % len(batches)])
        next(iter(out.values())).numpy()  # wait for the last step
        rate = steps_per_run * batch_size / (time.perf_counter() - start)
        rates.append(rate)
        after = {name: _ceiling(probe) for name, probe in ceilings.items()}
        for name in ceilings:
            shares[name].append(rate * flops / 1e9 / ((before[name] + after[name]) / 2))
    return {
        "rate": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        **{name: statistics.median(values) for name, values in shares.items()},
    }


def _setup(config, strategy, precision, placement):
    with strategy.scope():
        estimator = devices.configured_estimator(config, synchronized_bn=False, stage="poseaug", precision=precision)
        nets = gan.build_gan_networks(config, estimator, num_replicas=1, seed=0, placement=placement)
    return nets


def flops_per_sample(nets) -> dict[str, float]:
    """Matrix-product FLOPs per sample of each timed step (see the module docstring for the pass counts)."""
    estimator = roofline.forward_flops(nets.estimator, (16, 2))
    augmentor = roofline.forward_flops(nets.augmentor, (16, 3))
    discriminators = roofline.forward_flops(nets.d3d, (16, 3)) + roofline.forward_flops(nets.d2d, (16, 2))
    # G step: augmentor trained (3), three frozen-estimator passes (2 each), both discriminators (2); D steps on
    # every second iteration: real and fake batches trained (2 × 2), i.e. 2 per iteration.
    gan_flops = 3 * augmentor + 3 * 2 * estimator + (2 + 2) * discriminators
    return {"pretraining step": 3 * estimator, "PoseAug GAN iteration": gan_flops, "evaluation forward": estimator}


def _measure(config, strategy, precision, data, probes):
    """Rows (name, `_timed` result) for one precision, FLOPs per sample of each row, and the compiled steps for the
    epoch timing. `probes`: the ceiling probes of float32 and of `precision`."""
    placement = poseaug.measure_placement(config, data.pose3d) if poseaug.uses_placement(config, "poseaug") else None
    nets = _setup(config, strategy, precision, placement)
    est_batches = list(train_dataset(data, batch_size=FLAGS.batch, seed=0).take(4))
    gan_batches = list(
        pipeline.gan_epoch_dataset(data.pose3d, data.camera, batch_size=FLAGS.batch, seed=0, epoch=1).take(4)
    )
    opt = optim.adam(1e-4)
    opt.build(nets.estimator.trainable_variables)
    pretrain = steps.distribute(steps.make_estimator_step(nets.estimator, opt), strategy)
    settings = gan.GANSettings.from_config(config.poseaug, placement)
    gan_steps = gan.GANSteps(nets, settings, strategy)
    args = (tf.constant(3.0), tf.constant(2.0))
    iterations = itertools.count(1)

    def gan_iteration(batch):
        # The reference's GAN iteration: G step with feedback every iteration, D steps every second one.
        return gan_steps(batch, *args, with_feedback=True, with_d_update=next(iterations) % 2 == 0)

    predict = evaluation.make_predict_fn(nets.estimator)
    eval_batches = [b["pose_2d"] for b in est_batches]
    flops = flops_per_sample(nets)
    timed = [
        ("pretraining step", pretrain, est_batches, FLAGS.steps),
        ("PoseAug GAN iteration", gan_iteration, gan_batches, 2 * FLAGS.steps),
        ("evaluation forward", lambda x: {"y": predict(x)}, eval_batches, 4 * FLAGS.steps),
    ]
    rows = [
        (
            name,
            _timed(
                fn,
                batches,
                runs=FLAGS.runs,
                steps_per_run=n,
                batch_size=FLAGS.batch,
                flops=flops[name],
                ceilings=probes,
            ),
        )
        for name, fn, batches, n in timed
    ]
    return rows, flops, gan_iteration, pretrain


def main(argv):
    del argv
    config = common.base_config()
    config.model.name = FLAGS.model
    strategy = tf.distribute.get_strategy()
    dtypes = {"float32": tf.float32, "bfloat16": tf.bfloat16}
    probes = {name: roofline.ceiling_probe(dtype) for name, dtype in dtypes.items()}
    data = synthetic.make_synthetic("source", FLAGS.batch * 4, seed=0)
    rows, epochs = [], []
    train = _h36m_train()
    for precision in FLAGS.precisions:
        own = "bfloat16" if "bfloat16" in precision else "float32"
        measured, flops, gan_iteration, pretrain = _measure(
            config, strategy, precision, data, {name: probes[name] for name in {own, "float32"}}
        )
        rows += [(name, precision, result, flops[name]) for name, result in measured]
        if train is not None:
            epochs.append(_h36m_epoch(train, gan_iteration, pretrain, precision))
    ceilings = {name: _ceiling(probe) for name, probe in probes.items()}
    print(
        f"\n{FLAGS.model}, batch {FLAGS.batch}, median of {FLAGS.runs} runs × {FLAGS.steps} steps, "
        f"TF {tf.__version__}, {len(tf.config.list_logical_devices('CPU'))} CPU device(s)"
    )
    print(
        "tf.matmul ceiling at 1024³ at the end of this run (the shares use the ceilings measured around each "
        "repetition): " + ", ".join(f"{name} {c:,.0f} GFLOP/s" for name, c in ceilings.items()) + "\n"
    )
    print(
        "| step | precision | MFLOP/sample | median samples/s | min | max | share of the ceiling (own precision) "
        "| share of the float32 ceiling |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, precision, r, flops in rows:
        own = r["bfloat16" if "bfloat16" in precision else "float32"]
        print(
            f"| {name} | {precision} | {flops / 1e6:.1f} | {r['rate']:,.0f} | {r['min']:,.0f} | {r['max']:,.0f} | "
            f"{own:.0%} | {r['float32']:.0%} |"
        )
    if train is None:
        print(f"\n(Human3.6M epoch skipped: --h36m_stride=0 or no data at {FLAGS.h36m_dir})")
    for line in epochs:
        print("\n" + line)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:,.0f} MB")


def _h36m_train():
    """The Human3.6M training subjects at `--h36m_stride`, or None when skipped or absent."""
    data_dir = pathlib.Path(FLAGS.h36m_dir)
    if not FLAGS.h36m_stride or not (data_dir / "data_3d_h36m.npz").exists():
        return None
    from poseaug_tf.data import load_h36m

    return load_h36m(data_dir, ["S1", "S5", "S6", "S7", "S8"], stride=FLAGS.h36m_stride)


def _h36m_epoch(train, gan_iteration, pretrain, precision) -> str:
    """Times one PoseAug epoch (GAN pass + estimator passes on augmented and real data) with one precision's
    steps; returns the report line."""
    start = time.perf_counter()
    swap = pipeline.swap_rows(len(train), np.random.default_rng(0))
    n_aug = 0
    for batch in pipeline.gan_epoch_dataset(
        train.pose3d, train.camera, batch_size=FLAGS.batch, seed=0, epoch=1, swap=swap
    ):
        out = gan_iteration(batch)
        n_aug += int(out["aug_valid"].numpy().sum())
    gan_time = time.perf_counter() - start
    for batch in train_dataset(train, batch_size=FLAGS.batch, seed=1):  # real pass
        pretrain(batch)
    real_time = time.perf_counter() - start - gan_time
    # The augmented pass has n_aug samples; time it as the same per-sample cost as the real pass.
    fake_time = real_time * n_aug / len(train)
    total = gan_time + real_time + fake_time
    return (
        f"Human3.6M PoseAug epoch ({precision}) at stride {FLAGS.h36m_stride} ({len(train):,} samples): GAN "
        f"pass {gan_time:.0f} s, real pass {real_time:.0f} s, augmented pass ≈{fake_time:.0f} s "
        f"({n_aug:,} valid) → {total / 60:.1f} min; stride 1 ≈ {total * FLAGS.h36m_stride / 60:.0f} min"
    )


if __name__ == "__main__":
    app.run(main)
