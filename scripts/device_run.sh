#!/usr/bin/env bash
# One call on a lent GPU machine (H100/H200, 16 cores, no network), sized to end within DEADLINE
# seconds (default 560; the device tool allows 600 per call): simulate the training set with one
# worker per core, train the shipped model's network (configs/gpu_small.yaml: joint stage, then
# the decoder refit on the frozen encoder, both in bf16 and bounded by time), then measure the
# network's GPU throughput against the same machine's CPU (benchmarks/bench_model_gpu.py).
# The head refit and the calibration follow on the CPU (docs/MODEL_CARD.md gives the commands).
#
#   device run, carry [.whl]:  OUT=$OUT bash scripts/device_run.sh
#
# INIT (a saved model folder, carried) starts the network from those weights, LR sets the joint
# stage's peak learning rate, BATCH its batch (and the decoder refit's). STEP_BENCH=1 first times
# the training step stage by stage at batches 64 and 256 (benchmarks/bench_train_step.py, about a
# minute, into $OUT/train_step.json; STEP_BENCH_BATCHES="4" for a CPU dry run) and gives the joint
# stage that much less time. Batches are finished on the GPU (train.batch_on auto): the loader's
# workers only stack the stored arrays.
#
# The joint stage gets whatever time is left once the data exist, less DECODER_SECONDS for the
# decoder refit and RESERVE_SECONDS for loading, saving and the benchmark; checkpoints are written
# straight into $OUT/run, so a call cut short still returns the last one. $OUT receives at most
# 8 files: log.txt, bench_gpu.json, run/{metrics.csv,summary.json,checkpoint.json,
# checkpoint.safetensors} and run/model/{model.safetensors,model.json}.
#
# .whl holds the wheels the GPU image (Python 3.12) lacks. It is not committed; make it here first:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#       defusedxml==0.7.1 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
# Off the device (a CPU, a dry run of the stages):
#   PY=.venv/bin/python N_TRAIN=64 DEADLINE=150 DECODER_SECONDS=15 RESERVE_SECONDS=60 TRAIN_WORKERS=1 OUT=/tmp/dry bash scripts/device_run.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a results folder}
PY=${PY:-python3}
CONFIG=${CONFIG:-configs/gpu_small.yaml}
N_TRAIN=${N_TRAIN:-16000}
SEED=${SEED:-1004}
MC=${MC:-4}
W=${WORKERS:-$(nproc)}
DEADLINE=${DEADLINE:-560}
DECODER_SECONDS=${DECODER_SECONDS:-80}
RESERVE_SECONDS=${RESERVE_SECONDS:-75}
MAX_TRAIN_SECONDS=${MAX_TRAIN_SECONDS:-400}
INIT=${INIT:-}
LR=${LR:-}
WORK=${WORK:-/tmp/surfsight-device}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
log() { echo "[+${SECONDS} s] $*" | tee -a "$OUT/log.txt"; }

. scripts/device_env.sh
log "machine: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo no GPU), $(nproc) cores"
"$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)" \
    2>&1 | tee -a "$OUT/log.txt"

log "simulating $N_TRAIN training samples (seed $SEED, mc $MC) with $W workers"
rm -rf "$WORK/train"
"$PY" scripts/gpu_pipeline.py generate --n "$N_TRAIN" --seed "$SEED" --mc "$MC" --workers "$W" --out "$WORK/train" \
    >> "$OUT/log.txt" 2>&1 || { log "simulation failed"; exit 1; }

if [ "${STEP_BENCH:-0}" = 1 ]; then
    log "timing the training step (batches ${STEP_BENCH_BATCHES:-64 256})"
    timeout 120 "$PY" benchmarks/bench_train_step.py --config "$CONFIG" --data "$WORK/train" --rows 2048 \
        --batch ${STEP_BENCH_BATCHES:-64 256} --batch-on device --workers "${TRAIN_WORKERS:-14}" --steps 30 --warmup 10 \
        --out "$OUT/train_step.json" >> "$OUT/log.txt" 2>&1 || log "step benchmark failed or ran out of time"
fi

TRAIN_SECONDS=$(( DEADLINE - SECONDS - DECODER_SECONDS - RESERVE_SECONDS ))
[ "$TRAIN_SECONDS" -gt "$MAX_TRAIN_SECONDS" ] && TRAIN_SECONDS=$MAX_TRAIN_SECONDS
[ "$TRAIN_SECONDS" -lt 10 ] && TRAIN_SECONDS=10
log "training $CONFIG: joint stage $TRAIN_SECONDS s, decoder refit $DECODER_SECONDS s"
# a hard stop 25 s past the deadline (the time limits should end it well before; a cut run keeps its checkpoint)
timeout $(( DEADLINE + 25 - SECONDS )) "$PY" scripts/gpu_pipeline.py train --config "$CONFIG" --out "$OUT/run" --train-data "$WORK/train" \
    --calibration-data none --time-limit "$TRAIN_SECONDS" --decoder-time-limit "$DECODER_SECONDS" \
    ${TRAIN_WORKERS:+--workers "$TRAIN_WORKERS"} ${INIT:+--init "$INIT"} ${LR:+--lr "$LR"} \
    ${BATCH_ON:+--batch-on "$BATCH_ON"} ${BATCH:+--batch "$BATCH"} >> "$OUT/log.txt" 2>&1
status=$?
log "training finished with status $status"
# the saved model supersedes the checkpoint (and frees two of the eight files $OUT may return)
[ -f "$OUT/run/model/model.safetensors" ] && rm -f "$OUT/run/checkpoint.safetensors" "$OUT/run/checkpoint.json"

if [ -f "$OUT/run/model/model.safetensors" ] && [ $(( DEADLINE - SECONDS )) -gt 30 ]; then
    log "GPU throughput of the new network"
    timeout $(( DEADLINE - SECONDS - 5 )) "$PY" benchmarks/bench_model_gpu.py --model "$OUT/run/model" \
        --out "$OUT/bench_gpu.json" >> "$OUT/log.txt" 2>&1 || log "benchmark failed or ran out of time"
fi
log "done"
exit "$status"
