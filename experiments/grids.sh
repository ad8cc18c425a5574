#!/usr/bin/env bash
# Every grid of docs/results.md, one after another (about 7 h on the 2-core machine).
# Each command resumes and skips finished runs; the tables land in runs/<root>/summary.md, and the last line
# prints the README's lead table (runs/cross_dataset.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
run() { "$PY" experiments/run.py --seeds=1,2,3 --jobs=2 "$@"; }
# The real cross-dataset sets, in-domain and the synthetic target: the default, the previous defaults (`poseaug_bl`,
# `*_turn`, `*_free`) and the official recipe in one grid.
run --protocol=standard --root=runs/grid_standard \
  --arms=baseline,control,poseaug,poseaug_bl,random,poseaug_turn,random_turn,poseaug_free,random_free,poseaug_reference
# Adaptation: one grid per target, starting from the standard grid's baselines (same training data). 3DHP twice,
# adapted on TS5 and scored on TS6, then the reverse.
ADAPT_ARMS="adapt,adapt_bl,random_adapt,adapt_turn,random_adapt_yaw,adapt_aligned"
run --protocol=3dhp --root=runs/adapt_3dhp_TS5 --baselines=runs/grid_standard --arms="$ADAPT_ARMS"
run --protocol=3dhp --root=runs/adapt_3dhp_TS6 --baselines=runs/grid_standard --arms="$ADAPT_ARMS" \
  --set=data.mpi_3dhp_target=TS6
run --protocol=cross_lab --root=runs/adapt_cross_lab --baselines=runs/grid_standard --arms="$ADAPT_ARMS"
# The viewpoint shift with the current and the previous default (the FREE placement's arms: docs/results.md "Results
# on the other protocols").
run --protocol=cross_view --root=runs/grid_cross_view \
  --arms=baseline,control,poseaug,poseaug_bl,random,poseaug_turn,random_turn
"$PY" experiments/cross_dataset_table.py
"$PY" experiments/shape_diagnosis.py --arms=baseline,control,poseaug,poseaug_bl,random  # docs/results.md, "Why no augmentation…"
# The previous default's tables (docs/results.md "Results on the other protocols"; the *_free arms).
FREE_ARMS="baseline,control,poseaug_free,poseaug_paper_free,random_free"
run --protocol=cross_action --arms="$FREE_ARMS"
run --protocol=synthetic --arms="$FREE_ARMS"
# The BA diagnostic on cross-action (prints a table of these arms only; the last line restores the full one).
run --protocol=cross_action --arms=baseline,control,lever_anchored_ba_paper
run --protocol=cross_action --arms="$FREE_ARMS,lever_anchored_ba_paper" --report_only
run --protocol=s1 --arms="$FREE_ARMS"
# "Adapting to your camera" on the synthetic and detections protocols, with the previous default's placement.
run --protocol=synthetic --arms=baseline,control,poseaug_free,adapt_free,adapt_d2d,adapt_align --root=runs/adapt_synthetic
run --protocol=detections --arms=baseline,control,poseaug_free,adapt_free --root=runs/adapt_detections
# Detector keypoints (docs/detector_keypoints.md; reads the standard grid's models too).
bash experiments/detections.sh
