"""Atomic file and folder writes: a temporary name beside the target, then one rename.

Every writer of the package (run records, weights, the data cache, figures, predict outputs, exports) goes
through here, so that an interruption (even `kill -9`) never leaves a truncated file, and so that what is written
gets the permissions the user's umask asks for: `tempfile.mkstemp`/`mkdtemp` create 0600 files and 0700 folders,
which a TF Serving process running as another user could not read.

A folder that one process writes for a long time (a workdir, an export's model folder) is held with
`exclusive_folder`, an advisory lock that the kernel drops when the process ends, even on `kill -9`. While holding
it, `remove_stale_temporaries` deletes what interrupted writes left there: no other process of this project can
be writing in that folder at that moment.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from poseaug_tf.infra.user_errors import InputError

TEMPORARY_PREFIX = ".tmp-"  # every temporary name of this module starts with it


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
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{path.stem.split('.')[0]}-", suffix=suffix)
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


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """The content of a JSON record, or `default` when the file does not exist.

    Raises:
      InputError: the file exists but is not valid JSON (named in the message).
    """
    path = pathlib.Path(path)
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not valid JSON ({error}).") from None


def check_folder(path: str | os.PathLike, what: str) -> pathlib.Path:
    """Checks, without creating anything, that `path` is a writable folder or can be created as one.

    Args:
      path: the folder. what: what it is, for the message ("workdir", "export folder", ...).

    Raises:
      InputError: `path` (or a parent) is a file, or the folder that would hold it refuses new files.
    """
    path = pathlib.Path(path).expanduser()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == path else f" ({existing} is a file)"
        raise InputError(f"{path}: the {what} is a file{where}; expected a folder (or a path that does not exist yet).")
    try:  # tried, not guessed: os.access says yes to root even on read-only mounts
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise InputError(f"{path}: cannot create or write the {what} ({error.strerror or error}).") from None
    return path


def ensure_folder(path: str | os.PathLike, what: str) -> pathlib.Path:
    """`check_folder`, then creates the folder (and its parents) if needed."""
    path = check_folder(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{path}: cannot create the {what} ({error.strerror or error}).") from None
    return path


@contextlib.contextmanager
def exclusive_folder(path: str | os.PathLike, what: str) -> Iterator[pathlib.Path]:
    """Holds an exclusive lock on the existing folder `path` for the block.

    Raises:
      InputError: another process holds it (the same command still running, or a second one on the same folder).
    """
    path = pathlib.Path(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{path}: the {what} is in use by another process; wait for it to finish or choose another folder."
            ) from None
        yield path
    finally:
        os.close(fd)  # releases the lock


# TensorFlow writes a checkpoint's shards into "<prefix>_temp/" and merges them into place at the end.
_CHECKPOINT_TEMPORARY = "ckpt-*_temp"


def remove_stale_temporaries(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Deletes, anywhere under `folder`, the temporary files and folders of this module and TensorFlow's
    unfinished checkpoint folders. Call it only inside `exclusive_folder(folder)`.

    Returns:
      The paths removed.
    """
    folder = pathlib.Path(folder)
    stale = [*folder.rglob(f"{TEMPORARY_PREFIX}*"), *folder.rglob(_CHECKPOINT_TEMPORARY)]
    removed = []
    for path in sorted(stale, key=lambda p: len(p.parts)):
        if not path.exists() and not path.is_symlink():
            continue  # inside a folder removed just before
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
    return removed
