#!/usr/bin/env bash
# `make flow`: speech to a bitstream, end to end, into build/flow/. Measured (session 4): 8
# minutes with FLOW_EPOCHS=3 on this 2-core machine beside two training jobs, the dataset
# build included; session 5's digits set is 3.5x larger (more renditions, Flite voices), so
# its first build takes a few minutes more, and the recipe's 30 epochs about 3 minutes.
#
#   1. build the built-in speaker-independent digits (espeak-ng and Flite speech -> log-mel
#      -> spikes)
#   2. train the small ScSr + BIP model with the recipe of models/digits-8k (BIP, QAT)
#   3. export it as an 8/16/8 bundle
#   4. simulate test samples with the golden model, the torch integer path and Verilator,
#      and compare every array
#   5. cosimulate the pipelined RTL (4 lanes) against the golden model, cycle counts too
#   6. synthesise the UART board top for the iCEBreaker (iCE40 UP5K, one lane)
#
# FLOW_EPOCHS=N trains for N epochs instead of the recipe's 30 (a quicker look).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/flow
scsr=".venv/bin/scsr"
py=".venv/bin/python"
data=build/data/digits-si.npz
mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }

step "1. dataset: built-in digits, speaker-independent split (cached after the first build)"
$scsr dataset build digits --split speaker-independent --set max_rate=1.0 --train-draws 3 \
  --flite-per-class 300 --out "$data"

step "2. train: ScSr + BIP, 32 -> 48,48 -> 10, recipe models/digits-8k.toml"
rm -rf "$out/run"
$scsr train "$data" --config models/digits-8k.toml --threads 1 --out "$out/run" \
  ${FLOW_EPOCHS:+--epochs "$FLOW_EPOCHS"}

step "3. export the 8/16/8 bundle"
rm -rf "$out/model"
$scsr export "$out/run" --bits 8,16,8 --out "$out/model"
$scsr inspect "$out/model" > "$out/inspect.txt"
head -n 12 "$out/inspect.txt"

step "4. the first 16 test samples: golden model, torch integer path, Verilator"
$py - "$data" "$out/input.npz" <<'PY'
import sys
from golden_model import save_npz
from scsr.data.store import load_dataset
data = load_dataset(sys.argv[1])
save_npz(sys.argv[2], {"spikes": data.test_spikes[:16], "labels": data.test_labels[:16]})
print(f"wrote {sys.argv[2]}: 16 test samples of {sys.argv[1]}")
PY
$scsr simulate --bundle "$out/model" --input "$out/input.npz" --out "$out/golden.npz" --trace
for backend in torch verilator; do
  if $scsr simulate --bundle "$out/model" --input "$out/input.npz" --out "$out/$backend.npz" \
       --trace --backend "$backend" 2> "$out/$backend.err"; then
    $py - "$out/golden.npz" "$out/$backend.npz" "$backend" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
bad = [k for k in a.files if k not in b.files or not np.array_equal(a[k], b[k])]
print(f"{sys.argv[3]}: {len(a.files)} arrays compared with golden: "
      + ("all identical" if not bad else f"MISMATCH in {bad}"))
sys.exit(1 if bad else 0)
PY
  else
    echo "$backend skipped: $(tail -n 1 "$out/$backend.err")"
  fi
done

step "5. cosimulation: RTL (4 lanes, Verilator) against the golden model"
$scsr cosim "$out/model" --input "$out/input.npz" --samples 2 --lanes 4 --sim verilator \
  --json "$out/cosim.json"

step "6. synthesis: iCEBreaker (iCE40 UP5K), one lane, 30 MHz"
status=0
$scsr synth "$out/model" --target icebreaker --lanes 1 --out "$out/icebreaker" || status=$?
[ "$status" -le 1 ] || exit "$status"  # 1 = timing failed; the report says by how much

step "done: outputs in $out/"
ls -1 "$out"
