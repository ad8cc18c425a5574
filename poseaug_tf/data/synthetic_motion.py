"""Procedural human postures for the synthetic dataset: joint-angle families, body sizes, forward kinematics.

Pure NumPy, vectorised over samples. Body frame: metres, root (pelvis, joint 0) at the origin, X = the person's
left, Y = up, Z = the direction the person faces (right-handed). Joint angles are in degrees, one column per name
of `ANGLE_NAMES`; their meaning is fixed by `forward_kinematics`:

* `*_flex` swing a limb or segment forward (+Z), `*_abd` outward (away from the body's mid-plane), `*_rot` turn
  a limb about its own axis (positive = external rotation), `knee_*` bends the shin backward and `elbow_*` the
  forearm forward (hinges: the angle between the two segments is exactly 180° minus the parameter),
  `*_lat` bend sideways, `*_twist` turn a segment about its own axis, `clav_*` raise a shoulder.
* The pelvis is upright (only `lean_*` tilt the whole body), so `hip_flex` is the thigh's angle from vertical in
  the sagittal plane. A forward-tilting pelvis with flexed hips gives the same joints as an upright pelvis with
  a bent spine (the hip joints lie on the tilt axis), so the simpler chain loses nothing.

Every family is a box of joint-angle ranges within `JOINT_LIMITS`; "walking" additionally couples the legs and
arms through a gait phase. Postures are drawn right-handed (e.g. reaching with the right arm) and mirrored at
random, which keeps left/right statistics symmetric.
"""

from __future__ import annotations

import numpy as np

from poseaug_tf.core import skeleton

_SIDED = ("hip_flex", "hip_abd", "hip_rot", "knee", "clav", "shoulder_flex", "shoulder_abd", "shoulder_rot", "elbow")
ANGLE_NAMES = (
    "lean_pitch",
    "lean_roll",
    "hip_flex_l",
    "hip_abd_l",
    "hip_rot_l",
    "knee_l",
    "hip_flex_r",
    "hip_abd_r",
    "hip_rot_r",
    "knee_r",
    "spine_flex",
    "spine_lat",
    "spine_twist",
    "chest_flex",
    "chest_lat",
    "chest_twist",
    "neck_flex",
    "neck_lat",
    "clav_l",
    "shoulder_flex_l",
    "shoulder_abd_l",
    "shoulder_rot_l",
    "elbow_l",
    "clav_r",
    "shoulder_flex_r",
    "shoulder_abd_r",
    "shoulder_rot_r",
    "elbow_r",
)
NUM_ANGLES = len(ANGLE_NAMES)
ANGLE_INDEX = {name: index for index, name in enumerate(ANGLE_NAMES)}

# Anatomical limits in degrees (side-less names apply to both sides); every sampled angle lies inside them.
JOINT_LIMITS = {
    "lean_pitch": (-15.0, 30.0),
    "lean_roll": (-15.0, 15.0),
    "hip_flex": (-30.0, 130.0),
    "hip_abd": (-20.0, 60.0),
    "hip_rot": (-40.0, 50.0),
    "knee": (0.0, 150.0),
    "spine_flex": (-20.0, 70.0),
    "spine_lat": (-25.0, 25.0),
    "spine_twist": (-30.0, 30.0),
    "chest_flex": (-20.0, 50.0),
    "chest_lat": (-20.0, 20.0),
    "chest_twist": (-30.0, 30.0),
    "neck_flex": (-40.0, 60.0),
    "neck_lat": (-30.0, 30.0),
    "clav": (-15.0, 30.0),
    "shoulder_flex": (-50.0, 180.0),
    "shoulder_abd": (-20.0, 180.0),
    "shoulder_rot": (-70.0, 90.0),
    "elbow": (0.0, 150.0),
}

# Relaxed standing: the base of every family (Human3.6M "Waiting" / "Directions").
_STANDING = {
    "lean_pitch": (-3.0, 5.0),
    "lean_roll": (-3.0, 3.0),
    "hip_flex": (-5.0, 10.0),
    "hip_abd": (0.0, 10.0),
    "hip_rot": (-10.0, 20.0),
    "knee": (0.0, 10.0),
    "spine_flex": (-5.0, 10.0),
    "spine_lat": (-4.0, 4.0),
    "spine_twist": (-8.0, 8.0),
    "chest_flex": (-5.0, 10.0),
    "chest_lat": (-4.0, 4.0),
    "chest_twist": (-8.0, 8.0),
    "neck_flex": (-5.0, 20.0),
    "neck_lat": (-8.0, 8.0),
    "clav": (-12.0, 0.0),
    "shoulder_flex": (-10.0, 25.0),
    "shoulder_abd": (0.0, 20.0),
    "shoulder_rot": (-20.0, 40.0),
    "elbow": (5.0, 45.0),
}
# Overrides of _STANDING per family; a sided name ("elbow_r") overrides one side only.
FAMILY_OVERRIDES = {
    # Idle with a gesturing right arm (phoning, smoking, eating).
    "standing": {"shoulder_flex_r": (-10.0, 50.0), "elbow_r": (5.0, 130.0)},
    # Legs and arm swing come from the gait model (`_apply_gait`); these ranges cover the rest.
    "walking": {"spine_flex": (0.0, 10.0), "elbow": (10.0, 40.0)},
    "sitting": {
        "hip_flex": (75.0, 100.0),
        "hip_abd": (0.0, 20.0),
        "knee": (70.0, 110.0),
        "lean_pitch": (-5.0, 5.0),
        "spine_flex": (-10.0, 15.0),
        "chest_flex": (-5.0, 15.0),
        "shoulder_flex": (10.0, 50.0),
        "elbow": (40.0, 100.0),
    },
    "reaching": {
        "shoulder_flex_r": (40.0, 120.0),
        "shoulder_abd_r": (0.0, 60.0),
        "elbow_r": (0.0, 60.0),
        "spine_flex": (0.0, 25.0),
        "chest_twist": (-10.0, 20.0),
        "lean_pitch": (0.0, 10.0),
    },
    "bending": {
        "spine_flex": (30.0, 60.0),
        "chest_flex": (10.0, 35.0),
        "hip_flex": (0.0, 30.0),
        "knee": (0.0, 40.0),
        "neck_flex": (-30.0, 10.0),
        "shoulder_flex": (40.0, 100.0),
        "elbow": (0.0, 40.0),
    },
    "crouching": {
        "hip_flex": (90.0, 125.0),
        "knee": (110.0, 150.0),
        "hip_abd": (10.0, 35.0),
        "spine_flex": (20.0, 50.0),
        "chest_flex": (0.0, 20.0),
        "shoulder_flex": (20.0, 80.0),
        "elbow": (20.0, 90.0),
    },
    "arms_raised": {
        "shoulder_flex": (100.0, 170.0),
        "shoulder_abd": (10.0, 80.0),
        "elbow": (0.0, 50.0),
        "clav": (5.0, 25.0),
        "neck_flex": (-30.0, 5.0),
        "spine_flex": (-15.0, 5.0),
    },
}
FAMILIES = tuple(FAMILY_OVERRIDES)

# Gait model ranges (degrees): hip swing amplitude, peak swing-phase knee flexion, arm swing amplitude.
GAIT_SOURCE = {"stride": (15.0, 25.0), "knee_swing": (40.0, 60.0), "arm_swing": (10.0, 30.0)}
GAIT_TARGET = {"stride": (10.0, 40.0), "knee_swing": (30.0, 80.0), "arm_swing": (5.0, 45.0)}

# First bone index of each of the 9 distinct (left/right shared) lengths, in skeleton.BL_RATIO_MAP order.
_UNIQUE_BONES = tuple(skeleton.BL_RATIO_MAP.index(u) for u in range(max(skeleton.BL_RATIO_MAP) + 1))
# Groups of distinct lengths scaled together by the body-proportion factors (indices into _UNIQUE_BONES).
PROPORTION_GROUPS = {"legs": (1, 2), "torso": (3, 4), "head": (5,), "arms": (7, 8), "widths": (0, 6)}


def _base_name(name: str) -> str:
    """Strips the side suffix of a sided angle name ("knee_l" -> "knee"); other names are unchanged."""
    return name[:-2] if name[-2:] in ("_l", "_r") and name[:-2] in _SIDED else name


def _limits(name: str) -> tuple[float, float]:
    return JOINT_LIMITS[_base_name(name)]


def family_ranges(*, widen_deg: float = 0.0, widen_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Joint-angle boxes of every family, optionally widened and clipped to `JOINT_LIMITS`.

    Each range (lo, hi) becomes (lo − m, hi + m) with m = max(widen_deg, widen_fraction · (hi − lo)).

    Args:
      widen_deg: minimum widening per side, degrees.
      widen_fraction: widening per side as a fraction of the range's width.

    Returns:
      (low, high): two (F, A) float64 arrays, F = len(FAMILIES), A = NUM_ANGLES, degrees.
    """
    low = np.empty((len(FAMILIES), NUM_ANGLES))
    high = np.empty_like(low)
    for f, family in enumerate(FAMILIES):
        overrides = FAMILY_OVERRIDES[family]
        for a, name in enumerate(ANGLE_NAMES):
            base = _base_name(name)
            lo, hi = overrides.get(name, overrides.get(base, _STANDING[base]))
            margin = max(widen_deg, widen_fraction * (hi - lo))
            limit_lo, limit_hi = _limits(name)
            low[f, a], high[f, a] = max(lo - margin, limit_lo), min(hi + margin, limit_hi)
    return low, high


def sample_angles(
    family: np.ndarray,
    rng: np.random.Generator,
    *,
    low: np.ndarray,
    high: np.ndarray,
    gait: dict[str, tuple[float, float]],
) -> np.ndarray:
    """Draws joint angles uniformly inside each sample's family box, then applies the gait model to walkers.

    Args:
      family: (N,) int index into FAMILIES.
      rng: NumPy generator.
      low, high: (F, A) family boxes from `family_ranges`, degrees.
      gait: amplitude ranges in the layout of GAIT_SOURCE.

    Returns:
      (N, A) float64 joint angles in degrees, inside JOINT_LIMITS.
    """
    u = rng.random((len(family), NUM_ANGLES))
    angles = low[family] + u * (high[family] - low[family])
    walking = np.flatnonzero(family == FAMILIES.index("walking"))
    angles[walking] = _apply_gait(angles[walking], rng, gait)
    return angles


def _apply_gait(angles: np.ndarray, rng: np.random.Generator, gait: dict[str, tuple[float, float]]) -> np.ndarray:
    """Overwrites hips, knees and shoulder flexion with a phase-coupled walking cycle (plus ±3° jitter)."""
    n = len(angles)
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    stride, knee_swing, arm_swing = (rng.uniform(*gait[key], n) for key in ("stride", "knee_swing", "arm_swing"))
    swing = np.sin(phase)
    # The knee of a leg is bent while that leg swings forward (its hip flexion increasing, cos(phase) > 0).
    knee_wave = np.cos(phase - 0.3)
    values = {
        "hip_flex_l": 5.0 + stride * swing,
        "hip_flex_r": 5.0 - stride * swing,
        "knee_l": 5.0 + knee_swing * np.maximum(knee_wave, 0.0),
        "knee_r": 5.0 + knee_swing * np.maximum(-knee_wave, 0.0),
        # Arms swing against the leg of the same side.
        "shoulder_flex_l": 5.0 - arm_swing * swing,
        "shoulder_flex_r": 5.0 + arm_swing * swing,
    }
    angles = angles.copy()
    for name, value in values.items():
        angles[:, ANGLE_INDEX[name]] = np.clip(value + rng.uniform(-3.0, 3.0, n), *_limits(name))
    return angles


def sample_bone_lengths(
    num: int,
    rng: np.random.Generator,
    *,
    scale: tuple[float, float],
    proportion: tuple[float, float],
    width: tuple[float, float],
    noise_std: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws left/right-symmetric bodies around the five Human3.6M templates (docs/reference.md §1.10).

    lengths = template · global scale · group factor · (1 + per-length noise); the group factors (legs, torso,
    head, arms drawn from `proportion`; hip and shoulder widths from `width`) change limb ratios, the noise
    (normal, clipped at ±3 std) is drawn once per distinct length so left and right stay equal.

    Args:
      num: number of bodies N.
      rng: NumPy generator.
      scale: (low, high) uniform global scale.
      proportion: (low, high) uniform factor per limb group.
      width: (low, high) uniform factor of the hip and shoulder widths.
      noise_std: relative std of the per-length noise.

    Returns:
      (lengths (N, 15) float64 metres, template (N,) int index of the template row).
    """
    templates = np.asarray(skeleton.BONE_LENGTH_TEMPLATES, np.float64)[:, _UNIQUE_BONES]  # (5, 9)
    template = rng.integers(0, len(templates), num)
    factor = rng.uniform(*scale, (num, 1)) * (
        1.0 + np.clip(rng.normal(0.0, noise_std, (num, 9)), -3 * noise_std, 3 * noise_std)
    )
    for group, columns in PROPORTION_GROUPS.items():
        factor[:, columns] *= rng.uniform(*(width if group == "widths" else proportion), (num, 1))
    unique = templates[template] * factor
    return unique[:, list(skeleton.BL_RATIO_MAP)], template


def axis_rotation(axis: int, angle_deg: np.ndarray) -> np.ndarray:
    """(N, 3, 3) right-handed rotations by `angle_deg` about coordinate axis 0 (X), 1 (Y) or 2 (Z)."""
    angle = np.deg2rad(angle_deg)
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane rotated, in right-handed order
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., j, j] = c
    out[..., i, j] = -s
    out[..., j, i] = s
    return out


def _chain(*rotations: np.ndarray) -> np.ndarray:
    """Matrix product of (N, 3, 3) rotations, left to right."""
    out = rotations[0]
    for rotation in rotations[1:]:
        out = out @ rotation
    return out


def _segment(frame: np.ndarray, direction: tuple[float, float, float], length: np.ndarray) -> np.ndarray:
    """(N, 3) vector `length` along `direction` expressed in the (N, 3, 3) `frame`."""
    return frame @ np.asarray(direction, np.float64) * length[:, None]


def forward_kinematics(angles_deg: np.ndarray, bone_lengths: np.ndarray) -> np.ndarray:
    """Joint positions of the 16-joint skeleton from joint angles and bone lengths.

    At zero angles the body stands upright facing +Z with arms hanging and every limb bone vertical.

    Args:
      angles_deg: (N, A) joint angles in degrees, columns as ANGLE_NAMES.
      bone_lengths: (N, 15) metres, bone order of docs/reference.md §1.3.

    Returns:
      (N, 16, 3) float64 body-frame joints, metres, root at the origin.
    """
    angle = {name: angles_deg[:, index] for name, index in ANGLE_INDEX.items()}
    length = np.asarray(bone_lengths, np.float64)
    joints = np.zeros((len(length), skeleton.NUM_JOINTS, 3))
    pelvis = _chain(axis_rotation(0, angle["lean_pitch"]), axis_rotation(2, angle["lean_roll"]))
    spine = _chain(
        pelvis,
        axis_rotation(0, angle["spine_flex"]),
        axis_rotation(2, angle["spine_lat"]),
        axis_rotation(1, angle["spine_twist"]),
    )
    chest = _chain(
        spine,
        axis_rotation(0, angle["chest_flex"]),
        axis_rotation(2, angle["chest_lat"]),
        axis_rotation(1, angle["chest_twist"]),
    )
    head = _chain(chest, axis_rotation(0, angle["neck_flex"]), axis_rotation(2, angle["neck_lat"]))
    joints[:, 7] = _segment(spine, (0.0, 1.0, 0.0), length[:, 6])
    joints[:, 8] = joints[:, 7] + _segment(chest, (0.0, 1.0, 0.0), length[:, 7])
    joints[:, 9] = joints[:, 8] + _segment(head, (0.0, 1.0, 0.0), length[:, 8])
    # (suffix, sign of X towards that side, hip/knee/ankle joints, shoulder/elbow/wrist joints, first leg/arm bone)
    for side, sign, leg, arm, leg_bone, arm_bone in (
        ("l", 1.0, (4, 5, 6), (10, 11, 12), 3, 9),
        ("r", -1.0, (1, 2, 3), (13, 14, 15), 0, 12),
    ):
        _limb(
            joints,
            pelvis,
            angle,
            length,
            side=side,
            sign=sign,
            joint_ids=leg,
            bone=leg_bone,
            names=("hip_flex", "hip_abd", "hip_rot", "knee"),
            hinge_sign=1.0,
            attach=0,
            clav=None,
        )
        _limb(
            joints,
            chest,
            angle,
            length,
            side=side,
            sign=sign,
            joint_ids=arm,
            bone=arm_bone,
            names=("shoulder_flex", "shoulder_abd", "shoulder_rot", "elbow"),
            hinge_sign=-1.0,
            attach=8,
            clav=angle[f"clav_{side}"],
        )
    return joints


def _limb(
    joints: np.ndarray,
    base: np.ndarray,
    angle: dict,
    length: np.ndarray,
    *,
    side: str,
    sign: float,
    joint_ids: tuple[int, int, int],
    bone: int,
    names: tuple[str, str, str, str],
    hinge_sign: float,
    attach: int,
    clav: np.ndarray | None,
) -> None:
    """Writes one leg or arm in place: girdle bone along ±X, ball joint (flex, abd, rot), then a hinge.

    Abduction is applied before flexion (in the limb's local frame) so that a raised arm abducts outward;
    rotations about Y and Z flip sign on the right side (mirror symmetry about the X = 0 plane).
    """
    flex, abd, rot, hinge = (angle[f"{name}_{side}"] for name in names)
    girdle = base if clav is None else base @ axis_rotation(2, sign * clav)
    root_joint, middle, end = joint_ids
    joints[:, root_joint] = joints[:, attach] + _segment(girdle, (sign, 0.0, 0.0), length[:, bone])
    # Rx(-flex) swings the hanging limb (0, -1, 0) forward to +Z; Rz(sign*abd) swings it towards sign*X.
    upper = _chain(base, axis_rotation(0, -flex), axis_rotation(2, sign * abd), axis_rotation(1, sign * rot))
    joints[:, middle] = joints[:, root_joint] + _segment(upper, (0.0, -1.0, 0.0), length[:, bone + 1])
    # Knee (hinge_sign +1) bends the shin backward, elbow (-1) the forearm forward.
    lower = upper @ axis_rotation(0, hinge_sign * hinge)
    joints[:, end] = joints[:, middle] + _segment(lower, (0.0, -1.0, 0.0), length[:, bone + 2])


def mirror(joints: np.ndarray) -> np.ndarray:
    """Mirrors body-frame poses about the X = 0 plane and swaps left/right joints: (N, 16, 3) -> (N, 16, 3)."""
    mirrored = joints[:, list(skeleton.FLIP_PERMUTATION)].copy()
    mirrored[..., 0] *= -1.0
    return mirrored
