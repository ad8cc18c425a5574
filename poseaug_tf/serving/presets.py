"""Pretrained presets: a trained lifter as a folder in the KerasHub layout, with checksums.

    <preset>/config.json        the estimator, `keras.saving.serialize_keras_object` (class and get_config)
    <preset>/metadata.json      skeleton, normalisation, training data and protocol, measured MPJPE, licence,
                                the training config, and the SHA-256 of the two other files
    <preset>/model.weights.h5   the Keras weights

A preset is a local folder, a `.zip` of one, or a remote URI that Keras's hub package understands (`hf://`,
`kaggle://`, fetched with `keras_hub`'s own preset loader when it is installed). `poseaug_tf.Lifter.from_preset`,
`python -m poseaug_tf.cli.predict --model <preset>` and `train.py --config.poseaug.pretrained=<preset>` read one;
`export.py --workdir=... --preset=<folder>` writes one (poseaug_tf/serving/export.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import zipfile
from collections.abc import Mapping

from poseaug_tf.infra import files
from poseaug_tf.infra.user_errors import InputError, one_line

CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE = "config.json", "metadata.json", "model.weights.h5"
CHECKED_FILES = (CONFIG_FILE, WEIGHTS_FILE)
FORMAT = "poseaug_tf.preset"
FORMAT_VERSION = 1
REMOTE_SCHEMES = ("hf://", "kaggle://")
LICENCE_H36M = (
    "Trained on Human3.6M: these weights carry the Human3.6M licence terms (academic, non-commercial use; see "
    "http://vision.imar.ro/human3.6m/eula.php). Redistribute them only under those terms."
)
LICENCE_SYNTHETIC = "Trained on the built-in synthetic data only: no dataset licence applies beyond the project's."


class PresetError(InputError):
    """A preset that cannot be used: missing, corrupted (checksum), or holding another model."""


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_preset(value: str | os.PathLike) -> bool:
    """Whether `value` names a preset: a remote URI, a .zip, or a folder with the three files."""
    text = str(value)
    if text.startswith(REMOTE_SCHEMES):
        return True
    path = pathlib.Path(text)
    if path.suffix == ".zip" and path.is_file():
        return True
    return path.is_dir() and all((path / name).is_file() for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE))


def write_preset(model, folder: str | os.PathLike, *, metadata: Mapping) -> pathlib.Path:
    """Writes `model` as a preset folder (refuses an existing one), the files and their checksums together.

    Args:
      model: a poseaug_tf estimator (a registered Keras model). folder: the preset folder to create.
      metadata: the descriptive fields (`training`, `results`, `licence`, ...); format and checksums are added.

    Returns:
      The folder. Written into a temporary sibling and renamed: an interruption leaves no half preset.
    """
    import keras

    folder = pathlib.Path(folder)
    if folder.exists():
        raise InputError(f"--preset: {folder} exists; choose a new folder (a preset is never overwritten).")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    try:
        (tmp / CONFIG_FILE).write_text(json.dumps(keras.saving.serialize_keras_object(model), indent=2))
        model.save_weights(str(tmp / WEIGHTS_FILE))
        full = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "keras_version": keras.__version__,
            "parameter_count": int(model.count_params()),
            **metadata,
            "checksums": {name: sha256(tmp / name) for name in CHECKED_FILES},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(full, indent=2, sort_keys=True))
        for path in (tmp, *tmp.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _remote(uri: str) -> pathlib.Path:
    try:
        from keras_hub.src.utils.preset_utils import get_file
    except ImportError:
        raise PresetError(
            f"{uri}: remote presets are fetched by Keras's hub loader; `pip install keras-hub` (or download the "
            "preset folder and pass its path)."
        ) from None
    try:
        paths = [pathlib.Path(get_file(uri, name)) for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE)]
    except Exception as error:  # noqa: BLE001 - network, authentication or a missing file: all end the same way
        raise PresetError(f"{uri}: cannot fetch the preset ({type(error).__name__}: {one_line(error)}).") from None
    return paths[0].parent


def _unzipped(path: pathlib.Path) -> pathlib.Path:
    """A .zip preset extracted once into the cache, keyed by its checksum."""
    cache = pathlib.Path(os.environ.get("POSEAUG_CACHE_DIR", pathlib.Path.home() / ".cache" / "poseaug_tf"))
    target = cache / "presets" / sha256(path)[:16]
    if not target.is_dir():
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=files.ensure_folder(target.parent, "cache folder")))
        try:
            with zipfile.ZipFile(path) as archive:
                archive.extractall(tmp)
            inner = list(tmp.rglob(METADATA_FILE))
            if len(inner) != 1:
                raise PresetError(f"{path}: expected one preset folder (with {METADATA_FILE}) in the archive.")
            os.replace(inner[0].parent, target)
        except zipfile.BadZipFile:
            raise PresetError(f"{path}: not a readable .zip file.") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve(value: str | os.PathLike) -> pathlib.Path:
    """The local, verified folder of a preset (remote ones fetched, .zip ones extracted).

    Raises:
      PresetError: a missing file, an unreadable metadata.json, or a checksum that does not match.
    """
    text = str(value)
    if text.startswith(REMOTE_SCHEMES):
        folder = _remote(text)
    elif pathlib.Path(text).suffix == ".zip":
        folder = _unzipped(pathlib.Path(text))
    else:
        folder = pathlib.Path(text)
    for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise PresetError(
                f"{folder}: not a preset, {name} is missing (expected {CONFIG_FILE}, {METADATA_FILE}, {WEIGHTS_FILE})."
            )
    meta = read_metadata(folder)
    for name in CHECKED_FILES:
        expected = meta.get("checksums", {}).get(name)
        if expected != sha256(folder / name):
            raise PresetError(
                f"{folder / name}: checksum mismatch with {METADATA_FILE} (the file is corrupted or was changed); "
                "download or export the preset again."
            )
    return folder


def read_metadata(folder: pathlib.Path) -> dict:
    try:
        meta = json.loads((folder / METADATA_FILE).read_text())
    except (OSError, ValueError) as error:
        raise PresetError(f"{folder / METADATA_FILE}: not readable JSON ({one_line(error)}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PresetError(f"{folder / METADATA_FILE}: expected 'format': {FORMAT!r}; not a poseaug_tf preset.")
    return meta


def load_weights_into(model, folder: pathlib.Path) -> None:
    """Loads a resolved preset's weights into `model`, or raises PresetError naming both."""
    try:
        model.load_weights(str(folder / WEIGHTS_FILE))
    except (OSError, ValueError, KeyError) as error:
        raise PresetError(
            f"{folder / WEIGHTS_FILE}: does not fit the {type(model).__name__} it is loaded into "
            f"({type(error).__name__}: {one_line(error)}); a preset of another model?"
        ) from None


def load_preset(value: str | os.PathLike):
    """(keras model, metadata) of a preset: its config rebuilt, its weights loaded, every checksum verified.

    Raises:
      PresetError: see `resolve`; a config.json that is not a poseaug_tf estimator; weights that do not fit it.
    """
    import keras

    from poseaug_tf import models  # noqa: F401  (registers the estimator classes for deserialisation)

    folder = resolve(value)
    try:
        model = keras.saving.deserialize_keras_object(json.loads((folder / CONFIG_FILE).read_text()))
    except Exception as error:  # noqa: BLE001 - unknown class, bad JSON, bad arguments: all mean "not ours"
        raise PresetError(
            f"{folder / CONFIG_FILE}: not a poseaug_tf estimator ({type(error).__name__}: {one_line(error)})."
        ) from None
    model(keras.ops.zeros((1, 16, 2)))  # builds the variables the weights file fills
    load_weights_into(model, folder)
    return model, read_metadata(folder)
