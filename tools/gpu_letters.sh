#!/usr/bin/env bash
# The letters ablation on a GPU machine (one GPU, 16 CPU cores), in one time-boxed command.
#
#   tools/gpu_letters.sh [BUDGET_SECONDS]     (default 540; run from anywhere)
#
# BUDGET is the whole wall time of this script; give the command ~60 s more (e.g. 540 under
# a 600 s limit).
#
# Needs build/data/letters-sd.npz and build/data/letters-si.npz (spikes only, ~4 MB each:
# `tools/strip_features.py build/data/letters-XX-features.npz build/data/letters-XX.npz
# --encoder rate`; carry them to the machine). Everything lands in $OUT (default build/gpu),
# at most 8 files so that all of them come back from the device machine:
#   gpu_letters.log   this script's whole output
#   plan.json         what the machine can do: CUDA/Triton check, step timings, chosen epochs
#   ablation.json/.md the sweep on validation (carved from TRAIN), the pick, every run,
#                     mean ± std per variant; rewritten after EVERY run (a kill keeps them)
#   runs.tar.gz       each run's log, metrics.csv and result, and the scsr+bip bundles
# Bulky work (checkpoints, bundles, job files) goes to $WORK (default build/gpu-work).
#
# Steps: (1) tools/gpu_letters_plan.py checks imports and CUDA (the fused Triton scan must
# match the per-step reference on the GPU, and a CUDA step must beat a CPU core, else the
# GPU is not used and all 16 cores train), times one step of rsnn and scsr+bip and picks the
# epochs that fit; (2) benchmarks/ablation.py sweeps recipe candidates for scsr+bip on
# validation, then runs 5 variants x SEEDS x both splits with --jobs JOBS, stopping new runs
# at the deadline and cutting running ones at the end of the budget; a run that fails on CUDA
# is rerun on the CPU. Override with env vars: JOBS (nproc), SEEDS (0,1,2), HIDDEN (128,128),
# BATCH (16), EPOCHS (from the plan), PY (python3, or .venv/bin/python when present),
# DATA ("SD.npz SI.npz"), NCAND (use the first N recipe candidates), EXTRA (more options
# for benchmarks/ablation.py, e.g. "--set shift=4": they apply to every run), VARIANTS
# (default all five; VARIANTS=scsr+bip trains only it, for as many epochs as then fit).
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-540}
OUT=${OUT:-build/gpu}
WORK=${WORK:-build/gpu-work}
JOBS=${JOBS:-$(nproc)}
SEEDS=${SEEDS:-0,1,2}
HIDDEN=${HIDDEN:-128,128}
BATCH=${BATCH:-16}
VARIANTS=${VARIANTS:-ff,rsnn,sr,scsr,scsr+bip}
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONUNBUFFERED=1
read -r -a DATA <<< "${DATA:-build/data/letters-sd.npz build/data/letters-si.npz}"
# Recipe candidates for scsr+bip, picked on validation (see docs/history.md, "Letters"). In
# short CPU probes only intrinsic_lr=1.0 stood out (+10 to +16 points after 4 epochs); lr,
# logit scale, surrogate slope, init rate and time constants moved accuracy by a few points,
# which one seed on a subset cannot resolve. The sweep centres on intrinsic_lr=1.0 and keeps
# the project default (first) as a reference. A GPU run of this sweep picked
# "lr=0.05 intrinsic_lr=1.0" on both splits. A band shift of ±1 mel band (band_shift=1)
# gave +3.3 points at 8 bits on held-out digits voices (3 seeds), but one CPU run on held-out
# letters-SI voices collapsed at the switch to QAT (64.8 % against 76.7 % without it, seed 0):
# the sweep decides.
CANDIDATES=(
  "lr=0.05"
  "lr=0.05 intrinsic_lr=1.0"
  "lr=0.05 intrinsic_lr=1.0 band_shift=1"
  "lr=0.02 intrinsic_lr=1.0 band_shift=1"
  "lr=0.02"
  "lr=0.02 intrinsic_lr=1.0"
  "lr=0.01 intrinsic_lr=1.0"
  "lr=0.02 intrinsic_lr=3.0"
  "lr=0.02 intrinsic_lr=1.0 init_rate=0.1"
  "lr=0.02 intrinsic_lr=1.0 shift=4 drop=0.1 noise=0.005"
)
CANDIDATES=("${CANDIDATES[@]:0:${NCAND:-${#CANDIDATES[@]}}}")
start=$(date +%s)
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/gpu_letters.log") 2>&1
left() { echo $(( BUDGET - ($(date +%s) - start) )); }
echo "== gpu_letters: budget ${BUDGET}s, OUT=$OUT, WORK=$WORK, PY=$PY, $(nproc) cores, $(date -u)"
for f in "${DATA[@]}"; do
  [ -f "$f" ] || { echo "missing $f (see the header of $0)"; exit 2; }
done
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv

pack() {  # what comes back: logs, metrics, results and the scsr+bip bundles
  [ -d "$WORK" ] || return 0
  (cd "$WORK" && find . \( -name '*.log' -o -name metrics.csv -o -name '*.result.json' \
      -o -path '*scsr+bip*.bundle/*' \) -print0 | tar -czf - --null -T -) > "$OUT/runs.tar.gz"
  ls -l "$OUT"
}
trap pack EXIT

echo "== 1. plan (CUDA check, step timings, epochs) — $(left)s left"
# The ablation gets what is left after the plan, less 25 s for packing and margin.
timeout 120 "$PY" -m tools.gpu_letters_plan "${DATA[0]}" --seconds $(( $(left) - 25 - 45 )) \
  --jobs "$JOBS" --hidden "$HIDDEN" --batch "$BATCH" --variants "$VARIANTS" \
  --seeds "$(echo "$SEEDS" | tr ',' '\n' | wc -l)" \
  --out "$OUT/plan.json" || echo "plan failed (rc $?): falling back to CPU defaults"
plan() { "$PY" -c "import json,sys; p=json.load(open('$OUT/plan.json')); print(p.get('$1', '$2'))" \
           2>/dev/null || echo "$2"; }
SECONDS_LEFT=$(( $(left) - 25 ))
EPOCHS=${EPOCHS:-$(plan epochs 4)}
SWEEP_EPOCHS=$(plan sweep_epochs 2)
DEVICE=$(plan device cpu)
CUDA_JOBS=$(plan cuda_jobs 0)
SWEEP_UNTIL=$(plan sweep_until $(( SECONDS_LEFT / 4 )))
DEADLINE=$(plan deadline $(( SECONDS_LEFT * 2 / 3 )))
# The plan was sized before its own run; keep its deadlines inside what is really left.
[ "$DEADLINE" -gt "$SECONDS_LEFT" ] && DEADLINE=$(( SECONDS_LEFT * 2 / 3 ))
[ "$SWEEP_UNTIL" -gt "$(( SECONDS_LEFT / 3 ))" ] && SWEEP_UNTIL=$(( SECONDS_LEFT / 3 ))

echo "== 2. sweep + ablation: epochs $EPOCHS (sweep $SWEEP_EPOCHS), device $DEVICE" \
     "(cuda workers $CUDA_JOBS of $JOBS), sweep until ${SWEEP_UNTIL}s, no new run after" \
     "${DEADLINE}s, cut at ${SECONDS_LEFT}s — $(left)s left"
cand=()
for c in "${CANDIDATES[@]}"; do cand+=(--candidate "$c"); done
timeout -k 5 $(( SECONDS_LEFT + 15 )) "$PY" -m benchmarks.ablation "${DATA[@]}" \
  --out "$OUT" --work "$WORK" --seeds "$SEEDS" --epochs "$EPOCHS" --hidden "$HIDDEN" \
  --variants "$VARIANTS" \
  --set batch="$BATCH" --jobs "$JOBS" --threads 1 --device "$DEVICE" --cuda-jobs "$CUDA_JOBS" \
  --deadline "$DEADLINE" --kill-at "$SECONDS_LEFT" --sweep-until "$SWEEP_UNTIL" \
  --sweep-epochs "$SWEEP_EPOCHS" "${cand[@]}" ${EXTRA:-}
echo "== ablation exit $? — $(left)s left"
