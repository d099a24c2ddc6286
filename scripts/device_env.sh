# Sourced by the scripts that run on a lent GPU machine (scripts/device_run.sh,
# scripts/device_realdata.sh), in the project root, with PY set to the Python to use: installs the
# wheels carried in .whl (the packages that machine's image lacks; device_run.sh says how to make
# them) into /tmp/site and puts it, and the project, on PYTHONPATH. Without wheels, or if they do
# not install (another Python version), the project alone.
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:$PWD || export PYTHONPATH=$PWD
else
    export PYTHONPATH=$PWD
fi
