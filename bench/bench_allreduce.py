"""What the all-reduce of a multi-worker run costs on this model size: two `MultiWorkerMirroredStrategy` workers on
127.0.0.1 (one thread each), against one single-threaded process doing one worker's share. Prints a Markdown table.

    .venv/bin/python bench/bench_allreduce.py [--model=videopose] [--batch=1024] [--runs=5] [--steps=5]

Rows: the all-reduce of a gradient-sized list of tensors (every trainable variable of the estimator), and the
estimator's pretraining step (forward, backward, all-reduce, clip, Adam) at the global batch `--batch` on two
workers, against the same step at `--batch`/2 in one process (the compute each worker does). Their difference is
what the all-reduce and the synchronised BatchNorm add; on loopback it is memory copies and gRPC, on a network
add the transfer time: a ring all-reduce moves 2·(n−1)/n × the gradient size through each worker's link.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from poseaug_tf.infra import runtime  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
FLAGS = flags.FLAGS
flags.DEFINE_string("model", "videopose", "Estimator name.")
flags.DEFINE_integer("batch", 1024, "Global batch size.")
flags.DEFINE_integer("runs", 5, "Repetitions (median reported).")
flags.DEFINE_integer("steps", 5, "Steps per repetition.")
flags.DEFINE_integer("worker", -1, "Internal: run as this worker of the TF_CONFIG cluster and print JSON.")


def _median_seconds(fn, *args) -> float:
    fn(*args)
    fn(*args)
    times = []
    for _ in range(FLAGS.runs):
        start = time.perf_counter()
        for _ in range(FLAGS.steps):
            out = fn(*args)
        for tensor in out.values() if isinstance(out, dict) else out:
            tensor.numpy()  # wait for the last step
        times.append((time.perf_counter() - start) / FLAGS.steps)
    return statistics.median(times)


def _measure(multi_worker: bool, batch: int) -> dict:
    """Runs inside a worker (or the single process): seconds of the all-reduce and of one step."""
    tf = runtime.import_tensorflow_quietly()
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if multi_worker else tf.distribute.get_strategy()
    from configs import common
    from poseaug_tf.training import devices, optim, steps

    config = common.base_config()
    config.model.name = FLAGS.model
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        estimator = devices.configured_estimator(config, synchronized_bn=replicas > 1, stage="pretrain")
        optimizer = optim.adam(1e-4)
        optimizer.build(estimator.trainable_variables)
    step = steps.distribute(steps.make_estimator_step(estimator, optimizer), strategy)
    local = batch // replicas
    data = tf.data.Dataset.from_tensors(
        {"pose_2d": tf.random.normal((batch, 16, 2)), "pose_3d": tf.random.normal((batch, 16, 3))}
    )
    batch_data = next(iter(strategy.experimental_distribute_dataset(data)))
    grads = [tf.ones(v.shape) for v in estimator.trainable_variables]

    @tf.function
    def all_reduce():
        def replica_fn():
            return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)

        return strategy.experimental_local_results(strategy.run(replica_fn))[0]

    result = {
        "step": _median_seconds(step, batch_data),
        "local_batch": local,
        "gradient_mb": sum(int(g.shape.num_elements()) for g in grads) * 4 / 1e6,
    }
    if multi_worker:
        result["all_reduce"] = _median_seconds(all_reduce)
    return result


def _run(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, *args], cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
    )


def main(argv):
    del argv
    if FLAGS.worker >= 0:
        print(json.dumps(_measure(bool(os.environ.get("TF_CONFIG")), FLAGS.batch)))
        return
    common = [f"--model={FLAGS.model}", f"--runs={FLAGS.runs}", f"--steps={FLAGS.steps}"]
    one_thread = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    workers = [
        _run([*common, f"--batch={FLAGS.batch}", f"--worker={i}"], {**one_thread, "TF_CONFIG": tf_config})
        for i, tf_config in enumerate(runtime.local_cluster_tf_configs(2))
    ]
    multi = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    single = _run([*common, f"--batch={FLAGS.batch // 2}", "--worker=0"], one_thread)
    alone = json.loads(single.communicate()[0].strip().splitlines()[-1])
    chief = multi[0]
    mb = chief["gradient_mb"]
    print(
        f"\n{FLAGS.model}: {mb:.1f} MB of float32 gradients per step; 2 workers on 127.0.0.1, 1 thread each; "
        f"median of {FLAGS.runs} runs × {FLAGS.steps} steps\n"
    )
    print("| measurement | ms |\n|---|---:|")
    print(f"| all-reduce of the gradients (2 workers, loopback) | {chief['all_reduce'] * 1e3:.1f} |")
    print(f"| pretraining step, global batch {FLAGS.batch} on 2 workers | {chief['step'] * 1e3:.1f} |")
    print(
        f"| the same step at batch {alone['local_batch']} in one process (one worker's compute) | "
        f"{alone['step'] * 1e3:.1f} |"
    )
    print(f"| → what distribution adds per step | {(chief['step'] - alone['step']) * 1e3:.1f} |")
    for gbit in (1, 10, 100):
        print(
            f"| ring all-reduce transfer alone at {gbit} Gbit/s (2 workers: 1 × {mb:.0f} MB per link) | "
            f"{mb * 8 / gbit:.1f} |"
        )


if __name__ == "__main__":
    app.run(main)
