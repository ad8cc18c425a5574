"""Tests for poseaug_tf/data/h36m.py and h36m_cameras.py: a fake folder (always) and the real data (h36m_dir)."""

from __future__ import annotations

import json
import logging
import pathlib

import numpy as np
import pytest

from poseaug_tf.data import DataFileNotFoundError, DataFormatError, h36m, h36m_cameras, load_h36m
from tests.data.conftest import FAKE_SEQUENCES

# docs/reference.md §1.5 printed values (rounded there), checked against the built-in float32 table.
REFERENCE_NORMALISED = np.array(
    [
        [2.290099, 2.287562, 0.025083, 0.028903],
        [2.299351, 2.295183, 0.017697, 0.016130],
        [2.298281, 2.297598, 0.039632, 0.002805],
        [2.291023, 2.289548, 0.029936, 0.001764],
    ]
)
REFERENCE_S11_CAM3 = ([0.58942515, -0.78188771, 0.13991211, -0.14715362], [-1590.7380, -3854.1689, 1578.0176])


def _load(fake, subjects=("S1",), **kwargs):
    return load_h36m(fake.root, subjects, use_cache=False, **kwargs)


def _expected(fake, subjects, actions=None, stride=1, cameras=range(4)):
    pose3d, pose2d, names = [], [], []
    for subject in subjects:
        for action in FAKE_SEQUENCES[subject]:
            if actions is not None and action not in actions:
                continue
            for cam in cameras:
                p3, p2 = fake.expected(subject, action, cam)
                pose3d.append(p3[::stride])
                pose2d.append(p2[::stride])
                names += [action.split(" ")[0]] * len(p3[::stride])
    return np.concatenate(pose3d), np.concatenate(pose2d), np.array(names)


def test_builtin_cameras_match_reference_table():
    table = h36m_cameras.builtin_camera_table()
    np.testing.assert_allclose(h36m_cameras.normalized_intrinsics(table)[:, :4], REFERENCE_NORMALISED, atol=2e-6)
    q, t = h36m_cameras.extrinsics(table, "S11")
    np.testing.assert_allclose(q[3], REFERENCE_S11_CAM3[0], atol=1e-7)
    np.testing.assert_allclose(t[3], np.array(REFERENCE_S11_CAM3[1]) / 1000.0, atol=1e-7)
    np.testing.assert_array_equal(
        h36m_cameras.resolutions(table), [[1000, 1002], [1000, 1000], [1000, 1000], [1000, 1002]]
    )


def test_gt_projection_when_gt_file_is_absent(fake_h36m):
    ps = _load(fake_h36m, ("S1", "S9"))
    pose3d, pose2d, names = _expected(fake_h36m, ("S1", "S9"))
    np.testing.assert_allclose(ps.pose3d, pose3d, atol=1e-5)
    np.testing.assert_allclose(ps.pose2d, pose2d, atol=1e-5)
    np.testing.assert_array_equal(ps.action, names)
    assert sorted(set(ps.subject)) == ["S1", "S9"]
    assert ps.pose3d.dtype == np.float32 and ps.camera.shape == (len(ps), 9)
    k0 = fake_h36m.camera("S1", 0)[0]
    np.testing.assert_allclose(ps.camera[0], k0, atol=1e-6)
    assert len(np.unique(ps.sequence)) == 4 * (len(FAKE_SEQUENCES["S1"]) + len(FAKE_SEQUENCES["S9"]))


@pytest.mark.parametrize(
    "keypoints, layout",
    [
        ("sh_pt_mpii", "mpii"),
        ("cpn_ft_h36m_dbb", "h17"),
        ("detectron_ft_h36m", "h17"),
        ("hr", "h16"),
        ("gt", "h16"),
        ("gt", "h17"),
    ],
)
def test_2d_layouts_are_reordered_trimmed_and_normalised(fake_h36m, keypoints, layout):
    fake_h36m.write_2d(keypoints, layout=layout)
    ps = _load(fake_h36m, ("S1",), keypoints=keypoints)
    _, pose2d, _ = _expected(fake_h36m, ("S1",))
    # pixels stored as float32 then normalised: ~1e-4 px rounding at 1000 px
    np.testing.assert_allclose(ps.pose2d, pose2d, atol=2e-6)


def test_2d_only_sequences_are_skipped_with_one_warning(fake_h36m, caplog):
    fake_h36m.write_2d("hr", layout="h16")
    with caplog.at_level(logging.WARNING):
        ps = _load(fake_h36m, ("S1",), keypoints="hr")
    lines = [r.getMessage() for r in caplog.records if "no 3D counterpart" in r.getMessage()]
    assert len(lines) == 1 and "S1/Discussion 2" in lines[0]
    assert len(ps) == 4 * sum(FAKE_SEQUENCES["S1"].values())


def test_stride_keeps_every_kth_frame(fake_h36m):
    ps = _load(fake_h36m, ("S1",), stride=3)
    pose3d, pose2d, _ = _expected(fake_h36m, ("S1",), stride=3)
    assert len(ps) == 4 * sum(-(-n // 3) for n in FAKE_SEQUENCES["S1"].values())
    np.testing.assert_allclose(ps.pose3d, pose3d, atol=1e-5)


@pytest.mark.parametrize(
    "actions, expected",
    [
        (["Walking"], ["Walking", "Walking 1"]),  # base name: not WalkDog
        ("Walking", ["Walking", "Walking 1"]),
        (["Walking 1"], ["Walking 1"]),  # exact sequence name
        (["Eating", "WalkDog"], ["WalkDog", "Eating 2"]),
        (["WalkingDog"], ["WalkDog"]),  # original-dataset alias
    ],
)
def test_action_filter_matches_base_names(fake_h36m, actions, expected):
    ps = _load(fake_h36m, ("S1",), actions=actions)
    pose3d, _, names = _expected(fake_h36m, ("S1",), actions=expected)
    np.testing.assert_allclose(ps.pose3d, pose3d, atol=1e-5)
    np.testing.assert_array_equal(ps.action, names)


@pytest.mark.parametrize("cameras, expected", [([0, 2], [0, 2]), (["55011271", "3"], [1, 3]), ([3, 1, 3], [1, 3])])
def test_camera_filter_keeps_exactly_those_views(fake_h36m, cameras, expected):
    ps = _load(fake_h36m, ("S1",), cameras=cameras)
    pose3d, pose2d, _ = _expected(fake_h36m, ("S1",), cameras=expected)
    np.testing.assert_allclose(ps.pose3d, pose3d, atol=1e-5)
    np.testing.assert_allclose(ps.pose2d, pose2d, atol=1e-5)
    k = np.stack([fake_h36m.camera("S1", c)[0] for c in expected])
    distance = np.abs(ps.camera[:, None, :] - k[None]).max(-1)  # (N, cameras kept)
    assert distance.min(1).max() < 1e-5 and set(distance.argmin(1)) == set(range(len(expected)))
    assert len(np.unique(ps.sequence)) == len(expected) * len(FAKE_SEQUENCES["S1"])


@pytest.mark.parametrize("cameras", [[4], ["12345678"], []])
def test_unknown_cameras_are_rejected(fake_h36m, cameras):
    with pytest.raises(ValueError, match="camera"):
        _load(fake_h36m, ("S1",), cameras=cameras)


def test_excluded_actions_are_removed_by_base_name(fake_h36m):
    ps = _load(fake_h36m, ("S1",), exclude_actions=["Walking"])
    pose3d, _, names = _expected(fake_h36m, ("S1",), actions=["WalkDog", "Eating 2"])
    np.testing.assert_allclose(ps.pose3d, pose3d, atol=1e-5)
    np.testing.assert_array_equal(ps.action, names)
    # Include and exclude compose; a misspelt exclusion or one that leaves nothing is an error.
    both = _load(fake_h36m, ("S1",), actions=["Walking", "Eating"], exclude_actions=["Walking 1"])
    assert sorted(set(both.action)) == ["Eating", "Walking"] and len(both) == 4 * (30 + 20)
    with pytest.raises(DataFormatError, match="Sittting"):
        _load(fake_h36m, ("S1",), exclude_actions=["Sittting"])
    with pytest.raises(DataFormatError, match="no sequence .* is left"):
        _load(fake_h36m, ("S1",), exclude_actions=["Walking", "WalkDog", "Eating"])


def test_select_actions_honours_every_request_for_every_subject():
    # The reference's one-shot map iterator drops later actions (docs/reference.md §9.14); ours must not.
    available = ["Walking", "Walking 1", "WalkDog", "WalkTogether 1", "Eating"]
    for _ in range(2):
        assert h36m.select_actions(available, ["Walking", "Eating"]) == ["Walking", "Walking 1", "Eating"]


def test_resolve_subjects_named_sets():
    assert h36m.resolve_subjects("train") == ("S1", "S5", "S6", "S7", "S8")
    assert h36m.resolve_subjects("test") == ("S9", "S11")
    assert h36m.resolve_subjects("S1+S5") == ("S1", "S5")
    assert h36m.resolve_subjects("s1") == ("S1",)
    assert h36m.resolve_subjects(["S9"]) == ("S9",)


def test_cameras_json_override_changes_projection(fake_h36m, tmp_path):
    table = h36m_cameras.builtin_camera_table()
    for cam in table["intrinsic"]:
        cam["center"] = [c + 10.0 for c in cam["center"]]  # shift the principal point by 10 px
    path = tmp_path / "cams.json"
    path.write_text(json.dumps(table))
    base, shifted = _load(fake_h36m), _load(fake_h36m, cameras_json=path)
    np.testing.assert_allclose(shifted.pose2d - base.pose2d, 10.0 / 1000 * 2, atol=1e-5)
    np.testing.assert_allclose(shifted.pose3d, base.pose3d)


def test_17_joint_3d_file_is_accepted(fake_h36m):
    expected = _load(fake_h36m)
    rows17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
    world17 = {s: {a: p[:, rows17] for a, p in acts.items()} for s, acts in fake_h36m.world.items()}
    np.savez(fake_h36m.root / "data_3d_h36m.npz", positions_3d=np.array(world17, dtype=object))
    np.testing.assert_allclose(_load(fake_h36m).pose3d, expected.pose3d)


# ---- errors ------------------------------------------------------------------------------------------------


def test_missing_files_raise_file_not_found(fake_h36m, tmp_path):
    with pytest.raises(FileNotFoundError, match="data_3d_h36m.npz"):
        load_h36m(tmp_path / "nowhere", ["S1"], use_cache=False)
    with pytest.raises(DataFileNotFoundError, match="data_2d_h36m_cpn_ft_h36m_dbb.npz"):
        _load(fake_h36m, keypoints="cpn_ft_h36m_dbb")


def test_an_unreadable_folder_is_named(fake_h36m, monkeypatch):
    # As a user without read or search permission on the folder sees it (root ignores permissions, so simulated).
    real_is_file = pathlib.Path.is_file

    def is_file(path, *args, **kwargs):
        if path.parent == fake_h36m.root:
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    with pytest.raises(
        DataFormatError, match=f"cannot read the Human3.6M folder {fake_h36m.root} \\(Permission denied\\)"
    ):
        load_h36m(fake_h36m.root, ["S1"], use_cache=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"subjects": ("S7",)}, r"no subject 'S7'.*available: \['S1', 'S9'\]"),
        ({"actions": ["Smoking"]}, r"matches actions \['Smoking'\].*Walking"),
        ({"keypoints": "openpose"}, "Unknown `keypoints` 'openpose'; valid"),
    ],
)
def test_bad_options_raise_value_error(fake_h36m, kwargs, match):
    kwargs = {"subjects": ("S1",), **kwargs}
    with pytest.raises(ValueError, match=match):
        load_h36m(fake_h36m.root, use_cache=False, **kwargs)


def test_bad_stride_or_actions_raise(fake_h36m):
    with pytest.raises(ValueError, match="stride"):
        _load(fake_h36m, stride=0)
    with pytest.raises(ValueError, match="`actions` to be None or action names"):
        _load(fake_h36m, actions=[3])


def test_2d_shorter_than_3d_raises(fake_h36m):
    fake_h36m.write_2d(
        "hr", layout="h16", extra_frames=0, overrides={("S1", "Eating 2"): [np.zeros((19, 16, 2), np.float32)] * 4}
    )
    with pytest.raises(ValueError, match=r"Eating 2\[0\]' has 19 frames, fewer than the 20"):
        _load(fake_h36m, keypoints="hr")


@pytest.mark.parametrize(
    "tracks, match",
    [
        ([np.zeros((40, 15, 2), np.float32)] * 4, r"with J in \[16\].*received \(40, 15, 2\)"),
        ([np.zeros((40, 16, 2), np.float32)] * 3, "should list 4 cameras; received 3"),
        ([np.full((40, 16, 2), np.nan, np.float32)] * 4, "NaN"),
    ],
)
def test_bad_2d_tracks_raise(fake_h36m, tracks, match):
    fake_h36m.write_2d("hr", layout="h16", overrides={("S1", "Walking"): tracks})
    with pytest.raises(DataFormatError, match=match):
        _load(fake_h36m, keypoints="hr")


def test_bad_3d_raises(fake_h36m):
    fake_h36m.world["S1"]["Walking"][3, 5, 1] = np.nan
    np.savez(fake_h36m.root / "data_3d_h36m.npz", positions_3d=np.array(fake_h36m.world, dtype=object))
    with pytest.raises(DataFormatError, match="positions_3d/S1/Walking' contains NaN"):
        _load(fake_h36m)
    np.savez(fake_h36m.root / "data_3d_h36m.npz", positions_3d=np.zeros((3, 32, 3)))
    with pytest.raises(DataFormatError, match="should hold a pickled dict"):
        _load(fake_h36m)


def test_bad_cameras_json_raises(fake_h36m, tmp_path):
    path = tmp_path / "cams.json"
    path.write_text(json.dumps({"intrinsic": [{"id": "1"}] * 4, "extrinsic": {}}))
    with pytest.raises(DataFormatError, match=r"cams.json: key 'intrinsic'\[0\]: missing keys \['focal_length'"):
        _load(fake_h36m, cameras_json=path)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        _load(fake_h36m, cameras_json=tmp_path / "nope.json")


# ---- real data (skipped when ../shared/data/h36m is absent) ------------------------------------------------
# Frame counts from the data README: S1 62,094; test S9 + S11 129,963 (S9 'Discussion 1' has no 3D).


@pytest.fixture(scope="module")
def real_s1(h36m_dir, tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    return (
        load_h36m(h36m_dir, ["S1"], "sh_pt_mpii", cache_dir=cache_dir),
        load_h36m(h36m_dir, ["S1"], "gt", cache_dir=cache_dir),
    )


@pytest.mark.h36m
def test_real_s1_counts_and_gt_projection_vs_detections(real_s1):
    sh, gt = real_s1
    assert len(sh) == len(gt) == 62_094 * 4
    np.testing.assert_array_equal(sh.pose3d, gt.pose3d)
    assert sorted(set(gt.action)) == [
        "Directions",
        "Discussion",
        "Eating",
        "Greeting",
        "Phoning",
        "Photo",
        "Posing",
        "Purchases",
        "Sitting",
        "SittingDown",
        "Smoking",
        "Waiting",
        "WalkDog",
        "WalkTogether",
        "Walking",
    ]
    # 1000-px-wide images: 1 normalised unit = 500 px. README: SH lies a median 9.2 px from the projected GT.
    error_px = np.linalg.norm(sh.pose2d - gt.pose2d, axis=-1) * 500
    assert 5.0 < np.median(error_px) < 15.0
    depth = gt.pose3d[:, 0, 2]
    assert 2.5 < depth.min() and depth.max() < 8.0 and 4.0 < np.median(depth) < 6.0  # S1: 2.9-7.4 m, in front
    # bone lengths are constant within a subject (camera transform is rigid)
    thigh = np.linalg.norm(gt.pose3d[:, 1] - gt.pose3d[:, 2], axis=-1)
    assert thigh.std() < 1e-4


@pytest.mark.h36m
def test_real_stride_and_action_filter(h36m_dir, real_s1, tmp_path):
    sh, _ = real_s1
    walk = load_h36m(h36m_dir, ["S1"], "sh_pt_mpii", stride=5, actions=["Walking"], cache_dir=tmp_path)
    assert set(walk.action) == {"Walking"}
    expected = []
    for seq in np.unique(sh.sequence[sh.action == "Walking"]):  # 'Walking' and 'Walking 1', 4 cameras each
        expected.append(np.flatnonzero(sh.sequence == seq)[::5])
    assert len(expected) == 8
    np.testing.assert_array_equal(walk.pose2d, sh.pose2d[np.concatenate(expected)])


@pytest.mark.h36m
def test_real_test_subjects_skip_sequences_without_3d(h36m_dir, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        test = load_h36m(h36m_dir, h36m.TEST_SUBJECTS, "sh_pt_mpii", cache_dir=tmp_path)
    assert len(test) == 129_963 * 4
    skipped = [r.getMessage() for r in caplog.records if "no 3D counterpart" in r.getMessage()]
    assert len(skipped) == 1 and "S9/Discussion 1" in skipped[0]
    assert sorted(set(test.subject)) == ["S11", "S9"]


@pytest.mark.h36m
def test_real_cameras_json_equals_builtin_table(h36m_dir):
    table = h36m_cameras.load_camera_table(h36m_dir / "h36m_cameras.json")
    builtin = h36m_cameras.builtin_camera_table()
    np.testing.assert_array_equal(
        h36m_cameras.normalized_intrinsics(table), h36m_cameras.normalized_intrinsics(builtin)
    )
    for subject in h36m.TRAIN_SUBJECTS + h36m.TEST_SUBJECTS:
        for a, b in zip(h36m_cameras.extrinsics(table, subject), h36m_cameras.extrinsics(builtin, subject)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.h36m
@pytest.mark.slow
def test_real_full_training_set(h36m_dir, tmp_path):
    train = load_h36m(h36m_dir, h36m.TRAIN_SUBJECTS, "gt", cache_dir=tmp_path)
    assert len(train) == 366_100 * 4
    assert np.all(np.isfinite(train.pose2d)) and np.abs(train.pose2d).max() < 1.5
    assert np.mean(np.abs(train.pose2d) > 1.0) < 1e-3  # a few limbs leave the frame; nearly all are inside
