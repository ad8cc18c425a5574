"""Process start-up for the entry points: a quiet TensorFlow import that keeps real errors visible, and the
`TF_CONFIG` values of a multi-worker cluster on this machine.

TensorFlow 2.21 prints its oneDNN banner and CUDA probing messages from C++ before absl logging is
initialised, so `TF_CPP_MIN_LOG_LEVEL` cannot silence them. `import_tensorflow_quietly` captures file
descriptor 2 while TensorFlow loads and enumerates devices, then replays every captured line except the
known-benign ones below. Anything else (a real error, a missing library) still reaches the terminal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sys
import tempfile

# Lines TensorFlow prints on every start on a machine without a GPU or with oneDNN on; none is actionable.
_BENIGN_PATTERNS = (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers on your machine",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions",
    r"This TensorFlow binary is optimized",
    # The TFLite converter's C++ notes about options the SavedModel path ignores.
    r"Ignored output_format",
    r"Ignored drop_control_dependency",
    # LiteRT's note that it runs on XNNPACK, printed at the first allocation.
    r"Created TensorFlow Lite XNNPACK delegate for CPU",
)
_BENIGN = re.compile("|".join(_BENIGN_PATTERNS))


def _drop_tensorflow_info(record: logging.LogRecord) -> bool:
    """Keeps every record except INFO (and below) logged from TensorFlow's own Python files."""
    return record.levelno >= logging.WARNING or f"{os.sep}tensorflow{os.sep}" not in record.pathname


def filter_startup_noise(captured: str) -> str:
    """Drops the known-benign start-up lines (and blank lines) from captured stderr text; keeps the rest."""
    return "\n".join(line for line in captured.splitlines() if line.strip() and not _BENIGN.search(line))


class _ConciseFormatter(logging.Formatter):
    """The message alone for INFO, `warning: ` / `error: ` before it otherwise (no time, thread or file:line)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno <= logging.INFO else f"{record.levelname.lower()}: {text}"


def concise_terminal_logging() -> None:
    """Replaces absl's terminal handler (`I1201 18:34:51.955426 139990220979072 selection.py:58] ...`) by one that
    prints the message alone. Call it inside an absl `main`, after absl installed its handler; the workdir's
    train.log keeps the time and level of every line."""
    from absl import logging as absl_logging

    root = logging.getLogger()
    root.removeHandler(absl_logging.get_absl_handler())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ConciseFormatter("%(message)s"))
    root.addHandler(handler)


@contextlib.contextmanager
def quiet_native_stderr():
    """Captures file descriptor 2 (C++ logs bypass Python) for the block, then replays every captured line but the
    known-benign ones (`filter_startup_noise`). Python's own `sys.stderr` writes are captured too and replayed."""
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            kept = filter_startup_noise(capture.read().decode("utf-8", errors="replace"))
            if kept:
                print(kept, file=sys.stderr)


def import_tensorflow_quietly():
    """Imports TensorFlow (and Keras) with the start-up noise filtered out.

    Sets `TF_CPP_MIN_LOG_LEVEL=1` unless the user chose a level (INFO off; warnings and errors kept).

    Returns:
      The `tensorflow` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_native_stderr():
        import keras  # noqa: F401  (its import also probes devices)
        import tensorflow as tf

        tf.config.list_physical_devices()
    # TensorFlow's Python INFO logs (checkpoint sharding timings, ...) would drown the training log; some go
    # through TF's logger, some through absl's.
    tf.get_logger().setLevel(logging.WARNING)
    logging.getLogger("absl").addFilter(_drop_tensorflow_info)
    return tf


def local_cluster_tf_configs(count: int) -> list[str]:
    """`TF_CONFIG` JSON for each of `count` workers of one cluster on free 127.0.0.1 ports (worker 0 is the
    chief), for running `MultiWorkerMirroredStrategy` processes on one machine (tests, benches)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(count)]
