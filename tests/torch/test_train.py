"""``scsr train``/``export``: determinism, resume, DDP, checkpoints, metrics, bad input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden_model import load_bundle, save_npz
from scsr.data.store import load_dataset
from scsr.train import TrainConfig, load_checkpoint, save_checkpoint
from tests.conftest import ROOT
from tests.torch.synthetic import make_dataset

pytestmark = pytest.mark.xdist_group("torch-train")  # one worker shares the trained run

SMALL = ("--threads", "1", "--hidden", "16,16", "--batch", "8", "--lr", "0.1",
         "--qat-epochs", "1")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "d.npz")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset) -> Path:
    """A 3-epoch run trained in one go (shared by several tests)."""
    from tests.conftest import run_scsr

    run = tmp_path_factory.mktemp("runs") / "full"
    done = run_scsr("train", dataset, "--out", run, "--epochs", "3", "--seed", "5", *SMALL)
    assert done.returncode == 0, done.stderr
    return run


def _model_tensors(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoint.pt")["model"]


def test_resume_continues_bit_exactly(scsr, dataset, trained, tmp_path) -> None:
    run = tmp_path / "resumed"
    first = scsr("train", dataset, "--out", run, "--epochs", "3", "--stop-after", "2",
                 "--seed", "5", *SMALL)
    assert first.returncode == 0, first.stderr
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 2
    again = scsr("train", "--out", run, "--resume", "--threads", "1")
    assert again.returncode == 0, again.stderr
    full, resumed = _model_tensors(trained), _model_tensors(run)
    assert sorted(full) == sorted(resumed)
    for key in full:
        assert torch.equal(full[key], resumed[key]), key
    rows = [json.loads((r / "metrics.json").read_text())["epochs"] for r in (trained, run)]
    drop = lambda row: {k: v for k, v in row.items() if k != "seconds"}  # noqa: E731
    assert [drop(r) for r in rows[0]] == [drop(r) for r in rows[1]]


def _train_and_kill(dataset: Path, run: Path, when) -> bool:
    """Start the ``trained`` run's command in ``run`` and SIGKILL it once ``when()`` holds
    (polled every few milliseconds); False if it finished first."""
    import os
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "scsr", "train", str(dataset), "--out",
                                str(run), "--epochs", "3", "--seed", "5", *SMALL],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if when():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def _finish(scsr, dataset: Path, run: Path) -> None:
    """What a user does after a kill: resume if a checkpoint landed, else start again."""
    if (run / "checkpoint.pt").exists():
        done = scsr("train", "--out", run, "--resume", "--threads", "1")
    else:
        done = scsr("train", dataset, "--out", run, "--epochs", "3", "--seed", "5", *SMALL)
    assert done.returncode == 0, done.stderr
    assert not list(run.glob(".*.part")), "a half-written run file was left behind"


def _epochs_done(run: Path) -> int:
    try:
        return len(json.loads((run / "metrics.json").read_text())["epochs"])
    except (OSError, ValueError, KeyError):
        return 0


KILL_POINTS = {
    "after the first epoch": lambda run: _epochs_done(run) == 1,
    # the last float epoch is saved; the next step switches the model to QAT
    "at the QAT switch": lambda run: _epochs_done(run) == 2,
}


@pytest.mark.slow
@pytest.mark.parametrize("point", [*KILL_POINTS, "during a checkpoint write"])
def test_sigkill_anywhere_then_resume_gives_the_same_weights(scsr, dataset, trained,
                                                             tmp_path, point) -> None:
    """SIGKILL at a named point, then resume: final weights and optimizer state equal the
    uninterrupted run's bit for bit. A kill inside a checkpoint write (too short to hit
    from outside) leaves the previous checkpoint and a partial temporary file beside it,
    since the write is temp + rename: that state is made by hand after a kill."""
    run = tmp_path / "killed"
    when = KILL_POINTS.get(point, KILL_POINTS["after the first epoch"])
    assert _train_and_kill(dataset, run, lambda: when(run)), "the kill point was never reached"
    if point == "during a checkpoint write":
        data = (run / "checkpoint.pt").read_bytes()
        (run / ".checkpoint.pt.x1y2z3.part").write_bytes(data[: len(data) // 2])
        (run / ".metrics.csv.x1y2z3.part").write_bytes(b"epoch,mo")  # the same for metrics
    _finish(scsr, dataset, run)
    full, resumed = load_checkpoint(trained / "checkpoint.pt"), load_checkpoint(run /
                                                                               "checkpoint.pt")
    for part in ("model", "optimizer"):
        assert _flat(full[part]) == _flat(resumed[part]), part


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delay=st.floats(0.5, 12.0))
def test_sigkill_at_a_random_moment_then_resume_gives_the_same_weights(scsr, dataset, trained,
                                                                       tmp_path_factory,
                                                                       delay) -> None:
    """The same at a random time after the start (the run takes a few seconds here)."""
    import time

    run = tmp_path_factory.mktemp("random") / "killed"
    start = time.monotonic()
    _train_and_kill(dataset, run, lambda: time.monotonic() - start > delay)
    _finish(scsr, dataset, run)
    full, resumed = load_checkpoint(trained / "checkpoint.pt"), load_checkpoint(run /
                                                                               "checkpoint.pt")
    for part in ("model", "optimizer"):
        assert _flat(full[part]) == _flat(resumed[part]), part


def _flat(state, prefix: str = "") -> dict:
    """Nested state dicts as ``{path: bytes}``, tensors by their exact bytes."""
    if isinstance(state, dict):
        out = {}
        for key, value in state.items():
            out.update(_flat(value, f"{prefix}{key}/"))
        return out
    if isinstance(state, (list, tuple)):
        return _flat(dict(enumerate(state)), prefix)
    if isinstance(state, torch.Tensor):
        return {prefix: (state.dtype, tuple(state.shape), state.cpu().numpy().tobytes())}
    return {prefix: state}


def test_a_checkpoint_older_than_a_default_resumes_as_it_was_trained(scsr, dataset,
                                                                     tmp_path) -> None:
    """``equalise`` and ``stretch_surrogate`` are on by default; a run saved before they
    existed (no such keys) was trained without them and resumes so."""
    assert TrainConfig().model.equalise and TrainConfig().model.stretch_surrogate
    run = tmp_path / "old"
    first = scsr("train", dataset, "--out", run, "--epochs", "3", "--stop-after", "2",
                 "--seed", "5", "--set", "equalise=false", "--set", "stretch_surrogate=false",
                 *SMALL)
    assert first.returncode == 0, first.stderr
    state = load_checkpoint(run / "checkpoint.pt")
    for config in (state["train_config"], state["model_config"]):
        del config["equalise"], config["stretch_surrogate"]
    save_checkpoint(run / "checkpoint.pt", state)
    again = scsr("train", "--out", run, "--resume", "--threads", "1")
    assert again.returncode == 0, again.stderr
    resumed = load_checkpoint(run / "checkpoint.pt")
    for config in (resumed["train_config"], resumed["model_config"]):
        assert config["equalise"] is False and config["stretch_surrogate"] is False


def test_run_directory_holds_metrics_and_a_curve(trained) -> None:
    meta = json.loads((trained / "metrics.json").read_text())
    assert [r["epoch"] for r in meta["epochs"]] == [1, 2, 3]
    assert [r["mode"] for r in meta["epochs"]] == ["float", "float", "qat"]
    assert meta["train_config"]["preset"] == "scsr" and meta["train_config"]["seed"] == 5
    with open(trained / "metrics.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [float(r["test_accuracy_fixed"]) for r in table] == \
        [r["test_accuracy_fixed"] for r in meta["epochs"]]
    assert (trained / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["epochs"][-1]["test_accuracy_float"] >= 0.7  # the synthetic task is learnt


def test_export_reports_what_the_bundle_computes(scsr, dataset, trained, tmp_path) -> None:
    """The exported bundle's accuracy, measured by 'scsr simulate', is the QAT accuracy of
    the last epoch (the QAT forward is the bundle, bit for bit) and is in provenance."""
    done = scsr("export", trained, "--bits", "8,16,8", "--out", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    bundle = load_bundle(tmp_path / "b")
    data = load_dataset(dataset)
    last = json.loads((trained / "metrics.json").read_text())["epochs"][-1]
    assert bundle.provenance["fixed_accuracy"] == last["test_accuracy_fixed"]
    assert bundle.provenance["float_accuracy"] == last["test_accuracy_float"]
    assert bundle.provenance["dataset"] == data.config
    save_npz(tmp_path / "x.npz", {"spikes": data.test_spikes, "labels": data.test_labels})
    sim = scsr("simulate", "--bundle", tmp_path / "b", "--input", tmp_path / "x.npz",
               "--out", tmp_path / "y.npz", "--backend", "torch")
    assert sim.returncode == 0, sim.stderr
    hits = round(last["test_accuracy_fixed"] * len(data.test_labels))
    assert f"({hits}/{len(data.test_labels)})" in sim.stdout


def test_export_refuses_bits_that_silence_a_layer(scsr, trained, tmp_path) -> None:
    """One outlier threshold forces a coarse scale on h1: at 8 weight bits every weight of
    h1 rounds to 0, so h1 never fires in fixed point although it fires in float."""
    run = tmp_path / "outlier"
    shutil.copytree(trained, run)
    state = load_checkpoint(run / "checkpoint.pt")
    state["model"]["neurons.0.theta"][0] = 1e6
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in state.items()
                                            if k not in ("format", "version")})
    done = scsr("export", run, "--bits", "8,16,8", "--out", tmp_path / "b")
    assert done.returncode == 2
    assert done.stderr.startswith("--bits: h1: goes silent with bits 8,16,8 (it fires at ")
    assert not (tmp_path / "b").exists()


def test_corrupt_checkpoint_is_refused_by_name(scsr, trained, tmp_path) -> None:
    run = tmp_path / "corrupt"
    shutil.copytree(trained, run)
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    for args in (("train", "--out", run, "--resume"),
                 ("export", run, "--bits", "8,16,8", "--out", tmp_path / "b")):
        done = scsr(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"{run / 'checkpoint.pt'}: is not a readable checkpoint")
    assert (run / "checkpoint.pt").read_bytes() == data[: len(data) // 2]


def test_resume_keeps_the_epoch_count_it_was_started_with(scsr, trained, tmp_path) -> None:
    """Another --epochs would change the schedule of epochs already trained: refused, the
    checkpoint untouched; the run's own count is accepted (and, the run being done, a no-op)."""
    before = (trained / "checkpoint.pt").read_bytes()
    done = scsr("train", "--out", trained, "--resume", "--epochs", "5")
    assert done.returncode == 2
    assert done.stderr.startswith(f"--epochs: 5: the run in {trained} was started for 3 epochs")
    assert "--stop-after" in done.stderr
    same = scsr("train", "--out", trained, "--resume", "--epochs", "3", "--threads", "1")
    assert same.returncode == 0, same.stderr
    assert (trained / "checkpoint.pt").read_bytes() == before


def test_nan_stops_and_keeps_the_last_good_checkpoint(scsr, dataset, tmp_path) -> None:
    run = tmp_path / "nan"
    first = scsr("train", dataset, "--out", run, "--epochs", "5", "--stop-after", "3",
                 "--seed", "5", *SMALL)
    assert first.returncode == 0, first.stderr
    state = load_checkpoint(run / "checkpoint.pt")
    state["train_config"]["lr"] = 1e30  # the next epoch blows up
    state["optimizer"]["param_groups"][0]["lr"] = 1e30
    save_checkpoint(run / "checkpoint.pt", {k: v for k, v in state.items()
                                            if k not in ("format", "version")})
    before = (run / "checkpoint.pt").read_bytes()
    done = scsr("train", "--out", run, "--resume", "--threads", "1")
    assert done.returncode == 2
    assert "became NaN/infinite; training stopped" in done.stderr
    assert "(last good checkpoint: epoch 3)" in done.stderr
    assert (run / "checkpoint.pt").read_bytes() == before


def test_dataset_mismatch_is_refused(scsr, trained, tmp_path) -> None:
    other = make_dataset(tmp_path / "other.npz", channels=15)
    done = scsr("export", trained, "--bits", "8,16,8", "--out", tmp_path / "b",
                "--dataset", other)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{trained / 'checkpoint.pt'}: model_config.channels: the "
                                   "run was trained on 12 input channels but the dataset has 15")


def test_existing_run_needs_resume_and_bad_toml_keys_are_named(scsr, dataset, trained,
                                                               tmp_path) -> None:
    done = scsr("train", dataset, "--out", trained, "--epochs", "1")
    assert done.returncode == 2 and "pass --resume" in done.stderr
    toml = tmp_path / "t.toml"
    toml.write_text('[train]\npreset = "scsr"\nepochz = 3\n')
    done = scsr("train", dataset, "--config", toml, "--out", tmp_path / "r")
    assert done.returncode == 2
    assert done.stderr.startswith(f"{toml}: epochz: is not a training setting")


def test_toml_config_sets_what_options_do_not(scsr, dataset, tmp_path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text('preset = "ff"\nbip = false\nhidden = [8]\nepochs = 1\nbatch = 24\n')
    done = scsr("train", dataset, "--config", toml, "--out", tmp_path / "r", "--seed", "3",
                "--set", "batch=12", "--set", "intrinsic_lr=0.5", "--set", "band_shift=1",
                "--set", "adam_beta2=0.99")
    assert done.returncode == 0, done.stderr
    state = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    config = TrainConfig.from_dict(state["train_config"], "x")
    assert state["optimizer"]["param_groups"][0]["betas"][1] == 0.99
    assert (config.preset, config.bip, config.model.hidden, config.batch, config.seed,
            config.intrinsic_lr, config.band_shift, config.adam_beta2) == (
        "ff", False, (8,), 12, 3, 0.5, 1, 0.99)
    done = scsr("train", dataset, "--out", tmp_path / "s", "--set", "intrinsic_lr=fast")
    assert done.returncode == 2 and "intrinsic_lr: should be a number" in done.stderr
    done = scsr("train", dataset, "--out", tmp_path / "s", "--set", "hidden_drop=1.0")
    assert done.returncode == 2 and "hidden_drop: should be in [0, 1)" in done.stderr
    done = scsr("train", dataset, "--out", tmp_path / "s", "--set", "weight_decay=-0.1")
    assert done.returncode == 2 and "weight_decay: should be >= 0" in done.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("toml", sorted((ROOT / "models").glob("*.toml")),
                         ids=lambda path: path.name)
def test_shipped_recipes_are_valid_configs(toml: Path) -> None:
    """Every recipe in ``models/`` loads as a training config (a typo there is only found
    when someone tries to repeat a result)."""
    from scsr.train.config import load_toml

    assert TrainConfig.from_dict(load_toml(toml), str(toml)) != TrainConfig()


@pytest.mark.slow
def test_ddp_two_processes_match_one(dataset, tmp_path) -> None:
    """torchrun, 2 processes, gloo on CPU: each takes half of every batch and DDP averages
    the gradients, so the result equals one process up to float summation order."""
    args = ["train", str(dataset), "--epochs", "2", "--seed", "1", *SMALL]
    one = subprocess.run([sys.executable, "-m", "scsr", *args, "--out", str(tmp_path / "one")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", "-m", "scsr", *args,
                          "--out", str(tmp_path / "two")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["processes"] == 2
    a, b = _model_tensors(tmp_path / "one"), _model_tensors(tmp_path / "two")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-3, atol=1e-4, msg=key)



def test_grad_clip_rescales_only_steps_above_the_bound(scsr, dataset, trained, tmp_path
                                                       ) -> None:
    """A bound no gradient reaches changes nothing, bit for bit; a tiny one slows every
    step (Adam's update of a 1e-12-norm gradient is ≈ 1e-4 of a normal one)."""
    args = ("--epochs", "3", "--seed", "5", *SMALL)
    loose = scsr("train", dataset, "--out", tmp_path / "loose", "--set", "grad_clip=1e9",
                 *args)
    tight = scsr("train", dataset, "--out", tmp_path / "tight", "--set", "grad_clip=1e-12",
                 *args)
    assert loose.returncode == 0 and tight.returncode == 0, loose.stderr + tight.stderr
    base, same, slow = (_model_tensors(r) for r in (trained, tmp_path / "loose",
                                                    tmp_path / "tight"))
    assert all(torch.equal(base[k], same[k]) for k in base)
    assert not all(torch.equal(base[k], slow[k]) for k in base)
    loss = [json.loads((r / "metrics.json").read_text())["epochs"][-1]["train_loss"]
            for r in (trained, tmp_path / "tight")]
    assert loss[1] > loss[0] + 0.1, loss  # hardly trained


def test_ema_is_what_gets_judged_and_resumes_bit_exactly(scsr, dataset, tmp_path) -> None:
    args = ("--epochs", "3", "--seed", "5", "--set", "ema=0.9", *SMALL)
    full = scsr("train", dataset, "--out", tmp_path / "full", *args)
    assert full.returncode == 0, full.stderr
    part = scsr("train", dataset, "--out", tmp_path / "part", "--stop-after", "2", *args)
    again = scsr("train", "--out", tmp_path / "part", "--resume", "--threads", "1")
    assert part.returncode == 0 and again.returncode == 0, part.stderr + again.stderr
    states = [load_checkpoint(tmp_path / r / "checkpoint.pt") for r in ("full", "part")]
    for key in ("model", "trained_model"):
        for name, value in states[0][key].items():
            assert torch.equal(value, states[1][key][name]), (key, name)
    assert states[0]["ema_steps"] == states[1]["ema_steps"] > 0
    averaged, trained = states[0]["model"], states[0]["trained_model"]
    assert not all(torch.equal(averaged[k], trained[k]) for k in averaged)
    from scsr.export import load_run

    model, _ = load_run(tmp_path / "full")  # export and predict take the average
    assert all(torch.equal(v, averaged[k]) for k, v in model.state_dict().items())


def test_weight_decay_shrinks_the_weights_only() -> None:
    """AdamW decays the synaptic weights; α, β, θ and ``w_self`` keep no decay. Off, it is
    the plain Adam every earlier run used (so they stay reproducible)."""
    from scsr.model import ScsrNet, preset
    from scsr.model.config import LEGACY
    from scsr.train.loop import make_optimizer

    torch.manual_seed(0)
    model = ScsrNet(preset("scsr", 6, (8,), 3, bip=True, **LEGACY))
    plain = make_optimizer(model, TrainConfig())
    assert type(plain) is torch.optim.Adam
    assert [g["weight_decay"] for g in plain.param_groups] == [0.0, 0.0]
    before = [p.detach().clone() for p in model.parameters()]
    decayed = make_optimizer(model, TrainConfig(weight_decay=0.5, lr=0.1))
    assert type(decayed) is torch.optim.AdamW
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decay moves anything
    decayed.step()
    weights = {id(p) for p in model.weights}
    for p, old in zip(model.parameters(), before, strict=True):
        if id(p) in weights:
            torch.testing.assert_close(p.detach(), old * (1 - 0.1 * 0.5))
        else:
            assert torch.equal(p.detach(), old)


def test_regularisers_change_training_and_resume_bit_exactly(scsr, dataset, trained,
                                                             tmp_path) -> None:
    """Locked dropout draws its masks from the per-batch generator, so a resumed run
    repeats an uninterrupted one exactly, like the augmentations."""
    args = ("--epochs", "3", "--seed", "5", "--set", "hidden_drop=0.3", "--set",
            "label_smoothing=0.1", "--set", "weight_decay=0.01", *SMALL)
    full = scsr("train", dataset, "--out", tmp_path / "full", *args)
    part = scsr("train", dataset, "--out", tmp_path / "part", "--stop-after", "2", *args)
    again = scsr("train", "--out", tmp_path / "part", "--resume", "--threads", "1")
    assert full.returncode == part.returncode == again.returncode == 0, (
        full.stderr + part.stderr + again.stderr)
    base, a, b = (_model_tensors(r) for r in (trained, tmp_path / "full", tmp_path / "part"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not any(torch.equal(a[k], base[k]) for k in a if k.startswith("weights"))


@pytest.mark.parametrize("allowed", [0, 1])
def test_skip_nonfinite_skips_one_bad_batch_or_stops(dataset, tmp_path, monkeypatch,
                                                    allowed: int) -> None:
    """One batch with a NaN loss: with ``skip_nonfinite`` 0 training stops naming it; with 1
    its update is skipped, counted in the metrics and the CSV, and the weights stay finite."""
    from golden_model.errors import ScsrError
    from scsr.train import loop

    calls = {"n": 0}
    real = loop.cross_entropy

    def nan_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 2 else loss

    monkeypatch.setattr(loop, "cross_entropy", nan_on_second_batch)
    config = TrainConfig.from_dict({"dataset": str(dataset), "hidden": [16, 16], "batch": 8,
                                    "epochs": 1, "qat_epochs": 0, "skip_nonfinite": allowed,
                                    "device": "cpu"}, "test")
    if not allowed:
        with pytest.raises(ScsrError, match="batch 2: loss or gradients became NaN"):
            loop.train(config, tmp_path / "stop")
        return
    rows = loop.train(config, tmp_path / "skip")
    assert rows[-1]["skipped_updates"] == 1
    weights = load_checkpoint(tmp_path / "skip" / "checkpoint.pt")["model"]
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert "skipped_updates" in (tmp_path / "skip" / "metrics.csv").read_text().splitlines()[0]
