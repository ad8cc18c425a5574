"""Shared pytest fixtures and options: real-data location, seeded RNG, the `slow` marker switch."""

from __future__ import annotations

import os

# Must run before anything imports TensorFlow (test modules are imported after conftest).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The shared data folder sits next to the repository (../shared/data/h36m); never copy it into the repo.
DEFAULT_H36M_DIR = REPO_ROOT.parent / "shared" / "data" / "h36m"
H36M_DIR_ENV = "POSEAUG_H36M_DIR"
H36M_FILES = ("data_3d_h36m.npz", "h36m_cameras.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="run tests marked @pytest.mark.slow (always on when CI=true)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered in pyproject.toml too; repeated here so the markers exist if the file is run standalone.
    config.addinivalue_line("markers", "slow: slow test, opt in with --run-slow (always run when CI=true)")
    config.addinivalue_line("markers", "h36m: needs the Human3.6M data folder (skipped when absent)")
    config.addinivalue_line("markers", "xdist_group(name): run on the same pytest-xdist worker as the group")


# Session fixtures that do expensive work once: under pytest-xdist (`make test` runs two workers) every test using
# one runs on the same worker (`--dist loadgroup`), so the work is still done once.
SHARED_FIXTURES = ("smoke_run", "data_cache")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        shared = [name for name in SHARED_FIXTURES if name in getattr(item, "fixturenames", ())]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
    if config.getoption("--run-slow") or os.environ.get("CI", "").lower() == "true":
        return
    skip_slow = pytest.mark.skip(reason="slow test: pass --run-slow (or set CI=true) to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def h36m_dir() -> pathlib.Path:
    """Folder holding the Human3.6M npz/json files; skips the test when it is missing.

    `$POSEAUG_H36M_DIR` overrides the default `<repo>/../shared/data/h36m`.
    """
    override = os.environ.get(H36M_DIR_ENV)
    path = pathlib.Path(override).expanduser().resolve() if override else DEFAULT_H36M_DIR
    missing = [name for name in H36M_FILES if not (path / name).is_file()]
    if missing:
        pytest.skip(
            f"Human3.6M data not found: {path} lacks {', '.join(missing)} "
            f"(set ${H36M_DIR_ENV} to the folder holding them)"
        )
    return path


def _shared_folder(name: str, marker: str) -> pathlib.Path:
    path = DEFAULT_H36M_DIR.parent / name
    if not (path / marker).exists():
        pytest.skip(f"{name} not found: {path} lacks {marker}")
    return path


@pytest.fixture(scope="session")
def mpi_3dhp_dir() -> pathlib.Path:
    """../shared/data/mpi_inf_3dhp_test (official TS<n>/annot_data.mat); skips the test when it is missing."""
    return _shared_folder("mpi_inf_3dhp_test", "TS5/annot_data.mat")


@pytest.fixture(scope="session")
def bandai_namco_dir() -> pathlib.Path:
    """../shared/data/bandai_namco_motion (BVH clips); skips the test when it is missing."""
    return _shared_folder("bandai_namco_motion", "data/dataset-1_walk_normal_001.bvh")


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> pathlib.Path:
    """One data cache folder for the tests that read the real datasets: each is parsed once per session (the cache
    key holds every loading option, so tests with other options get their own entries)."""
    return tmp_path_factory.mktemp("data_cache")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh NumPy Generator with a fixed seed per test."""
    return np.random.default_rng(20210619)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> dict:
    """One real training run of the smoke config, figures drawn by the run callback, shared by the tests that read
    a finished workdir (tests/training/test_loop.py, tests/cli/test_visualize.py): {"workdir", "results", "modes"}
    with the permission bits of every path right after training (umask 022). Tests may redraw figures or add files,
    never remove or retrain anything."""
    from configs import synthetic
    from poseaug_tf.reports import figures
    from poseaug_tf.training import loop

    workdir = tmp_path_factory.mktemp("smoke_run")
    previous = os.umask(0o022)
    try:
        results = loop.train_and_evaluate(
            synthetic.get_config("smoke"), workdir, callbacks=[figures.FigureCallback(every=1)]
        )
    finally:
        os.umask(previous)
    modes = {p: p.stat().st_mode for p in workdir.rglob("*")}
    return {"workdir": workdir, "results": results, "modes": modes}
