"""Joint positions of a BVH motion-capture clip, read with the maintained `bvhio` package (not our own parser).

`bvhio` parses the hierarchy and the per-joint channels (every joint may carry position and rotation channels,
as Bandai Namco's files do) and runs the forward kinematics; this module only asks it for world positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError


def _bvhio():
    try:
        import bvhio
    except ImportError:
        raise DataFormatError(
            "Reading BVH motion capture needs the `bvhio` package: pip install 'poseaug-tf[bvh]'."
        ) from None
    return bvhio


def read_joint_positions(path: str | Path, joints: Sequence[str], *, stride: int = 1) -> np.ndarray:
    """World positions of the named joints in every `stride`-th frame of a BVH file, in the file's units and axes.

    Args:
      path: the .bvh file.
      joints: joint names of its hierarchy, in the output order.
      stride: keep frames 0, stride, 2·stride, …

    Returns:
      (T, len(joints), 3) float64.

    Raises:
      DataFileNotFoundError: no such file.
      DataFormatError: unreadable BVH, a joint name it does not have, no frames, or non-finite positions.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"BVH file {path} does not exist.")
    _check_structure(path)
    bvhio = _bvhio()
    try:
        root = bvhio.readAsHierarchy(str(path))
        first, last = root.getKeyframeRange()
    except Exception as error:  # noqa: BLE001 - bvhio raises many types for a malformed file
        raise DataFormatError(f"{path}: not a readable BVH file ({type(error).__name__}: {error}).") from None
    by_name = {joint.Name: joint for joint, _, _ in root.layout()}
    missing = [name for name in joints if name not in by_name]
    if missing:
        raise DataFormatError(f"{path}: no joint(s) {missing} in the hierarchy; found {sorted(by_name)}.")
    frames = range(first, last + 1, stride)
    if not len(frames):
        raise DataFormatError(f"{path}: no motion frames.")
    chosen = [by_name[name] for name in joints]
    out = np.empty((len(frames), len(chosen), 3))
    for t, frame in enumerate(frames):
        root.loadPose(frame)
        out[t] = [tuple(joint.PositionWorld) for joint in chosen]
    if not np.isfinite(out).all():
        raise DataFormatError(f"{path}: forward kinematics gave non-finite joint positions.")
    return out


def _check_structure(path: Path) -> None:
    """Refuses a truncated or foreign file before `bvhio` reads it: bvhio 1.5.4 loops forever at an early end of
    file inside the hierarchy, so the sections and braces are checked first (a sanity check, not a parser)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: not a readable BVH file ({type(error).__name__}: {error}).") from None
    head, motion_marker, motion = text.partition("\nMOTION")
    problem = (
        "it does not start with HIERARCHY"
        if not head.lstrip().startswith("HIERARCHY")
        else "it has no MOTION section"
        if not motion_marker
        else "its hierarchy's braces do not balance"
        if head.count("{") != head.count("}") or head.count("{") == 0
        else "its MOTION section has no 'Frames:' line"
        if "Frames:" not in motion
        else ""
    )
    if problem:
        raise DataFormatError(f"{path}: not a readable BVH file ({problem}).")
