"""``scsr fuzz``: its cases reach the edges, every engine agrees with the golden model on a
bounded campaign, and a planted bug is found, shrunk and replayed from its reproducer."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from golden_model import load_bundle, load_spikes, simulate
from scsr.cli import main
from scsr.fuzz import Campaign, draw_case, reference, run
from scsr.fuzz.campaign import difference
from scsr.fuzz.cases import LANES, projection_kinds, rebuild
from scsr.fuzz.engines import ENGINES
from scsr.fuzz.shrink import neighbours, shrink, size
from sim import runner


def test_cases_are_named_by_their_seed():
    a, b = draw_case(123), draw_case(123)
    assert a.describe() == b.describe() and np.array_equal(a.spikes, b.spikes)
    assert all(np.array_equal(a.bundle.arrays[k], b.bundle.arrays[k]) for k in a.bundle.arrays)
    assert draw_case(124).describe() != a.describe()


def test_cases_reach_the_edges():
    """Over 300 seeds: every projection kind, the width limits, saturating and edge values,
    silent and all-firing inputs, lanes that do not divide a layer, feedback into layer 1."""
    seen: Counter = Counter()
    for seed in range(300):
        case = draw_case(seed)
        b, fp = case.bundle, case.bundle.fixed_point
        seen.update(projection_kinds(b))
        seen.update({f"w{fp.weight_bits}", f"s{fp.state_bits}", f"f{fp.decay_bits}"})
        for layer in b.layers:
            a = b.arrays
            seen["theta=1"] += bool((a[f"{layer.name}.theta"] == 1).any())
            seen["theta=max"] += bool((a[f"{layer.name}.theta"] == fp.theta_max).any())
            seen["decay=0"] += bool((a[f"{layer.name}.alpha"] == 0).any())
            seen["decay=max"] += bool((a[f"{layer.name}.beta"] == fp.decay_max).any())
            seen["lanes do not divide"] += layer.size % case.lanes != 0
        for p in b.projections:
            w = b.arrays[p.weights]
            seen["w=min"] += bool((w == fp.w_min).any())
            seen["w=max"] += bool((w == fp.w_max).any())
            seen["feedback into the first layer"] += (p.dst == b.layers[0].name and p.delay == 1
                                                      and p.src not in ("input", p.dst))
        seen["silent input"] += not case.spikes.any()
        seen["all-firing input"] += bool(case.spikes.all())
        seen[f"P={case.lanes}"] += 1
        seen["saturates"] += _saturates(case)
    wanted = {"ff", "skip", "recurrent", "feedback", "input@1", "forward@1", "w2", "w16",
              "s8", "s32", "f1", "f16", "theta=1", "theta=max", "decay=0", "decay=max",
              "lanes do not divide", "w=min", "w=max", "feedback into the first layer",
              "silent input", "all-firing input", "saturates", *(f"P={p}" for p in LANES)}
    missing = {k for k in wanted if seen[k] < 3}
    assert not missing, (missing, seen)


def _saturates(case) -> bool:
    fp = case.bundle.fixed_point
    got = reference(case)
    return any((got.i[n] == fp.s_max).any() or (got.i[n] == fp.s_min).any() for n in got.i)


def test_golden_schedules_and_torch_agree_on_a_bounded_campaign(tmp_path):
    tally = run(Campaign(["golden", "torch"], seed=1000, cases=60, minutes=10), tmp_path / "f")
    assert tally.cases == 60 and not tally.findings
    assert tally.results == Counter({"golden: equal": 60, "torch: equal": 60})
    report = json.loads((tmp_path / "f" / "report.json").read_text())
    assert report["finished"] and report["cases"] == 60 and report["findings"] == []


def _no_saturation(case):
    """A planted bug: the golden model with 32-bit state, so I and V never saturate at the
    case's own width (wrong wherever the real net saturates)."""
    fp = case.bundle.fixed_point
    wide = rebuild(case.bundle, dict(case.bundle.arrays),
                   fixed_point=dataclasses.replace(fp, state_bits=32))
    return simulate(wide, case.spikes, trace=True)


def _mutant(cases, _workdir):
    return [_no_saturation(case) for case in cases]


def test_a_planted_bug_is_found_shrunk_and_replayed(tmp_path, monkeypatch, capsys):
    out = tmp_path / "fuzz"
    plan = Campaign(["mutant"], seed=0, cases=24, shrink_seconds=60,
                    runners={"mutant": _mutant})
    tally = run(plan, out)
    assert tally.findings, "saturation is common in these cases: the mutant must be caught"
    finding = tally.findings[0]
    original = draw_case(finding.seed)
    folder = out / "failures" / f"mutant-{finding.seed}"
    record = json.loads((folder / "case.json").read_text())
    assert record["replay"] == f"scsr fuzz --replay {folder}"
    bundle = load_bundle(folder / "bundle")
    spikes, _ = load_spikes(folder / "input.npz", bundle.channels, bundle.output.size)
    small = dataclasses.replace(original, bundle=bundle, spikes=spikes, lanes=record["lanes"])
    assert size(small) < size(original)
    assert len(bundle.layers) == 1 and bundle.layers[0].size == 1 and spikes.shape[0] == 1
    assert difference(reference(small), _no_saturation(small)) is not None
    with np.load(folder / "expected.npz") as expected:
        golden = simulate(bundle, spikes, trace=True).arrays()
        assert sorted(expected.files) == sorted(golden)
        assert all(np.array_equal(expected[k], golden[k]) for k in golden)

    monkeypatch.setitem(ENGINES, "mutant", _mutant)
    assert main(["fuzz", "--replay", str(folder)]) == 1
    assert "still differs" in capsys.readouterr().out
    monkeypatch.setitem(ENGINES, "mutant", ENGINES["golden"])  # the bug "fixed"
    assert main(["fuzz", "--replay", str(folder)]) == 0
    assert "now equals the golden model" in capsys.readouterr().out


def test_every_neighbour_is_smaller_and_valid():
    case = draw_case(5)
    for smaller in neighbours(case):
        assert size(smaller) <= size(case)
        reference(smaller)  # a valid bundle and input: the golden model runs it


def test_shrink_keeps_the_original_when_nothing_smaller_fails():
    case = draw_case(3)
    assert shrink(case, lambda candidates: None, seconds=5) is case


def test_bad_requests_get_one_line(tmp_path, capsys):
    assert main(["fuzz", "--backends", "nope", "--out", str(tmp_path / "a")]) == 2
    assert "--backends: nope: unknown engine" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["fuzz", "--cases", "1", "--backends", "golden",
                 "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert "refusing to replace it" in capsys.readouterr().err
    assert main(["fuzz", "--replay", str(tmp_path / "mine")]) == 2
    assert "is not a fuzz reproducer" in capsys.readouterr().err


@pytest.mark.cosim
@pytest.mark.slow
@pytest.mark.xdist_group("verilator")
def test_bounded_campaign_on_verilator(tmp_path, monkeypatch, capsys):
    """The make-test sized campaign on the generated RTL: one round of eight cases, with a
    relative --out (the simulator runs in its own folder; the runner must resolve paths)."""
    reason = runner.simulator_available("verilator")
    if reason is not None:
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)
    out = Path("fuzz")
    assert main(["fuzz", "--cases", "8", "--round", "8", "--backends", "verilator",
                 "--seed", "500", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["results"] == {"verilator: equal": 8}
    assert "0 differences" in capsys.readouterr().out


def test_a_harness_error_is_run_again_and_reported(tmp_path):
    """A simulator run that fails as a whole is retried once; a pass the second time is a
    flake, listed in the report, not a finding."""
    from scsr.fuzz.engines import HARNESS_ERROR

    calls = []

    def flaky(cases, workdir):
        calls.append(len(cases))
        if len(calls) == 1:
            return [f"{HARNESS_ERROR}: no results (log: x)"] * len(cases)
        return ENGINES["golden"](cases, workdir)

    tally = run(Campaign(["flaky"], cases=4, round_size=4, runners={"flaky": flaky}),
                tmp_path / "f")
    assert calls == [4, 4] and not tally.findings
    assert tally.harness_errors == [f"flaky, seeds 0-3: {HARNESS_ERROR}: no results (log: x)"]
    report = json.loads((tmp_path / "f" / "report.json").read_text())
    assert report["harness_errors"] == tally.harness_errors
