"""Runs train.py in this process and kills it with SIGKILL at a chosen point, for the exact-resume test.

    python tests/training/kill_at.py <point> [train.py flags...]

Points (counted from the start of this process):
  batch:N       before the N-th training batch (any stage, any pass);
  checkpoint:N  inside the N-th checkpoint write: its shards are on disk in `ckpt-K_temp/`, not yet merged;
  file:N        inside the N-th atomic file write (weights, JSON records): the temporary file is written, not
                yet renamed into place.
"""

from __future__ import annotations

import os
import pathlib
import runpy
import signal
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def _kill_on_call(count: int, wrapped):
    calls = 0

    def hook(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return wrapped(*args, **kwargs)

    return hook


def install(point: str) -> None:
    kind, _, count = point.partition(":")
    count = int(count)
    if kind == "batch":
        from poseaug_tf.training import passes

        progress = passes.progress
        hook = _kill_on_call(count, lambda batch: batch)
        passes.progress = lambda iterable, **kwargs: (hook(b) for b in progress(iterable, **kwargs))
    elif kind == "checkpoint":
        from tensorflow.python.ops import gen_io_ops

        assert hasattr(gen_io_ops, "merge_v2_checkpoints"), "TensorFlow's checkpoint writer changed"
        gen_io_ops.merge_v2_checkpoints = _kill_on_call(count, gen_io_ops.merge_v2_checkpoints)
    elif kind == "file":
        import contextlib

        from poseaug_tf.infra import files

        atomic_path = files.atomic_path
        hook = _kill_on_call(count, lambda: None)

        @contextlib.contextmanager
        def killing_atomic_path(*args, **kwargs):
            with atomic_path(*args, **kwargs) as tmp:
                yield tmp
                hook()

        files.atomic_path = killing_atomic_path
    else:
        raise SystemExit(f"kill_at.py: unknown point {point!r}; expected batch:N, checkpoint:N or file:N")


if __name__ == "__main__":
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    from poseaug_tf.infra.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    install(sys.argv[1])
    sys.argv = ["train.py", *sys.argv[2:]]
    runpy.run_path(str(REPO / "train.py"), run_name="__main__")
