"""Lift 2D keypoints from a JSON, CSV or npz file to 3D with an exported model.

    python -m poseaug_tf.cli.predict --model saved_models/vp/1 --input dets.json --output poses.json
    python -m poseaug_tf.cli.predict --model saved_models/vp/1/tflite/pose_lifter_int8.tflite \\
        --input dets.csv --layout coco17 --image-size 1920x1080 --output poses.npz --flip --plot pose.png

Input formats (one person per frame, pixel coordinates, origin top-left; see `read_keypoints`):
  JSON  {"image_size": [w, h], "layout": "coco17", "frames": [{"keypoints": [[x, y, score], ...]}, ...]}, or a
        list of per-frame MMPose/COCO-style results [{"keypoints": [...], "keypoint_scores": [...]}, ...].
  CSV   one row per frame: x0,y0,s0,x1,y1,s1,... (or x0,y0,x1,y1,...); optional all-text header row.
  npz   keypoints (N, J, 2|3); optional scores (N, J), image_size (2,) or (N, 2), layout (string).
Output (.json or .npz): keypoints_3d (N, 16, 3) camera-frame metres, root-relative, with joint names.
Errors (exit code 1, nothing written) name the file, frame and field.
"""

from poseaug_tf.infra.runtime import import_tensorflow_quietly

import_tensorflow_quietly()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

from poseaug_tf.core import skeleton  # noqa: E402
from poseaug_tf.data.keypoint_files import (  # noqa: E402
    DEFAULT_MIN_CONFIDENCE,
    parse_image_size,
    prepare,
    read_keypoints,
)
from poseaug_tf.infra import files  # noqa: E402
from poseaug_tf.infra.user_errors import InputError, exit_on_input_error  # noqa: E402

COORDINATES = "camera frame (x right, y down, z forward), root-relative: Hip at the origin"


def _check_writable_folder(path: pathlib.Path, flag: str) -> None:
    """Fails before any work when `path`'s folder is missing or refuses a new file (tried, not guessed:
    `os.access` says yes to root even on read-only mounts)."""
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{flag}: folder {str(folder)!r} does not exist.")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InputError(f"{flag}: folder {str(folder)!r} is not writable ({error.strerror}).") from None


def _atomic_write(path: pathlib.Path, write) -> None:
    """Calls write(tmp_path) on a temporary file next to `path`, then renames it into place."""
    with files.atomic_path(path, suffix=path.suffix) as tmp:
        write(tmp)


def _write_result(path: pathlib.Path, result: dict) -> None:
    if path.suffix == ".npz":
        _atomic_write(
            path,
            lambda tmp: np.savez(open(tmp, "wb"), **{k: np.asarray(v) for k, v in result.items() if k != "frames"}),
        )
        return
    doc = {k: v for k, v in result.items() if k not in ("keypoints_3d", "keypoints_2d_px", "image_size")}
    doc["joint_names"] = list(doc["joint_names"])
    doc["frames"] = [
        {
            "index": i,
            "keypoints_3d": np.round(p3.astype(np.float64), 6).tolist(),
            # null for a missing joint (lifted after the fill-in of keypoint_noise.fill_missing)
            "keypoints_2d_px": [
                None if np.isnan(xy).any() else xy for xy in np.round(p2.astype(np.float64), 3).tolist()
            ],
            "missing_joints": [skeleton.JOINT_NAMES[j] for j in np.nonzero(np.isnan(p2).any(-1))[0]],
            "image_size": s.tolist(),
        }
        for i, (p3, p2, s) in enumerate(zip(result["keypoints_3d"], result["keypoints_2d_px"], result["image_size"]))
    ]
    _atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(json.dumps(doc)))


def plot_pose(kp_px: np.ndarray, pose_3d: np.ndarray, image_size, path: str | os.PathLike) -> None:
    """Saves a PNG of a 2D input (16, 2) pixels beside its 3D prediction (16, 3) metres (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 4.5))
    ax2d = fig.add_subplot(1, 2, 1)
    ax3d = fig.add_subplot(1, 2, 2, projection="3d")
    for joint, parent in enumerate(skeleton.PARENTS):
        if parent < 0:
            continue
        color = "tab:red" if joint in skeleton.JOINTS_RIGHT else "tab:blue" if joint in skeleton.JOINTS_LEFT else "k"
        ax2d.plot(*kp_px[[parent, joint]].T, color=color)
        # Camera frame has y down and z forward: draw depth on the plot's y axis and −y as up.
        seg = pose_3d[[parent, joint]]
        ax3d.plot(seg[:, 0], seg[:, 2], -seg[:, 1], color=color)
    ax2d.set_xlim(0, image_size[0])
    ax2d.set_ylim(image_size[1], 0)
    ax2d.set_aspect("equal")
    ax2d.set_title("2D input (pixels)")
    ax3d.set_title("3D prediction (metres)")
    ax3d.set_xlabel("x")
    ax3d.set_ylabel("z (depth)")
    ax3d.set_zlabel("-y (up)")
    radius = max(float(np.abs(pose_3d).max()), 0.5)
    ax3d.set_xlim(-radius, radius)
    ax3d.set_ylim(-radius, radius)
    ax3d.set_zlim(-radius, radius)
    fig.tight_layout()
    path = pathlib.Path(path)
    _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    plt.close(fig)


def predict_file(
    model: str | os.PathLike,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    layout: str | None = None,
    image_size=None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    use_flip_tta: bool = False,
    plot_path: str | os.PathLike | None = None,
    plot_frame: int = 0,
    num_threads: int | None = None,
    html_path: str | os.PathLike | None = None,
) -> dict:
    """Reads 2D keypoints, lifts them with `model`, writes the 3D result (and optionally a PNG).

    Args:
      model: SavedModel folder or .tflite file (see `inference.Lifter.load`).
      input_path: .json, .csv or .npz (module docstring). output_path: .json or .npz.
      layout: keypoint layout name (`keypoint_layouts.LAYOUTS`); None: from the file or the joint count.
      image_size: (width, height) pixels; overrides the file's.
      min_confidence: joints below this score count as missing. use_flip_tta: flip test-time augmentation.
      plot_path: PNG of frame `plot_frame`. num_threads: TFLite interpreter threads.
      html_path: the interactive 3D viewer of the whole sequence (plots/viewer.py; needs plotly).

    Returns:
      The result dict written: keypoints_3d (N, 16, 3) metres, keypoints_2d_px (N, 16, 2), image_size (N, 2), ...

    Raises:
      KeypointError (a ValueError): unreadable or invalid input; ValueError: bad model or output path.
      Nothing is written when an error is raised.
    """
    from poseaug_tf.serving.inference import Lifter

    output_path = pathlib.Path(output_path)
    if output_path.suffix not in (".json", ".npz"):
        raise InputError(f"--output: expected a .json or .npz file; received {str(output_path)!r}.")
    if output_path.exists() and output_path.resolve() == pathlib.Path(input_path).resolve():
        raise InputError(f"--output: {str(output_path)!r} is the input file; choose another name.")
    _check_writable_folder(output_path, "--output")
    if plot_path is not None:
        _check_writable_folder(pathlib.Path(plot_path), "--plot")
    if html_path is not None:
        if pathlib.Path(html_path).suffix.lower() not in (".html", ".htm"):
            raise InputError(f"--html: expected an .html file; received {str(html_path)!r}.")
        _check_writable_folder(pathlib.Path(html_path), "--html")
        try:
            import plotly  # noqa: F401
        except ImportError:
            raise InputError(
                "--html: the viewer needs plotly; pip install -e '.[viewer]' (or pip install plotly)."
            ) from None
    if not 0 <= min_confidence <= 1:
        raise InputError(f"--min-confidence: expected a score in [0, 1]; received {min_confidence!r}.")
    data = read_keypoints(input_path, layout=layout)
    kp_px, size, layout_name = prepare(
        data, source=str(input_path), layout=layout, image_size=image_size, min_confidence=min_confidence
    )
    if plot_path is not None and not 0 <= plot_frame < len(kp_px):
        raise InputError(f"--plot-frame: expected 0..{len(kp_px) - 1}; received {plot_frame}.")
    lifter = Lifter.load(model, use_flip_tta=use_flip_tta, num_threads=num_threads)
    pose_3d = lifter.lift_pixels(kp_px, size)
    result = {
        "keypoints_3d": pose_3d,
        "keypoints_2d_px": kp_px,
        "image_size": size,
        "joint_names": np.array(skeleton.JOINT_NAMES),
        "units": "metres",
        "coordinates": COORDINATES,
        "layout": layout_name,
        "model": str(model),
        "input": str(input_path),
        "flip_tta": bool(use_flip_tta or lifter.baked_flip),
    }
    if plot_path is not None:
        plot_pose(kp_px[plot_frame], pose_3d[plot_frame], size[plot_frame], plot_path)
    if html_path is not None:
        from poseaug_tf.reports.plots.viewer import write_viewer

        title = f"{pathlib.Path(input_path).name}: {len(pose_3d)} frames"
        _atomic_write(pathlib.Path(html_path), lambda tmp: write_viewer(kp_px, pose_3d, size, tmp, title=title))
    _write_result(output_path, result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poseaug_tf.cli.predict", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="SavedModel version folder, .tflite file or preset")
    parser.add_argument("--input", required=True, help="2D keypoints: .json, .csv or .npz")
    parser.add_argument("--output", required=True, help="3D result: .json or .npz")
    parser.add_argument("--layout", default=None, help="coco17, mediapipe33, body25, h36m17, h36m16, mpii16")
    parser.add_argument("--image-size", default=None, help="WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE)
    parser.add_argument("--flip", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--plot", default=None, help="PNG of the 2D input beside the 3D prediction")
    parser.add_argument("--plot-frame", type=int, default=0)
    parser.add_argument("--num-threads", type=int, default=None, help="TFLite interpreter threads")
    parser.add_argument("--html", default=None, help="interactive 3D viewer of the sequence (needs plotly)")
    args = parser.parse_args(argv)
    try:
        with exit_on_input_error("predict"):
            size = None if args.image_size is None else parse_image_size(args.image_size)
            result = predict_file(
                args.model,
                args.input,
                args.output,
                layout=args.layout,
                image_size=size,
                min_confidence=args.min_confidence,
                use_flip_tta=args.flip,
                plot_path=args.plot,
                plot_frame=args.plot_frame,
                num_threads=args.num_threads,
                html_path=args.html,
            )
    except SystemExit as exit_:
        return exit_.code
    print(f"Wrote {len(result['keypoints_3d'])} poses to {args.output}")
    return 0


def run() -> None:
    """`python -m poseaug_tf.cli.predict` and `poseaug-predict` (pyproject's script)."""
    sys.exit(main())


if __name__ == "__main__":
    run()
