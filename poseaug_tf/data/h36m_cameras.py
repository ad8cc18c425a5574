"""Human3.6M camera table: pixel intrinsics of the 4 cameras and per-subject extrinsics (docs/reference.md §1.5).

The built-in values are the standard VideoPose3D calibration at float32 precision (equal to the shared
`h36m_cameras.json`). A JSON file in the same layout overrides them:

    {"intrinsic": [{"id", "focal_length" [fx, fy] px, "center" [cx, cy] px, "radial_distortion" [k1, k2, k3],
                    "tangential_distortion" [p1, p2], "res_w", "res_h"}, ... 4 cameras],
     "extrinsic": {"S1": [{"orientation" [w, x, y, z] camera→world, "translation" [x, y, z] mm}, ... 4], ...}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from poseaug_tf.core import camera as camera_lib
from poseaug_tf.data.pose_set import DataFileNotFoundError, DataFormatError

NUM_CAMERAS = 4
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")

# (id, res_w, res_h, focal px, center px, radial k1..k3, tangential p1, p2, azimuth deg)
_INTRINSICS = (
    (
        "54138969",
        1000,
        1002,
        (1145.0494, 1143.7811),
        (512.5415, 515.4515),
        (-0.20709892, 0.24777518, -0.0030751503),
        (-0.0009756989, -0.0014244716),
        70,
    ),
    (
        "55011271",
        1000,
        1000,
        (1149.6757, 1147.5917),
        (508.84863, 508.0649),
        (-0.19421363, 0.24040854, 0.0068199756),
        (-0.0016190266, -0.0027408944),
        -70,
    ),
    (
        "58860488",
        1000,
        1000,
        (1149.1407, 1148.799),
        (519.81586, 501.40265),
        (-0.20833819, 0.255488, -0.0024604974),
        (0.001484387, -0.0007599993),
        110,
    ),
    (
        "60457274",
        1000,
        1002,
        (1145.5114, 1144.7739),
        (514.9682, 501.88202),
        (-0.19838409, 0.21832368, -0.008947807),
        (-0.0005872056, -0.001813362),
        -110,
    ),
)

# subject -> 4 x (orientation quaternion (w, x, y, z) camera→world, camera centre in world millimetres)
_EXTRINSICS = {
    "S1": (
        ((0.14070565, -0.15007018, -0.7552408, 0.62232804), (1841.107, 4955.2847, 1563.4454)),
        ((0.6157188, -0.7648363, -0.14833826, 0.11794741), (1761.2786, -5078.007, 1606.265)),
        ((0.14651473, -0.14647852, 0.76530236, -0.60941756), (-1846.7777, 5215.0464, 1491.9724)),
        ((0.58340085, -0.7853162, 0.14548823, -0.14749594), (-1794.7897, -3722.699, 1574.8927)),
    ),
    "S5": (
        ((0.14673772, -0.16237096, -0.7551893, 0.6178939), (2097.3916, 4880.945, 1605.7324)),
        ((0.61597586, -0.7626792, -0.15728192, 0.1189815), (2031.7008, -5167.933, 1612.9231)),
        ((0.14291371, -0.12907842, 0.7678385, -0.6110143), (-1620.5948, 5171.6587, 1496.437)),
        ((0.592048, -0.7814218, 0.12747486, -0.15036418), (-1637.1737, -3867.3174, 1547.0332)),
    ),
    "S6": (
        ((0.13378978, -0.15692396, -0.75710905, 0.61988795), (1935.4518, 4950.2456, 1618.0839)),
        ((0.61471975, -0.7628813, -0.16174768, 0.11819245), (1969.804, -5128.739, 1632.7788)),
        ((0.15299481, -0.13529131, 0.76460963, -0.6112781), (-1769.5964, 5185.3613, 1476.9934)),
        ((0.59161013, -0.7804774, 0.1283227, -0.15615939), (-1721.6687, -3884.1313, 1540.4879)),
    ),
    "S7": (
        ((0.14352418, -0.16313368, -0.75483286, 0.6188825), (1974.513, 4926.3545, 1597.8326)),
        ((0.6141673, -0.76382625, -0.15966456, 0.117792994), (1937.0585, -5119.79, 1631.5665)),
        ((0.1455006, -0.12874816, 0.76605165, -0.61271393), (-1741.8112, 5208.2495, 1464.8246)),
        ((0.5912848, -0.78217643, 0.12445474, -0.15196487), (-1734.7106, -3832.4214, 1548.583)),
    ),
    "S8": (
        ((0.14110588, -0.15589868, -0.75619173, 0.61964405), (2150.6519, 4896.161, 1611.9047)),
        ((0.61696017, -0.7647668, -0.1484635, 0.11158158), (2219.9656, -5148.453, 1613.0441)),
        ((0.1471444, -0.1337712, 0.76701283, -0.61003697), (-1571.2216, 5137.0186, 1498.1761)),
        ((0.59278244, -0.78258705, 0.12147816, -0.14631996), (-1476.9133, -3896.7412, 1547.9722)),
    ),
    "S9": (
        ((0.15540588, -0.15548216, -0.75320953, 0.6199595), (2044.4585, 4935.117, 1481.2275)),
        ((0.6187845, -0.7634735, -0.14132239, 0.11933968), (1990.9597, -5123.8105, 1568.8048)),
        ((0.13357827, -0.13671005, 0.76894546, -0.61007386), (-1670.9922, 5211.986, 1528.388)),
        ((0.5879399, -0.7823407, 0.14276144, -0.1479487), (-1696.0435, -3827.0999, 1591.4127)),
    ),
    "S11": (
        ((0.15232472, -0.1544232, -0.75475633, 0.619107), (2098.4402, 4926.5547, 1500.2786)),
        ((0.61894494, -0.7600917, -0.15300633, 0.12552583), (2083.1824, -4912.173, 1561.0786)),
        ((0.14943229, -0.15650228, 0.7681234, -0.60263044), (-1609.8153, 5177.336, 1537.8967)),
        ((0.58942515, -0.7818877, 0.13991211, -0.14715362), (-1590.738, -3854.169, 1578.0176)),
    ),
}
_INTRINSIC_KEYS = ("focal_length", "center", "radial_distortion", "tangential_distortion", "res_w", "res_h")
_EXTRINSIC_KEYS = ("orientation", "translation")


def _to_float32_list(values) -> list[float]:
    return [float(np.float32(v)) for v in values]


def builtin_camera_table() -> dict:
    """Returns the built-in table in the JSON layout described in the module docstring."""
    intrinsic = [
        {
            "id": cid,
            "res_w": w,
            "res_h": h,
            "focal_length": _to_float32_list(f),
            "center": _to_float32_list(c),
            "radial_distortion": _to_float32_list(k),
            "tangential_distortion": _to_float32_list(p),
            "azimuth": az,
        }
        for cid, w, h, f, c, k, p, az in _INTRINSICS
    ]
    extrinsic = {
        subject: [{"orientation": _to_float32_list(q), "translation": _to_float32_list(t)} for q, t in cams]
        for subject, cams in _EXTRINSICS.items()
    }
    return {"intrinsic": intrinsic, "extrinsic": extrinsic}


def load_camera_table(cameras_json: str | Path | None = None) -> dict:
    """Loads the camera table: the built-in one, or a JSON override.

    Args:
      cameras_json: path of a JSON file in the layout of the module docstring, or None for the built-in table.

    Returns:
      dict with "intrinsic" (list of 4 dicts) and "extrinsic" (subject -> list of 4 dicts).

    Raises:
      DataFileNotFoundError: the JSON file does not exist.
      DataFormatError: invalid JSON, or a missing key / wrong length, naming the file and the key.
    """
    if cameras_json is None:
        return builtin_camera_table()
    path = Path(cameras_json)
    if not path.is_file():
        raise DataFileNotFoundError(f"Camera file {path} does not exist (argument `cameras_json`).")
    try:
        table = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(f"Camera file {path} is not valid JSON: {error}.") from error
    _validate_table(table, str(path))
    return table


def _validate_table(table, source: str) -> None:
    if not isinstance(table, dict) or "intrinsic" not in table or "extrinsic" not in table:
        raise DataFormatError(f"Camera file {source}: expected top-level keys 'intrinsic' and 'extrinsic'.")
    _check_list(table["intrinsic"], f"{source}: key 'intrinsic'", _INTRINSIC_KEYS)
    if not isinstance(table["extrinsic"], dict):
        raise DataFormatError(f"Camera file {source}: expected 'extrinsic' to map subject -> list of 4 cameras.")
    for subject, cams in table["extrinsic"].items():
        _check_list(cams, f"{source}: key 'extrinsic/{subject}'", _EXTRINSIC_KEYS)


def _check_list(cams, where: str, keys: tuple[str, ...]) -> None:
    if not isinstance(cams, list) or len(cams) != NUM_CAMERAS:
        raise DataFormatError(f"Camera file {where}: expected a list of {NUM_CAMERAS} cameras; received {cams!r:.80}.")
    for index, cam in enumerate(cams):
        missing = [k for k in keys if not isinstance(cam, dict) or k not in cam]
        if missing:
            raise DataFormatError(f"Camera file {where}[{index}]: missing keys {missing}; expected {list(keys)}.")


def resolutions(table: dict) -> np.ndarray:
    """(4, 2) int32 image [width, height] in pixels per camera."""
    return np.array([[c["res_w"], c["res_h"]] for c in table["intrinsic"]], dtype=np.int32)


def normalized_intrinsics(table: dict) -> np.ndarray:
    """(4, 9) float32 normalised intrinsics `[fx, fy, cx, cy, k1, k2, k3, p1, p2]` per camera (docs/reference.md
    §1.5)."""
    return np.stack(
        [
            camera_lib.normalize_intrinsics(
                c["focal_length"],
                c["center"],
                c["radial_distortion"],
                c["tangential_distortion"],
                c["res_w"],
                c["res_h"],
            )
            for c in table["intrinsic"]
        ]
    )


def extrinsics(table: dict, subject: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns ((4, 4) float32 orientation quaternions (w, x, y, z), (4, 3) float32 camera centres in metres).

    Raises:
      DataFormatError: the table has no extrinsics for `subject`.
    """
    if subject not in table["extrinsic"]:
        raise DataFormatError(
            f"Camera table has no extrinsics for subject `{subject}`; available: {sorted(table['extrinsic'])}."
        )
    cams = table["extrinsic"][subject]
    orientation = np.array([c["orientation"] for c in cams], dtype=np.float32)
    translation = np.array([c["translation"] for c in cams], dtype=np.float32) / np.float32(1000.0)
    return orientation, translation


def table_fingerprint(table: dict) -> str:
    """sha256 of the table's canonical JSON, so a cache built with other cameras is not reused."""
    return hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()
