#!/usr/bin/env bash
# docs/detector_keypoints.md: the detections protocol (S9/S11 with ground-truth 2D and with the Stacked-Hourglass
# detections), one grid per training source and noise model, each with its own baseline and equal-schedule control.
# The ground-truth-trained control is the standard grid's (runs/grid_standard: the same training); the table script
# scores every selected model on both 2D sources, complete and with 1 and 2 random joints missing. About 6 h
# on the 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
run() { "$PY" experiments/run.py --protocol=detections --seeds="${SEEDS:-1,2,3}" --jobs=2 "$@"; }
NOISY=(--set=noise.model=fitted --set=noise.missing_rate=0.05)
# Trained on ground-truth 2D with the generic (PoseFix) noise, and with the noise fitted to SH.
run --root=runs/det_gt_generic --arms=baseline,control --set=noise.model=generic --set=noise.missing_rate=0.05
run --root=runs/det_gt_fitted --arms=baseline,control "${NOISY[@]}"
# The generic noise without joint dropout: what the dropout costs on complete input.
run --root=runs/det_gt_generic_complete --arms=baseline,control --set=noise.model=generic
# Trained on the SH detections (scored on S9/S11 SH as `h36m`, ground truth as `h36m_gt`); PoseAug's augmented
# 2D gets the fitted noise, the real detections keep their own.
run --root=runs/det_sh --arms=baseline,control,poseaug_turn,poseaug_noisy_d2d --set=data.keypoints=sh_pt_mpii \
  --set=data.eval_keypoints=gt "${NOISY[@]}"
# Both sources, every frame twice; the fitted noise on every real pair (noise.real=on).
run --root=runs/det_mixed --arms=baseline,control --set=data.keypoints=gt+sh_pt_mpii "${NOISY[@]}" \
  --set=noise.real=on
# Both sources without added noise, pretrained three times as long (90 epochs): the best model on detections.
run --root=runs/det_mixed_long --arms=baseline,control --set=data.keypoints=gt+sh_pt_mpii --set=pretrain.epochs=90
# The same at twice the width (seed 0: 68.7 on SH, 49.2 on GT; docs/detector_keypoints.md; about 4× the time).
run --root=runs/det_mixed_w1024_long --arms=baseline,control --set=data.keypoints=gt+sh_pt_mpii \
  --set=pretrain.epochs=90 --set=model.width=1024
"$PY" experiments/detections_table.py
