"""``benchmarks/reference_models.py``: the GRU bar, on frames or on the SNN's spike trains."""

from __future__ import annotations

import pytest

from tests.conftest import load_script
from tests.torch.synthetic import make_dataset

reference_models = load_script("benchmarks/reference_models.py")


def test_gru_reads_the_spike_trains_of_a_set_without_features(tmp_path) -> None:
    """The synthetic classes are told apart by which channel block fires early and late:
    a GRU on the spikes learns that; on frames this set has none, which is an error."""
    path = make_dataset(tmp_path / "d.npz", train=480, test=60)
    result = reference_models.evaluate(str(path), 0, 12, hidden=16, only_gru=True,
                                       gru_input="spikes")
    assert result["gru_input"] == "spikes" and result["features"] == 12
    assert result["gru"] > 0.8  # chance is 1/3
    assert "GRU-16 on spikes" in reference_models.summary(result)
    with pytest.raises(SystemExit, match="no features"):
        reference_models.evaluate(str(path), 0, 1, hidden=16, only_gru=True)
