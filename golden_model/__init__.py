"""Bit-exact numpy reference of ScSr-SNNs: fixed-point rules, bundles, simulator.

This package is the bottom of the project: it imports numpy and nothing else of ours, so
anything (the torch path, the RTL generator, outside checkers) can depend on it.
"""

from .bundle import Bundle, Layer, Projection, load_bundle, save_bundle
from .errors import ScsrError
from .fixed import FixedPoint
from .neuron import LayerParams, LayerState, accumulate, update
from .npzio import save_npz
from .simulate import SimResult, predict, simulate
from .spikes import load_spikes

__all__ = [
    "Bundle", "FixedPoint", "Layer", "LayerParams", "LayerState", "Projection", "ScsrError",
    "SimResult", "accumulate", "load_bundle", "load_spikes", "predict", "save_bundle",
    "save_npz", "simulate", "update",
]
__version__ = "0.1.0"
