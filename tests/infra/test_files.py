"""poseaug_tf/infra/files.py: atomic replacement, nothing left behind on failure, permissions from the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError


@pytest.mark.parametrize(
    "umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)]
)
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


def test_read_json_names_a_corrupt_file(tmp_path):
    assert files.read_json(tmp_path / "absent.json", default=[]) == []
    (tmp_path / "history.json").write_text('[{"epoch": 1')
    with pytest.raises(InputError, match=r"history.json: not valid JSON \(Expecting"):
        files.read_json(tmp_path / "history.json")


def test_check_folder_creates_nothing_and_ensure_folder_creates(tmp_path):
    target = tmp_path / "a" / "b"
    assert files.check_folder(target, "workdir") == target and not (tmp_path / "a").exists()
    assert files.ensure_folder(target, "workdir").is_dir()
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(InputError, match=r"the workdir is a file"):
            files.check_folder(path, "workdir")
    with pytest.raises(InputError, match=r"/sys/poseaug: cannot create or write the export folder"):
        files.ensure_folder("/sys/poseaug", "export folder")  # /sys refuses new entries, even to root


def test_exclusive_folder_refuses_a_second_holder_until_released(tmp_path):
    with files.exclusive_folder(tmp_path, "workdir"):
        with pytest.raises(InputError, match="the workdir is in use by another process"):
            with files.exclusive_folder(tmp_path, "workdir"):
                pass
    with files.exclusive_folder(tmp_path, "workdir"):  # released on exit
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
            "os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); "
            "time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match="in use by another process"):
            with files.exclusive_folder(tmp_path, "workdir"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with files.exclusive_folder(tmp_path, "workdir"):
        pass


def test_remove_stale_temporaries_removes_only_interrupted_writes(tmp_path):
    keep = [
        tmp_path / "results.json",
        tmp_path / "pretrain" / "ckpt" / "ckpt-1.index",
        tmp_path / "pretrain" / "ckpt" / "checkpoint",
        tmp_path / "tmp-notes.txt",
        tmp_path / "figures" / "training_curves.png",
    ]
    stale = [
        tmp_path / ".tmp-results-abc.json",
        tmp_path / "figures" / ".tmp-curves-x.png",
        tmp_path / "pretrain" / "ckpt" / "ckpt-2_temp" / "part-00000-of-00001.index",
        tmp_path / ".tmp-3-folder" / "saved_model.pb",
    ]
    for path in keep + stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    removed = files.remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale[0], stale[1], stale[2].parent, stale[3].parent])
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)
