"""Small bundles and inputs covering the awkward cases, shared by the RTL and cosim tests."""

from __future__ import annotations

import dataclasses

import numpy as np

from golden_model import Bundle, FixedPoint, Projection
from golden_model.bundle import check_arrays
from golden_model.random_bundle import RandomSpec, random_bundle


def random_net(layers: tuple[int, ...], bits: tuple[int, int, int], seed: int = 0,
               inputs: int = 7, all_kinds: bool = True) -> Bundle:
    """A calibrated random bundle with skip, self, dense recurrent and feedback projections."""
    return random_bundle(RandomSpec(inputs=inputs, layers=layers, fixed_point=FixedPoint(*bits),
                                    seed=seed, skip=all_kinds, self_recurrent=all_kinds,
                                    recurrent=all_kinds, feedback=all_kinds, timesteps=16))


def skip_net(layers: tuple[int, ...], bits: tuple[int, int, int], seed: int = 0,
             inputs: int = 7) -> Bundle:
    """Feed-forward plus skips only (all ``delay = 0``): the last layer drains the input
    framing and two or more layer sources every timestep."""
    return random_bundle(RandomSpec(inputs=inputs, layers=layers, fixed_point=FixedPoint(*bits),
                                    seed=seed, skip=True, timesteps=16))


def saturating(bundle: Bundle) -> Bundle:
    """Every weight at an extreme and some thresholds at ``theta_max``: ``I`` and ``V``
    saturate (use with ``weight_bits > state_bits``)."""
    fp = bundle.fixed_point
    arrays = dict(bundle.arrays)
    rng = np.random.default_rng(7)
    for p in bundle.projections:
        arrays[p.weights] = np.where(rng.random(arrays[p.weights].shape) < 0.6, fp.w_max,
                                     fp.w_min).astype(np.int64)
    for layer in bundle.layers:
        theta = np.array(arrays[f"{layer.name}.theta"], np.int64)
        theta[::2] = fp.theta_max
        arrays[f"{layer.name}.theta"] = theta
    return dataclasses.replace(bundle, arrays=check_arrays(bundle, arrays, "<saturating>"))


def with_delayed_input(bundle: Bundle, seed: int = 3) -> Bundle:
    """Add an ``input → <output>`` projection with ``delay = 1``."""
    fp, out = bundle.fixed_point, bundle.output
    rng = np.random.default_rng(seed)
    projection = Projection("input", out.name, 1, f"input->{out.name}@1")
    arrays = dict(bundle.arrays)
    arrays[projection.weights] = rng.integers(fp.w_min, fp.w_max + 1,
                                              (out.size, bundle.channels))
    grown = dataclasses.replace(bundle, projections=(*bundle.projections, projection))
    return dataclasses.replace(grown, arrays=check_arrays(grown, arrays, "<delayed input>"))


def stimulus(channels: int, batch: int = 2, steps: int = 12, seed: int = 0) -> np.ndarray:
    """Bernoulli input with an empty timestep and a burst where every channel spikes."""
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, steps, channels)) < 0.25).astype(np.uint8)
    x[:, 2] = 0
    x[:, 4] = 1
    return x


#: (name, bundle factory, lanes): every projection kind, widths at their extremes,
#: P ∈ {1, 2, 4, 8}, layer sizes that are not multiples of P, N < P, saturation.
REGRESSION = [
    ("all_kinds_narrow_p1", lambda: random_net((10, 8, 4), (2, 8, 1)), 1),
    ("all_kinds_wide_p8", lambda: random_net((12, 9, 5), (16, 32, 16)), 8),
    ("saturating_p2", lambda: saturating(random_net((9, 7, 3), (16, 8, 4))), 2),
    ("delayed_input_p4", lambda: with_delayed_input(random_net((13, 6), (2, 32, 16))), 4),
    ("single_layer_p8", lambda: random_net((5,), (8, 16, 8), all_kinds=False), 8),
]
