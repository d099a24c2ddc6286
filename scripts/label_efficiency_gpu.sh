#!/usr/bin/env bash
# The whole label-efficiency study (20, 50, all labels x shipped/scratch start x seeds 0,1,2) on one GPU.
# Under 5 minutes on one H100 (measured: 289 s wall, with bench_anomaly.py running beside it): the three
# seeds run as three processes side by side (the network is small, so one process leaves the GPU mostly
# idle). Results and logs go to $OUT (default benchmarks/results): label_efficiency_seed{0,1,2}.json/.log
# and the merged label_efficiency_gpu.json. Needs python3 with torch (CUDA), numpy, scipy, pillow,
# safetensors, typer and defusedxml, and the magnetic-tile data under $SURFSIGHT_DATA/defects/.
#
#   SURFSIGHT_DATA=/path/to/shared/data bash scripts/label_efficiency_gpu.sh
#   LABELS=50 STARTS=scratch STEPS_SCALE=2 bash scripts/label_efficiency_gpu.sh       # variants (also STEPS=N, DEVICE=cpu)
#   UNLABELLED=1 LABELS=20,50 bash scripts/label_efficiency_gpu.sh    # semi-supervised: the rest of the train split teaches
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-benchmarks/results}
LABELS=${LABELS:-20,50,all}
SEEDS=${SEEDS:-0 1 2}
STARTS=${STARTS:-default,scratch}
DEVICE=${DEVICE:-cuda}       # cpu: a dry run of the script (with STEPS=2, say)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
[ "$DEVICE" = cpu ] || "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
pids=()
files=()
for seed in $SEEDS; do
  "$PY" benchmarks/bench_label_efficiency.py --device "$DEVICE" --threads 4 --seeds "$seed" --labels "$LABELS" --starts "$STARTS" \
      --steps-scale "${STEPS_SCALE:-1}" ${STEPS:+--steps "$STEPS"} ${UNLABELLED:+--unlabelled} --out "$OUT/label_efficiency_seed$seed.json" \
      > "$OUT/label_efficiency_seed$seed.log" 2>&1 &
  pids+=($!)
  files+=("$OUT/label_efficiency_seed$seed.json")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
tail -n 3 "$OUT"/label_efficiency_seed*.log
[ "$status" -eq 0 ] || { echo "a seed failed: see $OUT/label_efficiency_seed*.log" >&2; exit 1; }
"$PY" benchmarks/bench_label_efficiency.py --merge "${files[@]}" --out "$OUT/label_efficiency_gpu.json"
