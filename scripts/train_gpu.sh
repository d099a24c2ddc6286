#!/usr/bin/env bash
# Train the 3.6 M-parameter network of configs/gpu_default.yaml on one GPU (bf16) and evaluate it; about 8 minutes wall
# (the shipped, smaller network is trained on the GPU by scripts/device_run.sh instead).
#
#   OUT=/path/to/results bash scripts/train_gpu.sh
#
# Stages (all numbers overridable through the environment):
#   1. simulate N_TRAIN training samples (seed 1000, mc 4), N_EXTRA samples read only by the head
#      refit (seed 1003, mc 8) and N_CAL calibration samples (seed 2000, mc 8) at 128x128 with one
#      worker per CPU core, into $WORK (not $OUT: large);
#   2. train configs/gpu_default.yaml for TRAIN_SECONDS (cosine schedule over the time budget),
#      calibrate (temperature + Mondrian conformal) on the calibration set, save the weights;
#   3. (ABLATION=1) the same backbone and budget (ABLATION_SECONDS each) trained multi-task and
#      single-task per head, all six runs at once on the GPU, then scored;
#   4. evaluate on N_EVAL fresh samples (seed 987654, never used in training) from heights,
#      images and both.
# $OUT receives (7 files, the device tool returns at most 8): model/model.safetensors,
# model/model.json, eval_{height,image,both}.json, ablation.md and results.tar.gz (metrics.csv,
# train_log.txt, log.txt, environment.json, train_summary.json, ablation.json).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a results folder}
PY=${PY:-python3}          # the GPU machine's python3 holds CUDA PyTorch
W=${WORKERS:-$(nproc)}
WORK=${WORK:-/tmp/surfsight-gpu}
N_TRAIN=${N_TRAIN:-12000}
N_EXTRA=${N_EXTRA:-0}        # e.g. 6000: about a minute more (off by default: time)
N_CAL=${N_CAL:-1500}
N_EVAL=${N_EVAL:-400}
TRAIN_SECONDS=${TRAIN_SECONDS:-180}
ABLATION=${ABLATION:-1}
ABLATION_SECONDS=${ABLATION_SECONDS:-45}
N_ABL_EVAL=${N_ABL_EVAL:-200}
CONFIG=${CONFIG:-configs/gpu_default.yaml}
RES="$WORK/results"
rm -rf "$RES"
mkdir -p "$OUT" "$WORK" "$RES"
SS=("$PY" scripts/gpu_pipeline.py)
log() { echo "[$(date +%T) +$SECONDS s] $*" | tee -a "$RES/log.txt"; }

"$PY" - > "$RES/environment.json" <<'PYEOF'
import json, os, platform, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                  "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                  "cpus": os.cpu_count(), "python": platform.python_version()}))
PYEOF
log "environment: $(cat "$RES/environment.json")"

log "simulating $N_TRAIN training + $N_EXTRA head-refit + $N_CAL calibration samples with $W workers"
[ -f "$WORK/train/index.json" ] || "${SS[@]}" generate --n "$N_TRAIN" --seed 1000 --mc 4 \
    --workers "$W" --out "$WORK/train" 2>> "$RES/log.txt"
[ "$N_EXTRA" -eq 0 ] || [ -f "$WORK/extra/index.json" ] || "${SS[@]}" generate --n "$N_EXTRA" --seed 1003 \
    --mc 8 --workers "$W" --out "$WORK/extra" 2>> "$RES/log.txt"
[ -f "$WORK/calib/index.json" ] || "${SS[@]}" generate --n "$N_CAL" --seed 2000 --mc 8 \
    --workers "$W" --out "$WORK/calib" 2>> "$RES/log.txt"
log "data ready"

log "training $CONFIG for $TRAIN_SECONDS s"
"${SS[@]}" train --config "$CONFIG" --out "$WORK/run" --train-data "$WORK/train" --calibration-data "$WORK/calib" \
    $([ "$N_EXTRA" -eq 0 ] || echo --head-refit-data "$WORK/extra") --time-limit "$TRAIN_SECONDS" > "$RES/train_summary.json" 2> >(tee -a "$RES/train_log.txt" >&2)
rm -rf "$RES/model"; cp -r "$WORK/run/model" "$RES/model"; cp "$WORK/run/metrics.csv" "$RES/metrics.csv"
log "trained: $(cat "$RES/train_summary.json" | tr -d '\n ')"

pids=()
mkdir -p "$WORK/ablation"
if [ "$ABLATION" = "1" ]; then
    log "ablation: 6 runs of $ABLATION_SECONDS s in parallel"
    for tasks in segmentation,parameters,uncertainty,instrument,reconstruction segmentation parameters uncertainty instrument reconstruction; do
        name=$(echo "$tasks" | tr ',' '_' | cut -c1-40)
        [ "$tasks" = "segmentation,parameters,uncertainty,instrument,reconstruction" ] && name=multi
        OMP_NUM_THREADS=2 "${SS[@]}" train --config "$CONFIG" --out "$WORK/ablation/$name" --train-data "$WORK/train" \
            --calibration-data none --time-limit "$ABLATION_SECONDS" --tasks "$tasks" --workers 2 \
            > "$WORK/ablation/$name.summary.json" 2> "$WORK/ablation/$name.log" &
        pids+=($!)
    done
fi

log "evaluating on $N_EVAL fresh samples (seed 987654)"
# the default model, on the CPU (the speed reported is CPU inference), three inputs in parallel
for input in height image both; do
    OMP_NUM_THREADS=3 "${SS[@]}" evaluate --model "$RES/model" --n "$N_EVAL" --seed 987654 --input "$input" \
        --workers 2 > "$RES/eval_$input.json" 2>> "$RES/log.txt" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || log "a background job failed (pid $p)"; done
log "main evaluation done"

if [ "$ABLATION" = "1" ]; then
    log "scoring the ablation runs"
    apids=()
    for d in "$WORK"/ablation/*/; do
        name=$(basename "$d")
        [ -f "$d/model/model.json" ] || continue
        input=height; [ "$name" = "reconstruction" ] && input=image
        OMP_NUM_THREADS=2 "${SS[@]}" evaluate --model "$d/model" --n "$N_ABL_EVAL" --seed 987654 --input "$input" \
            --workers 1 --passes 4 > "$WORK/ablation/$name.eval.json" 2>> "$RES/log.txt" &
        apids+=($!)
        if [ "$name" = "multi" ]; then
            OMP_NUM_THREADS=2 "${SS[@]}" evaluate --model "$d/model" --n "$N_ABL_EVAL" --seed 987654 --input image \
                --workers 1 --passes 4 > "$WORK/ablation/multi.image.eval.json" 2>> "$RES/log.txt" &
            apids+=($!)
        fi
    done
    for p in "${apids[@]}"; do wait "$p" || log "an ablation evaluation failed (pid $p)"; done
    "$PY" scripts/ablation_table.py "$WORK/ablation" "$RES" | tee -a "$RES/log.txt"
fi
# $OUT takes at most 8 files: the weights, the three evaluations, the ablation table, the rest in a tarball
mkdir -p "$OUT/model"
cp "$RES/model/model.safetensors" "$RES/model/model.json" "$OUT/model/"
for f in eval_height.json eval_image.json eval_both.json ablation.md; do [ -f "$RES/$f" ] && cp "$RES/$f" "$OUT/"; done
log "done"
tar czf "$OUT/results.tar.gz" -C "$RES" --exclude model .
