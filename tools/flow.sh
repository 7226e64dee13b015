#!/usr/bin/env bash
# `make flow`: the end-to-end flow as far as it exists today. Each step prints what it does
# and writes into build/flow/. (Training, RTL and synthesis steps join as they land.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/flow
scsr=".venv/bin/scsr"
mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }

step "1. random model: 64 inputs -> 128,128,26 with skip and self-recurrence, 8/16/8 bits"
$scsr random-model --inputs 64 --layers 128,128,26 --skip --self --bits 8,16,8 \
  --timesteps 100 --seed 1 --out "$out/model"

step "2. inspect the bundle"
$scsr inspect "$out/model" > "$out/inspect.txt"
head -n 12 "$out/inspect.txt"

step "3. input: 32 samples of Bernoulli(0.1) spikes, T = 100"
.venv/bin/python - "$out/input.npz" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(sys.argv[1], spikes=(rng.random((32, 100, 64)) < 0.1).astype(np.uint8))
print(f"wrote {sys.argv[1]}")
PY

step "4. simulate with the golden model (with traces)"
$scsr simulate --bundle "$out/model" --input "$out/input.npz" --out "$out/golden.npz" --trace

for backend in torch verilator; do
  step "5. simulate with the $backend backend and compare with golden, array by array"
  if $scsr simulate --bundle "$out/model" --input "$out/input.npz" --out "$out/$backend.npz" \
       --trace --backend "$backend" 2> "$out/$backend.err"; then
    .venv/bin/python - "$out/golden.npz" "$out/$backend.npz" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
bad = [k for k in a.files if k not in b.files or not np.array_equal(a[k], b[k])]
print(f"{len(a.files)} arrays compared: " + ("all identical" if not bad else f"MISMATCH in {bad}"))
sys.exit(1 if bad else 0)
PY
  else
    echo "skipped: $(tail -n 1 "$out/$backend.err")"
  fi
done

step "done: outputs in $out/"
ls -1 "$out"
