"""poseaug_tf/files.py: atomic replacement, nothing left behind on failure, permissions from the umask."""

from __future__ import annotations

import os
import stat

import pytest

from poseaug_tf import files


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700),
                                                       (0o002, 0o664, 0o775)])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    previous = os.umask(umask)
    try:
        files.write_text_atomic(tmp_path / "a" / "results.json", "{}")
        folder = files.temporary_folder(tmp_path, prefix=".tmp-1-")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a" / "results.json").stat().st_mode) == file_mode
    assert stat.S_IMODE(folder.stat().st_mode) == dir_mode


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.weights.h5"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            assert tmp.name.endswith(".weights.h5") and tmp.parent == tmp_path
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["model.weights.h5"]
    with files.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1
