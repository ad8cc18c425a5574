"""Tests for poseaug_tf/data/cache.py: reuse, invalidation, corruption recovery, atomic writes."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from poseaug_tf.data import PoseSet, cache, h36m, load_h36m


def _pose_set(rng, n=50, name="toy"):
    return PoseSet(
        pose3d=rng.normal(size=(n, 16, 3)).astype(np.float32),
        pose2d=rng.normal(size=(n, 16, 2)).astype(np.float32),
        camera=rng.normal(size=(n, 9)).astype(np.float32),
        action=np.array(["Walking", "Eating"] * (n // 2), dtype=object),
        subject=np.array(["S1"] * (n - 10) + ["S5"] * 10, dtype=object),
        sequence=np.repeat(np.arange(5, dtype=np.int32), n // 5),
        name=name,
    )


class _Builder:
    def __init__(self, pose_set):
        self.pose_set, self.calls = pose_set, 0

    def __call__(self):
        self.calls += 1
        return self.pose_set


def _assert_equal(a: PoseSet, b: PoseSet):
    for key in a.keys():
        np.testing.assert_array_equal(a[key], b[key])
    assert (a.name, a.root_relative, a.has_camera) == (b.name, b.root_relative, b.has_camera)


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(b"version 1")
    return path


def _load(tmp_path, source, builder, options=None):
    return cache.load_or_build(
        cache_dir=tmp_path / "cache", prefix="toy", options=options or {"a": 1}, sources=[source], build=builder
    )


def test_second_load_reads_the_cache(tmp_path, source, rng):
    builder = _Builder(_pose_set(rng))
    first, built_first = _load(tmp_path, source, builder)
    second, built_second = _load(tmp_path, source, builder)
    assert (built_first, built_second, builder.calls) == (True, False, 1)
    _assert_equal(second, builder.pose_set)
    assert second.action.dtype == object and second.action[1] == "Eating"


def test_changed_source_or_options_rebuild(tmp_path, source, rng):
    builder = _Builder(_pose_set(rng))
    _load(tmp_path, source, builder)
    source.write_bytes(b"version 2")
    assert _load(tmp_path, source, builder)[1] is True
    assert _load(tmp_path, source, builder, options={"a": 2})[1] is True  # another file name
    assert builder.calls == 3
    assert len(list((tmp_path / "cache").glob("toy_*.h5"))) == 2


def _cache_path(tmp_path):
    (path,) = (tmp_path / "cache").glob("toy_*.h5")
    return path


def _flip_pose3d_byte(path: Path):
    with h5py.File(path, "r") as handle:
        offset = handle["pose3d"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as handle:
        handle.seek(offset + 100)
        byte = handle.read(1)
        handle.seek(offset + 100)
        handle.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),  # truncated
        lambda p: p.write_bytes(b"garbage" * 100),  # not HDF5
        _flip_pose3d_byte,  # silent bit flip: fletcher32 catches it
    ],
)
def test_corrupt_cache_is_rebuilt_with_a_warning(tmp_path, source, rng, caplog, damage):
    builder = _Builder(_pose_set(rng))
    _load(tmp_path, source, builder)
    damage(_cache_path(tmp_path))
    with caplog.at_level(logging.WARNING):
        pose_set, built = _load(tmp_path, source, builder)
    assert built and builder.calls == 2
    assert any("corrupt or unreadable" in r.getMessage() for r in caplog.records)
    _assert_equal(pose_set, builder.pose_set)
    assert _load(tmp_path, source, builder)[1] is False  # the rebuilt file is good


def test_interrupted_write_leaves_no_cache(tmp_path, source, rng, monkeypatch):
    def crash(handle, pose_set):
        handle.create_dataset("pose3d", data=pose_set.pose3d)
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "_write_arrays", crash)
    with pytest.raises(KeyboardInterrupt):
        _load(tmp_path, source, _Builder(_pose_set(rng)))
    assert list((tmp_path / "cache").iterdir()) == []  # neither a partial cache nor a temporary file


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "c"))
    assert cache.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv(cache.CACHE_DIR_ENV)
    assert cache.default_cache_dir() == Path.home() / ".cache" / "poseaug_tf"


def test_fingerprint_is_full_sha256(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    fp = cache.fingerprint_file(path)
    assert fp["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 "abc"
    assert fp["size"] == 3


def test_load_h36m_cache_does_not_reopen_pickles(fake_h36m, tmp_path, monkeypatch):
    fresh = load_h36m(fake_h36m.root, ["S1"], cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("h36m_*.h5"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the pickled npz must not be opened when the cache is valid")

    monkeypatch.setattr(h36m, "read_pickled_npz", fail)
    _assert_equal(load_h36m(fake_h36m.root, ["S1"], cache_dir=tmp_path / "c"), fresh)
    with pytest.raises(AssertionError, match="must not be opened"):  # other options: another cache file
        load_h36m(fake_h36m.root, ["S1"], stride=2, cache_dir=tmp_path / "c")
