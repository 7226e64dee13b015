"""The settings of ``scsr train`` are one tree (``TrainConfig`` → ``ModelConfig`` →
``FixedPoint``) written flat: every field is reachable by a key, a bad ``bits`` from any
source is one line naming the key, ``--help`` shows the real defaults, and the flat settings
of a checkpoint of the first format load into the tree."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from golden_model.fixed import FixedPoint
from scsr.cli import build_parser, main
from scsr.cli.train import OPTIONS, _given
from scsr.model.config import ModelConfig
from scsr.settings import is_setting, key_of, shown
from scsr.train.config import SETTINGS, TrainConfig

OLD_RUN = Path(__file__).parents[1] / "behaviour" / "checkpoint-v1"

#: A valid value other than the default for every key (a new setting must be added here).
CHANGED = {
    "dataset": "other.npz", "preset": "rsnn", "bip": False, "hidden": [7, 5], "tau_s": 3.0,
    "tau_m": 9.0, "theta": 0.5, "weight_gain": 2.5, "slope": 2.5, "normalise": False,
    "self_bound": 1.0, "equalise": False, "stretch_surrogate": False, "bits": [4, 12, 6],
    "epochs": 3, "batch": 4, "lr": 0.01, "seed": 7, "qat_epochs": 1, "logit_scale": 0.5,
    "intrinsic_lr": 1.0, "init_rate": 0.1, "adam_beta2": 0.99, "ema": 0.9, "grad_clip": 1.0,
    "hidden_drop": 0.1, "weight_decay": 0.01, "label_smoothing": 0.1, "rate_reg": 0.5,
    "rate_low": 0.02, "rate_high": 0.3, "shift": 2, "band_shift": 1, "drop": 0.05,
    "noise": 0.01, "skip_nonfinite": 3, "device": "cpu",
}


def _train_args(*argv: str):
    return build_parser().parse_args(["train", "--out", "run", *argv])


def test_every_field_of_the_tree_has_one_key() -> None:
    """Every ``TrainConfig`` field but ``model``, and every setting of the model, is a key;
    the model's other fields are the dataset's (sizes) or the preset's (topology)."""
    train = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "model"]
    model = [f for f in dataclasses.fields(ModelConfig) if is_setting(f)]
    assert list(SETTINGS) == [*train[:3], *map(key_of, model), *train[3:]]
    assert {f.metadata["from"] for f in dataclasses.fields(ModelConfig)
            if not is_setting(f)} == {"dataset", "preset"}
    assert set(CHANGED) == set(SETTINGS)


@pytest.mark.parametrize("key", list(CHANGED))
def test_every_setting_is_reachable_with_set(key: str) -> None:
    args = _train_args("--set", f"{key}={json.dumps(CHANGED[key])}",
                       *(["--set", "dataset=d.npz"] if key != "dataset" else []))
    config = TrainConfig.from_dict(_given(args), "options")
    s = SETTINGS[key]
    found = getattr(config.model if s.in_model else config, s.name)
    expected = {"hidden": (7, 5), "bits": FixedPoint(4, 12, 6)}.get(key, CHANGED[key])
    assert found == expected != s.default
    assert TrainConfig.from_dict(config.to_dict(), "again") == config


def test_preset_and_bip_give_the_model_its_topology() -> None:
    config = TrainConfig.from_dict({"preset": "rsnn", "bip": False, "hidden": [8]}, "x")
    assert (config.model.recurrent, config.model.skip, config.model.train_alpha,
            config.model.preset) == (True, False, False, "rsnn")
    assert dataclasses.replace(config, preset="scsr").model.skip
    assert config.sized(12, 3) == dataclasses.replace(config.model, channels=12, classes=3)


@pytest.mark.parametrize(("bits", "problem"), [
    ([8, 16], "should be [weight_bits, state_bits, decay_bits], not [8, 16]"),
    ([8, 40, 8], "state_bits = 40 is outside [8, 32]"),
    ([8, "a", 8], "should be a list of integers, not [8, 'a', 8]"),
    ("8,16,8", "should be a list of integers, not '8,16,8'"),
])
def test_bad_bits_in_a_file_or_set_is_one_line_naming_the_key(bits, problem, tmp_path,
                                                               capsys) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(f"bits = {json.dumps(bits)}\n")
    out = str(tmp_path / "run")
    assert main(["train", "d.npz", "--config", str(toml), "--out", out]) == 2
    assert capsys.readouterr().err == f"{toml}: bits: {problem}\n"
    assert main(["train", "d.npz", "--set", f"bits={json.dumps(bits)}", "--out", out]) == 2
    assert capsys.readouterr().err == f"--set: bits: {problem}\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("text", "problem"), [
    ("8,16", "'8,16' should be W,S,F (weight_bits,state_bits,decay_bits), e.g. 8,16,8"),
    ("8,40,8", "state_bits = 40 is outside [8, 32]"),
    ("8,a,8", "'8,a,8': widths must be integers"),
])
def test_bad_bits_option_names_the_option(text, problem, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "d.npz", "--out", "run", "--bits", text])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"scsr train: error: argument --bits: {problem}"


def test_options_are_checked_by_the_settings_own_range(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "d.npz", "--out", "run", "--drop", "1"])
    assert capsys.readouterr().err.splitlines()[-1] == \
        "scsr train: error: argument --drop: should be in [0, 1), not 1.0"


def _help(monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps option help at hyphens
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["train"]
    return " ".join(sub.format_help().split())  # one line: wrapping is the terminal's


def test_help_shows_the_real_defaults(monkeypatch) -> None:
    """Each option's help ends with the default the tree really has, and the epilog lists
    every other key with its default as ``--set`` writes it."""
    text, default = _help(monkeypatch), TrainConfig()
    for key in OPTIONS:
        s = SETTINGS[key]
        value = getattr(default.model if s.in_model else default, s.name)
        assert f"{s.help} (default: {shown(value)})" in text
    assert "--hidden N,N hidden layer sizes (the output layer has one neuron per class) " \
           "(default: 48,48)" in text
    assert "--bits W,S,F QAT widths" in text and "(default: 8,16,8)" in text
    for key in set(SETTINGS) - set(OPTIONS) - {"dataset"}:
        assert f"{key}={json.dumps(SETTINGS[key].default)}: {SETTINGS[key].help}" in text
    assert "weight_gain=2.0:" in text and "equalise=true:" in text


def test_a_checkpoint_of_the_first_format_loads_into_the_tree() -> None:
    from scsr.train import load_checkpoint

    state = load_checkpoint(OLD_RUN / "checkpoint.pt")
    config = TrainConfig.from_checkpoint(state["train_config"], "old")
    assert config.to_dict() == state["train_config"]
    saved = ModelConfig.from_dict(state["model_config"])
    assert config.sized(saved.channels, saved.classes) == saved
