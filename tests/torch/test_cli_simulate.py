"""``scsr simulate --backend torch`` writes the same file as ``--backend golden``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golden_model import save_npz


def test_torch_backend_writes_the_golden_file(scsr, tmp_path: Path) -> None:
    made = scsr("random-model", "--inputs", "10", "--layers", "12,8,4", "--skip", "--self",
                "--recurrent", "--bits", "6,12,5", "--timesteps", "30", "--seed", "4",
                "--out", tmp_path / "m")
    assert made.returncode == 0, made.stderr
    x = (np.random.default_rng(0).random((5, 30, 10)) < 0.2).astype(np.uint8)
    save_npz(tmp_path / "x.npz", {"spikes": x, "labels": np.arange(5) % 4})
    outputs = {}
    for backend in ("golden", "torch"):
        done = scsr("simulate", "--bundle", tmp_path / "m", "--input", tmp_path / "x.npz",
                    "--out", tmp_path / f"{backend}.npz", "--backend", backend, "--trace",
                    "--chunk", "2")
        assert done.returncode == 0, done.stderr
        outputs[backend] = done.stdout.split("; ")[1]
        with np.load(tmp_path / f"{backend}.npz") as npz:
            outputs[backend + ".arrays"] = {k: npz[k] for k in npz.files}
    assert outputs["golden"] == outputs["torch"]  # the same accuracy line
    golden, torch_ = outputs["golden.arrays"], outputs["torch.arrays"]
    assert sorted(golden) == sorted(torch_)
    for key in golden:
        assert golden[key].dtype == torch_[key].dtype and np.array_equal(golden[key], torch_[key])
