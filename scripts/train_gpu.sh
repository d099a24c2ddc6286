#!/usr/bin/env bash
# Train the default surfsight model on one GPU (bf16) and evaluate it; about 8-10 minutes wall.
#
#   OUT=/path/to/results bash scripts/train_gpu.sh
#
# Stages (all numbers overridable through the environment):
#   1. simulate N_TRAIN training samples (seed 1000, mc 4) and N_CAL calibration samples
#      (seed 2000, mc 8) at 128x128 with one worker per CPU core, into $WORK (not $OUT: large);
#   2. train configs/gpu_default.yaml for TRAIN_SECONDS (cosine schedule over the time budget),
#      calibrate (temperature + Mondrian conformal) on the calibration set, save the weights;
#   3. (ABLATION=1) the same backbone and budget (ABLATION_SECONDS each) trained multi-task and
#      single-task per head, all six runs at once on the GPU, then scored;
#   4. evaluate on N_EVAL fresh samples (seed 987654, never used in training) from heights,
#      images and both.
# $OUT receives: model/ (model.safetensors + model.json), metrics.csv, train_log.txt,
# eval_{height,image,both}.json, ablation.json + ablation.md, log.txt, environment.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a results folder}
PY=${PY:-.venv/bin/python}
W=${WORKERS:-$(nproc)}
WORK=${WORK:-/tmp/surfsight-gpu}
N_TRAIN=${N_TRAIN:-9000}
N_CAL=${N_CAL:-1200}
N_EVAL=${N_EVAL:-400}
TRAIN_SECONDS=${TRAIN_SECONDS:-210}
ABLATION=${ABLATION:-1}
ABLATION_SECONDS=${ABLATION_SECONDS:-60}
CONFIG=${CONFIG:-configs/gpu_default.yaml}
mkdir -p "$OUT" "$WORK"
SS=("$PY" -m surfsight.cli)
log() { echo "[$(date +%T) +$SECONDS s] $*" | tee -a "$OUT/log.txt"; }

"$PY" - > "$OUT/environment.json" <<'PYEOF'
import json, os, platform, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                  "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                  "cpus": os.cpu_count(), "python": platform.python_version()}))
PYEOF
log "environment: $(cat "$OUT/environment.json")"

log "simulating $N_TRAIN training + $N_CAL calibration samples with $W workers"
[ -f "$WORK/train/index.json" ] || "${SS[@]}" synth generate --n "$N_TRAIN" --size 128 --seed 1000 --mc 4 \
    --workers "$W" --shard-size 100 --out "$WORK/train" 2>> "$OUT/log.txt"
[ -f "$WORK/calib/index.json" ] || "${SS[@]}" synth generate --n "$N_CAL" --size 128 --seed 2000 --mc 8 \
    --workers "$W" --shard-size 100 --out "$WORK/calib" 2>> "$OUT/log.txt"
log "data ready"

log "training $CONFIG for $TRAIN_SECONDS s"
"${SS[@]}" train --config "$CONFIG" --out "$WORK/run" --train-data "$WORK/train" --calibration-data "$WORK/calib" \
    --time-limit "$TRAIN_SECONDS" --fresh > "$OUT/train_summary.json" 2> >(tee -a "$OUT/train_log.txt" >&2)
rm -rf "$OUT/model"; cp -r "$WORK/run/model" "$OUT/model"; cp "$WORK/run/metrics.csv" "$OUT/metrics.csv"
log "trained: $(cat "$OUT/train_summary.json" | tr -d '\n ')"

pids=()
mkdir -p "$WORK/ablation"
if [ "$ABLATION" = "1" ]; then
    log "ablation: 6 runs of $ABLATION_SECONDS s in parallel"
    for tasks in segmentation,parameters,uncertainty,instrument,reconstruction segmentation parameters uncertainty instrument reconstruction; do
        name=$(echo "$tasks" | tr ',' '_' | cut -c1-40)
        [ "$tasks" = "segmentation,parameters,uncertainty,instrument,reconstruction" ] && name=multi
        OMP_NUM_THREADS=2 "${SS[@]}" train --config "$CONFIG" --out "$WORK/ablation/$name" --train-data "$WORK/train" \
            --calibration-data none --time-limit "$ABLATION_SECONDS" --tasks "$tasks" --workers 2 --fresh \
            > "$WORK/ablation/$name.summary.json" 2> "$WORK/ablation/$name.log" &
        pids+=($!)
    done
fi

log "evaluating on $N_EVAL fresh samples (seed 987654)"
# the default model, on the CPU (the speed reported is CPU inference), three inputs in parallel
for input in height image both; do
    OMP_NUM_THREADS=3 "${SS[@]}" evaluate --model "$OUT/model" --n "$N_EVAL" --seed 987654 --input "$input" \
        --workers 2 --json > "$OUT/eval_$input.json" 2>> "$OUT/log.txt" &
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
        OMP_NUM_THREADS=2 "${SS[@]}" evaluate --model "$d/model" --n 200 --seed 987654 --input "$input" \
            --workers 1 --passes 4 --json > "$WORK/ablation/$name.eval.json" 2>> "$OUT/log.txt" &
        apids+=($!)
        if [ "$name" = "multi" ]; then
            OMP_NUM_THREADS=2 "${SS[@]}" evaluate --model "$d/model" --n 200 --seed 987654 --input image \
                --workers 1 --passes 4 --json > "$WORK/ablation/multi.image.eval.json" 2>> "$OUT/log.txt" &
            apids+=($!)
        fi
    done
    for p in "${apids[@]}"; do wait "$p" || log "an ablation evaluation failed (pid $p)"; done
    "$PY" scripts/ablation_table.py "$WORK/ablation" "$OUT" | tee -a "$OUT/log.txt"
fi
log "done"
