"""Exports a trained estimator for TF Serving and TFLite, then verifies every variant against Keras.

    python export.py --workdir=runs/synthetic                       # saved_models/synthetic/<next version>/
    python export.py --workdir=runs/vp --name=vp --version=3 --flip --h36m_dir=../shared/data/h36m
    python export.py --workdir=runs/vp --preset=presets/vp         # a pretrained preset (docs/deployment.md)

Writes saved_models/<name>/<version>/ (saved_model.pb, variables/, assets/poseaug_metadata.json,
tflite/pose_lifter_{float32,float16,int8}.tflite, export_report.json). Exits non-zero, publishing nothing,
when a variant deviates from the Keras model by more than its tolerance (poseaug_tf/serving/export.py TOLERANCES_MM).
"""

from poseaug_tf.infra.runtime import concise_terminal_logging, import_tensorflow_quietly

import_tensorflow_quietly()

import json  # noqa: E402
import sys  # noqa: E402

from absl import app, flags  # noqa: E402

from poseaug_tf.infra.user_errors import absl_flags_parser, exit_on_input_error  # noqa: E402
from poseaug_tf.serving import contract, export  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (config.json + <weights>.weights.h5).", required=True)
_NAME = flags.DEFINE_string("name", None, "Model name (folder under --output_root); default: workdir basename.")
_VERSION = flags.DEFINE_integer("version", None, "Version folder (positive integer); default: next free one.")
_OUTPUT_ROOT = flags.DEFINE_string("output_root", "saved_models", "Folder holding one sub-folder per model.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing version.")
_FLIP = flags.DEFINE_bool("flip", False, "Bake flip test-time augmentation into every signature.")
_WEIGHTS = flags.DEFINE_enum(
    "weights",
    "poseaug",
    ["poseaug", "baseline", "control", "random"],
    "Which estimator of the run: the PoseAug arm (default), the baseline or another arm.",
)
_TFLITE = flags.DEFINE_list("tflite", list(export.TFLITE_VARIANTS), "TFLite variants ('' for none).")
_H36M_DIR = flags.DEFINE_string("h36m_dir", None, "Also verify on Human3.6M S9/S11 from this folder.")
_PRESET = flags.DEFINE_string("preset", None, "Write a preset folder (KerasHub layout) here instead of an export.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    concise_terminal_logging()
    if _PRESET.value:
        with exit_on_input_error("export.py"):
            folder = export.write_workdir_preset(_WORKDIR.value, _PRESET.value, weights=_WEIGHTS.value)
        print(f"Preset {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
        return
    with exit_on_input_error("export.py", also=(export.ExportVerificationError,)):
        version_dir = export.export_workdir(
            _WORKDIR.value,
            output_root=_OUTPUT_ROOT.value,
            name=_NAME.value,
            weights=_WEIGHTS.value,
            h36m_dir=_H36M_DIR.value,
            version=_VERSION.value,
            overwrite=_OVERWRITE.value,
            use_flip_tta=_FLIP.value,
            tflite_variants=[v for v in _TFLITE.value if v],
        )
    report = json.loads((version_dir / contract.REPORT_FILENAME).read_text())
    print(f"Exported {version_dir}")
    print(f"{'set':<18} {'variant':<12} {'max|Δ| mm':>10} {'ΔMPJPE mm':>10} {'bytes':>11}")
    for set_name, variants in report["sets"].items():
        for variant, stats in variants.items():
            print(
                f"{set_name:<18} {variant:<12} {stats['max_abs_mm']:>10.2e} {stats['delta_mpjpe_mm']:>+10.3f} "
                f"{report['file_bytes'][variant]:>11,d}"
            )


def run() -> None:
    """`python export.py` (the repository's shortcut) and `poseaug-export` (pyproject's script)."""
    sys.modules["__main__"].__doc__ = __doc__  # --help shows this usage, from the shortcut too
    app.run(main, flags_parser=absl_flags_parser("export.py"))


if __name__ == "__main__":
    run()
