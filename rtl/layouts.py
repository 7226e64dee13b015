"""Stream payload layouts shared by the cores, the router and the testbench decoders."""

from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from .config import CoreConfig, NetConfig, bits_for


def event_layout(index_bits: int) -> data.StructLayout:
    """A spike event between cores: source neuron ``index``, or an end-of-timestep marker
    (``eot``) whose ``last`` flag closes a sample."""
    return data.StructLayout({"index": unsigned(index_bits), "eot": 1, "last": 1})


def row_layout(cfg: CoreConfig) -> data.StructLayout:
    """What the router hands a core: a weight-memory ``row``, or the end of a timestep with
    ``first`` (state starts from 0) and ``last`` (close the sample) flags."""
    return data.StructLayout({"row": unsigned(cfg.row_bits), "eot": 1, "first": 1, "last": 1})


def trace_layout(cfg: CoreConfig) -> data.StructLayout:
    """Simulation readback of one updated word: ``I``, ``V`` (after reset) and spikes of
    lanes ``word·P …``, and the core's busy cycles so far in this timestep."""
    fp = cfg.fixed_point
    return data.StructLayout({
        "word": unsigned(bits_for(cfg.words)),
        "i": data.ArrayLayout(signed(fp.state_bits), cfg.lanes),
        "v": data.ArrayLayout(signed(fp.state_bits), cfg.lanes),
        "s": unsigned(cfg.lanes),
        "cycles": unsigned(cfg.cycle_bits),
    })


def param_layout(cfg: CoreConfig) -> data.StructLayout:
    """One lane's per-neuron parameters (:attr:`CoreConfig.param_fields`, §4 widths)."""
    return data.StructLayout({name: signed(bits) if is_signed else unsigned(bits)
                              for name, (bits, is_signed) in cfg.param_fields.items()})


def result_layout(net: NetConfig) -> data.StructLayout:
    """The network's output stream: ``K`` counts in class order, then the prediction
    (``pred = 1``, value = class index)."""
    width = max(net.count_bits, bits_for(net.bundle.output.size))
    return data.StructLayout({"value": unsigned(width), "pred": 1})


def input_layout(net: NetConfig) -> data.StructLayout:
    """The network's input stream: input channel events, each timestep closed by ``eot``."""
    return event_layout(bits_for(net.bundle.channels))
