"""Reference builds of the default model for both boards, and their table in docs/hardware.md.

    .venv/bin/python -m tools.reference_builds [--only NAME ...] [--samples N]

takes the trained default model ``models/digits-8k``, runs ``scsr synth`` for each
entry of :data:`BUILDS` into ``bitstreams/<name>/`` (reports and the bitstreams of builds
that meet timing are committed: ``tests/synth/test_reference_bitstreams.py`` checks that
a rebuild gives the same bytes), measures cycles per timestep in Amaranth's simulator on
the first ``N`` test samples of the built-in digits set (:data:`SAMPLES_FILE`), and
rewrites the table between the markers in ``docs/hardware.md``. A build that fails timing
or does not fit is recorded as such in the table; the script goes on with the next one.

The model is :data:`DEFAULT_MODEL`, in one place (see ``models/README.md``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from golden_model import load_bundle

ROOT = Path(__file__).resolve().parents[1]

#: The trained default digits model: 32 channels -> 48 -> 48 -> 10, skips, 8/16/8 bits.
DEFAULT_MODEL = ROOT / "models" / "digits-8k"
#: ``name -> (target, lanes, clock MHz or None for the board default)``. More lanes only
#: pay when ``ceil(48 / P)`` drops: 24 lanes (2 words per 48-neuron layer) is the most that
#: saves cycles below 48 lanes, where the multipliers no longer fit the 156 DSPs. Every
#: build asks for the board's default clock (100 MHz on the ECP5, 30 MHz on the iCE40);
#: docs/hardware.md says which meet it.
BUILDS: dict[str, tuple[str, int, float | None]] = {
    "ulx3s-85f-p1": ("ulx3s-85f", 1, None),
    "ulx3s-85f-p4": ("ulx3s-85f", 4, None),
    "ulx3s-85f-p8": ("ulx3s-85f", 8, None),
    "ulx3s-85f-p16": ("ulx3s-85f", 16, None),
    "ulx3s-85f-p24": ("ulx3s-85f", 24, None),
    "icebreaker-p1": ("icebreaker", 1, None),
}
#: Real digits: the default model's test split (``scsr dataset`` builds it; see
#: docs/datasets.md), the "typical input" of the table.
SAMPLES_FILE = ROOT / "build" / "data" / "digits-si.npz"  # [D1] of docs/results.md
BEGIN, END = "<!-- reference-builds:begin -->", "<!-- reference-builds:end -->"


def cycles_per_timestep(model: Path, lanes: int, samples: int, pipeline: str) -> float:
    """Mean over timesteps and samples of the slowest layer's busy cycles (layers pipeline
    across timesteps, so the slowest core sets the pace), on the first ``samples`` test
    samples of :data:`SAMPLES_FILE`."""
    from tqdm import tqdm

    from rtl.config import NetConfig
    from sim.pysim import run_pysim

    bundle = load_bundle(model)
    if not SAMPLES_FILE.exists():
        raise SystemExit(f"{SAMPLES_FILE}: missing; build the default digits set first "
                         "(docs/datasets.md)")
    with np.load(SAMPLES_FILE, allow_pickle=False) as data:
        spikes = data["test_spikes"][:samples]
    net = NetConfig.from_bundle(bundle, lanes, pipeline=pipeline)
    means = []
    for sample in tqdm(spikes, desc=f"cycles P={lanes}", unit="sample", file=sys.stderr):
        board = run_pysim(net, sample[None], max_cycles=5_000_000)
        per_layer = np.stack(list(board.cycles().values()))  # (layers, 1, T)
        means.append(per_layer.max(axis=0).mean())
    return float(np.mean(means))


def build(name: str, target: str, lanes: int, clock: float | None, model: Path,
          samples: int) -> dict:
    out = ROOT / "bitstreams" / name
    # Paths relative to the repository: they end up in the committed report.
    cmd = [sys.executable, "-m", "scsr", "synth", str(model.relative_to(ROOT)), "--target",
           target, "--lanes", str(lanes), "--out", str(out.relative_to(ROOT))]
    if clock is not None:
        cmd += ["--clock", f"{clock:g}"]
    print(f"== {name}: {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    print(done.stdout + done.stderr, flush=True)
    row = {"name": name, "target": target, "lanes": lanes, "exit": done.returncode}
    if done.returncode == 2:
        row["error"] = done.stderr.strip()
        (out.parent / f"{name}.error.txt").write_text(row["error"] + "\n")
        return row
    (out.parent / f"{name}.error.txt").unlink(missing_ok=True)
    row["report"] = json.loads((out / "report.json").read_text())
    row["cycles"] = cycles_per_timestep(model, lanes, samples, row["report"]["pipeline"])
    row["cycle_samples"] = samples
    return row


def table(rows: list[dict], steps: int) -> str:
    head = ("| build | LUT4 | FF | BRAM | DSP | Fmax MHz (req.) | timing | cycles/timestep "
            "| µs/timestep at Fmax | µs/sample | samples/s |")
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        if "report" not in row:
            why = " ".join(row["error"].split())[:120]
            lines.append(f"| {row['name']} | – | – | – | – | – | {why}… | – | – | – | – |")
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


def write_results(rows: dict[str, dict], summary_file: Path, timesteps: int) -> None:
    """``bitstreams/reference.json`` and the table in ``docs/hardware.md``, in BUILDS order."""
    ordered = [rows[n] for n in BUILDS if n in rows]
    summary_file.write_text(json.dumps(ordered, indent=1) + "\n")
    doc = ROOT / "docs" / "hardware.md"
    text = doc.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + table(ordered, timesteps) + "\n" + text[stop:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", metavar="NAME", choices=list(BUILDS),
                        help="build only these (the table keeps the others' last results)")
    parser.add_argument("--samples", type=int, default=4, metavar="N",
                        help="test samples the cycle counts are averaged over (default 4)")
    args = parser.parse_args()
    model = DEFAULT_MODEL
    timesteps = load_bundle(model).timesteps
    summary_file = ROOT / "bitstreams" / "reference.json"
    rows = {r["name"]: r for r in (json.loads(summary_file.read_text())
                                   if summary_file.exists() else [])}
    for name in args.only or BUILDS:
        rows[name] = build(name, *BUILDS[name], model, args.samples)
        write_results(rows, summary_file, timesteps)  # after each build: an interrupted
        # run leaves the summary and the table consistent with the reports on disk
    print(table([rows[n] for n in BUILDS if n in rows], timesteps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
