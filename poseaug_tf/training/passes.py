"""Running one pass of a compiled step over a dataset, with a progress bar and non-finite detection."""

from __future__ import annotations

import collections
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping

import tensorflow as tf
from tqdm import tqdm


def progress(iterable: Iterable, *, total: int, desc: str):
    """A tqdm bar with ETA on stderr; silent when stderr is not a terminal (CI logs, pipes)."""
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit="batch",
        leave=False,
        dynamic_ncols=True,
        disable=None if sys.stderr.isatty() else True,
    )


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite; names the loss and the step range."""


def run_pass(
    step: Callable[..., Mapping[str, tf.Tensor]],
    dataset,
    *,
    total: int,
    desc: str,
    step_args: tuple = (),
    on_output: Callable[[Mapping[str, tf.Tensor]], None] | None = None,
    first_step: int = 0,
) -> dict[str, float]:
    """Runs `step(batch, *step_args)` over `dataset` and returns the mean of every scalar output.

    Args:
      step: compiled step returning a dict of scalar tensors (and, optionally, tensors for `on_output`).
      dataset: iterable of batches (a tf.data.Dataset or a distributed dataset).
      total: number of batches (for the progress bar).
      desc: progress-bar label, e.g. "pretrain 3/50".
      step_args: extra arguments after the batch.
      on_output: called with each step's full output (e.g. to collect augmented samples).
      first_step: global index of the first step, for error messages.

    Returns:
      {name: mean over the pass} of the scalar outputs, plus "seconds": the pass's wall time.

    Raises:
      NonFiniteLossError: a scalar output was NaN or infinite.
    """
    sums: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, int] = collections.defaultdict(int)
    index = first_step
    start = time.perf_counter()
    for batch in progress(dataset, total=total, desc=desc):
        out = step(batch, *step_args)
        if on_output is not None:
            on_output(out)
        for name, value in out.items():
            if value.shape.rank != 0:
                continue
            value = float(value)
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"`{name}` became {value} at step {index} ({desc}, steps {first_step}..{index})."
                )
            sums[name] += value
            counts[name] += 1
        index += 1
    return {**{name: sums[name] / counts[name] for name in sums}, "seconds": time.perf_counter() - start}
