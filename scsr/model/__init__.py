"""Torch model of ScSr-SNNs: neurons, projections, network, presets, quantisation (QAT)."""

from .network import ModelConfig, NetOutput, ScsrNet
from .neurons import LIFLayer
from .presets import PRESETS, preset
from .scan import LIFState, NeuronParams, ScanMode, fused_scan, lif_step, reference_scan

__all__ = [
    "PRESETS", "LIFLayer", "LIFState", "ModelConfig", "NetOutput", "NeuronParams", "ScanMode",
    "ScsrNet", "fused_scan", "lif_step", "preset", "reference_scan",
]
