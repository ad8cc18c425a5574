"""Tests of poseaug_tf/reports/plots/viewer.py: the HTML file, and the page rendered in a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from poseaug_tf.reports.plots.viewer import write_viewer

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--use-angle=swiftshader",  # WebGL on the CPU, for the 3D panel
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
]


def read_status(dom: str) -> dict:
    """The `data-poseaug-status` JSON of a rendered page's DOM (for the browser test)."""
    start = dom.index('data-poseaug-status="') + len('data-poseaug-status="')
    raw = dom[start : dom.index('"', start)]
    return json.loads(raw.replace("&quot;", '"').replace("&amp;", "&"))


def sequence(n=6, seed=0):
    """(N, 16, 2) pixels of a 1000x500 image and (N, 16, 3) root-relative poses: a body walking to the right."""
    rng = np.random.default_rng(seed)
    pose_3d = rng.normal(scale=0.25, size=(n, 16, 3))
    pose_3d -= pose_3d[:, :1]
    kp = pose_3d[..., :2] * 400 + np.array([500.0, 250.0]) + np.arange(n)[:, None, None] * [20.0, 0.0]
    return kp, pose_3d


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI needs Debian's chromium for the viewer test (.ci/run installs it)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return path


def test_the_file_is_self_contained_with_one_frame_per_pose(tmp_path):
    kp, pose = sequence()
    path = write_viewer(kp, pose, np.array([1000, 500]), tmp_path / "v.html", title="walk")
    html = path.read_text()
    assert not re.search(r'<script[^>]+src="http', html)  # plotly.js is embedded: opens offline
    assert re.findall(r'"name":\s*"(\d+)"', html) == [str(i) for i in range(6)]  # one animation frame per pose
    assert "data-poseaug-status" in html
    assert "walk" in html


@pytest.mark.slow
def test_the_page_renders_every_frame_in_a_headless_browser(tmp_path):
    browser = chromium()
    kp, pose = sequence()
    page = write_viewer(kp, pose, np.array([1000, 500]), tmp_path / "v.html").as_uri()
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, "--dump-dom", page], capture_output=True, text=True, timeout=180
    ).stdout
    status = read_status(dom)
    assert status["errors"] == []  # no script error, no console.error (WebGL included)
    assert status["frames"] == 6
    assert status["joints_per_frame"] == [[16, 16]] * 6  # 2D and 3D joints of every frame
    assert status["drawn_2d_joints"] == 16  # the first frame's joints are on the page
    shot = tmp_path / "v.png"
    subprocess.run(
        [browser, *CHROMIUM_FLAGS, "--window-size=1280,640", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=180,
        check=True,
    )
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (640, 1280)
    coloured = np.abs(pixels - pixels.mean(-1, keepdims=True)).max(-1) > 0.2  # the blue/red joints
    left, right = coloured[:, :640].sum(), coloured[:, 640:].sum()  # 2D panel and 3D (WebGL) panel
    assert left > 50 and right > 50, (left, right)
