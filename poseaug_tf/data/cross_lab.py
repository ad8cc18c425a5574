"""`cross_lab`: another lab's real motion capture seen through Human3.6M's own cameras → `PoseSet`.

The source is Bandai Namco Research Motiondataset-1 (BVH, CC BY-NC 4.0; its README in the shared data folder):
other people and other motions than Human3.6M (walking styles, running, bowing, waving, punching, kicking,
dancing), with no images and no cameras. Projecting it through Human3.6M's calibrated cameras isolates the shift
"new people and motions, familiar camera". Every choice below is fixed, so that numbers stay comparable:

* **Joints** (`JOINT_MAP`): Hip = the midpoint of the two hip joints (UpperLeg_L/R), as Human3.6M's root is
  the midpoint of its hip joints; RHip/LHip = UpperLeg; knees = LowerLeg; feet = Foot (ankle); Spine = Spine
  (at 0.42 of the Hip→Thorax height, Human3.6M's spine at 0.48); Thorax = Neck (the neck base, 3.5 cm above the
  shoulder line; Human3.6M's thorax 5.8 cm); shoulders = UpperArm; elbows = LowerArm; wrists = Hand. The BVH has
  no head-top joint (its Head is the skull base, 6.5 cm above the neck): Head is placed `HEAD_EXTENSION_CM`
  further along the Neck→Head direction, so that Thorax→Head (16.5 cm) has Human3.6M's share of the torso
  (0.37 of Hip→Thorax). Its hips are narrower than Human3.6M's (13 cm between hip joints against 26 cm).
* **Scored joints** (`SCORED_JOINTS`): the 13 both skeletons define alike; the root (always zero after root
  alignment), Spine and Head (positions that differ by definition) are fed to the lifter but not scored.
* **Placement:** BVH axes (x, y up, z; centimetres) → Human3.6M world (x, −z, y; metres), the floor kept at
  height 0; each clip moved horizontally so that its mean root lies at the centre of the four cameras of
  `CAMERA_SUBJECT` (Human3.6M's capture area); the clip's own heading is kept. Frames whose root is more than
  `CAPTURE_RADIUS_M` from that centre (runs and dashes leave the area) are dropped, so that root depths stay in
  Human3.6M's range (1st–99th percentile 3.2–7.1 m; Human3.6M S9/S11 3.4–6.9 m).
* **Cameras:** the four cameras of `CAMERA_SUBJECT` (S9), intrinsics with distortion, projected as Human3.6M's
  ground-truth 2D is made (`camera.project`); a (frame, camera) sample with any joint outside the image is
  dropped.
* **Frames:** every `stride`-th frame of the 30 fps clips (default 4, 7.5 fps).
* **Split by content** (`split_contents`): the contents sorted by name are dealt alternately to the
  "evaluated" half (bow, byebye, dance-short, guide, punch, run, walk, walk-left) and the "unlabeled" half (bye,
  call, dash, kick, respond, slash, walk-back, walk-right). The `cross_lab` test set is the evaluated half; the
  unlabeled half's 2D is the adaptation target, so adaptation never sees an evaluated frame or motion.

Labels: action = content ("walk"), subject = style ("happy"); one sequence id per (clip, camera).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import tqdm

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.core import skeleton
from poseaug_tf.data import cache as cache_lib
from poseaug_tf.data import h36m_cameras
from poseaug_tf.data.bvh import read_joint_positions
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError, PoseSet

CAMERA_SUBJECT = "S9"
HEAD_EXTENSION_CM = 10.0
CAPTURE_RADIUS_M = 2.0
PARTS = ("evaluated", "unlabeled", "all")
_FILE = re.compile(r"^dataset-1_(?P<content>[a-z-]+)_(?P<style>[a-z-]+)_(?P<take>\d+)\.bvh$")
_CM = 0.01

# Our joint → BVH joint(s) whose mean it is ("Head" is handled separately, see the module docstring).
JOINT_MAP = {
    "Hip": ("UpperLeg_L", "UpperLeg_R"),
    "RHip": ("UpperLeg_R",),
    "RKnee": ("LowerLeg_R",),
    "RFoot": ("Foot_R",),
    "LHip": ("UpperLeg_L",),
    "LKnee": ("LowerLeg_L",),
    "LFoot": ("Foot_L",),
    "Spine": ("Spine",),
    "Thorax": ("Neck",),
    "LShoulder": ("UpperArm_L",),
    "LElbow": ("LowerArm_L",),
    "LWrist": ("Hand_L",),
    "RShoulder": ("UpperArm_R",),
    "RElbow": ("LowerArm_R",),
    "RWrist": ("Hand_R",),
}
_BVH_JOINTS = tuple(sorted({name for names in JOINT_MAP.values() for name in names} | {"Neck", "Head"}))
SCORED_JOINTS: tuple[int, ...] = tuple(
    skeleton.JOINT_NAMES.index(n) for n in skeleton.JOINT_NAMES if n not in ("Hip", "Spine", "Head")
)
# BVH (x, y up, z) → Human3.6M world (x, −z, y): a proper rotation (determinant +1).
BVH_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def clip_labels(path: str | Path) -> tuple[str, str]:
    """'dataset-1_walk-back_happy_001.bvh' → ('walk-back', 'happy')."""
    match = _FILE.match(Path(path).name)
    if match is None:
        raise DataFormatError(f"{path}: expected a file name dataset-1_<content>_<style>_<take>.bvh.")
    return match["content"], match["style"]


def split_contents(contents) -> dict[str, str]:
    """content → "evaluated" | "unlabeled": sorted names dealt alternately, the first to "evaluated"."""
    return {c: ("evaluated", "unlabeled")[i % 2] for i, c in enumerate(sorted(set(contents)))}


def to_h36m_skeleton(bvh_joints: np.ndarray) -> np.ndarray:
    """(T, len(_BVH_JOINTS), 3) BVH positions (any units) → (T, 16, 3) in our joint order, same units."""
    index = {name: i for i, name in enumerate(_BVH_JOINTS)}
    out = np.empty(bvh_joints.shape[:1] + (skeleton.NUM_JOINTS, 3))
    for j, name in enumerate(skeleton.JOINT_NAMES):
        if name == "Head":
            neck, head = bvh_joints[:, index["Neck"]], bvh_joints[:, index["Head"]]
            direction = (head - neck) / np.linalg.norm(head - neck, axis=-1, keepdims=True)
            out[:, j] = head + HEAD_EXTENSION_CM * direction
        else:
            out[:, j] = bvh_joints[:, [index[n] for n in JOINT_MAP[name]]].mean(axis=1)
    return out


def world_poses(bvh_poses_cm: np.ndarray, centre_xy: np.ndarray) -> np.ndarray:
    """(T, J, 3) BVH-axes centimetres → (T, J, 3) Human3.6M world metres, the mean root moved to `centre_xy`."""
    world = bvh_poses_cm @ BVH_TO_WORLD.T * _CM
    shift = np.asarray(centre_xy, np.float64) - world[:, skeleton.ROOT, :2].mean(axis=0)
    return world + np.array([shift[0], shift[1], 0.0])


def bvh_files(root: str | Path) -> list[Path]:
    """The dataset's clips under `root` (or `root`/data), sorted by name."""
    root = Path(root)
    folder = root / "data" if (root / "data").is_dir() else root
    found = sorted(p for p in folder.glob("*.bvh") if _FILE.match(p.name))
    if not found:
        raise DataFileNotFoundError(f"No Bandai Namco BVH clip (dataset-1_*.bvh) under {root}.")
    return found


def load_cross_lab(
    root: str | Path,
    part: str = "evaluated",
    *,
    stride: int = 4,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> PoseSet:
    """The `cross_lab` set: Bandai Namco clips through the four cameras of `CAMERA_SUBJECT` (module docstring).

    Args:
      root: the dataset folder (holding data/*.bvh, or the .bvh files themselves).
      part: "evaluated" (the test set), "unlabeled" (the adaptation target's half) or "all".
      stride: keep every stride-th frame of each clip.
      cache_dir: HDF5 cache folder; None for the default (data/cache.py).
      use_cache: False rebuilds from the BVH files without writing a cache.

    Returns:
      PoseSet: pose3d (N, 16, 3) camera-frame metres, absolute; pose2d (N, 16, 2) normalised; camera (N, 9).

    Raises:
      DataFileNotFoundError: no clip under `root`.
      DataFormatError: an unreadable clip or a clip without the expected joints; no sample left in the image.
      ValueError: unknown `part` or a `stride` < 1.
    """
    if part not in PARTS:
        raise ValueError(f"Expected `part` in {PARTS}; received {part!r}.")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"Expected `stride` to be an integer >= 1; received {stride!r}.")
    clips = bvh_files(root)
    split = split_contents(clip_labels(p)[0] for p in clips)
    chosen = [p for p in clips if part == "all" or split[clip_labels(p)[0]] == part]
    table = h36m_cameras.builtin_camera_table()

    def build() -> PoseSet:
        return _build(chosen, int(stride), table, name=f"cross_lab {part} stride={stride}")

    if not use_cache:
        return build()
    options = {
        "loader": "cross_lab",
        "part": part,
        "stride": int(stride),
        "head_cm": HEAD_EXTENSION_CM,
        "radius": CAPTURE_RADIUS_M,
    }
    pose_set, _ = cache_lib.load_or_build(
        cache_dir=cache_dir, prefix="cross_lab", options=options, sources=chosen, build=build
    )
    return pose_set


def _build(clips: list[Path], stride: int, table: dict, *, name: str) -> PoseSet:
    orientation, translation = h36m_cameras.extrinsics(table, CAMERA_SUBJECT)
    intrinsics = h36m_cameras.normalized_intrinsics(table)
    sizes = h36m_cameras.resolutions(table).astype(np.float64)
    centre = translation[:, :2].astype(np.float64).mean(axis=0)
    pose3d, pose2d, cams, actions, subjects, lengths = [], [], [], [], [], []
    for path in tqdm.tqdm(clips, desc="Preparing cross_lab", unit="clip", file=sys.stderr, disable=None):
        content, style = clip_labels(path)
        world = world_poses(to_h36m_skeleton(read_joint_positions(path, _BVH_JOINTS, stride=stride)), centre)
        world = world[np.linalg.norm(world[:, skeleton.ROOT, :2] - centre, axis=-1) <= CAPTURE_RADIUS_M]
        for cam in range(h36m_cameras.NUM_CAMERAS):
            pose_cam = camera_lib.world_to_camera(world.astype(np.float32), orientation[cam], translation[cam]).numpy()
            kp = camera_lib.project_numpy(pose_cam, np.broadcast_to(intrinsics[cam], (len(pose_cam), 9)))
            inside = (
                (pose_cam[..., 2] > 0).all(-1)
                & (np.abs(kp[..., 0]) <= 1.0).all(-1)
                & (np.abs(kp[..., 1]) <= sizes[cam, 1] / sizes[cam, 0]).all(-1)
            )
            if inside.any():
                pose3d.append(pose_cam[inside])
                pose2d.append(kp[inside])
                cams.append(cam)
                actions.append(content)
                subjects.append(style)
                lengths.append(int(inside.sum()))
    if not lengths:
        raise DataFormatError(f"{name}: no (frame, camera) sample has every joint inside the image.")
    counts = np.array(lengths)
    return PoseSet(
        pose3d=np.concatenate(pose3d),
        pose2d=np.concatenate(pose2d),
        camera=intrinsics[np.repeat(cams, counts)],
        action=np.repeat(np.array(actions, dtype=object), counts),
        subject=np.repeat(np.array(subjects, dtype=object), counts),
        sequence=np.repeat(np.arange(len(counts), dtype=np.int32), counts),
        name=name,
    )
