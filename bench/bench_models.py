"""Forward+backward timing of every network at the training batch size; prints a Markdown table.

Run (CPU; takes ~1-2 min with the defaults):
  python bench/bench_models.py --batch_size=1024 --repeats=10
  python bench/bench_models.py --networks=videopose,mlp

Each step is a compiled ``tf.function``: forward in training mode (batch-statistic BN, dropout on), a mean-square
loss over every output, gradients w.r.t. all trainable variables (no optimizer update). The first call (tracing) and
``--warmup`` calls are excluded; the table reports the median and min of ``--repeats`` timed calls.
To add a network, append a ``Bench`` entry to ``benches()``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from poseaug_tf.infra.runtime import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from poseaug_tf import models  # noqa: E402
from poseaug_tf.models import layers  # noqa: E402

tf.get_logger().setLevel("ERROR")  # one trace per network is expected; silence the retracing notice

_BATCH = flags.DEFINE_integer("batch_size", 1024, "Batch size.")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed steps per network.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed steps after tracing.")
_NETWORKS = flags.DEFINE_list("networks", None, "Subset of network names (default: all available).")


@dataclasses.dataclass(frozen=True)
class Bench:
    name: str
    builder: Callable[[], keras.Model]
    input_fn: Callable[[int, np.random.Generator], np.ndarray]
    note: str = ""


def _kp_2d(batch: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 0.4, (batch, 16, 2)).astype(np.float32)


def _pose_3d_cam(batch: int, rng: np.random.Generator) -> np.ndarray:
    pose = rng.normal(0.0, 0.25, (batch, 16, 3)).astype(np.float32)
    pose[..., 2] += 5.0  # in front of the camera, as real H36M poses
    return pose


def benches() -> list[Bench]:
    """All benchmark entries; the augmentor/discriminators join when their module exists."""
    entries = [
        Bench(name, lambda name=name: models.build_estimator(name), _kp_2d)
        for name in ("videopose", "mlp", "semgcn", "stgcn")
    ]
    entries += [
        Bench("augmentor", models.build_augmentor, _pose_3d_cam),
        Bench("discriminator_3d", models.build_discriminator_3d, _pose_3d_cam),
        Bench("discriminator_2d", models.build_discriminator_2d, _kp_2d),
        # One (B, 1024) dropout activation, 0.25 as in the estimators: Keras's layer against ours.
        Bench(
            "keras.layers.Dropout",
            lambda: _single_layer(keras.layers.Dropout(0.25)),
            _activation,
            "gradient w.r.t. the input",
        ),
        Bench(
            "poseaug_tf Dropout", lambda: _single_layer(layers.Dropout(0.25)), _activation, "gradient w.r.t. the input"
        ),
    ]
    # One (B, 1024) BatchNorm activation in training mode, float32 and bf16: Keras's layer against ours (fused).
    for policy in ("float32", "mixed_bfloat16"):
        entries += [
            Bench(
                f"keras.layers.BatchNormalization ({policy})",
                lambda policy=policy: _single_layer(
                    keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, dtype=policy)
                ),
                _activation,
                "gradients w.r.t. the input, γ and β",
            ),
            Bench(
                f"poseaug_tf BatchNorm ({policy})",
                lambda policy=policy: _single_layer(layers.batch_norm(dtype=policy)),
                _activation,
                "gradients w.r.t. the input, γ and β",
            ),
        ]
    return entries


def time_adam_updates() -> list[str]:
    """Rows: median ms of one Adam update of VideoPose's weights, Keras's `Adam` against the package's (fused)."""
    from poseaug_tf.training import optim

    variables = models.build_estimator("videopose").trainable_variables
    grads = [tf.random.stateless_normal(v.shape, seed=(0, i)) * 1e-3 for i, v in enumerate(variables)]
    rows = []
    for name, optimizer in (
        ("keras.optimizers.Adam", keras.optimizers.Adam(1e-4, epsilon=optim.ADAM_EPSILON)),
        ("poseaug_tf Adam (ResourceApplyAdam)", optim.adam(1e-4)),
    ):
        optimizer.build(variables)
        update = tf.function(lambda g, optimizer=optimizer: optimizer.apply(g, variables))
        times = []
        for i in range(1 + _WARMUP.value + _REPEATS.value):
            start = time.perf_counter()
            update(grads)
            variables[-1].numpy()
            if i > _WARMUP.value:
                times.append(time.perf_counter() - start)
        rows.append(
            f"| {name} | {sum(int(np.prod(v.shape)) for v in variables):,} | {statistics.median(times) * 1e3:.1f} |"
        )
    return rows


def _activation(batch: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(batch, 1024)).astype(np.float32)


def _single_layer(layer: keras.layers.Layer) -> keras.Model:
    return keras.Sequential([keras.Input((1024,)), layer])


def _loss(outputs) -> tf.Tensor:
    tensors = [t for t in tf.nest.flatten(outputs) if t.dtype.is_floating]
    return tf.add_n([tf.reduce_mean(tf.square(t)) for t in tensors])


def time_step(model: keras.Model, inputs: np.ndarray) -> list[float]:
    """Returns per-step wall-clock seconds of ``--repeats`` forward+backward steps."""
    variables = model.trainable_variables

    @tf.function(jit_compile=False)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = _loss(model(x, training=True))
        return loss, tape.gradient(loss, variables or [x])

    x = tf.constant(inputs)
    for _ in range(1 + _WARMUP.value):
        tf.nest.map_structure(lambda t: t.numpy(), step(x))
    times = []
    for _ in range(_REPEATS.value):
        start = time.perf_counter()
        loss, grads = step(x)
        grads[-1].numpy()  # wait for the whole step
        loss.numpy()
        times.append(time.perf_counter() - start)
    return times


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    rows = []
    for bench in benches():
        if _NETWORKS.value and bench.name not in _NETWORKS.value:
            continue
        try:
            model = bench.builder()
        except (ImportError, AttributeError) as err:
            rows.append(f"| {bench.name} | – | – | – | – | skipped: {type(err).__name__}: {err} |")
            continue
        params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        times = time_step(model, bench.input_fn(_BATCH.value, rng))
        median, best = statistics.median(times), min(times)
        rows.append(
            f"| {bench.name} | {params:,} | {median * 1e3:.1f} | {best * 1e3:.1f} | "
            f"{_BATCH.value / median:,.0f} | {bench.note} |"
        )
    print(
        f"\nBatch {_BATCH.value}, forward+backward, median of {_REPEATS.value} "
        f"(TF {tf.__version__}, Keras {keras.__version__}, {platform.machine()}, {os.cpu_count()} CPUs)\n"
    )
    print("| network | trainable params | median ms/step | min ms/step | samples/s | note |")
    print("|---|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    if not _NETWORKS.value:
        print("\nOne optimizer update of VideoPose's weights (median ms)\n")
        print("| optimizer | weights | median ms |\n|---|---:|---:|")
        print("\n".join(time_adam_updates()))


if __name__ == "__main__":
    app.run(main)
