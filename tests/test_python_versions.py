"""The supported Pythons: every pinned dependency resolves to binary wheels for each of them, and for no other.

pip resolves exactly as `pip download --only-binary=:all: --python-version 3.X` would, but with `install
--dry-run`, which reads the wheels' metadata (PEP 658) instead of downloading a TensorFlow wheel per version.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tomllib
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

PLATFORMS = ("manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def supported() -> list[str]:
    return [c.rsplit(":: ", 1)[1] for c in project()["classifiers"] if re.search(r"Python :: 3\.\d+$", c)]


def resolves(version: str, tmp_path) -> subprocess.CompletedProcess:
    requirements = [*project()["dependencies"], *project()["optional-dependencies"]["test"]]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary=:all:"]
        + ["--python-version", version, *platforms, "--target", str(tmp_path / version), *requirements],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_requires_python_the_classifiers_and_the_makefile_agree():
    assert supported() == ["3.11", "3.12", "3.13"]
    assert project()["requires-python"] == ">=3.11,<3.14"
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in (REPO / "Makefile").read_text()


@pytest.fixture(scope="module")
def pypi():
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
    except OSError as error:
        pytest.skip(f"PyPI is not reachable ({error}); the resolution needs it")


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_every_dependency_has_wheels_for_a_supported_python(pypi, version, tmp_path):
    assert version in supported()
    result = resolves(version, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("version, missing", [("3.10", "numpy"), ("3.14", "tensorflow")])
def test_the_bounds_are_tight(pypi, version, missing, tmp_path):
    result = resolves(version, tmp_path)
    assert result.returncode != 0 and f"No matching distribution found for {missing}" in result.stderr
