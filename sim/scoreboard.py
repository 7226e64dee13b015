"""Stimulus and scoreboard shared by the Amaranth-simulator tests and the cocotb testbench.

Plain Python over transactions (:mod:`sim.transactions`): the stimulus is a list of input
:class:`SpikeEvent`, and the scoreboard turns trace and result beats back into the arrays
of design §6, which :func:`golden_model.compare.locate` holds against the golden model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden_model import SimResult, predict
from rtl.config import CoreConfig, NetConfig
from rtl.layouts import input_layout, result_layout, trace_layout

from .transactions import Codec, ResultBeat, SpikeEvent, TraceBeat

#: When a run is asked to stall: the chance of an idle cycle before each input beat, and
#: of ``ready`` being high on the result stream in a cycle (both simulators' benches).
GAP_CHANCE = 0.3
READY_CHANCE = 0.6


def input_events(spikes: np.ndarray) -> list[SpikeEvent]:
    """The input stream of a batch ``(B, T, C)``: per timestep the spiking channels in
    ascending order, then ``eot`` (with ``last`` on each sample's final timestep)."""
    events = []
    for sample in np.asarray(spikes):
        steps = len(sample)
        for t, row in enumerate(sample):
            events += [SpikeEvent(int(j)) for j in np.flatnonzero(row)]
            events.append(SpikeEvent(eot=True, last=t == steps - 1))
    return events


def input_beats(net: NetConfig, spikes: np.ndarray) -> list[int]:
    """:func:`input_events` packed as the network's ``i_events`` payload."""
    codec = Codec(input_layout(net), SpikeEvent)
    return [codec.pack(event) for event in input_events(spikes)]


@dataclass
class _LayerTrace:
    cfg: CoreConfig
    i: np.ndarray
    v: np.ndarray
    s: np.ndarray
    cycles: np.ndarray
    beats: int = 0


@dataclass
class Scoreboard:
    """Collects one network's trace and result beats for a batch of ``(B, T)`` samples."""

    net: NetConfig
    batch: int
    steps: int
    layers: dict[str, _LayerTrace] = field(init=False)
    results: list[ResultBeat] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        shape = (self.batch, self.steps)
        self.layers = {c.name: _LayerTrace(
            c, *(np.zeros((*shape, c.words * c.lanes), np.int32) for _ in range(2)),
            np.zeros((*shape, c.words * c.lanes), np.uint8), np.zeros(shape, np.int64))
            for c in self.net.cores}
        self.trace_codecs = {c.name: Codec(trace_layout(c), TraceBeat) for c in self.net.cores}
        self.result_codec = Codec(result_layout(self.net), ResultBeat)

    # --- recording ----------------------------------------------------------------------
    def trace(self, layer: str, beat: TraceBeat) -> None:
        """Record one trace beat of ``layer``: words arrive in order, timestep by timestep."""
        rec = self.layers[layer]
        cfg = rec.cfg
        sample, rest = divmod(rec.beats, self.steps * cfg.words)
        t, word = divmod(rest, cfg.words)
        if sample >= self.batch:
            raise AssertionError(f"{layer}: more trace beats than {self.batch} samples")
        if beat.word != word:
            raise AssertionError(f"{layer}: trace word {beat.word} where {word} was due")
        lanes = slice(word * cfg.lanes, (word + 1) * cfg.lanes)
        rec.i[sample, t, lanes] = beat.i
        rec.v[sample, t, lanes] = beat.v
        rec.s[sample, t, lanes] = [beat.s >> p & 1 for p in range(cfg.lanes)]
        if word == cfg.words - 1:
            rec.cycles[sample, t] = beat.cycles + 1
        rec.beats += 1

    def result(self, beat: ResultBeat) -> None:
        """Record one result beat (a count, or the prediction)."""
        self.results.append(beat)

    # --- progress and output ---------------------------------------------------------------
    def timesteps_done(self) -> dict[str, int]:
        """Per layer, how many timesteps (over the whole batch) it has finished."""
        return {name: rec.beats // rec.cfg.words for name, rec in self.layers.items()}

    def complete(self) -> bool:
        per_sample = self.net.bundle.output.size + 1
        return (len(self.results) == self.batch * per_sample
                and all(done == self.batch * self.steps
                        for done in self.timesteps_done().values()))

    def sim_result(self, trace: bool) -> tuple[SimResult, np.ndarray]:
        """The §6 arrays the hardware produced, and its prediction as it streamed it.

        Returns the :class:`SimResult` (counts and, if ``trace``, traces cut to layer
        sizes) and the hardware's own ``pred`` (compared by the caller with §4's argmax).
        """
        k = self.net.bundle.output.size
        beats = np.array([(b.value, b.pred) for b in self.results], np.int64).reshape(
            self.batch, k + 1, 2)
        counts = beats[:, :k, 0].astype(np.int32)
        hw_pred = beats[:, k, 0].astype(np.int32)
        if beats[:, :k, 1].any() or not beats[:, k, 1].all():
            raise AssertionError("result stream out of order: counts and pred interleaved")
        spikes, i, v = {}, {}, {}
        if trace:
            for name, rec in self.layers.items():
                n = rec.cfg.size
                spikes[name] = np.ascontiguousarray(rec.s[:, :, :n])
                i[name] = np.ascontiguousarray(rec.i[:, :, :n])
                v[name] = np.ascontiguousarray(rec.v[:, :, :n])
        return SimResult(counts, predict(counts), spikes, i, v), hw_pred

    def cycles(self) -> dict[str, np.ndarray]:
        """Per layer, the busy cycles of each timestep ``(B, T)``."""
        return {name: rec.cycles for name, rec in self.layers.items()}


__all__ = ["GAP_CHANCE", "READY_CHANCE", "Scoreboard", "input_beats", "input_events"]
