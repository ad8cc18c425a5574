"""A small BVH writer for the tests: Bandai Namco's 21-joint hierarchy with made-up offsets, 6 channels per joint.

The expected joint positions are computed here from first principles (cumulative offsets, rotations about the
vertical written out), independently of the `bvhio` reader under test.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np

# joint -> (parent, offset in centimetres, BVH axes: y up). Leaves get a zero End Site, as in the real files.
SKELETON = {
    "joint_Root": (None, (0.0, 0.0, 0.0)),
    "Hips": ("joint_Root", (0.0, 90.0, 0.0)),
    "Spine": ("Hips", (0.0, 15.0, -1.0)),
    "Chest": ("Spine", (0.0, 10.0, 0.0)),
    "Neck": ("Chest", (0.0, 16.0, 1.0)),
    "Head": ("Neck", (0.0, 6.0, 0.5)),
    "Shoulder_L": ("Chest", (5.0, 12.0, 0.0)),
    "UpperArm_L": ("Shoulder_L", (6.0, 0.0, 0.0)),
    "LowerArm_L": ("UpperArm_L", (0.0, -24.0, 0.0)),
    "Hand_L": ("LowerArm_L", (0.0, -22.0, 2.0)),
    "Shoulder_R": ("Chest", (-5.0, 12.0, 0.0)),
    "UpperArm_R": ("Shoulder_R", (-6.0, 0.0, 0.0)),
    "LowerArm_R": ("UpperArm_R", (0.0, -24.0, 0.0)),
    "Hand_R": ("LowerArm_R", (0.0, -22.0, 2.0)),
    "UpperLeg_L": ("Hips", (7.0, -5.0, 0.0)),
    "LowerLeg_L": ("UpperLeg_L", (0.0, -39.0, 1.0)),
    "Foot_L": ("LowerLeg_L", (0.0, -41.0, -1.0)),
    "Toes_L": ("Foot_L", (0.0, -5.0, 11.0)),
    "UpperLeg_R": ("Hips", (-7.0, -5.0, 0.0)),
    "LowerLeg_R": ("UpperLeg_R", (0.0, -39.0, 1.0)),
    "Foot_R": ("LowerLeg_R", (0.0, -41.0, -1.0)),
    "Toes_R": ("Foot_R", (0.0, -5.0, 11.0)),
}
CHANNELS = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"


def _children(name):
    return [j for j, (parent, _) in SKELETON.items() if parent == name]


def _block(name, depth):
    pad = "  " * depth
    kind = "ROOT" if depth == 0 else "JOINT"
    lines = [f"{pad}{kind} {name}", f"{pad}{{", f"{pad}  OFFSET {' '.join(map(str, SKELETON[name][1]))}"]
    lines.append(f"{pad}  {CHANNELS}")
    kids = _children(name)
    for kid in kids:
        lines += _block(kid, depth + 1)
    if not kids:
        lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0 0", f"{pad}  }}"]
    lines.append(f"{pad}}}")
    return lines


def write_bvh(path: pathlib.Path, hips_xz: list[tuple[float, float]], hips_yaw_deg: list[float]) -> None:
    """One frame per entry: the Hips translated horizontally by hips_xz (cm) and turned about the vertical."""
    rows = []
    for (x, z), yaw in zip(hips_xz, hips_yaw_deg):
        values = []
        for name, (_, offset) in SKELETON.items():
            position = list(offset)
            rotation = [0.0, 0.0, 0.0]  # Z, X, Y
            if name == "Hips":
                position = [offset[0] + x, offset[1], offset[2] + z]
                rotation = [0.0, 0.0, yaw]
            values += position + rotation
        rows.append(" ".join(f"{v:.6f}" for v in values))
    text = "\n".join(
        ["HIERARCHY", *_block("joint_Root", 0), "MOTION", f"Frames: {len(rows)}", "Frame Time: 0.0333333", *rows]
    )
    path.write_text(text + "\n")


def expected_positions(hips_xz: tuple[float, float], yaw_deg: float) -> dict[str, np.ndarray]:
    """World positions (cm, BVH axes) of every joint for one frame of `write_bvh`: cumulative offsets, the Hips'
    subtree turned by R_y(yaw) about the Hips."""
    rest = {}
    for name, (parent, offset) in SKELETON.items():
        rest[name] = np.asarray(offset, np.float64) + (rest[parent] if parent else 0.0)
    a = math.radians(yaw_deg)
    r_y = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    hips = rest["Hips"] + np.array([hips_xz[0], 0.0, hips_xz[1]])
    out = {"joint_Root": rest["joint_Root"]}
    for name in SKELETON:
        if name != "joint_Root":
            out[name] = hips + r_y @ (rest[name] - rest["Hips"])
    return out
