#!/usr/bin/env bash
# The GPU checks of the training stack, as one script for a lent CUDA machine.
#
# Runs from the repository root with the machine's own python3 (torch + Triton there) and
# writes everything under $OUT (default build/gpu):
#   1. environment: nvidia-smi, torch / Triton versions;
#   2. the CUDA tests: Triton scan against the CPU reference (tests/torch/test_scan.py);
#   3. benchmarks/train_speed.py on CUDA (fp32 and TF32) against snnTorch and SpikingJelly;
#   4. training throughput: one `scsr train` epoch on each DATASET given, on the GPU.
# snnTorch / SpikingJelly come as wheels in .whl/ (see docs/training.md, "GPU checks").
#
# usage: tools/gpu_checks.sh [DATASET.npz ...]
set -u
OUT=${OUT:-build/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}

step() { echo; echo "=== $1 ($(date +%T))"; }

step environment
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/env.txt"
"$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__,
'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))" 2>&1 | tee -a "$OUT/env.txt"

step "CUDA tests"
timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/torch/test_scan.py -rs 2>&1 \
    | tee "$OUT/cuda_tests.txt" | tail -5

step "train_speed on CUDA"
timeout 240 "$PY" -m benchmarks.train_speed --device cuda --kernels --out "$OUT/train_speed_cuda.json" 2>&1 \
    | grep -v "Triton not available" | tail -3

for data in "$@"; do
    name=$(basename "$data" .npz)
    step "one training epoch on $name"
    time timeout 300 "$PY" -m scsr train "$data" --device cuda \
        --hidden 128,128 --batch 64 --epochs 1 --qat-epochs 0 --out "/tmp/gpu-run-$name" \
        2>&1 | tail -3
    cp "/tmp/gpu-run-$name/metrics.json" "$OUT/metrics-$name.json" 2>/dev/null || true
done
step done
