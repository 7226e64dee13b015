"""Built-in espeak-ng sets, built for real at a tiny size: content, determinism, splits,
cache, and encode_wav reproducing the dataset's encoding."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from scsr.data import build, builtin, encode_wav, load_dataset
from scsr.data.pipeline import encoding_config

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (apt-get install espeak-ng)")


def tiny(kind: str, split: str = "speaker-dependent", snr=(10.0, 30.0), seed: int = 3,
         encoder: str = "bsa", train: int = 2, test: int = 1, front_end: str = "logmel") -> dict:
    source = builtin.source_config(kind, split=split, train_per_class=train,
                                   test_per_class=test, seed=seed, snr_db=snr, speakers=4,
                                   test_variants=5)
    return build.builtin_config(source, encoding_config(front_end, encoder), True)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    build.cached_build(tiny("digits"), path, lambda c: build.build_builtin(c, 2, False), None)
    return path


def test_tiny_digits_set_is_complete_and_spiking(digits):
    dataset = load_dataset(digits)
    assert dataset.classes.tolist() == list(builtin.DIGITS)
    assert np.bincount(dataset.train_labels).tolist() == [2] * 10
    assert np.bincount(dataset.test_labels).tolist() == [1] * 10
    assert (dataset.timesteps, dataset.channels) == (100, 32)
    assert dataset.train_features.shape == (20, 100, 32)
    per_sample = dataset.train_spikes.reshape(20, -1).mean(axis=1)
    assert per_sample.min() > 0.01  # every utterance is heard
    assert dataset.config["source"]["kind"] == "digits"
    assert dataset.config["tools"]["espeak-ng"].startswith("eSpeak NG")


def test_two_builds_are_byte_identical_whatever_the_workers(tmp_path):
    config = tiny("letters", train=1, test=1)
    build.save_dataset(build.build_builtin(config, 2, False), tmp_path / "a.npz")
    build.save_dataset(build.build_builtin(config, 1, False), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    other = tiny("letters", train=1, test=1, seed=4)
    build.save_dataset(build.build_builtin(other, 2, False), tmp_path / "c.npz")
    assert not np.array_equal(load_dataset(tmp_path / "a.npz").train_spikes,
                              load_dataset(tmp_path / "c.npz").train_spikes)


def test_speaker_independent_split_shares_no_variant():
    source = tiny("letters", split="speaker-independent", train=3, test=3)["source"]
    train, test = builtin.speaker_pools(source)
    variants = {split: {s.split("+")[1] for s in pool}
                for split, pool in (("train", train), ("test", test))}
    assert len(variants["test"]) == 5
    assert variants["train"].isdisjoint(variants["test"])
    assert variants["train"] | variants["test"] == set(builtin.VARIANTS)
    used = {item["split"]: set() for item in builtin.plan(source)}
    for item in builtin.plan(source):
        used[item["split"]].add(item["speaker"].split("+")[1])
    assert used["train"].isdisjoint(used["test"])


def test_speaker_dependent_split_shares_speakers_but_no_rendition():
    source = tiny("letters", train=6, test=3)["source"]
    train, test = builtin.speaker_pools(source)
    assert train == test and len(train) == 4
    items = builtin.plan(source)
    key = ("speaker", "text", "rate_wpm", "pitch", "amplitude")
    renditions = {s: {tuple(i[k] for k in key) for i in items if i["split"] == s}
                  for s in ("train", "test")}
    assert renditions["train"].isdisjoint(renditions["test"])
    assert len(renditions["train"]) == 6 * 26 and len(renditions["test"]) == 3 * 26
    assert {i["speaker"] for i in items if i["split"] == "test"} <= set(train)


def test_more_training_draws_keep_the_one_draw_set_and_add_new_renditions(tmp_path):
    one = tiny("letters", split="speaker-independent", train=1, test=1)
    source = builtin.source_config("letters", split="speaker-independent", train_per_class=1,
                                   test_per_class=1, seed=3, snr_db=(10.0, 30.0),
                                   test_variants=5, train_draws=3)
    three = {**one, "source": source}
    assert build.config_hash(one) != build.config_hash(three)
    base = build.build_builtin(one, 2, False)
    more = build.build_builtin(three, 2, False)
    assert np.array_equal(more.test_spikes, base.test_spikes)  # the same test split, bit for bit
    assert np.array_equal(more.test_features, base.test_features)
    assert np.array_equal(more.train_spikes[:26], base.train_spikes)  # draw 1 first
    assert more.train_labels.tolist() == list(range(26)) * 3
    key = ("speaker", "text", "rate_wpm", "pitch", "amplitude")
    items = builtin.plan(source)
    assert len({tuple(i[k] for k in key) for i in items}) == len(items)  # no repeats
    assert {i["speaker"] for i in items if i["split"] == "train"} <= set(
        builtin.speaker_pools(source)[0])
    assert not any(np.array_equal(more.train_spikes[i], more.train_spikes[i + 26])
                   for i in range(26))


@pytest.mark.skipif(shutil.which("flite") is None,
                    reason="flite is not installed (apt-get install flite)")
def test_flite_voices_add_training_renditions_only(tmp_path):
    base = tiny("digits", split="speaker-independent", train=1, test=1)
    source = builtin.source_config("digits", split="speaker-independent", train_per_class=1,
                                   test_per_class=1, seed=3, snr_db=(10.0, 30.0),
                                   test_variants=5, flite_per_class=2)
    more = {**base, "source": source, "tools": build.tool_versions(
        "logmel", espeak=True, flite=True)}
    assert more["tools"]["flite"].startswith("version: flite-")
    one, two = build.build_builtin(base, 2, False), build.build_builtin(more, 2, False)
    assert np.array_equal(two.test_spikes, one.test_spikes)  # the espeak-ng test split
    assert np.array_equal(two.train_spikes[:10], one.train_spikes)
    assert two.train_labels.tolist() == list(range(10)) + [k for k in range(10) for _ in "ab"]
    items = [i for i in builtin.plan(source) if i["speaker"].startswith("flite+")]
    assert len(items) == 20 and {i["split"] for i in items} == {"train"}
    assert {i["speaker"] for i in items} <= {f"flite+{v}" for v in builtin.FLITE_VOICES}
    heard = two.train_spikes[10:].reshape(20, -1).mean(axis=1)
    assert heard.min() > 0.01  # every Flite utterance is heard
    # another synthesiser, not the espeak-ng voice of the same word
    assert not any(np.array_equal(two.train_features[10 + 2 * k], one.train_features[k])
                   for k in range(10))


def test_flite_block_is_off_by_default_and_checked():
    assert "flite" not in builtin.source_config("digits")
    with pytest.raises(builtin.ScsrError, match="flite-per-class"):
        builtin.source_config("digits", flite_per_class=-1)


def test_cached_rebuild_copies_the_same_bytes(tmp_path):
    config = tiny("digits", train=1, test=1)
    calls = []

    def builder(c):
        calls.append(1)
        return build.build_builtin(c, 1, False)

    _, first = build.cached_build(config, tmp_path / "a.npz", builder, tmp_path / "cache")
    _, second = build.cached_build(config, tmp_path / "b.npz", builder, tmp_path / "cache")
    assert (first, second, len(calls)) == (False, True, 1)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    entry = tmp_path / "cache" / f"{build.config_hash(config)}.npz"
    entry.write_bytes(b"damaged")
    _, third = build.cached_build(config, tmp_path / "c.npz", builder, tmp_path / "cache")
    assert (third, len(calls)) == (False, 2)
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "a.npz").read_bytes()


@pytest.mark.parametrize(("front_end", "encoder"),
                         [("logmel", "bsa"), ("logmel", "delta"), ("lyon", "rate")])
def test_encode_wav_reproduces_the_dataset_encoding(tmp_path, front_end, encoder):
    """A clean utterance saved as a WAV file and encoded with the dataset's config gives the
    dataset's spikes bit for bit (espeak-ng output is deterministic)."""
    if front_end == "lyon":
        pytest.importorskip("lyon")
    config = tiny("digits", snr=None, encoder=encoder, train=1, test=1, front_end=front_end)
    dataset = build.build_builtin(config, 1, False)

    def spoken(index: int) -> np.ndarray:
        item = builtin.plan(config["source"])[index]
        wav = tmp_path / f"{index}.wav"
        wav.write_bytes(subprocess.run(
            ["espeak-ng", "-v", item["speaker"], "-s", str(item["rate_wpm"]), "-p",
             str(item["pitch"]), "-a", str(item["amplitude"]), "--stdout", "--",
             item["text"]], capture_output=True, check=True).stdout)
        return encode_wav(wav, dataset.config)

    assert np.array_equal(spoken(10 + 7), dataset.test_spikes[7])  # test: not perturbed
    # a training rendition is perturbed (speed, tilt), so the plain recording differs
    assert builtin.perturbation(builtin.plan(config["source"])[7], config["source"])[:2] \
        != (1.0, 0.0)
    assert not np.array_equal(spoken(7), dataset.train_spikes[7])


def test_digits_default_to_the_augmented_build_and_letters_to_the_original():
    digits, letters = (builtin.source_config(k) for k in ("digits", "letters"))
    assert digits["noise_over"] == "speech" and digits["augment"] == builtin.DIGITS_AUGMENT
    assert "augment" not in letters and "noise_over" not in letters
    assert "augment" not in builtin.source_config("digits", augment=False)
    assert builtin.DEFAULT_RATE == {"letters": 16000, "digits": 8000}
    original = build.builtin_config(builtin.source_config("digits", augment=False),
                                    encoding_config(rate=16000), False)
    now = build.builtin_config(digits, encoding_config(rate=8000), False)
    assert build.config_hash(original) != build.config_hash(now)  # a new cache entry
