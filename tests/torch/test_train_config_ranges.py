"""Every training setting is range-checked where it is parsed: a bad value from a TOML file
or --set is one line naming the file and the key, before any work."""

from __future__ import annotations

import pytest

from golden_model.errors import ScsrError
from golden_model.fixed import FixedPoint
from scsr.train.config import TrainConfig


@pytest.mark.parametrize(("raw", "message"), [
    ({"epochs": 0}, "x.toml: epochs: should be > 0, not 0"),
    ({"batch": 0}, "x.toml: batch: should be > 0, not 0"),
    ({"lr": float("nan")}, "x.toml: lr: should be a finite number, not nan"),
    ({"lr": float("inf")}, "x.toml: lr: should be a finite number, not inf"),
    ({"tau_m": -1.0}, "x.toml: tau_m: should be > 0, not -1.0"),
    ({"theta": 0.0}, "x.toml: theta: should be > 0, not 0.0"),
    ({"hidden": [48, 0]}, "x.toml: hidden: every layer size should be >= 1, not (48, 0)"),
    ({"bits": [8, 40, 8]}, "x.toml: bits: state_bits = 40 is outside [8, 32]"),
    ({"bits": [8, 16]}, "x.toml: bits: should be [weight_bits, state_bits, decay_bits], not "
                        "[8, 16]"),
    ({"epochs": 2.5}, "x.toml: epochs: should be an integer, not 2.5"),
])
def test_out_of_range_settings_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ScsrError) as error:
        TrainConfig.from_dict(raw, "x.toml")
    assert str(error.value) == message


def test_the_defaults_and_the_shipped_ranges_pass() -> None:
    config = TrainConfig.from_dict({"epochs": 1, "bits": [2, 8, 1], "hidden": [1]}, "x.toml")
    assert (config.epochs, config.model.fixed_point, config.model.hidden) == (
        1, FixedPoint(2, 8, 1), (1,))
