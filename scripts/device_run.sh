#!/usr/bin/env bash
# One call on a lent GPU machine (H100/H200, 16 cores, no network): train the default model
# (scripts/train_gpu.sh), then run the magnetic-tile label-efficiency study from it
# (scripts/label_efficiency_gpu.sh). Everything but the weights comes back in one tarball,
# since the device tool returns at most 8 files.
#
#   device run, carry [.whl, .gpu_data]:  OUT=$OUT bash scripts/device_run.sh
#
# .whl holds the wheels the GPU image (Python 3.12) lacks; .gpu_data/defects holds a copy of
# ../shared/data/defects/magnetic_tile. Neither is committed; make both here first:
#   printf '/.whl/\n/.gpu_data/\n' >> .git/info/exclude
#   python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#       defusedxml==0.7.1 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
#   mkdir -p .gpu_data/defects && cp -r ../shared/data/defects/magnetic_tile .gpu_data/defects/
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT}
export PYTHONUNBUFFERED=1
START=$SECONDS
RES=/tmp/device-results
mkdir -p "$OUT" "$RES"
pack() {
    cp -f "$RES"/train/model/model.safetensors "$RES"/train/model/model.json "$OUT"/ 2>/dev/null
    tar czf "$OUT/results.tar.gz" -C "$RES" --exclude model.safetensors . 2>/dev/null
}
trap pack EXIT
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$RES/gpu.txt"

echo "[+$((SECONDS - START)) s] training the default model"
OUT="$RES/train" timeout "${TRAIN_TIMEOUT:-400}" bash scripts/train_gpu.sh > "$RES/train.log" 2>&1
echo "[+$((SECONDS - START)) s] training finished with status $?"
tail -n 5 "$RES/train.log"
if [ -f "$RES/train/results.tar.gz" ]; then mkdir -p "$RES/train/details" && tar xzf "$RES/train/results.tar.gz" -C "$RES/train/details" && rm "$RES/train/results.tar.gz"; fi

if [ -f "$RES/train/model/model.safetensors" ]; then
    cp "$RES/train/model/model.safetensors" "$RES/train/model/model.json" surfsight/data/models/default/
    echo "[+$((SECONDS - START)) s] label-efficiency study from the new weights"
    SURFSIGHT_DATA=$PWD/.gpu_data OUT="$RES/label_efficiency" timeout "${LE_TIMEOUT:-170}" \
        bash scripts/label_efficiency_gpu.sh > "$RES/label_efficiency.log" 2>&1
    echo "[+$((SECONDS - START)) s] label efficiency finished with status $?"
    tail -n 8 "$RES/label_efficiency.log"
fi
echo "[+$((SECONDS - START)) s] done"
