"""``benchmarks/ablation.py`` and ``tools/strip_features.py``: the parts the letters GPU run
depends on (validation carving, summary, deadline bookkeeping, spikes-only copies)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_model.errors import ScsrError
from scsr.data import builtin, encoders
from scsr.data.store import Dataset, load_dataset, save_dataset
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]


ablation = load_script("benchmarks/ablation.py")
strip_features = load_script("tools/strip_features.py")


def _dataset(split: str, per_class: int = 6, features: bool = False) -> Dataset:
    """A letters-shaped dataset whose labels follow the build plan of ``split``."""
    source = builtin.source_config("letters", split=split, train_per_class=per_class,
                                   test_per_class=2, test_variants=12, speakers=16)
    items = builtin.plan(source)
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ("train", "test"):
        labels = np.array([i["label"] for i in items if i["split"] == name], dtype=np.int64)
        frames = rng.random((len(labels), 20, 4), dtype=np.float32)
        arrays[f"{name}_labels"] = labels
        arrays[f"{name}_spikes"] = encoders.encode(frames, encoders.encoder_defaults("bsa"))
        arrays[f"{name}_features"] = frames if features else None
    return Dataset(classes=np.array(builtin.KINDS["letters"]), config={
        "source": source, "encoder": encoders.encoder_defaults("bsa")}, **arrays)


def test_speaker_independent_validation_holds_out_whole_voice_variants() -> None:
    data = _dataset("speaker-independent")
    val, how = ablation.held_out(data, 0.15, 0)
    speakers = [i["speaker"] for i in builtin.plan(data.config["source"]) if i["split"] == "train"]
    variants = np.array([s.split("+", 1)[1] for s in speakers])
    held = set(variants[val])
    assert held and not held & set(variants[~val])
    assert how == f"voice variants {', '.join(sorted(held))}"
    assert round(0.15 * len(np.unique(variants))) == len(held)


def test_speaker_dependent_validation_is_stratified_and_never_touches_test(tmp_path) -> None:
    data = _dataset("speaker-dependent", per_class=20)
    path = tmp_path / "sd.npz"
    save_dataset(data, path)
    carved = load_dataset(ablation.carve_validation(str(path), 0.15, 0, tmp_path / "val.npz"))
    assert np.bincount(carved.test_labels).tolist() == [3] * 26
    assert np.bincount(carved.train_labels).tolist() == [17] * 26
    # validation + remaining train are exactly the original train split, nothing of test
    both = np.concatenate([carved.train_spikes, carved.test_spikes]).reshape(
        len(data.train_labels), -1)
    original = data.train_spikes.reshape(len(data.train_labels), -1)
    assert sorted(map(bytes, both)) == sorted(map(bytes, original))
    assert carved.config["validation"]["held_out"] == "15% of each class"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_summary_is_mean_and_sample_std_of_finished_runs_only(values) -> None:
    runs = [{"dataset": "d", "variant": "sr", "seed": k, "float_accuracy": v,
             "fixed_accuracy": v / 2, "train_accuracy": 1.0} for k, v in enumerate(values)]
    runs += [{"dataset": "d", "variant": "sr", "seed": 9, "float_accuracy": 0.0,
              "fixed_accuracy": 0.0, "train_accuracy": 0.0, "partial": True},
             {"dataset": "d", "variant": "ff", "seed": 0, "skipped": "deadline"}]
    (row,) = ablation.summarise(runs, ["d"])
    assert row["seeds"] == len(values)
    assert row["float_accuracy"]["mean"] == pytest.approx(100 * np.mean(values))
    expected_std = 100 * np.std(values, ddof=1) if len(values) > 1 else 0.0
    assert row["float_accuracy"]["std"] == pytest.approx(expected_std, abs=1e-9)
    assert row["fixed_accuracy"]["mean"] == pytest.approx(50 * np.mean(values))
    assert "float_before_qat" not in row  # no run recorded it: no column value made up


def test_variants_beyond_the_paper_five_are_run_and_tabled_and_typos_refused() -> None:
    assert ablation.chosen_variants(None) == list(ablation.VARIANTS)
    assert ablation.chosen_variants("rsnn+bip,ff") == [("rsnn", True), ("ff", False)]
    with pytest.raises(SystemExit, match=r"unknown rsnn-bip .*known: ff, ff\+bip"):
        ablation.chosen_variants("rsnn-bip")
    runs = [{"dataset": "d", "variant": v, "seed": 0, "float_accuracy": 0.5,
             "fixed_accuracy": 0.5, "train_accuracy": 1.0} for v in ("rsnn+bip", "scsr+bip", "ff")]
    assert [row["variant"] for row in ablation.summarise(runs, ["d"])] == \
        ["ff", "scsr+bip", "rsnn+bip"]


def test_parse_settings_reads_json_values() -> None:
    assert ablation.parse_settings("lr=0.02 shift=4 normalise=false hidden=[8,8] device=cpu") \
        == {"lr": 0.02, "shift": 4, "normalise": False, "hidden": [8, 8], "device": "cpu"}
    with pytest.raises(SystemExit):
        ablation.parse_settings("lr")


def test_strip_features_reencodes_exactly_like_a_build(tmp_path) -> None:
    data = _dataset("speaker-dependent", features=True)
    src, dst = tmp_path / "full.npz", tmp_path / "spikes.npz"
    save_dataset(data, src)
    size = strip_features.strip(src, dst, "rate")
    out = load_dataset(dst)
    assert size == dst.stat().st_size and out.train_features is None
    assert out.config["encoder"] == encoders.encoder_defaults("rate")
    for name in ("train", "test"):
        assert np.array_equal(getattr(out, f"{name}_spikes"), encoders.encode(
            getattr(data, f"{name}_features"), encoders.encoder_defaults("rate")))
    strip_features.strip(src, dst)  # no encoder: the spikes stay as they were
    assert np.array_equal(load_dataset(dst).train_spikes, data.train_spikes)
    strip_features.strip(src, dst, "rate", {"max_rate": 1.0})
    doubled = {**encoders.encoder_defaults("rate"), "max_rate": 1.0}
    assert load_dataset(dst).config["encoder"] == doubled
    assert np.array_equal(load_dataset(dst).test_spikes,
                          encoders.encode(data.test_features, doubled))
    with pytest.raises(ScsrError, match="max_rat"):
        strip_features.strip(src, dst, None, {"max_rat": 1.0})


def test_strip_features_refuses_to_reencode_without_features(tmp_path) -> None:
    src = tmp_path / "spikes.npz"
    save_dataset(_dataset("speaker-dependent"), src)
    done = subprocess.run([sys.executable, "tools/strip_features.py", str(src),
                           str(tmp_path / "out.npz"), "--encoder", "rate"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "train_features: is missing" in done.stderr and str(src) in done.stderr
    assert not (tmp_path / "out.npz").exists()


def test_ablation_after_its_deadline_records_runs_as_skipped(tmp_path) -> None:
    path = tmp_path / "tiny.npz"
    save_dataset(_dataset("speaker-dependent", per_class=2), path)
    done = subprocess.run(
        [sys.executable, "benchmarks/ablation.py", str(path), "--out", str(tmp_path / "o"),
         "--variants", "ff,scsr+bip", "--seeds", "0,1", "--deadline", "0"], cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "o" / "ablation.json").read_text())
    assert [(r["variant"], r["seed"], r["skipped"]) for r in record["runs"]] == [
        ("scsr+bip", 0, "deadline"), ("ff", 0, "deadline"), ("scsr+bip", 1, "deadline"),
        ("ff", 1, "deadline")]
    assert record["table"] == []
    assert "letters-sd ff s1: deadline" in (tmp_path / "o" / "ablation.md").read_text()


@pytest.mark.slow
def test_ablation_run_in_a_worker_reports_the_exported_bundles_accuracy(tmp_path) -> None:
    """One real run end to end (worker process, training, export): the fixed-point accuracy
    recorded is the exported bundle's, which equals the last QAT evaluation of training."""
    path = tmp_path / "tiny.npz"
    save_dataset(_dataset("speaker-dependent", per_class=2), path)
    done = subprocess.run(
        [sys.executable, "benchmarks/ablation.py", str(path), "--out", str(tmp_path / "o"),
         "--work", str(tmp_path / "w"), "--variants", "scsr+bip", "--seeds", "3",
         "--epochs", "2", "--hidden", "6", "--set", "qat_epochs=1", "--jobs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "o" / "ablation.json").read_text())
    (run,) = record["runs"]
    metrics = (tmp_path / "w" / "runs" / "ablation-letters-sd-scsr+bip-s3" / "metrics.csv"
               ).read_text().splitlines()
    first, last = (dict(zip(metrics[0].split(","), row.split(","), strict=True))
                   for row in metrics[1:])
    assert first["mode"] == "float" and last["mode"] == "qat"
    assert run["float_before_qat"] == pytest.approx(float(first["test_accuracy_float"]))
    assert run["fixed_accuracy"] == pytest.approx(float(last["test_accuracy_fixed"]))
    assert run["float_accuracy"] == pytest.approx(float(last["test_accuracy_float"]))
    (row,) = record["table"]
    assert row["seeds"] == 1 and row["fixed_accuracy"]["mean"] == pytest.approx(
        100 * run["fixed_accuracy"])


gpu_plan = load_script("tools/gpu_letters_plan.py")


@settings(max_examples=200, deadline=None)
@given(rsnn=st.floats(1, 500), ratio=st.floats(1, 8), seconds=st.floats(120, 600),
       jobs=st.integers(1, 32), runs=st.integers(1, 6))
def test_gpu_plan_fits_sweep_and_ablation_into_the_budget(rsnn, ratio, seconds, jobs, runs):
    other = rsnn / ratio
    plan = gpu_plan.size_run(rsnn, other, seconds, jobs, runs, 30)
    assert 2 <= plan["epochs"] <= 30 and plan["sweep_epochs"] >= 1
    assert plan["sweep_until"] <= seconds / 4 + 1
    assert seconds / 2 - 1 <= plan["deadline"] <= plan["kill_at"] == round(seconds)
    slowest = max(rsnn, -(-4 * runs // max(1, jobs - runs)) * other)
    if plan["epochs"] > 2:  # not clamped: sweep + rsnn-bound ablation fit before the cut
        assert plan["sweep_until"] + plan["epochs"] * slowest <= seconds
    alone = gpu_plan.size_run(0.0, other, seconds, jobs, runs, 30, others=1)
    assert alone["epochs"] >= plan["epochs"]  # without rsnn, never fewer epochs


def test_gpu_plan_cuda_gate_accepts_a_correct_scan_and_names_a_wrong_gradient(monkeypatch):
    """The gate that decides whether the GPU trains, run on the CPU kernels (no GPU here):
    CUDA is faked (``.cuda()`` copies), so the check compares the numba scan with the
    per-step reference; a 1 % error in one gradient must be caught and named."""
    import torch

    import scsr.model

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "fake")
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self.detach().clone())
    assert gpu_plan.cuda_check() == (True, "fake: fused scan matches the reference "
                                           "(float, QAT, QAT with per-neuron units)")
    real = scsr.model.fused_scan

    class OffByOnePercent(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad * 1.01

    monkeypatch.setattr(scsr.model, "fused_scan", lambda x, p, mode: real(
        x, p._replace(theta=OffByOnePercent.apply(p.theta)), mode))
    ok, why = gpu_plan.cuda_check()
    assert not ok and why.startswith("fused CUDA scan (float): gradient of theta differs")


def _record(runs: list[dict], lr: float = 0.05) -> dict:
    return {"datasets": {"a.npz": "d"}, "settings": {"lr": lr}, "epochs": 3, "hidden": "8",
            "bits": "8,16,8", "picks": {}, "seconds": 10.0, "jobs": 1, "threads": 1,
            "devices": {"cpu": 1}, "sweep": [], "runs": runs}


def _run(variant: str, seed: int, acc: float, **extra) -> dict:
    return {"dataset": "d", "variant": variant, "seed": seed, "float_accuracy": acc,
            "fixed_accuracy": acc, "train_accuracy": 1.0, **extra}


def test_merge_tables_runs_of_several_records_once_each(tmp_path) -> None:
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    one.write_text(json.dumps(_record([_run("sr", 0, 0.5), _run("sr", 1, 0.1, partial=True)])))
    two.write_text(json.dumps(_record([_run("sr", 1, 0.7), _run("ff", 0, 0.2)])))
    merged = ablation.merge([str(one), str(two)], tmp_path / "m")
    table = {r["variant"]: r for r in merged["table"]}
    assert table["sr"]["seeds"] == 2 and table["sr"]["float_accuracy"]["mean"] == \
        pytest.approx(60.0)
    assert table["ff"]["seeds"] == 1
    assert json.loads((tmp_path / "m" / "ablation.json").read_text())["table"] == \
        merged["table"]


def test_merge_refuses_other_recipes_and_runs_finished_twice(tmp_path) -> None:
    one, two, three = (tmp_path / f"{k}.json" for k in (1, 2, 3))
    one.write_text(json.dumps(_record([_run("sr", 0, 0.5)])))
    two.write_text(json.dumps(_record([_run("sr", 1, 0.5)], lr=0.02)))
    three.write_text(json.dumps(_record([_run("sr", 0, 0.6)])))
    with pytest.raises(SystemExit, match=r"2.json: settings: .* differs"):
        ablation.merge([str(one), str(two)], tmp_path / "m")
    with pytest.raises(SystemExit, match="d/sr/0 is finished in two records"):
        ablation.merge([str(one), str(three)], tmp_path / "m")
