"""Built-in TI46-like speech: spoken letters A-Z and digits 0-9 rendered with espeak-ng.

TI46 is licensed and cannot be downloaded here, so the project makes an equivalent on the
machine (design §8). A *speaker* is an espeak-ng English voice (accent) combined with a voice
variant (timbre: ``+m3``, ``+f2``, ...); a *rendition* is one utterance of one class by one
speaker at a drawn speaking rate, pitch, amplitude and noise level. Everything is drawn from
the build seed, and espeak-ng is byte-identical across runs, so the same config gives the
same dataset bit for bit.

Towards real speech (digits only, ``docs/datasets.md``): the built-in digits are made at
8 kHz like telephone-band recordings, noise covers the speech only (the zero padding after a
trimmed real recording is digital silence), and each *training* rendition is perturbed:
speed (formants and duration scaled together, like another vocal tract), a first-order
spectral tilt (another microphone) and white, pink or brown noise. Test renditions are not
perturbed, so the synthetic test accuracy stays comparable across builds.

Splits (``docs/datasets.md``):

- ``speaker-dependent`` (the TI46 protocol): a fixed set of speakers; train and test hold
  different renditions of them (other rate, pitch, amplitude and noise draws),
- ``speaker-independent``: variants are partitioned; no variant speaks in both splits.

Second synthesiser (``--flite-per-class``): Flite's voices (``flite+rms``, ...) add training
renditions only. Three of them are statistical parametric voices trained on recordings of
real people, so they bring natural formant movements that espeak-ng's rule-made voices lack;
they never speak in the test split, which stays the espeak-ng one.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
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
#: Training-split perturbations of the built-in digits (``source["augment"]``): speed factor
#: range, tilt coefficient ``a`` range of ``y[n] = x[n] - a·x[n-1]`` (+a tilts up, -a down)
#: and the noise colours drawn from. Letters keep the original build (no key, same hash).
DIGITS_AUGMENT: dict[str, Any] = {"speed": [0.9, 1.1], "tilt": [-0.5, 0.7],
                                  "noise_colours": ["white", "pink", "brown"]}
#: Audio rate of a built-in set when the user gives none: FSDD-like 8 kHz for digits.
DEFAULT_RATE = {"letters": 16000, "digits": 8000}
NOISE_COLOURS = ("white", "pink", "brown")
ESPEAK_INSTALL = "install it with 'apt-get install espeak-ng' (or run 'make setup' as root)"
#: Flite 2.2's distinct built-in English voices: a diphone voice (kal16, US male) and three
#: clustergen voices made from recordings of real speakers (awb Scottish male, rms US male,
#: slt US female). The clustergen voices ignore the pitch target; speed perturbation and
#: duration stretch vary them.
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
FLITE_INSTALL = "install it with 'apt-get install flite' (or run 'make setup' as root)"
#: espeak-ng's words per minute at which Flite's duration stretch is 1.
FLITE_WPM = 170


def source_config(kind: str, *, split: str = "speaker-dependent", train_per_class: int = 300,
                  test_per_class: int = 60, seed: int = 0,
                  snr_db: tuple[float, float] | None = (20.0, 40.0), speakers: int = 16,
                  test_variants: int = 12, augment: bool | None = None,
                  train_draws: int = 1, flite_per_class: int = 0) -> dict[str, Any]:
    """The ``source`` part of a built-in build config, checked.

    ``augment`` (default: on for digits, off for letters) adds ``noise_over: "speech"`` and
    the training perturbations of :data:`DIGITS_AUGMENT`; off, the keys are absent and the
    build is the original one (hence the same cache key as before they existed).
    ``train_draws`` > 1 multiplies the training renditions (:func:`plan`); the key is
    absent at 1 for the same reason, and so is ``flite`` (``flite_per_class`` more training
    renditions per class by Flite's voices) at 0.
    """
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
    if train_draws < 1:
        raise ScsrError("--train-draws", "", f"{train_draws} is not a positive count")
    if flite_per_class < 0:
        raise ScsrError("--flite-per-class", "", f"{flite_per_class} is negative")
    extra: dict[str, Any] = {} if train_draws == 1 else {"train_draws": train_draws}
    if flite_per_class:
        extra["flite"] = {"voices": list(FLITE_VOICES), "per_class": flite_per_class}
    if augment if augment is not None else kind == "digits":
        extra |= {"noise_over": "speech", "augment": {
            k: list(v) for k, v in DIGITS_AUGMENT.items()}}
    return {**extra, "kind": kind, "split": split, "train_per_class": train_per_class,
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

    With ``train_draws`` K > 1, draws 1 .. K-1 add that many more training renditions per
    class, from the same training speakers but from their own random stream (``(seed, 5,
    draw)``), after those of draw 0. Draw 0 and the test split stay the items, noise and
    perturbations of the one-draw build bit for bit, so test results stay comparable.
    With ``flite``, its ``per_class`` training renditions per class by Flite voices
    (speakers ``flite+VOICE``, their own stream ``(seed, 6)``) come last among the training
    items; everything else is unchanged by them.
    Each item's ``stream`` seeds its noise and perturbation: ``[index]`` in draw 0,
    ``[index, draw]`` in later draws, ``[index, 0, 1]`` in the Flite block.
    """
    classes = KINDS[source["kind"]]
    pools = dict(zip(("train", "test"), speaker_pools(source), strict=True))
    seen: set[tuple[Any, ...]] = set()
    rng = np.random.default_rng([int(source["seed"]), 2])
    first = {split: _draw(rng, source, classes, pools[split], split, seen)
             for split in ("train", "test")}
    items = first["train"] + first["test"]
    for index, item in enumerate(items):
        item["stream"] = [index]
    extra = []
    for draw in range(1, int(source.get("train_draws", 1))):
        rng = np.random.default_rng([int(source["seed"]), 5, draw])
        more = _draw(rng, source, classes, pools["train"], "train", seen)
        for index, item in enumerate(more):
            item["stream"] = [index, draw]
        extra += more
    if source.get("flite"):
        rng = np.random.default_rng([int(source["seed"]), 6])
        pool = [f"flite+{voice}" for voice in source["flite"]["voices"]]
        more = _draw(rng, source, classes, pool, "train", seen, source["flite"]["per_class"])
        for index, item in enumerate(more):
            item["stream"] = [index, 0, 1]
        extra += more
    return first["train"] + extra + first["test"]


def _draw(rng: np.random.Generator, source: dict[str, Any], classes: tuple[str, ...],
          pool: list[str], split: str, seen: set[tuple[Any, ...]],
          per_class: int | None = None) -> list[dict[str, Any]]:
    """``per_class`` (default ``source[f"{split}_per_class"]``) new renditions per class from
    ``pool`` (class-major), none of them in ``seen``, which they join."""
    items = []
    count = int(source[f"{split}_per_class"] if per_class is None else per_class)
    for label, text in enumerate(classes):
        for _ in range(count):
            while True:
                key = (pool[int(rng.integers(len(pool)))], text,
                       int(rng.integers(source["rate_wpm"][0], source["rate_wpm"][1] + 1)),
                       int(rng.integers(source["pitch"][0], source["pitch"][1] + 1)),
                       int(rng.integers(source["amplitude"][0], source["amplitude"][1] + 1)))
                if key not in seen:
                    break
            seen.add(key)
            snr = None if source["snr_db"] is None else float(rng.uniform(*source["snr_db"]))
            items.append({"split": split, "label": label, "speaker": key[0], "text": key[1],
                          "rate_wpm": key[2], "pitch": key[3], "amplitude": key[4],
                          "snr_db": snr})
    return items


def _executable(name: str, install: str) -> str:
    """The path of synthesiser ``name``, or a user error that says how to install it."""
    exe = shutil.which(name)
    if exe is None:
        raise ScsrError(name, "", f"is not installed; {install}")
    return exe


@functools.lru_cache(maxsize=1)
def espeak_version() -> str:
    """``espeak-ng --version`` (part of the build config: another version, other audio)."""
    exe = _executable("espeak-ng", ESPEAK_INSTALL)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("Data at")[0].strip()


@functools.lru_cache(maxsize=1)
def flite_version() -> str:
    """``flite --version`` (part of the build config of a set with Flite voices)."""
    exe = _executable("flite", FLITE_INSTALL)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return " ".join(line.strip() for line in out.stdout.splitlines() if "version" in line)


def render_flite(item: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Speak one rendition of a ``flite+VOICE`` speaker: the drawn rate becomes a duration
    stretch (:data:`FLITE_WPM` / rate), the pitch an F0 target of ``80 + pitch`` Hz (heeded
    by kal16 only) and the amplitude a gain of ``amplitude / 100``, as espeak-ng's ``-a``."""
    exe = _executable("flite", FLITE_INSTALL)
    voice = item["speaker"].split("+", 1)[1]
    where = f"flite {voice} {item['text']!r}"
    with tempfile.TemporaryDirectory(prefix="scsr-flite-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        command = [exe, "-voice", voice,
                   "--setf", f"duration_stretch={FLITE_WPM / item['rate_wpm']:.6f}",
                   "--setf", f"int_f0_target_mean={80 + item['pitch']}",
                   "-t", item["text"], "-o", wav]
        done = subprocess.run(command, capture_output=True, check=False)
        if done.returncode != 0 or not os.path.exists(wav):
            raise ScsrError("flite", voice,
                            f"failed ({done.stderr.decode(errors='replace').strip()})")
        with open(wav, "rb") as handle:
            samples, rate = read_wav_bytes(where, handle.read())
    return samples.mean(axis=1) * (item["amplitude"] / 100.0), rate


def render(item: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Speak one rendition with espeak-ng (or Flite, for a ``flite+`` speaker); returns mono
    samples and their rate."""
    if item["speaker"].startswith("flite+"):
        return render_flite(item)
    exe = _executable("espeak-ng", ESPEAK_INSTALL)
    command = [exe, "-v", item["speaker"], "-s", str(item["rate_wpm"]), "-p",
               str(item["pitch"]), "-a", str(item["amplitude"]), "--stdout", "--", item["text"]]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise ScsrError("espeak-ng", item["speaker"],
                        f"failed ({done.stderr.decode(errors='replace').strip()})")
    samples, rate = read_wav_bytes(f"espeak-ng {item['speaker']} {item['text']!r}", done.stdout)
    return samples.mean(axis=1), rate


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of unit mean power (exactly, so the SNR is exact) whose power falls as
    ``f^0`` (white), ``f^-1`` (pink) or ``f^-2`` (brown): rooms and handling noise are mostly
    low-frequency, not white."""
    shaped = rng.normal(0.0, 1.0, n)
    if colour != "white" and n > 1:
        spectrum = np.fft.rfft(shaped)
        freq = np.arange(len(spectrum), dtype=np.float64)
        freq[0] = freq[1]
        spectrum /= freq ** (0.5 if colour == "pink" else 1.0)
        shaped = np.fft.irfft(spectrum, n)
    return shaped / max(float(np.sqrt(np.mean(np.square(shaped)))), 1e-12)


def add_noise(samples: np.ndarray, voiced: int, snr_db: float | None,
              rng: np.random.Generator, colour: str = "white",
              over_speech: bool = False) -> np.ndarray:
    """Gaussian noise at ``snr_db`` below the power of the first ``voiced`` samples (the
    speech before padding), over the whole clip or (``over_speech``) the speech only."""
    if snr_db is None:
        return samples
    power = float(np.mean(np.square(samples[:voiced]))) if voiced else 0.0
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    if colour == "white" and not over_speech:  # the original draw, bit for bit
        return samples + rng.normal(0.0, sigma, samples.shape)
    span = voiced if over_speech else len(samples)
    noisy = samples.copy()
    noisy[:span] += sigma * coloured_noise(span, colour, rng)
    return noisy


def perturbation(item: dict[str, Any], source: dict[str, Any]) -> tuple[float, float, str]:
    """``(speed, tilt, noise colour)`` of one rendition: drawn from ``(seed, 4, *stream)``
    for a training item of an augmented build, ``(1, 0, "white")`` otherwise."""
    augment = source.get("augment")
    if not augment or item["split"] != "train":
        return 1.0, 0.0, "white"
    rng = np.random.default_rng([int(source["seed"]), 4, *item["stream"]])
    colours = augment["noise_colours"]
    return (float(rng.uniform(*augment["speed"])), float(rng.uniform(*augment["tilt"])),
            str(colours[int(rng.integers(len(colours)))]))


def make_item(item: dict[str, Any], config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Render, perturb, prepare, add noise, and run the front end and encoder:
    ``(frames, spikes)``.

    Speed is applied by declaring the audio ``speed`` times faster than it is (rounded to
    100 Hz, so resampling stays a cheap rational ratio), before :func:`prepare` trims it.
    The generators are seeded by (seed, stream), so results do not depend on which worker
    process did the work.
    """
    source = config["source"]
    speed, tilt, colour = perturbation(item, source)
    samples, rate = render(item)
    if speed != 1.0:
        rate = round(rate * speed / 100.0) * 100
    prepared = prepare(samples, rate, config, f"{item['speaker']} {item['text']!r}")
    voiced = int(np.flatnonzero(prepared)[-1]) + 1 if np.any(prepared) else 0
    if tilt != 0.0 and voiced > 1:
        prepared[1:voiced] -= tilt * prepared[:voiced - 1].copy()
    rng = np.random.default_rng([int(source["seed"]), 3, *item["stream"]])
    frames = features(add_noise(prepared, voiced, item["snr_db"], rng, colour,
                                source.get("noise_over") == "speech"), config)
    return frames, encoders.encode(frames, config["encoder"])
