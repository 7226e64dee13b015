"""Reference builds of the default model for both boards, and their table in docs/hardware.md.

    .venv/bin/python tools/reference_builds.py [--only NAME ...]

takes the trained default model ``models/default-digits``, runs ``scsr synth`` for each
entry of :data:`BUILDS` into ``bitstreams/<name>/`` (reports are committed; bitstreams are
not), measures cycles per timestep of a typical input in Amaranth's simulator, and rewrites
the table between the markers in ``docs/hardware.md``. A build that fails timing or does
not fit is recorded as such in the table; the script goes on with the next one.

The model is :data:`DEFAULT_MODEL`, in one place (see ``models/README.md``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from golden_model import load_bundle  # noqa: E402

#: The trained default digits model: 32 channels -> 48 -> 48 -> 10, skips, 8/16/8 bits.
DEFAULT_MODEL = ROOT / "models" / "default-digits"
#: ``name -> (target, lanes)``; ulx3s-85f-p16 is the most lanes the fit check lets through
#: with room for routing (see docs/hardware.md).
BUILDS = {
    "ulx3s-85f-p1": ("ulx3s-85f", 1),
    "ulx3s-85f-p4": ("ulx3s-85f", 4),
    "ulx3s-85f-p16": ("ulx3s-85f", 16),
    "icebreaker-p1": ("icebreaker", 1),
}
#: Input firing probability of the "typical input" (Bernoulli per channel and timestep).
TYPICAL_RATE = 0.1
BEGIN, END = "<!-- reference-builds:begin -->", "<!-- reference-builds:end -->"


def cycles_per_timestep(model: Path, lanes: int) -> float:
    """Mean over timesteps of the slowest layer's busy cycles (layers pipeline across
    timesteps, so the slowest core sets the pace), on one typical sample."""
    from rtl.config import NetConfig
    from sim.pysim import run_pysim

    bundle = load_bundle(model)
    rng = np.random.default_rng(0)
    spikes = (rng.random((1, bundle.timesteps, bundle.channels)) < TYPICAL_RATE).astype(np.uint8)
    board = run_pysim(NetConfig.from_bundle(bundle, lanes), spikes, max_cycles=5_000_000)
    per_layer = np.stack(list(board.cycles().values()))  # (layers, 1, T)
    return float(per_layer.max(axis=0).mean())


def build(name: str, target: str, lanes: int, model: Path) -> dict:
    out = ROOT / "bitstreams" / name
    cmd = [sys.executable, "-m", "scsr", "synth", str(model), "--target", target,
           "--lanes", str(lanes), "--out", str(out)]
    print(f"== {name}: {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    print(done.stdout + done.stderr, flush=True)
    row = {"name": name, "target": target, "lanes": lanes, "exit": done.returncode}
    if done.returncode == 2:
        row["error"] = done.stderr.strip()
        (out.parent / f"{name}.error.txt").write_text(row["error"] + "\n")
        return row
    for stale in out.glob("scsr_board.bi*"):  # bitstreams are rebuilt, not committed
        stale.unlink()
    row["report"] = json.loads((out / "report.json").read_text())
    row["cycles"] = cycles_per_timestep(model, lanes)
    return row


def table(rows: list[dict], steps: int) -> str:
    head = ("| build | LUT4 | FF | BRAM | DSP | Fmax MHz (req.) | timing | cycles/timestep "
            "| µs/timestep at Fmax | µs/sample | samples/s |")
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        if "report" not in row:
            lines.append(f"| {row['name']} | – | – | – | – | – | does not fit: "
                         f"{row['error'].split('does not fit: ')[-1][:120]}… | – | – | – | – |")
            continue
        r = row["report"]
        u, t = r["utilisation"], r["timing"]
        us = row["cycles"] / t["achieved_mhz"]
        lines.append(
            f"| {row['name']} | {u['lut4']['used']} | {u['ff']['used']} | {u['bram']['used']} "
            f"| {u['dsp']['used']} | {t['achieved_mhz']:.1f} ({t['requested_mhz']:.0f}) | "
            f"{'pass' if t['pass'] else 'FAIL'} | {row['cycles']:.0f} | {us:.2f} | "
            f"{us * steps:.0f} | {1e6 / (us * steps):.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", metavar="NAME", choices=list(BUILDS),
                        help="build only these (the table keeps the others' last results)")
    args = parser.parse_args()
    model = DEFAULT_MODEL
    timesteps = load_bundle(model).timesteps
    summary_file = ROOT / "bitstreams" / "reference.json"
    rows = {r["name"]: r for r in (json.loads(summary_file.read_text())
                                   if summary_file.exists() else [])}
    for name in args.only or BUILDS:
        rows[name] = build(name, *BUILDS[name], model)
    ordered = [rows[n] for n in BUILDS if n in rows]
    summary_file.write_text(json.dumps(ordered, indent=1) + "\n")
    doc = ROOT / "docs" / "hardware.md"
    text = doc.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + table(ordered, timesteps) + "\n"
                   + text[stop:])
    print(table(ordered, timesteps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
