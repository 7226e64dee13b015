"""Hardware parameters derived from a bundle: everything the generator needs, computed once.

Nothing here imports Amaranth, so reports, the cosim driver and error messages can use the
same numbers without building any hardware. Every width is derived from the bundle's
:class:`~golden_model.fixed.FixedPoint`, a memory's depth or the topology, never typed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from golden_model.bundle import INPUT, Bundle
from golden_model.errors import ScsrError
from golden_model.fixed import FixedPoint

from .protocol import Shape, pack_words

#: Widths of counts (and of the cosim driver's sample length limit): counts are exact up to
#: ``2^COUNT_BITS - 1`` timesteps per sample.
COUNT_BITS = 16
#: The largest lane count the generator accepts (a weight word is ``P · Bw`` bits wide).
MAX_LANES = 64
#: The largest address space of one memory the generator accepts (2^20 words).
MAX_ADDRESS_BITS = 20


def bits_for(count: int) -> int:
    """Unsigned bits needed to hold every value in ``range(count)`` (at least 1)."""
    return max(1, (count - 1).bit_length())


def accumulator_bits(fp: FixedPoint, fan_in: int) -> int:
    """Signed width of a lane's accumulator, so that §4's exact sum always fits.

    Spikes are 0/1, so ``|acc| ≤ fan_in · 2^(Bw-1)``; phase 2 adds ``w_self`` (``≤ 2^(Bw-1)``
    in magnitude), so the worst case is ``(fan_in + 1) · 2^(Bw-1)``. A signed width holds it
    when ``(fan_in + 1) · 2^(Bw-1) ≤ 2^(bits-1) - 1``, i.e. ``bits = bitlen(bound) + 1``.
    """
    bound = (fan_in + 1) * -fp.w_min
    return bound.bit_length() + 1


def decay_operands(fp: FixedPoint) -> tuple[int, int]:
    """Signed widths of the two operands of each ``decay`` multiply ``x·d`` (§4): the state
    ``x`` (``state_bits``) and the unsigned ``decay_bits`` factor ``d`` (``alpha_q`` or
    ``beta_q``), one bit wider as a signed operand. The product is their sum wide."""
    return fp.state_bits, fp.decay_bits + 1


@dataclass(frozen=True)
class Source:
    """One stream into a layer core: ``input`` or a layer, read with a delay.

    ``row_offset`` is where this source's rows start in the core's weight memory; ``frame``
    marks the input stream every core reads for timestep framing even without weights.
    """

    name: str
    delay: int
    size: int
    row_offset: int
    weighted: bool
    weights: str | None

    @property
    def event_bits(self) -> int:
        """Width of one event of this source (its neuron ``index``, ``eot``, ``last``)."""
        return bits_for(self.size) + 2

    @property
    def fifo_depth(self) -> int:
        """Whole timesteps of events plus their end-of-timestep markers, so no producer can
        block on a consumer that waits for another source (no deadlock, see architecture):
        one frame for ``delay = 0``; two for ``delay = 1``, whose consumer reads frame
        ``t - 1`` while an upstream producer may already have to deliver frame ``t``."""
        return (self.delay + 1) * (self.size + 1) if self.weighted else 2


@dataclass(frozen=True)
class CoreConfig:
    """What one layer core is built from.

    Attributes
    ----------
    name, size : layer name and neuron count ``N``.
    lanes : ``P``; ``words = ceil(N / P)`` memory words hold the layer's neurons.
    sources : the streams this core reads, ``input`` (delay 0, framing) first.
    rows : weight-memory rows, one per presynaptic source neuron over all projections.
    acc_bits : signed accumulator width per lane (:func:`accumulator_bits`).
    """

    name: str
    size: int
    lanes: int
    fixed_point: FixedPoint
    sources: tuple[Source, ...]
    acc_bits: int
    pipeline: str = "deep"

    @property
    def words(self) -> int:
        return math.ceil(self.size / self.lanes)

    @property
    def live_lanes(self) -> int:
        """Lanes that hold a neuron in some word: all ``P`` unless the layer is narrower
        than ``P`` (one word). The others get no datapath: they would cost two multipliers
        each for nothing, and their constant-zero registers made Yosys 0.70's abc9 fail an
        assertion (``docs/hardware.md``)."""
        return min(self.lanes, self.size)

    @property
    def rows(self) -> int:
        return sum(s.size for s in self.sources if s.weighted)

    @property
    def weight_depth(self) -> int:
        return max(1, self.rows) * self.words

    @property
    def row_bits(self) -> int:
        return bits_for(max(1, self.rows))

    @property
    def index_bits(self) -> int:
        """Width of this core's outgoing event index (its neuron number)."""
        return bits_for(self.size)

    @property
    def cycle_bits(self) -> int:
        """Width of the per-timestep busy-cycle counter: room for 8× the worst bound."""
        return bits_for(8 * (self.rows + 2) * self.words + 64)

    @property
    def param_fields(self) -> dict[str, tuple[int, bool]]:
        """One lane's per-neuron parameters as ``name: (bits, signed)``, in word order
        (§4 widths): ``alpha_q``, ``beta_q`` (``decay_bits``), ``theta_q``, ``w_self``
        (``weight_bits``, signed)."""
        fp = self.fixed_point
        return {"alpha_q": (fp.decay_bits, False), "beta_q": (fp.decay_bits, False),
                "theta_q": (fp.bits_of("theta"), False), "w_self": (fp.weight_bits, True)}

    @property
    def param_bits(self) -> int:
        """Bits of one lane's parameters (a parameter word holds ``P`` of them)."""
        return sum(bits for bits, _ in self.param_fields.values())

    @property
    def product_bits(self) -> int:
        """Signed width of a ``decay`` product ``x·d`` (:func:`decay_operands`)."""
        return sum(decay_operands(self.fixed_point))

    @property
    def spike_queue_depth(self) -> int:
        """Entries of the queue between phase 2 and the emitter: two timesteps of words (a
        timestep's update starts once one timestep's worth, ``words + 1``, is free)."""
        return 2 * (self.words + 1)

    @property
    def spike_queue_bits(self) -> int:
        """Width of one queue entry: word number, the word's ``P`` spike bits, eot, last."""
        return bits_for(self.words) + self.lanes + 2

    @property
    def update_stages(self) -> int:
        """Phase 2's stages from the memory read to the write-back (:data:`UPDATE_STAGES`)."""
        return UPDATE_STAGES[self.pipeline]

    @property
    def fixed_latency(self) -> int:
        """Cycles a timestep costs beyond ``(E_in + 1) · words``: the end-of-timestep
        handshake, the drain of the update pipeline and, after events, of the add pipeline
        (8 with the ``short`` pipeline, 11 with ``deep``)."""
        return 1 + self.update_stages + ADD_STAGES

    def lower_bound(self, events_in: int) -> int:
        """Cycle lower bound of one timestep (design §7): ``(E_in + 1) · ceil(N/P)``."""
        return (events_in + 1) * self.words

    def memory_shapes(self) -> dict[str, tuple[int, int]]:
        """``(depth, width)`` of each memory of this core as the generator builds it: a word
        holds ``P`` lanes of weights, parameters, state (``I`` and ``V``), accumulators or
        spike bits; the spike queue holds :attr:`spike_queue_bits` entries."""
        fp, lanes, words = self.fixed_point, self.lanes, self.words
        return {
            "weights": (self.weight_depth, lanes * fp.weight_bits),
            "params": (words, lanes * self.param_bits),
            "state": (words, lanes * 2 * fp.state_bits),
            "acc": (words, lanes * self.acc_bits),
            "spikes": (words, lanes),
            "spike_queue": (self.spike_queue_depth, self.spike_queue_bits),
        }

    def memory_bits(self) -> dict[str, int]:
        """Bits of each memory kind of this core (:meth:`memory_shapes`, and the router's
        source FIFOs)."""
        bits = {kind: depth * width for kind, (depth, width) in self.memory_shapes().items()}
        bits["fifos"] = sum(s.fifo_depth * s.event_bits for s in self.sources)
        return bits

    # --- memory contents ------------------------------------------------------------------
    def weight_words(self, bundle: Bundle) -> list[list[int]]:
        """Per weight-memory word, the ``P`` lane values (0 in the padding lanes)."""
        n, p, words = self.size, self.lanes, self.words
        out = []
        for src in sorted(self.sources, key=lambda s: s.row_offset):
            if not src.weighted:
                continue
            w = np.zeros((words * p, src.size), np.int64)
            w[:n] = np.asarray(bundle.arrays[src.weights], np.int64)
            for j in range(src.size):
                column = w[:, j]
                out += [column[k * p:(k + 1) * p].tolist() for k in range(words)]
        return out or [[0] * p]

    def packed_words(self, bundle: Bundle, kind: str) -> list[int]:
        """Memory ``kind`` (``weights`` or ``params``) as the integers the hardware stores,
        lane 0 in the low bits; a parameter lane holds :attr:`param_fields` in order, the
        first in the low bits (the bit order of Amaranth's array and struct layouts)."""
        if kind == "weights":
            bits = [self.fixed_point.weight_bits] * self.lanes
            return [pack_fields(word, bits) for word in self.weight_words(bundle)]
        names = {"alpha": "alpha_q", "beta": "beta_q", "theta": "theta_q", "w_self": "w_self"}
        columns = [self.param_lanes(bundle, kind) for kind in names]
        bits = [self.param_fields[field][0] for field in names.values()] * self.lanes
        return [pack_fields([col[w][p] for p in range(self.lanes) for col in columns], bits)
                for w in range(self.words)]

    def param_lanes(self, bundle: Bundle, kind: str) -> list[list[int]]:
        """Per word, the ``P`` lane values of a per-neuron array (``theta`` pads with the
        largest threshold so padding lanes never fire; the rest pad with 0)."""
        pad = self.fixed_point.theta_max if kind == "theta" else 0
        values = np.full(self.words * self.lanes, pad, np.int64)
        values[:self.size] = np.asarray(bundle.param(self.name, kind), np.int64)
        return values.reshape(self.words, self.lanes).tolist()


def pack_fields(values: list[int], bits: list[int]) -> int:
    """Concatenate two's-complement fields, the first in the low bits."""
    word, shift = 0, 0
    for value, width in zip(values, bits, strict=True):
        word |= (int(value) & ((1 << width) - 1)) << shift
        shift += width
    return word


#: The memories of each core that a loadable design writes at run time, in image order.
LOADED_KINDS = ("weights", "params")


@dataclass(frozen=True)
class NetConfig:
    """A whole network's hardware parameters, one :class:`CoreConfig` per layer.

    ``loadable``: the weight and parameter memories get a write port and the board top a
    LOAD command (``docs/hardware.md``); ``preload``: they start with the bundle's
    contents (else zeroed, and the board holds no model until its first load).
    """

    bundle: Bundle
    lanes: int
    cores: tuple[CoreConfig, ...]
    count_bits: int = COUNT_BITS
    loadable: bool = False
    preload: bool = True
    pipeline: str = "deep"

    @classmethod
    def from_bundle(cls, bundle: Bundle, lanes: int, where: str = "<bundle>",
                    loadable: bool = False, preload: bool = True, *,
                    pipeline: str = "deep") -> NetConfig:
        """Plan the cores; :class:`ScsrError` if the generator cannot build this bundle."""
        if not 1 <= lanes <= MAX_LANES:
            raise ScsrError("--lanes", "", f"{lanes} is outside [1, {MAX_LANES}]")
        if pipeline not in UPDATE_STAGES:
            raise ScsrError("--pipeline", pipeline,
                            f"unknown pipeline (choose from {', '.join(UPDATE_STAGES)})")
        cores = []
        for layer in bundle.layers:
            sources = [Source(INPUT, 0, bundle.channels, 0, False, None)]
            offset = 0
            for p in bundle.incoming(layer.name):
                size = bundle.size_of(p.src)
                if p.src == INPUT and p.delay == 0:
                    sources[0] = Source(INPUT, 0, size, offset, True, p.weights)
                else:
                    sources.append(Source(p.src, p.delay, size, offset, True, p.weights))
                offset += size
            # Drained in the order their frames complete: the input (framing) first, then
            # delay-0 sources upstream first (an earlier layer finishes a timestep sooner),
            # then delay-1 sources. Row offsets keep manifest order.
            sources[1:] = sorted(sources[1:], key=lambda s: (s.delay,
                                                             bundle.layer_index(s.name)))
            fan_in = sum(s.size for s in sources if s.weighted)
            core = CoreConfig(layer.name, layer.size, lanes, bundle.fixed_point, tuple(sources),
                              accumulator_bits(bundle.fixed_point, fan_in), pipeline)
            if bits_for(core.weight_depth) > MAX_ADDRESS_BITS:
                raise ScsrError(where, f"layers[{bundle.layer_index(layer.name)}]",
                                f"{layer.name!r} needs {core.weight_depth} weight words "
                                f"({core.rows} rows x {core.words} words at {lanes} lanes), "
                                f"more than the {1 << MAX_ADDRESS_BITS} one memory may address; "
                                "use more lanes")
            cores.append(core)
        return cls(bundle, lanes, tuple(cores), loadable=loadable, preload=preload,
                   pipeline=pipeline)

    def core(self, name: str) -> CoreConfig:
        return next(c for c in self.cores if c.name == name)

    # --- run-time loading ----------------------------------------------------------------
    def load_memories(self) -> list[tuple[CoreConfig, str, int, int]]:
        """``(core, kind, depth, width)`` of every memory a LOAD writes, in image order:
        per layer in manifest order, its weights then its parameters."""
        return [(core, kind, *core.memory_shapes()[kind])
                for core in self.cores for kind in LOADED_KINDS]

    @property
    def image_bytes(self) -> int:
        """Length of the LOAD image (each word ``ceil(width/8)`` bytes)."""
        return sum(depth * ((width + 7) // 8) for _, _, depth, width in self.load_memories())

    def load_image(self) -> bytes:
        """The LOAD image of this network's bundle (:func:`rtl.protocol.pack_words`)."""
        return b"".join(pack_words(core.packed_words(self.bundle, kind), width)
                        for core, kind, _, width in self.load_memories())

    def shape(self) -> Shape:
        """What a loadable design of this network is built for (IDENTIFY describes it)."""
        fp, b = self.bundle.fixed_point, self.bundle
        index = {INPUT: 0} | {layer.name: k + 1 for k, layer in enumerate(b.layers)}
        return Shape(fp.weight_bits, fp.state_bits, fp.decay_bits, self.lanes, b.channels,
                     tuple(layer.size for layer in b.layers),
                     tuple((index[p.src], index[p.dst], p.delay) for p in b.projections))

    @property
    def max_steps(self) -> int:
        """Longest sample (timesteps) whose counts the readout holds exactly."""
        return (1 << self.count_bits) - 1

    def consumers(self, producer: str) -> list[tuple[str, int]]:
        """``(core name, source position)`` of every FIFO fed by ``producer``."""
        return [(c.name, k) for c in self.cores for k, s in enumerate(c.sources)
                if s.name == producer]

    def report(self) -> dict:
        """The JSON report of ``scsr rtl``: memory bits per kind, lanes, widths, bound."""
        kinds: dict[str, int] = {}
        for c in self.cores:
            for kind, bits in c.memory_bits().items():
                kinds[kind] = kinds.get(kind, 0) + bits
        return {
            "fixed_point": self.bundle.fixed_point.as_dict(),
            "lanes": self.lanes,
            "count_bits": self.count_bits,
            "memory_bits": kinds,
            "memory_bits_total": sum(kinds.values()),
            "layers": [{
                "name": c.name, "size": c.size, "lanes": c.lanes, "words": c.words,
                "rows": c.rows, "acc_bits": c.acc_bits,
                "sources": [{"src": s.name, "delay": s.delay, "weighted": s.weighted,
                             "row_offset": s.row_offset, "fifo_depth": s.fifo_depth}
                            for s in c.sources],
                "memory_bits": c.memory_bits(),
            } for c in self.cores],
            "cycle_lower_bound": "(E_in + 1) * ceil(N / P) cycles per layer per timestep, "
                                 "E_in = events into the layer in that timestep",
            "pipeline": self.pipeline,
            "fixed_latency_per_timestep": self.cores[0].fixed_latency,
        } | ({"loadable": {"preload": self.preload, "image_bytes": self.image_bytes}}
             if self.loadable else {})


#: Phase 2's pipelines, by name: stages from the memory read to the write-back.
#: ``short`` (5): memory data, decay products and ``acc + w_self``, ``I``, ``v``, threshold
#: into the write-back; the fewest flip-flops, for parts where each costs a logic cell (the
#: iCE40 at 30 MHz). ``deep`` (8): also a copy stage on either side of each multiply and a
#: registered threshold, for 100 MHz on the ECP5 at every lane count. Both compute the same
#: §4 integers; ``docs/architecture.md``.
UPDATE_STAGES = {"short": 5, "deep": 8}
#: Pipeline stages of phase 1 after the issue (registered read data, add and write).
ADD_STAGES = 2
