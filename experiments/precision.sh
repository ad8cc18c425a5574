#!/usr/bin/env bash
# bfloat16 against float32 (issue 14, the condition for `model.precision=auto` as the default): the cross-view
# protocol's baseline, control and PoseAug arms, 3 seeds, once per precision (about an hour on the 2-core
# machine). The tables land in runs/precision_<p>/summary.md; the "Precision" table of docs/training.md is read from them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
for precision in float32 mixed_bfloat16; do
  "$PY" experiments/run.py --protocol=cross_view --seeds=1,2,3 --jobs=2 --arms=baseline,control,poseaug \
    --root="runs/precision_${precision}" --set="model.precision=${precision}"
done
