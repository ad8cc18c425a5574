"""Runs the entry points as `python <program> <args>` would, many times, from one process that loaded TensorFlow once.

A fresh `python train.py …` spends most of its time importing TensorFlow and Keras; the bad-input table runs some
sixty commands. This driver imports them once (through the entry points' own quiet import), then forks a child per
command: the child gets its own working directory, environment, argv, absl flags and file descriptors 1 and 2, and
runs the program as `__main__`, so what it prints and its exit code are those of a fresh process. The parent never
runs a TensorFlow op, so the children inherit no running thread pools.

Protocol (one JSON object per line): the parent writes `{"program": [...], "args": [...], "cwd": ..., "env": {...}}`
on stdin; the driver answers `{"returncode": int, "stdout": str, "stderr": str}` on stdout.
"""

from __future__ import annotations

import json
import os
import runpy
import select
import subprocess
import sys
import tempfile
import traceback


def _child(request: dict, out_path: str, err_path: str) -> None:
    """Runs one command in the forked child and never returns."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        for fd, path in ((1, out_path), (2, err_path)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        program = request["program"]
        sys.argv = [program[-1], *request["args"]]
        if program[0] == "-m":
            runpy.run_module(program[1], run_name="__main__", alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.abspath(program[0]))
            runpy.run_path(program[0], run_name="__main__")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if exit_.code is not None and not isinstance(exit_.code, int):
            print(exit_.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - a fresh interpreter prints any uncaught exception and exits 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    from poseaug_tf.infra.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras  # noqa: F401 - loaded once for every child
    from absl import app  # noqa: F401

    with tempfile.TemporaryDirectory() as scratch:
        out_path, err_path = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        for line in sys.stdin:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request, out_path, err_path)
            _, status = os.waitpid(pid, 0)
            with open(out_path) as out, open(err_path) as err:
                reply = {"returncode": os.waitstatus_to_exitcode(status), "stdout": out.read(), "stderr": err.read()}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


class Runner:
    """The parent side: `run(program, args, cwd, env)` returns a `subprocess.CompletedProcess` (text output)."""

    def __init__(self, cwd: str):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli_runner"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self, program: list[str], args: list[str], cwd: str, env: dict[str, str], timeout: float = 300
    ) -> subprocess.CompletedProcess:
        request = {"program": program, "args": args, "cwd": cwd, "env": env}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        if not select.select([self._process.stdout], [], [], timeout)[0]:
            self._process.kill()
            raise TimeoutError(f"{' '.join(program + args)} did not finish in {timeout} s")
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the command runner exited; see its stderr above")
        reply = json.loads(line)
        return subprocess.CompletedProcess(program + args, reply["returncode"], reply["stdout"], reply["stderr"])

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=60)


if __name__ == "__main__":
    serve()
