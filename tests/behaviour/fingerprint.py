"""Fingerprints of what the engines compute, recorded once and checked on every run: a
refactor that moves a rule must leave every number where it was.

Two kinds, both hashed over array names, dtypes, shapes and bytes (not over the .npz
container, whose zip headers carry timestamps):

- ``simulate.<topology>.<backend>``: ``scsr simulate --trace`` of a seeded random bundle of
  each topology the presets and random models cover (ff, sr, scsr, rsnn, feedback, delay),
  on golden and torch;
- ``train.<name>``: every tensor of a fixed-seed 2-epoch CPU ``scsr train`` run (float
  epoch, then a QAT epoch) and every array of its ``scsr export``.

``python -m tests.behaviour.fingerprint --record`` rewrites ``fingerprints.json``; do that
only for a change that is meant to alter results, and say so in the commit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from golden_model import FixedPoint, save_bundle, save_npz
from golden_model.bundle import Projection, check_arrays
from golden_model.random_bundle import RandomSpec, random_bundle
from scsr.sweep.cache import arrays_digest

RECORD = Path(__file__).with_name("fingerprints.json")

#: random-model flags per topology: (skip, self, recurrent, feedback).
TOPOLOGIES: dict[str, tuple[bool, bool, bool, bool]] = {
    "ff": (False, False, False, False),
    "sr": (False, True, False, False),
    "scsr": (True, True, False, False),
    "rsnn": (False, False, True, False),
    "feedback": (True, True, False, True),
}
BACKENDS = ("golden", "torch")

#: name -> extra ``scsr train`` options; all share ``TRAIN_COMMON``.
TRAININGS: dict[str, tuple[str, ...]] = {
    "scsr-bip": ("--preset", "scsr", "--bip"),
    "ff": ("--preset", "ff", "--no-bip", "--shift", "2", "--drop", "0.05"),
    "rsnn": ("--preset", "rsnn", "--bip", "--band-shift", "1", "--noise", "0.01"),
    "sr-4bit": ("--preset", "sr", "--bip", "--bits", "4,12,6"),
}
#: Training runs pin torch's CPU kernels to the AVX2 path: float sums come out a few ulps
#: apart between the AVX2 and AVX-512 kernels, so an unpinned fingerprint recorded on one
#: CPU fails on the other (seen: recorded on an AVX2 machine, checked on an AVX-512 one).
#: Every x86-64 machine this project targets has AVX2.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}
TRAIN_COMMON = ("--threads", "1", "--hidden", "16,16", "--batch", "8", "--lr", "0.1",
                "--epochs", "2", "--qat-epochs", "1", "--seed", "5")


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _bundle(name: str, out: Path) -> None:
    skip, self_, recurrent, feedback = TOPOLOGIES[name]
    spec = RandomSpec(inputs=12, layers=(16, 12, 5), fixed_point=FixedPoint(8, 16, 8),
                      seed=3, skip=skip, self_recurrent=self_, recurrent=recurrent,
                      feedback=feedback, timesteps=20)
    bundle = random_bundle(spec)
    if name == "feedback":  # a delay-1 forward projection too, so every kind is covered
        extra = Projection("input", "out", 1, "input->out@1")
        arrays = dict(bundle.arrays)
        arrays[extra.weights] = np.random.default_rng(9).integers(-20, 21, (5, 12))
        shell = dataclasses.replace(bundle, projections=(*bundle.projections, extra),
                                    arrays={})
        bundle = dataclasses.replace(shell, arrays=check_arrays(shell, arrays, "<fingerprint>"))
    save_bundle(bundle, out)


def simulate_fingerprints(run, work: Path) -> dict[str, str]:
    """``run(*argv, env=None)`` runs the CLI and returns its CompletedProcess."""
    rng = np.random.default_rng(11)
    spikes = (rng.random((6, 20, 12)) < 0.15).astype(np.uint8)
    save_npz(work / "x.npz", {"spikes": spikes, "labels": np.arange(6) % 5})
    out: dict[str, str] = {}
    for name in TOPOLOGIES:
        _bundle(name, work / name)
        for backend in BACKENDS:
            result = work / f"{name}.{backend}.npz"
            done = run("simulate", "--bundle", work / name, "--input", work / "x.npz",
                       "--out", result, "--backend", backend, "--trace")
            assert done.returncode == 0, done.stderr
            out[f"simulate.{name}.{backend}"] = arrays_digest(_npz(result))
    return out


def train_fingerprint(run, dataset: Path, name: str, work: Path) -> str:
    folder = work / f"run-{name}"
    done = run("train", dataset, "--out", folder, *TRAIN_COMMON, *TRAININGS[name],
               env=PINNED_KERNELS)
    assert done.returncode == 0, done.stderr
    bits = next((TRAININGS[name][i + 1] for i, a in enumerate(TRAININGS[name])
                 if a == "--bits"), "8,16,8")
    return checkpoint_fingerprint(run, folder, bits, work)


def checkpoint_fingerprint(run, folder: Path, bits: str, work: Path) -> str:
    """The run's model tensors and the arrays of its export at ``bits``."""
    import torch

    from scsr.train import load_checkpoint

    model = load_checkpoint(folder / "checkpoint.pt")["model"]
    arrays = {f"model.{k}": v.detach().to(torch.float64).numpy() for k, v in model.items()}
    bundle = work / f"bundle-{folder.name}"
    done = run("export", folder, "--bits", bits, "--out", bundle, env=PINNED_KERNELS)
    assert done.returncode == 0, done.stderr
    arrays.update({f"bundle.{k}": v for k, v in _npz(bundle / "arrays.npz").items()})
    return arrays_digest(arrays)


def compute(run, work: Path) -> dict[str, str]:
    from tests.torch.synthetic import make_dataset

    found = simulate_fingerprints(run, work)
    dataset = make_dataset(work / "d.npz")
    for name in TRAININGS:
        found[f"train.{name}"] = train_fingerprint(run, dataset, name, work)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help=f"rewrite {RECORD.name}")
    args = parser.parse_args()
    from tests.conftest import run_scsr

    with tempfile.TemporaryDirectory() as tmp:
        found = compute(run_scsr, Path(tmp))
    if args.record:
        RECORD.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    for key, value in sorted(found.items()):
        print(f"{'same' if recorded.get(key) == value else 'DIFFERENT'}  {key}")


if __name__ == "__main__":
    main()
