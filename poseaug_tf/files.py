"""Atomic file and folder writes: a temporary name beside the target, then one rename.

Every writer of the package (run records, weights, the data cache, figures, predict outputs, exports) goes
through here, so that an interruption (even `kill -9`) never leaves a truncated file, and so that what is written
gets the permissions the user's umask asks for: `tempfile.mkstemp`/`mkdtemp` create 0600 files and 0700 folders,
which a TF Serving process running as another user could not read.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(*, directory: bool = False) -> int:
    """The permissions `open`/`mkdir` would give under the current umask (0644 / 0755 under 022)."""
    return (0o777 if directory else 0o666) & ~_umask()


def _fsync_directory(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # makes the rename itself durable
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None, durable: bool = True) -> Iterator[pathlib.Path]:
    """Yields a temporary path next to `path`; when the block ends normally it replaces `path`.

    Args:
      path: the file to write.
      suffix: the temporary name's suffix (default: `path`'s, e.g. ".weights.h5" for Keras, which checks it).
      durable: fsync the file and its folder before and after the rename.

    Raises:
      Whatever the block raises; the temporary file is removed and `path` is left as it was.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) if suffix is None else suffix
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.stem.split('.')[0]}-", suffix=suffix)
    os.close(fd)
    tmp = pathlib.Path(name)
    try:
        yield tmp
        os.chmod(tmp, default_mode())
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_directory(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def temporary_folder(parent: str | os.PathLike, *, prefix: str) -> pathlib.Path:
    """A new hidden folder in `parent` with the umask's permissions (an export's version folder, renamed into
    place once complete)."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(folder, default_mode(directory=True))
    return folder


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
