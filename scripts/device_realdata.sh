#!/usr/bin/env bash
# One call on a lent GPU machine: the real-data studies of docs/realdata.md for a given model, in
# about 3 minutes: label efficiency on magnetic tiles (LABELS, seeds 0, 1, 2 side by side, shipped
# start and random start; scripts/label_efficiency_gpu.sh) and anomaly detection from good
# parts on magnetic tiles and KolektorSDD (benchmarks/bench_anomaly.py), beside each other.
#
#   device run, carry [.whl, .gpu_data, MODEL]:  MODEL=runs/x/model OUT=$OUT bash scripts/device_realdata.sh
#
# MODEL (a model folder) becomes the "shipped" start: it is copied over surfsight/data/models/default
# of the tree the script runs in (on the device, a copy; after a dry run here, `git checkout` that folder). .gpu_data
# holds copies of ../shared/data/defects/{magnetic_tile,kolektorsdd} (the real data is never
# committed); .whl the wheels of scripts/device_run.sh. Make them here first:
#   echo /.gpu_data/ >> .git/info/exclude
#   mkdir -p .gpu_data/defects && cp -r ../shared/data/defects/{magnetic_tile,kolektorsdd} .gpu_data/defects/
# $OUT receives label_efficiency_gpu.json, anomaly_gpu.json (label_efficiency_semi_gpu.json with UNLABELLED=1) and logs.tar.gz.
# UNLABELLED=1 adds the semi-supervised runs (the rest of the train split through a mean teacher).
# A CPU dry run: PY=.venv/bin/python DEVICE=cpu STEPS=2 LABELS=20 SEEDS=0 SETS=kolektorsdd ...
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a results folder}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
LABELS=${LABELS:-20,50}
SEEDS=${SEEDS:-0 1 2}
SETS=${SETS:-magnetic_tile,kolektorsdd}
export PYTHONUNBUFFERED=1 SURFSIGHT_DATA=${SURFSIGHT_DATA:-$PWD/.gpu_data}
LOGS=/tmp/surfsight-realdata
mkdir -p "$OUT" "$LOGS"
log() { echo "[+${SECONDS} s] $*" | tee -a "$LOGS/log.txt"; }
pack() { tar czf "$OUT/logs.tar.gz" -C "$LOGS" . 2>/dev/null; }
trap pack EXIT

. scripts/device_env.sh
if [ -n "${MODEL:-}" ] && [ "$(realpath "$MODEL")" != "$(realpath surfsight/data/models/default)" ]; then
    cp "$MODEL"/model.safetensors "$MODEL"/model.json surfsight/data/models/default/ || { log "no model at $MODEL"; exit 1; }
fi
log "model: $("$PY" -c "from surfsight.model import load_model; m = load_model('default'); print(sum(p.numel() for p in m.parameters()), 'parameters')")"

"$PY" benchmarks/bench_anomaly.py --device "$DEVICE" --threads 4 --sets "$SETS" --out "$OUT/anomaly_gpu.json" \
    > "$LOGS/anomaly.log" 2>&1 &
anomaly=$!
PYTHON="$PY" DEVICE="$DEVICE" LABELS="$LABELS" SEEDS="$SEEDS" STARTS=default,scratch OUT="$LOGS" \
    bash scripts/label_efficiency_gpu.sh > "$LOGS/label_efficiency.log" 2>&1
status=$?
if [ -n "${UNLABELLED:-}" ]; then
    mkdir -p "$LOGS/semi"
    PYTHON="$PY" DEVICE="$DEVICE" LABELS="$LABELS" SEEDS="$SEEDS" STARTS=default OUT="$LOGS/semi" UNLABELLED=1 \
        bash scripts/label_efficiency_gpu.sh > "$LOGS/label_efficiency_semi.log" 2>&1 || status=1
    cp "$LOGS/semi/label_efficiency_gpu.json" "$OUT/label_efficiency_semi_gpu.json" 2>/dev/null
    log "semi-supervised runs finished"
fi
log "label efficiency finished (status $status)"
cp "$LOGS/label_efficiency_gpu.json" "$OUT/" && tail -n 8 "$LOGS/label_efficiency.log" | tee -a "$LOGS/log.txt"
wait "$anomaly" || { status=1; log "anomaly benchmark failed"; }
[ -f "$OUT/anomaly_gpu.json" ] && "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['table'])" "$OUT/anomaly_gpu.json"
log "done"
exit "$status"
