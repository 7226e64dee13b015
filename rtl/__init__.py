"""Amaranth hardware for ScSr-SNN bundles: layer cores, skip routing, network top.

Imports only :mod:`golden_model` and Amaranth (design §2). The cost model and widths live
in :mod:`rtl.config`, which does not import Amaranth.
"""

from .config import CoreConfig, NetConfig, Source, accumulator_bits

__all__ = ["CoreConfig", "NetConfig", "Source", "accumulator_bits"]
