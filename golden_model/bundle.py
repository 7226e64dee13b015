"""The bundle of design §5: a network's topology, widths and quantised arrays.

:func:`load_bundle` and :func:`save_bundle` both run the complete validation, so a bundle
that exists in memory as a :class:`Bundle` object that was loaded or saved is always valid.
Every rejection is an :class:`~golden_model.errors.ScsrError` naming file and field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_directory
from .errors import ScsrError
from .fixed import DECAY_BITS_RANGE, STATE_BITS_RANGE, WEIGHT_BITS_RANGE, FixedPoint
from .npzio import npz_bytes, read_npz

FORMAT = "scsr-bundle"
VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
INPUT = "input"
LAYER_PARAMS = ("alpha", "beta", "theta", "w_self")
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TOP_KEYS = (
    "format", "version", "fixed_point", "input", "layers", "projections",
    "classes", "arrays_sha256", "provenance",
)
_BIT_RANGES = {
    "weight_bits": WEIGHT_BITS_RANGE,
    "state_bits": STATE_BITS_RANGE,
    "decay_bits": DECAY_BITS_RANGE,
}


@dataclass(frozen=True)
class Layer:
    """One layer of neurons; the last layer of a bundle is the output."""

    name: str
    size: int


@dataclass(frozen=True)
class Projection:
    """Weights ``W[dst, src]`` from ``src`` (a layer or ``input``) into layer ``dst``.

    ``delay = 0`` reads the source's spikes of the same timestep, ``delay = 1`` those of
    the previous one. ``weights`` names the array in ``arrays.npz``.
    """

    src: str
    dst: str
    delay: int
    weights: str


@dataclass(frozen=True, eq=False)
class Bundle:
    """An in-memory bundle: the manifest's fields plus the arrays of ``arrays.npz``."""

    fixed_point: FixedPoint
    channels: int
    timesteps: int
    layers: tuple[Layer, ...]
    projections: tuple[Projection, ...]
    classes: tuple[str, ...]
    arrays: Mapping[str, np.ndarray]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    # --- topology helpers -----------------------------------------------------------------
    @property
    def output(self) -> Layer:
        """The output layer (the last one)."""
        return self.layers[-1]

    def layer_index(self, name: str) -> int:
        """Position of a layer in manifest order; ``input`` is -1."""
        if name == INPUT:
            return -1
        for index, layer in enumerate(self.layers):
            if layer.name == name:
                return index
        raise KeyError(name)

    def size_of(self, name: str) -> int:
        """Neuron count of a layer, or the channel count for ``input``."""
        return self.channels if name == INPUT else self.layers[self.layer_index(name)].size

    def incoming(self, layer: str) -> tuple[Projection, ...]:
        """Projections into ``layer``, in manifest order."""
        return tuple(p for p in self.projections if p.dst == layer)

    def param(self, layer: str, kind: str) -> np.ndarray:
        """A per-neuron array of ``layer``: ``alpha``, ``beta``, ``theta`` or ``w_self``."""
        return self.arrays[f"{layer}.{kind}"]

    def weights(self, projection: Projection) -> np.ndarray:
        """The ``(size of dst, size of src)`` weight matrix of a projection."""
        return self.arrays[projection.weights]

    def manifest(self, arrays_sha256: str) -> dict[str, Any]:
        """The JSON object of ``manifest.json`` for the given hash of ``arrays.npz``."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "fixed_point": self.fixed_point.as_dict(),
            "input": {"channels": self.channels, "timesteps": self.timesteps},
            "layers": [{"name": layer.name, "size": layer.size} for layer in self.layers],
            "projections": [
                {"src": p.src, "dst": p.dst, "delay": p.delay, "weights": p.weights}
                for p in self.projections
            ],
            "classes": list(self.classes),
            "arrays_sha256": arrays_sha256,
            "provenance": dict(self.provenance),
        }


# --- manifest validation ------------------------------------------------------------------
def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    pass


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Small helpers that raise :class:`ScsrError` against one file."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field_name: str, problem: str) -> None:
        raise ScsrError(self.where, field_name, problem)

    def object(self, value: Any, field_name: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(field_name or "(top level)", f"must be a JSON object, not {_describe(value)}")
        prefix = f"{field_name}." if field_name else ""
        for key in keys:
            if key not in value:
                self.fail(f"{prefix}{key}", "is missing")
        for key in value:
            if key not in keys:
                self.fail(f"{prefix}{key}", f"is not allowed here (allowed: {', '.join(keys)})")
        return value

    def integer(self, value: Any, field_name: str, lo: int, hi: int | None = None) -> int:
        if not _is_int(value):
            self.fail(field_name, f"must be a JSON integer, not {_describe(value)}")
        if value < lo or (hi is not None and value > hi):
            bound = f"[{lo}, {hi}]" if hi is not None else f"at least {lo}"
            self.fail(field_name, f"{value} is outside {bound}" if hi is not None
                      else f"{value} must be {bound}")
        return value

    def string(self, value: Any, field_name: str) -> str:
        if not isinstance(value, str):
            self.fail(field_name, f"must be a string, not {_describe(value)}")
        return value

    def array(self, value: Any, field_name: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(field_name, f"must be a JSON array, not {_describe(value)}")
        return value


def parse_manifest(text: str | bytes, where: str) -> tuple[Bundle, str]:
    """Validate a manifest's text; return a :class:`Bundle` without arrays and the hash."""
    check = _Checker(where)
    top = check.object(_load_json(text, where), "", _TOP_KEYS)
    _check_header(check, top)
    fixed_point = _parse_fixed_point(check, top["fixed_point"])
    inp = check.object(top["input"], "input", ("channels", "timesteps"))
    channels = check.integer(inp["channels"], "input.channels", 1)
    timesteps = check.integer(inp["timesteps"], "input.timesteps", 1)
    layers = _parse_layers(check, top["layers"])
    projections = _parse_projections(check, top["projections"], layers)
    classes = _parse_classes(check, top["classes"], layers[-1])
    digest = check.string(top["arrays_sha256"], "arrays_sha256")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        check.fail("arrays_sha256", "must be 64 lowercase hex digits")
    if not isinstance(top["provenance"], dict):
        check.fail("provenance", f"must be a JSON object, not {_describe(top['provenance'])}")

    bundle = Bundle(
        fixed_point=fixed_point,
        channels=channels,
        timesteps=timesteps,
        layers=layers,
        projections=projections,
        classes=classes,
        arrays={},
        provenance=top["provenance"],
    )
    return bundle, digest


def _load_json(text: str | bytes, where: str) -> Any:
    """The manifest's JSON value; duplicate keys and bad JSON are a :class:`ScsrError`."""
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise ScsrError(where, str(exc), "duplicate JSON object key") from None
    except (ValueError, RecursionError) as exc:  # bad syntax or encoding, 4300+ digits, deep
        raise ScsrError(where, "", f"is not valid JSON ({exc})") from None


def _check_header(check: _Checker, top: dict[str, Any]) -> None:
    """``format`` and ``version`` must name this format and the version this tool reads."""
    if top["format"] != FORMAT:
        check.fail("format", f"must be {json.dumps(FORMAT)}, not {_describe(top['format'])}")
    if not _is_int(top["version"]) or top["version"] != VERSION:
        check.fail("version", f"{_describe(top['version'])} is not supported (this tool reads "
                              f"version {VERSION})")


def _parse_fixed_point(check: _Checker, value: Any) -> FixedPoint:
    """The ``fixed_point`` object: the three widths, each within its §4 range."""
    fixed = check.object(value, "fixed_point", tuple(_BIT_RANGES))
    widths = {
        key: check.integer(fixed[key], f"fixed_point.{key}", *_BIT_RANGES[key])
        for key in _BIT_RANGES
    }
    return FixedPoint(**widths)


def _parse_layers(check: _Checker, value: Any) -> tuple[Layer, ...]:
    """The ``layers`` array: at least one, names valid, unique and not ``input``."""
    layers_raw = check.array(value, "layers")
    if not layers_raw:
        check.fail("layers", "must hold at least one layer")
    layers: list[Layer] = []
    names: set[str] = set()
    for k, item in enumerate(layers_raw):
        obj = check.object(item, f"layers[{k}]", ("name", "size"))
        name = check.string(obj["name"], f"layers[{k}].name")
        if not NAME_PATTERN.fullmatch(name):
            check.fail(f"layers[{k}].name", f"{_describe(name)} does not match "
                                            f"{NAME_PATTERN.pattern}")
        if name == INPUT:
            check.fail(f"layers[{k}].name", f"{json.dumps(INPUT)} is reserved for the input")
        if name in names:
            check.fail(f"layers[{k}].name", f"{json.dumps(name)} is used by an earlier layer")
        names.add(name)
        layers.append(Layer(name, check.integer(obj["size"], f"layers[{k}].size", 1)))
    return tuple(layers)


def _parse_projections(check: _Checker, value: Any,
                       layers: tuple[Layer, ...]) -> tuple[Projection, ...]:
    """The ``projections`` array: known ends, no delay-0 cycle, unique triples and arrays."""
    order = {layer.name: index for index, layer in enumerate(layers)} | {INPUT: -1}
    projections: list[Projection] = []
    triples: set[tuple[str, str, int]] = set()
    weight_keys: set[str] = set()
    layer_keys = {f"{layer.name}.{kind}" for layer in layers for kind in LAYER_PARAMS}
    for k, item in enumerate(check.array(value, "projections")):
        here = f"projections[{k}]"
        obj = check.object(item, here, ("src", "dst", "delay", "weights"))
        src = check.string(obj["src"], f"{here}.src")
        dst = check.string(obj["dst"], f"{here}.dst")
        if src not in order:
            check.fail(f"{here}.src", f"{json.dumps(src)} is neither \"input\" nor a layer")
        if dst not in order or dst == INPUT:
            check.fail(f"{here}.dst", f"{json.dumps(dst)} is not a layer")
        delay = check.integer(obj["delay"], f"{here}.delay", 0, 1)
        if delay == 0 and order[src] >= order[dst]:
            check.fail(f"{here}.src", f"a delay-0 projection needs \"input\" or a layer before "
                                      f"{json.dumps(dst)}, not {json.dumps(src)} (it would "
                                      "form a cycle within a timestep)")
        if (src, dst, delay) in triples:
            check.fail(here, f"({src}, {dst}, delay {delay}) appears twice")
        triples.add((src, dst, delay))
        weights = check.string(obj["weights"], f"{here}.weights")
        if not weights:
            check.fail(f"{here}.weights", "must not be empty")
        if weights in weight_keys:
            check.fail(f"{here}.weights", f"{json.dumps(weights)} is used by an earlier projection")
        if weights in layer_keys:
            check.fail(f"{here}.weights", f"{json.dumps(weights)} collides with a per-layer array")
        weight_keys.add(weights)
        projections.append(Projection(src, dst, delay, weights))
    return tuple(projections)


def _parse_classes(check: _Checker, value: Any, output: Layer) -> tuple[str, ...]:
    """The ``classes`` array: unique strings, one per neuron of the output layer."""
    classes = check.array(value, "classes")
    for k, name in enumerate(classes):
        check.string(name, f"classes[{k}]")
        if name in classes[:k]:
            check.fail(f"classes[{k}]", f"{json.dumps(name)} appears twice")
    if len(classes) != output.size:
        check.fail("classes", f"has {len(classes)} names but the output layer "
                              f"{json.dumps(output.name)} has {output.size} neurons")
    return tuple(classes)


# --- array validation ---------------------------------------------------------------------
def expected_arrays(bundle: Bundle) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every array a bundle must hold: key → (shape, kind)."""
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    for layer in bundle.layers:
        for kind in LAYER_PARAMS:
            expected[f"{layer.name}.{kind}"] = ((layer.size,), kind)
    for p in bundle.projections:
        expected[p.weights] = ((bundle.size_of(p.dst), bundle.size_of(p.src)), "weight")
    return expected


def check_arrays(bundle: Bundle, arrays: Mapping[str, Any], where: str) -> dict[str, np.ndarray]:
    """Validate key set, dtypes, shapes and §4 ranges; return the arrays as int64."""
    check = _Checker(where)
    expected = expected_arrays(bundle)
    for key in arrays:
        if key not in expected:
            check.fail(key, "is not an array this bundle's manifest asks for")
    out: dict[str, np.ndarray] = {}
    for key, (shape, kind) in expected.items():
        if key not in arrays:
            check.fail(key, "is missing")
        array = np.asarray(arrays[key])
        if array.dtype == np.bool_ or array.dtype.kind not in "iu":
            check.fail(key, f"dtype {array.dtype} is not an integer type")
        if array.shape != shape:
            check.fail(key, f"shape {array.shape} should be {shape}")
        lo, hi = bundle.fixed_point.range_of(kind)
        bad = np.flatnonzero((array < lo) | (array > hi))
        if bad.size:
            index = np.unravel_index(bad[0], shape)
            label = f"{key}[{', '.join(str(int(i)) for i in index)}]"
            check.fail(label, f"{int(array[index])} is outside [{lo}, {hi}]")
        out[key] = array.astype(np.int64)
    return out


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Load and fully validate the bundle directory at ``path``."""
    root = Path(path)
    manifest_path, arrays_path = root / MANIFEST, root / ARRAYS
    if not root.exists():
        raise ScsrError(root, "", "does not exist (a bundle is a directory with "
                                  "manifest.json and arrays.npz)")
    if not root.is_dir():
        raise ScsrError(root, "", "is not a bundle directory (expected manifest.json and "
                                  "arrays.npz inside)")
    for required in (manifest_path, arrays_path):
        if not required.is_file():
            raise ScsrError(required, "", "is missing")
    bundle, digest = parse_manifest(manifest_path.read_bytes(), str(manifest_path))
    data = arrays_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ScsrError(manifest_path, "arrays_sha256",
                        f"{digest[:12]}… does not match arrays.npz (its sha256 is {actual[:12]}…)")
    arrays = check_arrays(bundle, read_npz(data, str(arrays_path)), str(arrays_path))
    return dataclasses.replace(bundle, arrays=arrays)


def array_dtype(kind: str, fixed_point: FixedPoint) -> np.dtype:
    """The smallest integer dtype that holds an array kind (keeps bundles small)."""
    lo, hi = fixed_point.range_of(kind)
    return np.result_type(np.min_scalar_type(lo), np.min_scalar_type(hi))


def save_bundle(bundle: Bundle, path: str | os.PathLike[str]) -> Path:
    """Validate ``bundle`` and write it atomically as the directory ``path``.

    An existing directory is replaced only if it holds nothing but a bundle's files, so a
    typo in ``--out`` cannot wipe unrelated work.
    """
    root = Path(path)
    if root.exists():
        if not root.is_dir():
            raise ScsrError(root, "", "exists and is not a directory")
        strangers = sorted(p.name for p in root.iterdir() if p.name not in (MANIFEST, ARRAYS))
        if strangers:
            raise ScsrError(root, "", f"exists and holds other files ({', '.join(strangers[:3])}); "
                                      "refusing to replace it")
    where = str(root / ARRAYS)
    arrays = check_arrays(bundle, bundle.arrays, where)
    kinds = {key: kind for key, (_, kind) in expected_arrays(bundle).items()}
    stored = {key: arrays[key].astype(array_dtype(kinds[key], bundle.fixed_point))
              for key in arrays}
    data = npz_bytes(stored)
    manifest = bundle.manifest(hashlib.sha256(data).hexdigest())
    text = json.dumps(manifest, indent=2) + "\n"
    parse_manifest(text, str(root / MANIFEST))  # the writer obeys the reader's rules
    with atomic_directory(root) as tmp:
        (tmp / ARRAYS).write_bytes(data)
        (tmp / MANIFEST).write_text(text)
    return root
