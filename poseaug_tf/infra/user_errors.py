"""The user-error type and how the entry points report it: one line, exit code 1.

A user error is an input the user can fix: a missing, unreadable or malformed file, a wrong option, a folder that
cannot be written. It is raised as `InputError` (or a subclass) with a message that names the file or field and
says what was expected. The entry points (train.py, export.py, `poseaug_tf.cli.predict`, `poseaug_tf.cli.visualize`)
print that message as one line and exit with code 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class InputError(ValueError):
    """A bad input the user can fix; the message names the file or field and what was expected."""


def one_line(error: BaseException) -> str:
    """The error's message on one line: its lines joined with "; ", or with a space after a line ending in ":"."""
    text = ""
    for line in (line.strip() for line in str(error).splitlines() if line.strip()):
        text += ("" if not text else " " if text.endswith(":") else "; ") + line
    return text


@contextlib.contextmanager
def exit_on_input_error(program: str, also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Turns an `InputError` (or one of `also`) raised in the block into `<program>: error: <message>` on stderr
    and exit code 1."""
    try:
        yield
    except (InputError, *also) as error:
        print(f"{program}: error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(1) from None


def _without_traceback(message: str) -> str:
    """ml_collections embeds the traceback of a config file's exception in the flag error: keep its last line."""
    head, marker, trace = message.partition("Traceback (most recent call last):")
    lines = [line.strip() for line in trace.splitlines() if line.strip()]
    return head + lines[-1] if marker and lines else message


def absl_flags_parser(program: str):
    """A `flags_parser` for `absl.app.run` that reports a malformed or missing flag in one line (exit code 1)
    instead of absl's "FATAL Flags parsing error" and its usage hint."""

    def parse(argv: list[str]) -> list[str]:
        from absl import flags

        try:
            return flags.FLAGS(argv)
        except flags.Error as error:
            print(f"{program}: error: {one_line(_without_traceback(str(error)))}", file=sys.stderr)
            raise SystemExit(1) from None

    return parse
