#!/usr/bin/env bash
# Every grid of the README's Results section, one after another (about 4 h on the 2-core machine).
# Each command resumes and skips finished runs; the tables land in runs/grid_<protocol>/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
ARMS="baseline,control,poseaug,poseaug_paper,random"
run() { "$PY" experiments/run.py --seeds=1,2,3 --jobs=2 "$@"; }
run --protocol=cross_view --arms="$ARMS,poseaug_reference"
run --protocol=cross_action --arms="$ARMS"
run --protocol=synthetic --arms="$ARMS"
# The BA diagnostic on cross-action (prints a table of these arms only; the last line restores the full one).
run --protocol=cross_action --arms=baseline,control,lever_anchored_ba_paper
run --protocol=cross_action --arms="$ARMS,lever_anchored_ba_paper" --report_only
run --protocol=s1 --arms="$ARMS"
run --protocol=standard --arms="$ARMS"
# "Adapting to your camera": the adaptation arms beside baseline, control and PoseAug (about 1 h 30 min). Their
# own roots, so that the tables above keep their arms.
run --protocol=synthetic --arms=baseline,control,poseaug,adapt,adapt_d2d,adapt_align --root=runs/adapt_synthetic
run --protocol=cross_view --arms=baseline,control,poseaug,adapt --root=runs/adapt_cross_view
run --protocol=detections --arms=baseline,control,poseaug,adapt --root=runs/adapt_detections
