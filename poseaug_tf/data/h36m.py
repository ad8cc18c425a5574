"""Human3.6M in the VideoPose3D / PoseAug npz layout → `PoseSet` (docs/reference.md §1.1, §1.4–1.6).

Files in `data_dir`:
  data_3d_h36m.npz                   `positions_3d`: subject → action → (N, 32 or 17, 3) world metres.
  data_2d_h36m_<keypoints>.npz       `positions_2d`: subject → action → list of 4 (N, J, 2) pixel arrays.
    gt                 16 (PoseAug) or 17 (VideoPose3D) joints; when the file is absent the GT 2D is computed by
                       projecting the 3D joints with the distorted camera model, as the official files were made.
    cpn_ft_h36m_dbb, detectron_ft_h36m   17 joints (Neck/Nose dropped).
    hr                 16 joints.     sh_pt_mpii   16 joints in MPII order (reordered).

The npz files are pickles: they are opened only to build the HDF5 cache (`poseaug_tf.data.cache`), later runs
read the cache. Every camera view of every frame is one sample; 3D is returned in that camera's frame (absolute).
"""

from __future__ import annotations

import pickle
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tqdm
from absl import logging

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.core import skeleton
from poseaug_tf.data import cache as cache_lib
from poseaug_tf.data import h36m_cameras
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError, PoseSet

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
SUBJECT_SETS = {"train": TRAIN_SUBJECTS, "test": TEST_SUBJECTS, "s1": ("S1",), "s1+s5": ("S1", "S5")}
# The 2D sources of the Human3.6M files (config `data.keypoints`) -> {joint count: rows giving our 16 joints}
# (not the detector layouts of user files: those are keypoint_layouts.LAYOUTS).
SOURCE_ROWS = {
    "gt": {16: None, 17: skeleton.H17_TO_16},
    "cpn_ft_h36m_dbb": {17: skeleton.H17_TO_16},
    "detectron_ft_h36m": {17: skeleton.H17_TO_16},
    "hr": {16: None},
    "sh_pt_mpii": {16: skeleton.SH_MPII_TO_16},
}
_3D_LAYOUTS = {32: skeleton.H36M32_TO_16, 17: skeleton.H17_TO_16}
ACTION_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}  # original-dataset names → archive names
FILE_3D = "data_3d_h36m.npz"


def file_2d(keypoints: str) -> str:
    return f"data_2d_h36m_{keypoints}.npz"


def action_base_name(action: str) -> str:
    """'Walking 1' → 'Walking' (the action label PoseAug reports)."""
    return action.split(" ")[0]


def resolve_subjects(subjects: str | Sequence[str]) -> tuple[str, ...]:
    """A named set ('train', 'test', 's1', 's1+s5'), one subject ('S9'), or a sequence of subjects."""
    if isinstance(subjects, str):
        return SUBJECT_SETS.get(subjects.lower(), tuple(s for s in subjects.replace("+", ",").split(",") if s))
    return tuple(subjects)


def _matches(action: str, names: set[str]) -> bool:
    return action in names or action_base_name(action) in names


def select_actions(available: Sequence[str], actions: Sequence[str] | None, exclude: Sequence[str] = ()) -> list[str]:
    """Filters action names (e.g. 'Walking 1') with requested names, then drops the excluded ones.

    A requested name without a space matches by base name ('Walking' matches 'Walking' and 'Walking 1' but not
    'WalkDog'); a name with a space ('Walking 1') matches exactly. Aliases such as 'TakingPhoto' are accepted.
    Unlike the reference (docs/reference.md §9.14), every requested action is honoured for every subject.
    """
    # DEVIATION(docs/reference.md §9.14): the reference's one-shot `map` filter silently drops actions; this works.
    wanted = (
        None
        if actions is None
        else {ACTION_ALIASES.get(a, a) for a in ([actions] if isinstance(actions, str) else actions)}
    )
    dropped = {ACTION_ALIASES.get(a, a) for a in exclude}
    return [a for a in available if (wanted is None or _matches(a, wanted)) and not _matches(a, dropped)]


def resolve_cameras(cameras: Sequence[int | str] | None) -> tuple[int, ...]:
    """Camera indices 0..3 from indices or camera ids ('54138969'); None for all four.

    Raises:
      ValueError: an unknown index or id, or an empty selection.
    """
    if cameras is None:
        return tuple(range(h36m_cameras.NUM_CAMERAS))
    indices = []
    for cam in cameras:
        text = str(cam).strip()
        if text in h36m_cameras.CAMERA_IDS:
            indices.append(h36m_cameras.CAMERA_IDS.index(text))
        elif text.isdigit() and int(text) < h36m_cameras.NUM_CAMERAS:
            indices.append(int(text))
        else:
            raise ValueError(
                f"Unknown Human3.6M camera {cam!r}; expected an index 0-3 or an id in {list(h36m_cameras.CAMERA_IDS)}."
            )
    if not indices:
        raise ValueError("Expected at least one camera in `cameras`; received none.")
    return tuple(sorted(set(indices)))


def load_h36m(
    data_dir: str | Path,
    subjects: str | Sequence[str],
    keypoints: str = "gt",
    stride: int = 1,
    actions: Sequence[str] | None = None,
    *,
    exclude_actions: Sequence[str] = (),
    cameras: Sequence[int | str] | None = None,
    cache_dir: str | Path | None = None,
    cameras_json: str | Path | None = None,
    use_cache: bool = True,
) -> PoseSet:
    """Loads Human3.6M subjects as a PoseSet, every camera view of every (strided) frame one sample.

    Args:
      data_dir: folder with data_3d_h36m.npz and data_2d_h36m_<keypoints>.npz.
      subjects: e.g. TRAIN_SUBJECTS, ("S9", "S11"), "train", "test", "s1", "s1+s5".
      keypoints: 2D source: one of SOURCE_ROWS ("gt" projects the 3D when its file is absent).
      stride: keep every `stride`-th frame of each sequence.
      actions: None for all, or action names matched by base name ('Walking' → 'Walking', 'Walking 1').
      exclude_actions: action names (matched the same way) removed after `actions` (cross-action protocols).
      cameras: camera indices 0..3 or ids (e.g. (0, 2) for a cross-view protocol); None for all four.
      cache_dir: HDF5 cache folder; None for $POSEAUG_CACHE_DIR or ~/.cache/poseaug_tf.
      cameras_json: camera table override (layout of h36m_cameras.py); None for the built-in table.
      use_cache: False reads the npz files directly and writes no cache.

    Returns:
      PoseSet: pose3d (N, 16, 3) camera frame metres absolute; pose2d (N, 16, 2) normalised; camera (N, 9);
      action (N,) base names; subject (N,); sequence ids per (subject, action, camera).

    Raises:
      DataFileNotFoundError: a needed file is missing.
      DataFormatError (a ValueError): unknown keypoints, missing subject/action/camera, wrong joint count,
        2D shorter than 3D, non-finite values; the message names the file and key.
      ValueError: invalid `stride` or `cameras`.
    """
    subjects = resolve_subjects(subjects)
    if not subjects:
        raise ValueError(f"Expected at least one subject in `subjects`; received {subjects!r}.")
    if keypoints not in SOURCE_ROWS:
        raise DataFormatError(f"Unknown `keypoints` '{keypoints}'; valid: {sorted(SOURCE_ROWS)}.")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"Expected `stride` to be an integer >= 1; received {stride!r}.")
    data_dir = Path(data_dir)
    sources = _source_files(data_dir, keypoints)
    table = h36m_cameras.load_camera_table(cameras_json)
    if actions is not None:
        actions = [actions] if isinstance(actions, str) else list(actions)
        if not actions or not all(isinstance(a, str) for a in actions):
            raise ValueError(f"Expected `actions` to be None or action names (str); received {actions!r}.")
        actions = sorted(set(actions))
    exclude_actions = [exclude_actions] if isinstance(exclude_actions, str) else list(exclude_actions)
    if not all(isinstance(a, str) for a in exclude_actions):
        raise ValueError(f"Expected `exclude_actions` to be action names (str); received {exclude_actions!r}.")
    exclude_actions = sorted(set(exclude_actions))
    cameras = resolve_cameras(cameras)

    def build() -> PoseSet:
        return _build(sources, subjects, keypoints, int(stride), actions, exclude_actions, cameras, table)

    if not use_cache:
        return build()
    options = {
        "loader": "h36m",
        "data_dir": str(data_dir.resolve()),
        "subjects": list(subjects),
        "keypoints": keypoints,
        "stride": int(stride),
        "actions": actions,
        "cameras": h36m_cameras.table_fingerprint(table),
    }
    # Filters join the cache key only when used, so that existing caches of unfiltered sets stay valid.
    if exclude_actions:
        options["exclude_actions"] = exclude_actions
    if len(cameras) < h36m_cameras.NUM_CAMERAS:
        options["camera_indices"] = list(cameras)
    pose_set, _ = cache_lib.load_or_build(
        cache_dir=cache_dir, prefix="h36m", options=options, sources=sources, build=build
    )
    return pose_set


def _source_files(data_dir: Path, keypoints: str) -> list[Path]:
    """[3D file] or [3D file, 2D file]; raises DataFileNotFoundError naming what is missing."""
    path_3d, path_2d = data_dir / FILE_3D, data_dir / file_2d(keypoints)
    try:  # a folder without read or search permission raises here instead of answering False
        found_3d, found_2d = path_3d.is_file(), path_2d.is_file()
    except PermissionError as error:
        raise DataFormatError(f"cannot read the Human3.6M folder {data_dir} ({error.strerror}).") from None
    if not found_3d:
        raise DataFileNotFoundError(f"Human3.6M 3D file {path_3d} does not exist (argument `data_dir`).")
    if found_2d:
        return [path_3d, path_2d]
    if keypoints == "gt":
        logging.info("%s not found: computing GT 2D by projecting the 3D joints with the cameras.", path_2d)
        return [path_3d]
    raise DataFileNotFoundError(f"2D keypoint file {path_2d} does not exist (keypoints='{keypoints}').")


def read_pickled_npz(path: Path, key: str) -> dict:
    """Loads the pickled dict stored under `key` of a VideoPose3D npz file (trusted files only)."""
    logging.warning(
        "Opening pickled %s with allow_pickle=True, which can execute code: only use files from a "
        "trusted source (this happens once, when the cache is built).",
        path,
    )
    try:
        with np.load(path, allow_pickle=True) as archive:
            if key not in archive.files:
                raise DataFormatError(f"{path}: missing key '{key}'; found {archive.files}.")
            value = archive[key]
    except DataFormatError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as error:
        raise DataFormatError(f"{path}: not a readable npz file ({type(error).__name__}: {error}).") from None
    if value.dtype != object or value.shape != () or not isinstance(value.item(), dict):
        raise DataFormatError(
            f"{path}: key '{key}' should hold a pickled dict subject -> action -> data; "
            f"received an array of dtype {value.dtype} and shape {value.shape}."
        )
    return value.item()


def _build(
    sources: list[Path],
    subjects: tuple[str, ...],
    keypoints: str,
    stride: int,
    actions: list[str] | None,
    exclude_actions: list[str],
    cameras: tuple[int, ...],
    table: dict,
) -> PoseSet:
    positions_3d = read_pickled_npz(sources[0], "positions_3d")
    positions_2d = read_pickled_npz(sources[1], "positions_2d") if len(sources) > 1 else None
    plan = _plan(sources, positions_3d, positions_2d, subjects, actions, exclude_actions, table)
    intrinsics = h36m_cameras.normalized_intrinsics(table)
    sizes = h36m_cameras.resolutions(table)
    chunks, labels = [], []
    for subject, action in tqdm.tqdm(plan, desc="Preparing Human3.6M", unit="seq", file=sys.stderr, disable=None):
        pose_world = _pose_16(positions_3d[subject][action], sources[0], subject, action)
        orientation, translation = h36m_cameras.extrinsics(table, subject)
        for cam in cameras:
            pose_cam = camera_lib.world_to_camera(pose_world, orientation[cam], translation[cam]).numpy()
            if positions_2d is None:
                # As the official GT files were made, minus their pixel round trip (p → pixels → normalised),
                # which only adds float32 rounding: the distorted projection is already normalised.
                kp_norm = camera_lib.project(pose_cam, intrinsics[cam]).numpy()
            else:
                kp_px = _keypoints_16(positions_2d, sources[1], keypoints, subject, action, cam, len(pose_cam))
                kp_norm = camera_lib.normalize_screen(kp_px, *sizes[cam]).numpy()
            # DEVIATION(docs/reference.md §9.15): stride applies to 3D, 2D and cameras alike (the reference's breaks).
            chunks.append((pose_cam[::stride], kp_norm[::stride]))
            labels.append((subject, action_base_name(action), cam, len(chunks[-1][0])))
    name = f"h36m {','.join(subjects)} {keypoints} stride={stride}"
    if len(cameras) < h36m_cameras.NUM_CAMERAS:
        name += f" cameras={','.join(map(str, cameras))}"
    if exclude_actions:
        name += f" without {','.join(exclude_actions)}"
    return _assemble(chunks, labels, intrinsics, name)


def _plan(sources, positions_3d, positions_2d, subjects, actions, exclude_actions, table) -> list[tuple[str, str]]:
    """(subject, action) pairs to load; checks subjects/actions; warns once about 2D-only sequences."""
    plan, skipped = [], []
    for subject in subjects:
        if subject not in positions_3d:
            raise DataFormatError(
                f"{sources[0]}: no subject '{subject}' under 'positions_3d'; available: {sorted(positions_3d)}."
            )
        if positions_2d is not None and subject not in positions_2d:
            raise DataFormatError(
                f"{sources[1]}: no subject '{subject}' under 'positions_2d'; available: {sorted(positions_2d)}."
            )
        h36m_cameras.extrinsics(table, subject)  # fail early on a subject without cameras
        plan += [(subject, a) for a in select_actions(list(positions_3d[subject]), actions, exclude_actions)]
        if positions_2d is not None:
            extra = select_actions(
                [a for a in positions_2d[subject] if a not in positions_3d[subject]], actions, exclude_actions
            )
            skipped += [f"{subject}/{a}" for a in extra]
    _check_actions_found(plan, actions, positions_3d, subjects, sources[0])
    _check_actions_found(
        [(s, a) for s in subjects for a in positions_3d[s]], exclude_actions or None, positions_3d, subjects, sources[0]
    )  # a misspelt exclusion must not pass silently
    if not plan:
        raise DataFormatError(
            f"{sources[0]}: no sequence of subjects {list(subjects)} is left after excluding actions {exclude_actions}."
        )
    if skipped:
        logging.warning(
            "Skipping %d sequences of %s that have no 3D counterpart in %s: %s.",
            len(skipped),
            sources[1].name,
            sources[0].name,
            ", ".join(skipped),
        )
    return plan


def _check_actions_found(plan, actions, positions_3d, subjects, path) -> None:
    if actions is None:
        return
    found = {name for _, a in plan for name in (a, action_base_name(a))}
    missing = [a for a in actions if ACTION_ALIASES.get(a, a) not in found]
    if missing:
        available = sorted({action_base_name(a) for s in subjects for a in positions_3d[s]})
        raise DataFormatError(
            f"{path}: no sequence of subjects {list(subjects)} matches actions {missing}; "
            f"available action names: {available}."
        )


def _pose_16(positions: np.ndarray, path: Path, subject: str, action: str) -> np.ndarray:
    """(N, 32 or 17, 3) world metres → (N, 16, 3) float32, with shape and finiteness checks."""
    key = f"positions_3d/{subject}/{action}"
    positions = np.asarray(positions)
    if positions.ndim != 3 or positions.shape[-1] != 3 or positions.shape[1] not in _3D_LAYOUTS:
        raise DataFormatError(f"{path}: '{key}' should be (N, 32 or 17, 3); received {positions.shape}.")
    if not np.all(np.isfinite(positions)):
        raise DataFormatError(f"{path}: '{key}' contains NaN or infinite values.")
    return positions[:, list(_3D_LAYOUTS[positions.shape[1]])].astype(np.float32)


def _keypoints_16(positions_2d, path, keypoints, subject, action, cam, num_frames) -> np.ndarray:
    """One camera's 2D track → (num_frames, 16, 2) pixels; trimmed to the 3D length, reordered, checked."""
    key = f"positions_2d/{subject}/{action}"
    if action not in positions_2d[subject]:
        raise DataFormatError(f"{path}: missing '{key}' (the 3D file has this sequence).")
    tracks = positions_2d[subject][action]
    if len(tracks) != h36m_cameras.NUM_CAMERAS:
        raise DataFormatError(
            f"{path}: '{key}' should list {h36m_cameras.NUM_CAMERAS} cameras; "
            f"received {len(tracks)}; camera {cam} is missing."
        )
    kp = np.asarray(tracks[cam])
    layouts = SOURCE_ROWS[keypoints]
    if kp.ndim != 3 or kp.shape[-1] != 2 or kp.shape[1] not in layouts:
        raise DataFormatError(
            f"{path}: '{key}[{cam}]' should be (N, J, 2) with J in {sorted(layouts)} for "
            f"keypoints='{keypoints}'; received {kp.shape}."
        )
    if len(kp) < num_frames:
        raise DataFormatError(
            f"{path}: '{key}[{cam}]' has {len(kp)} frames, fewer than the {num_frames} frames of the 3D sequence."
        )
    # DEVIATION(docs/reference.md §1.1): PoseAug does not trim; VideoPose3D's detection files can be longer than the
    # mocap, and their extra tail frames have no 3D, so they are cut (as VideoPose3D's own loader does).
    kp = kp[:num_frames]
    if not np.all(np.isfinite(kp)):
        raise DataFormatError(f"{path}: '{key}[{cam}]' contains NaN or infinite values.")
    order = layouts[kp.shape[1]]
    return (kp if order is None else kp[:, list(order)]).astype(np.float32)


def _assemble(chunks, labels, intrinsics: np.ndarray, name: str) -> PoseSet:
    lengths = np.array([n for *_, n in labels], dtype=np.int64)
    action_names = np.array(sorted({a for _, a, _, _ in labels}), dtype=object)
    subject_names = np.array(sorted({s for s, *_ in labels}), dtype=object)
    action_codes = np.searchsorted(action_names, [a for _, a, _, _ in labels])
    subject_codes = np.searchsorted(subject_names, [s for s, *_ in labels])
    cams = np.array([c for _, _, c, _ in labels], dtype=np.int64)
    return PoseSet(
        pose3d=np.concatenate([c[0] for c in chunks]),
        pose2d=np.concatenate([c[1] for c in chunks]),
        camera=intrinsics[np.repeat(cams, lengths)],
        action=action_names[np.repeat(action_codes, lengths)],
        subject=subject_names[np.repeat(subject_codes, lengths)],
        sequence=np.repeat(np.arange(len(labels), dtype=np.int32), lengths),
        name=name,
    )
