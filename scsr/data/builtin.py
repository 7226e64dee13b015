"""Built-in TI46-like speech: spoken letters A-Z and digits 0-9 rendered with espeak-ng.

TI46 is licensed and cannot be downloaded here, so the project makes an equivalent on the
machine (design §8). A *speaker* is an espeak-ng English voice (accent) combined with a voice
variant (timbre: ``+m3``, ``+f2``, ...); a *rendition* is one utterance of one class by one
speaker at a drawn speaking rate, pitch, amplitude and noise level. Everything is drawn from
the build seed, and espeak-ng is byte-identical across runs, so the same config gives the
same dataset bit for bit.

Splits (``docs/datasets.md``):

- ``speaker-dependent`` (the TI46 protocol): a fixed set of speakers; train and test hold
  different renditions of them (other rate, pitch, amplitude and noise draws),
- ``speaker-independent``: variants are partitioned; no variant speaks in both splits.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

import numpy as np

from golden_model.errors import ScsrError

from . import encoders
from .audio import read_wav_bytes
from .pipeline import features, prepare

LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
KINDS = {"letters": LETTERS, "digits": DIGITS}
SPLITS = ("speaker-dependent", "speaker-independent")

#: espeak-ng English voices (accents) shipped in espeak-ng-data 1.51.
VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
          "en-029", "en-us-nyc")
#: Voice variants that sound like people (robots, whispers and effects left out).
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "Alex", "Alicia", "Andrea", "Andy", "Annie",
    "Denis", "Gene", "Hugo", "Jacky", "Lee", "Michael", "Mike", "adam", "anika", "antonio",
    "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward", "iven", "john",
    "linda", "max", "norbert", "paul", "pedro", "quincy", "rob", "robert", "shelby", "steph",
    "travis", "victor", "zac",
)
#: Ranges the renditions are drawn from (espeak-ng units: words/min, 0-99, 0-200).
RATE_WPM = (120, 220)
PITCH = (20, 80)
AMPLITUDE = (60, 140)
ESPEAK_INSTALL = "install it with 'apt-get install espeak-ng' (or run 'make setup' as root)"


def source_config(kind: str, *, split: str = "speaker-dependent", train_per_class: int = 300,
                  test_per_class: int = 60, seed: int = 0,
                  snr_db: tuple[float, float] | None = (20.0, 40.0), speakers: int = 16,
                  test_variants: int = 12) -> dict[str, Any]:
    """The ``source`` part of a built-in build config, checked."""
    if kind not in KINDS:
        raise ScsrError("--kind", "", f"{kind!r} is not one of {tuple(KINDS)}")
    if split not in SPLITS:
        raise ScsrError("--split", "", f"{split!r} is not one of {SPLITS}")
    if snr_db is not None and not snr_db[0] <= snr_db[1]:
        raise ScsrError("--snr", "", f"{snr_db[0]} > {snr_db[1]}: give LOW,HIGH in dB")
    if not 1 <= test_variants < len(VARIANTS):
        raise ScsrError("--test-variants", "", f"{test_variants} is outside "
                                               f"[1, {len(VARIANTS) - 1}]")
    if not 1 <= speakers <= len(VOICES) * len(VARIANTS):
        raise ScsrError("--speakers", "", f"{speakers} is outside "
                                          f"[1, {len(VOICES) * len(VARIANTS)}]")
    return {"kind": kind, "split": split, "train_per_class": train_per_class,
            "test_per_class": test_per_class, "seed": seed,
            "snr_db": None if snr_db is None else [float(snr_db[0]), float(snr_db[1])],
            "speakers": speakers if split == "speaker-dependent" else None,
            "test_variants": test_variants if split == "speaker-independent" else None,
            "voices": list(VOICES), "variants": list(VARIANTS),
            "rate_wpm": list(RATE_WPM), "pitch": list(PITCH), "amplitude": list(AMPLITUDE)}


def speaker_pools(source: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Speakers (``voice+variant``) of the train and of the test split."""
    rng = np.random.default_rng([int(source["seed"]), 1])
    voices, variants = source["voices"], source["variants"]
    if source["split"] == "speaker-dependent":
        everyone = [f"{v}+{w}" for v in voices for w in variants]
        chosen = sorted(everyone[i] for i in rng.choice(len(everyone), source["speakers"],
                                                        replace=False))
        return chosen, chosen
    held = set(rng.choice(len(variants), source["test_variants"], replace=False).tolist())
    train = [f"{v}+{w}" for v in voices for i, w in enumerate(variants) if i not in held]
    test = [f"{v}+{w}" for v in voices for i, w in enumerate(variants) if i in held]
    return train, test


def plan(source: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rendition of the build, in file order (train first, then test, class-major).

    A rendition never repeats: the same speaker, text, rate, pitch and amplitude are drawn
    at most once in the whole set, so a speaker-dependent test item is never a train item
    with only new noise.
    """
    rng = np.random.default_rng([int(source["seed"]), 2])
    classes = KINDS[source["kind"]]
    pools = dict(zip(("train", "test"), speaker_pools(source), strict=True))
    seen: set[tuple[Any, ...]] = set()
    items = []
    for split in ("train", "test"):
        for label, text in enumerate(classes):
            for _ in range(int(source[f"{split}_per_class"])):
                while True:
                    key = (pools[split][int(rng.integers(len(pools[split])))], text,
                           int(rng.integers(source["rate_wpm"][0], source["rate_wpm"][1] + 1)),
                           int(rng.integers(source["pitch"][0], source["pitch"][1] + 1)),
                           int(rng.integers(source["amplitude"][0],
                                            source["amplitude"][1] + 1)))
                    if key not in seen:
                        break
                seen.add(key)
                snr = (None if source["snr_db"] is None
                       else float(rng.uniform(*source["snr_db"])))
                items.append({"split": split, "label": label, "speaker": key[0],
                              "text": key[1], "rate_wpm": key[2], "pitch": key[3],
                              "amplitude": key[4], "snr_db": snr})
    return items


@functools.lru_cache(maxsize=1)
def espeak_version() -> str:
    """``espeak-ng --version`` (part of the build config: another version, other audio)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ScsrError("espeak-ng", "", f"is not installed; {ESPEAK_INSTALL}")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("Data at")[0].strip()


def render(item: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Speak one rendition with espeak-ng; returns mono samples and their rate."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ScsrError("espeak-ng", "", f"is not installed; {ESPEAK_INSTALL}")
    command = [exe, "-v", item["speaker"], "-s", str(item["rate_wpm"]), "-p",
               str(item["pitch"]), "-a", str(item["amplitude"]), "--stdout", "--", item["text"]]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise ScsrError("espeak-ng", item["speaker"],
                        f"failed ({done.stderr.decode(errors='replace').strip()})")
    samples, rate = read_wav_bytes(f"espeak-ng {item['speaker']} {item['text']!r}", done.stdout)
    return samples.mean(axis=1), rate


def add_noise(samples: np.ndarray, voiced: int, snr_db: float | None,
              rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise over the whole clip at ``snr_db`` below the power of the first
    ``voiced`` samples (the speech before padding)."""
    if snr_db is None:
        return samples
    power = float(np.mean(np.square(samples[:voiced]))) if voiced else 0.0
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return samples + rng.normal(0.0, sigma, samples.shape)


def make_item(index: int, item: dict[str, Any], config: dict[str, Any]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Render, prepare, add noise, and run the front end and encoder: ``(frames, spikes)``.

    The noise generator is seeded by (seed, index), so results do not depend on which
    worker process did the work.
    """
    samples, rate = render(item)
    prepared = prepare(samples, rate, config, f"espeak-ng {item['speaker']} {item['text']!r}")
    voiced = int(np.flatnonzero(prepared)[-1]) + 1 if np.any(prepared) else 0
    rng = np.random.default_rng([int(config["source"]["seed"]), 3, index])
    frames = features(add_noise(prepared, voiced, item["snr_db"], rng), config)
    return frames, encoders.encode(frames, config["encoder"])
