"""An interactive 3D viewer: one self-contained HTML file that plays a predicted sequence beside its 2D input.

`python -m poseaug_tf.cli.predict ... --html poses.html` writes it (plotly, the optional `viewer` extra:
`pip install -e '.[viewer]'`). The page embeds plotly.js, so it opens offline in any browser: a frame slider,
play/pause, and the 3D panel rotates and zooms with the mouse.

The page reports its own rendering in `<body data-poseaug-status=...>` (frames, joints drawn per frame, script
errors), which the browser test reads back.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from poseaug_tf.core import skeleton
from poseaug_tf.reports.plots.poses import bone_color

# The page checks itself once plotly has drawn: JSON in body[data-poseaug-status].
_STATUS_SCRIPT = """
<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  function count(v) {  // plotly ships numeric arrays as {dtype, bdata} (base64)
    if (Array.isArray(v)) return v.length;
    if (v && v.bdata) return atob(v.bdata).length / ({f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2}[v.dtype] || 1);
    return null;
  }
  function report() {
    var gd = document.querySelector(".plotly-graph-div");
    var status = {errors: errors, frames: 0, joints_per_frame: [], drawn_2d_joints: 0};
    if (gd && gd._transitionData) {
      var frames = gd._transitionData._frames || [];
      status.frames = frames.length;
      status.joints_per_frame = frames.map(function (f) {
        return [count(f.data[1].x), count(f.data[3].x)];
      });
      status.drawn_2d_joints = gd.querySelectorAll(".scatterlayer .trace:nth-child(2) .point").length;
    }
    document.body.setAttribute("data-poseaug-status", JSON.stringify(status));
  }
  window.addEventListener("load", function () { setTimeout(report, 500); });
})();
</script>
"""


def _bone_lines(points: np.ndarray) -> tuple[list, ...]:
    """Coordinates of all bones of one pose as one line trace (segments separated by None)."""
    coords = [[] for _ in range(points.shape[-1])]
    for joint, parent in enumerate(skeleton.PARENTS):
        if parent < 0:
            continue
        for axis, values in enumerate(coords):
            values.extend([float(points[parent, axis]), float(points[joint, axis]), None])
    return tuple(coords)


def _traces(kp_px: np.ndarray, pose_3d: np.ndarray):
    """The four traces of one frame: 2D bones, 2D joints, 3D bones, 3D joints (camera frame, y down → up)."""
    import plotly.graph_objects as go

    up = np.stack([pose_3d[:, 0], pose_3d[:, 2], -pose_3d[:, 1]], -1)  # x, depth, up
    # The figures' colours: left blue, right red, centre grey (plots/poses.py).
    colours = [bone_color(j) for j in range(skeleton.NUM_JOINTS)]

    def bones(trace, points, width):
        return trace(
            **dict(zip("xyz", _bone_lines(points))),
            mode="lines",
            line=dict(color="#888", width=width),
            hoverinfo="skip",
            showlegend=False,
        )

    def joints(trace, points, size, hover):
        return trace(
            **dict(zip("xyz", points.T)),
            mode="markers",
            marker=dict(size=size, color=colours),
            text=list(skeleton.JOINT_NAMES),
            hovertemplate=f"%{{text}}: {hover}<extra></extra>",
            showlegend=False,
        )

    return [
        bones(go.Scatter, kp_px, 3),
        joints(go.Scatter, kp_px, 7, "(%{x:.0f}, %{y:.0f}) px"),
        bones(go.Scatter3d, up, 5),
        joints(go.Scatter3d, up, 4, "x %{x:.2f}, depth %{y:.2f}, up %{z:.2f} m"),
    ]


def write_viewer(
    kp_px: np.ndarray, pose_3d: np.ndarray, image_size: np.ndarray, path: str | os.PathLike, *, title: str = ""
) -> pathlib.Path:
    """Writes the viewer HTML.

    Args:
      kp_px: (N, 16, 2) 2D input in pixels. pose_3d: (N, 16, 3) root-relative camera-frame metres.
      image_size: (N, 2) or (2,) [width, height] pixels (the 2D panel's extent: the first frame's).
      path: the .html file. title: shown above the panels.

    Raises:
      ImportError: plotly is not installed (the `viewer` extra).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kp_px, pose_3d = np.asarray(kp_px, np.float64), np.asarray(pose_3d, np.float64)
    width, height = (float(v) for v in np.asarray(image_size, np.float64).reshape(-1, 2)[0])
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "xy"}, {"type": "scene"}]],
        subplot_titles=("2D input (pixels)", "3D prediction (metres; drag to rotate)"),
    )
    for k, trace in enumerate(_traces(kp_px[0], pose_3d[0])):
        fig.add_trace(trace, row=1, col=1 if k < 2 else 2)
    fig.frames = [
        go.Frame(data=_traces(kp_px[i], pose_3d[i]), name=str(i), traces=[0, 1, 2, 3]) for i in range(len(kp_px))
    ]
    radius = max(float(np.abs(pose_3d).max()), 0.5)
    axis = dict(range=[-radius, radius], autorange=False)
    fig.update_layout(
        title=title or f"{len(kp_px)} frames",
        height=560,
        scene=dict(
            xaxis=dict(title="x", **axis),
            yaxis=dict(title="depth", **axis),
            zaxis=dict(title="up", **axis),
            aspectmode="cube",
        ),
        xaxis=dict(range=[0, width], constrain="domain"),
        yaxis=dict(range=[height, 0], scaleanchor="x"),
        sliders=[
            dict(
                active=0,
                currentvalue=dict(prefix="frame "),
                steps=[
                    dict(
                        method="animate",
                        label=str(i),
                        args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=True))],
                    )
                    for i in range(len(kp_px))
                ],
            )
        ],
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.12,
                xanchor="left",
                buttons=[
                    dict(
                        label="play",
                        method="animate",
                        args=[None, dict(frame=dict(duration=40, redraw=True), fromcurrent=True)],
                    ),
                    dict(
                        label="pause",
                        method="animate",
                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    ),
                ],
            )
        ],
    )
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    html = html.replace("</body>", _STATUS_SCRIPT + "</body>", 1)
    path = pathlib.Path(path)
    path.write_text(html, encoding="utf-8")
    return path
