"""Refactors keep results: simulate traces and fixed-seed training match the fingerprints
recorded in ``fingerprints.json`` (``python -m tests.behaviour.fingerprint`` shows which
differ), and a checkpoint written by the first checkpoint format still resumes to the same
weights as an uninterrupted run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.behaviour import fingerprint
from tests.conftest import run_scsr

RECORDED = json.loads(fingerprint.RECORD.read_text())
OLD_RUN = Path(__file__).with_name("checkpoint-v1")  # epoch 1 of train.scsr-bip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from tests.torch.synthetic import make_dataset

    return make_dataset(tmp_path_factory.mktemp("data") / "d.npz")


def test_simulate_traces_are_unchanged(tmp_path) -> None:
    found = fingerprint.simulate_fingerprints(run_scsr, tmp_path)
    assert found == {k: v for k, v in RECORDED.items() if k.startswith("simulate.")}


@pytest.mark.parametrize("name", list(fingerprint.TRAININGS))
def test_fixed_seed_training_is_unchanged(name, dataset, tmp_path) -> None:
    assert fingerprint.train_fingerprint(run_scsr, dataset, name, tmp_path) == \
        RECORDED[f"train.{name}"]


def test_checkpoint_of_the_first_format_resumes_to_the_same_weights(dataset, tmp_path) -> None:
    run = tmp_path / "run-scsr-bip"
    shutil.copytree(OLD_RUN, run)
    done = run_scsr("train", dataset, "--out", run, "--resume", "--threads", "1",
                    env=fingerprint.PINNED_KERNELS)
    assert done.returncode == 0, done.stderr
    resumed = fingerprint.checkpoint_fingerprint(run_scsr, run, "8,16,8", tmp_path)
    assert resumed == RECORDED["train.scsr-bip"]
