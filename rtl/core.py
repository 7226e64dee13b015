"""The layer core: one layer's neurons, ``P`` lanes wide, in two phases per timestep.

Phase 1 (events) adds one weight-memory word per clock into the accumulators (II = 1)
in three stages (read, register, add and write); the sums of the two adds still in flight
when a word is read are forwarded, so back-to-back events on the same word see each
other's sums. Phase 2 (update) decays, saturates, thresholds and
resets one word of ``P`` neurons per clock (II = 1) in a pipeline of ``update_stages``
stages, so that no clock period holds more than one multiply or one add-and-saturate.
A separate emitter serialises the spikes of the finished timestep while phase 1 of the
next one already runs.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden_model.bundle import Bundle

from .config import ADD_STAGES, CoreConfig, bits_for
from .fifo import RegisteredFIFO
from .layouts import event_layout, param_layout, row_layout, trace_layout


def times(x: Value, k: int) -> Value:
    """``x · k`` for a constant ``k ≥ 1`` as a sum of shifts, one term per set bit of
    ``k``: Yosys would put a constant product on a DSP, whose ~4 ns plus routing do not
    fit behind the router's handshake in a 10 ns clock (a power of two is wiring)."""
    width = len(x) + k.bit_length()
    total = Const(0, width)
    for b in range(k.bit_length()):
        if k >> b & 1:
            total = (total + Cat(Const(0, b), x))[:width]
    return total


def load_signature(cfg: CoreConfig) -> wiring.Signature:
    """A core's load port, as the loader (:class:`~rtl.loader.Loader`) sees it: while
    ``active``, ``addr`` addresses both loaded memories, ``we_weights``/``we_params`` write
    ``data`` (low bits) into one of them, and ``weights``/``params`` are their read data
    (one clock after the address, as in normal operation)."""
    shapes = cfg.memory_shapes()
    width = {kind: shapes[kind][1] for kind in ("weights", "params")}
    return wiring.Signature({
        "active": Out(1), "addr": Out(range(cfg.weight_depth)), "data": Out(max(width.values())),
        "we_weights": Out(1), "we_params": Out(1),
        "weights": In(width["weights"]), "params": In(width["params"]),
    })


class _Datapath:
    """What the phase methods of one :meth:`LayerCore.elaborate` share: memory ports and
    stage registers, set as attributes (so each signal is named after its attribute)."""


class LayerCore(wiring.Component):
    """One layer of ``N`` neurons with ``P`` lanes (``words = ceil(N/P)``).

    Members
    -------
    i_rows : In(stream(row_layout))
        Weight rows to add (one per incoming spike, from the :class:`~rtl.router.SkipRouter`)
        and the end-of-timestep marker with its ``first``/``last`` flags.
    o_events : Out(stream(event_layout))
        This layer's spikes (neuron index), then an ``eot`` marker, per timestep.
    trace : Out(stream(trace_layout))
        Simulation readback: one beat per updated word with ``I``, ``V`` and spikes;
        ``ready`` is ignored (a monitor only watches).
    i_starved : In(1)
        From the router: no row is offered because an upstream layer has not delivered
        yet. Idle cycles spent so are not this core's cost and stay out of ``cycles``.

    Cost: ``E_in · words`` cycles of phase 1, ``words`` of phase 2, plus
    ``cfg.fixed_latency`` cycles of handshake and pipeline drain per timestep
    (``(E_in + 1) · ceil(N/P) + update_stages + 1 + ADD_STAGES``); the emitter overlaps
    the next timestep.

    With ``loadable``, a member ``load`` (:func:`load_signature`) writes the weight and
    parameter memories; it must only be ``active`` while the core is idle (no sample in
    flight), as the board top's loader ensures. ``preload`` (default) starts them with
    the bundle's contents, else zeroed.
    """

    def __init__(self, cfg: CoreConfig, bundle: Bundle, loadable: bool = False,
                 preload: bool = True) -> None:
        self.cfg = cfg
        self._bundle = bundle
        self.loadable = loadable
        self.preload = preload
        members = {
            "i_rows": In(stream.Signature(row_layout(cfg))),
            "o_events": Out(stream.Signature(event_layout(cfg.index_bits))),
            "trace": Out(stream.Signature(trace_layout(cfg))),
            "i_starved": In(1),
        }
        if loadable:
            members["load"] = In(load_signature(cfg))
        super().__init__(members)

    def elaborate(self, platform: object) -> Module:
        """The phases in the order a timestep runs them: phase 1 adds the rows' weights,
        the sequencer closes it and starts phase 2, whose write-back feeds the trace and
        the spike queue that the emitter drains during the next timestep's phase 1."""
        m = Module()
        dp = _Datapath()
        self._memories(m, dp)
        self._stages(m, dp)
        phase = self._sequencer(m, dp)
        closing = dp.wb & (dp.wb_word == self.cfg.words - 1)  # the timestep's last write-back
        self._count_cycles(m, dp.cycles, closing, phase, (dp.busy, dp.s1, dp.s2, *dp.u_valid))
        self._write_back(m, dp, closing)
        self._emitter(m, (dp.queue, dp.head), dp.last)
        return m

    def _memories(self, m: Module, dp: _Datapath) -> None:
        """The core's memories, one ``P``-lane word per address, with synchronous read ports
        (block RAM): weights and parameters (read-only, from the bundle; written through
        ``load`` when loadable), the exact phase-1 accumulators, the state ``I``/``V``, and
        the spikes of ``t - 1`` (for ``w_self``)."""
        cfg, fp = self.cfg, self.cfg.fixed_point
        lanes, words = cfg.lanes, cfg.words
        state_lanes = data.ArrayLayout(signed(fp.state_bits), lanes)
        m.submodules.weights = weights = Memory(
            shape=data.ArrayLayout(signed(fp.weight_bits), lanes), depth=cfg.weight_depth,
            init=cfg.weight_words(self._bundle) if self.preload else [])
        m.submodules.params = params = Memory(
            shape=data.ArrayLayout(param_layout(cfg), lanes), depth=words,
            init=self._param_words() if self.preload else [])
        m.submodules.acc = acc = Memory(
            shape=data.ArrayLayout(signed(cfg.acc_bits), lanes), depth=words, init=[])
        m.submodules.state = state = Memory(
            shape=data.StructLayout({"i": state_lanes, "v": state_lanes}), depth=words, init=[])
        m.submodules.spikes = spikes = Memory(shape=unsigned(lanes), depth=words, init=[])
        dp.weight_r = weights.read_port()
        dp.param_r = params.read_port()
        dp.acc_w = acc.write_port()
        dp.acc_r = acc.read_port()
        dp.state_w = state.write_port()
        dp.state_r = state.read_port()
        dp.spike_w = spikes.write_port()
        dp.spike_prev_r = spikes.read_port()
        if self.loadable:
            self._load_ports(m, dp, weights, params)

    def _load_ports(self, m: Module, dp: _Datapath, weights: Memory, params: Memory) -> None:
        """The write port of each loaded memory, on the address of its (first) read port,
        which :meth:`_address` switches to ``load.addr`` while loading: Yosys can then
        merge the write and the read into one read/write block-RAM port (and the read
        port reads back what was written, for the loader's checksum). The read port holds
        its data while the port writes ("no change"), the only read/write behaviour the
        iCE40 SPRAM has; nothing reads in those cycles."""
        load = self.load
        for kind, memory, read in (("weights", weights, dp.weight_r),
                                   ("params", params, dp.param_r)):
            write = memory.write_port()
            m.d.comb += [write.addr.eq(read.addr), write.en.eq(getattr(load, f"we_{kind}")),
                         read.en.eq(~write.en),
                         write.data.eq(load.data[:len(write.data.as_value())]),
                         getattr(load, kind).eq(read.data)]

    def _address(self, address: Value) -> Value:
        """A loaded memory's read address: ``address``, or the loader's while it loads."""
        return Mux(self.load.active, self.load.addr, address) if self.loadable else address

    def _stages(self, m: Module, dp: _Datapath) -> None:
        """The stage registers of both pipelines (each moves one word per clock, II = 1),
        the spike queue between phase 2 and the emitter, and the memory read addresses:
        the accumulator is read by phase 1's issue stage or, while it runs, phase 2's."""
        cfg = self.cfg
        lanes, words = cfg.lanes, cfg.words
        # --- phase 1: issue stage (busy/base/word), read stage (s1), add stage (s2) --------
        dp.busy = Signal()
        dp.base = Signal(range(cfg.weight_depth))
        dp.word = Signal(range(words))
        dp.issue = Signal()
        dp.s1 = Signal()
        dp.s1_word = Signal(range(words))
        dp.s2 = Signal()
        dp.s2_word = Signal(range(words))
        # --- phase 2: issue stage (u_word), then stages 1 … update_stages (write-back) ----
        dp.u_word = Signal(range(words))
        dp.u_issue = Signal()
        stages = cfg.update_stages
        dp.u_valid = [Signal(name=f"u{k}") for k in range(1, stages + 1)]
        dp.u_words = [Signal(range(words), name=f"u{k}_word")
                      for k in range(1, stages + 1)]
        dp.u1, dp.u1_word = dp.u_valid[0], dp.u_words[0]  # memory data: accumulator cleared
        dp.wb, dp.wb_word = dp.u_valid[-1], dp.u_words[-1]  # write-back: state, spikes, queue
        dp.first = Signal()
        dp.last = Signal()
        words_layout = data.StructLayout({"word": unsigned(bits_for(words)),
                                          "bits": unsigned(lanes), "eot": 1, "last": 1})
        m.submodules.spike_queue = dp.queue = RegisteredFIFO(words_layout.size,
                                                             cfg.spike_queue_depth)
        dp.queued = data.View(words_layout, dp.queue.w_data)
        dp.head = data.View(words_layout, dp.queue.r_data)
        dp.room = Signal()
        m.d.comb += dp.room.eq(dp.queue.level <= words + 1)
        dp.cycles = Signal(trace_layout(cfg)["cycles"].shape)

        m.d.sync += [dp.s1.eq(dp.issue), dp.s1_word.eq(dp.word),
                     dp.s2.eq(dp.s1), dp.s2_word.eq(dp.s1_word)]
        for valid, at, prev_valid, prev_at in zip(dp.u_valid, dp.u_words,
                                                  [dp.u_issue, *dp.u_valid],
                                                  [dp.u_word, *dp.u_words], strict=False):
            m.d.sync += [valid.eq(prev_valid), at.eq(prev_at)]
        m.d.comb += [
            dp.weight_r.addr.eq(self._address(dp.base + dp.word)),
            dp.acc_r.addr.eq(Mux(dp.u_issue, dp.u_word, dp.word)),
            dp.state_r.addr.eq(dp.u_word),
            dp.param_r.addr.eq(self._address(dp.u_word)),
            dp.spike_prev_r.addr.eq(dp.u_word),
        ]

    def _sequencer(self, m: Module, dp: _Datapath) -> object:
        """The phase FSM: ``EVENTS`` issues one row's ``words`` per event until the ``eot``
        row; ``SETTLE`` lets the last add retire and waits for room in the spike queue;
        ``UPDATE`` issues phase 2 word by word; ``DRAIN`` holds the next timestep back until
        the last word is written back. Returns the FSM (the cycle count reads its state)."""
        words, rows = self.cfg.words, self.i_rows
        last_word = dp.word == words - 1
        with m.FSM(name="phase") as phase:
            with m.State("EVENTS"):
                m.d.comb += [rows.ready.eq(~dp.busy | last_word), dp.issue.eq(dp.busy)]
                with m.If(dp.busy):
                    with m.If(last_word):
                        m.d.sync += dp.busy.eq(0)
                    with m.Else():
                        m.d.sync += dp.word.eq(dp.word + 1)
                with m.If(rows.valid & rows.ready):
                    with m.If(rows.payload.eot):
                        m.d.sync += [dp.first.eq(rows.payload.first),
                                     dp.last.eq(rows.payload.last)]
                        m.next = "SETTLE"
                    with m.Else():
                        m.d.sync += [dp.busy.eq(1), dp.word.eq(0),
                                     dp.base.eq(times(rows.payload.row, words))]
            # The last add retires; the spike queue has room for this timestep's words.
            with m.State("SETTLE"):  # noqa: SIM117 (an FSM state, not a context to merge)
                with m.If(~dp.s1 & ~dp.s2 & dp.room):
                    m.next = "UPDATE"
            with m.State("UPDATE"):
                m.d.comb += dp.u_issue.eq(1)
                with m.If(dp.u_word == words - 1):
                    m.d.sync += dp.u_word.eq(0)
                    m.next = "DRAIN"
                with m.Else():
                    m.d.sync += dp.u_word.eq(dp.u_word + 1)
            # Nothing of the next timestep enters before the last word is written back: the
            # next update reads that state, and ``first``/``last`` must not change under it.
            with m.State("DRAIN"):  # noqa: SIM117 (an FSM state, not a context to merge)
                with m.If(dp.u_valid[-2] & (dp.u_words[-2] == words - 1)):
                    m.next = "EVENTS"
        return phase

    def _write_back(self, m: Module, dp: _Datapath, closing: Value) -> None:
        """The last stage of each phase, the two writers of the accumulator memory: phase 1
        writes its sums, phase 2 clears a word as it reads it (``acc = 0`` for ``t + 1``)
        and writes ``I``, ``V`` and the spikes back, queues the words that spiked (and the
        timestep's last, for ``eot``) and shows each word on the trace."""
        lanes, fp = self.cfg.lanes, self.cfg.fixed_point
        new_i = [Signal(signed(fp.state_bits), name=f"new_i{p}") for p in range(lanes)]
        new_v = [Signal(signed(fp.state_bits), name=f"new_v{p}") for p in range(lanes)]
        fired = Signal(lanes)
        sums = self._adder(m, dp.s1_word, (dp.s2, dp.s2_word), dp.acc_r.data, dp.weight_r.data)
        with m.If(dp.s2):
            m.d.comb += [dp.acc_w.addr.eq(dp.s2_word), dp.acc_w.en.eq(1), dp.acc_w.data.eq(sums)]
        with m.Elif(dp.u1):
            m.d.comb += [dp.acc_w.addr.eq(dp.u1_word), dp.acc_w.en.eq(1)]  # data 0: cleared
        queue, queued, state_w, spike_w = dp.queue, dp.queued, dp.state_w, dp.spike_w
        with m.If(dp.wb):
            m.d.comb += [state_w.addr.eq(dp.wb_word), state_w.en.eq(1),
                         spike_w.addr.eq(dp.wb_word), spike_w.en.eq(1), spike_w.data.eq(fired),
                         queue.w_en.eq((fired != 0) | closing), queued.word.eq(dp.wb_word),
                         queued.bits.eq(fired), queued.eot.eq(closing), queued.last.eq(dp.last)]
            for p in range(lanes):
                m.d.comb += [state_w.data.i[p].eq(new_i[p]), state_w.data.v[p].eq(new_v[p])]
        for p in range(self.cfg.live_lanes):  # the other lanes stay 0: no neuron in any word
            self._neuron(m, p, dp.first, dp.acc_r.data[p], dp.state_r.data, dp.param_r.data[p],
                         dp.spike_prev_r.data[p], new_i[p], new_v[p], fired[p])

        trace = self.trace
        m.d.comb += [trace.valid.eq(dp.wb), trace.payload.word.eq(dp.wb_word),
                     trace.payload.s.eq(fired), trace.payload.cycles.eq(dp.cycles)]
        for p in range(lanes):
            m.d.comb += [trace.payload.i[p].eq(new_i[p]), trace.payload.v[p].eq(new_v[p])]

    def _count_cycles(self, m: Module, cycles: Signal, closing: Value, phase: object,
                      in_flight: tuple) -> None:
        """The busy-cycle count of the trace: this core's own cycles in the timestep.

        A cycle counts while work is in flight (issue, the add pipeline, the update
        phase), except between rows when the core waits for upstream (the router says
        ``i_starved``) or takes the row that ends such a wait: the add pipeline's drain
        then overlaps the wait. Those drain cycles are held in ``pending`` and dropped
        when another row follows, or counted when the timestep's ``eot`` comes, so the
        final drain always counts. So the count is ``(E_in + 1) · words`` plus
        ``update_stages + 1``, plus ``ADD_STAGES`` after events, whatever the upstream
        timing; only the router's own idle cycles (dropping a ``delay = 1`` frame of the
        previous sample) would add to it.
        """
        rows = self.i_rows
        events = phase.ongoing("EVENTS")
        busy = in_flight[0]
        working = Cat(*in_flight).any() | ~events
        starved_gap = Signal()  # since the last row the router has waited for upstream
        waiting = events & ~busy & (self.i_starved | (rows.valid & starved_gap))
        pending = Signal(range(ADD_STAGES + 1))
        take = events & rows.valid & rows.ready
        with m.If(take | closing):
            m.d.sync += starved_gap.eq(0)
        with m.Elif(events & self.i_starved):
            m.d.sync += starved_gap.eq(1)
        step = Mux(working & ~waiting, 1, 0)
        with m.If(closing):
            m.d.sync += [cycles.eq(0), pending.eq(0)]
        with m.Elif(take):
            with m.If(rows.payload.eot):  # the wait's drain cycles, this one included
                m.d.sync += cycles.eq(cycles + pending + working)
            with m.Else():
                m.d.sync += cycles.eq(cycles + step)
            m.d.sync += pending.eq(0)
        with m.Elif(working & waiting):
            m.d.sync += pending.eq(pending + 1)
        with m.Else():
            m.d.sync += cycles.eq(cycles + step)

    def _adder(self, m: Module, s1_word: Signal, s2: tuple, acc: object,
               weight: object) -> object:
        """Phase 1's add stage: the registered read data plus the weights, into ``acc``.

        A word read at cycle ``c`` misses the writes of cycles ``c`` and ``c + 1`` (the two
        adds ahead of it). Both are kept (``last1``: written one cycle ago, ``last2``: two)
        with flags, computed a stage early, saying whether they hit this word; the newer
        wins. So a word's running sum is exact for any event pattern, ``words = 1`` too.
        """
        s2_valid, s2_word = s2
        shape = acc.shape()
        acc2 = Signal(shape, name="acc2", reset_less=True)
        weight2 = Signal(weight.shape(), name="weight2", reset_less=True)
        sums = Signal(shape, name="sums")
        last1 = Signal(shape, name="last1", reset_less=True)
        last2 = Signal(shape, name="last2", reset_less=True)
        last1_valid = Signal()
        last1_word = Signal(s2_word.shape())
        hit1, hit2 = Signal(), Signal()
        m.d.sync += [
            acc2.eq(acc), weight2.eq(weight),
            hit1.eq(s2_valid & (s2_word == s1_word)),
            hit2.eq(last1_valid & (last1_word == s1_word)),
            last1.eq(sums), last1_valid.eq(s2_valid), last1_word.eq(s2_word), last2.eq(last1),
        ]
        for p in range(self.cfg.lanes):
            # §4: acc = Σ_{p: dst(p)=l} Σ_j W_p[i,j] · x_src(p)[t - delay(p)][j]; a row: one such j
            base = Mux(hit1, last1[p], Mux(hit2, last2[p], acc2[p]))
            m.d.comb += sums[p].eq(base + weight2[p])
        return sums

    def _neuron(self, m: Module, p: int, first: Signal, acc: object, st: object, prm: object,
                s_prev: object, new_i: Signal, new_v: Signal, fired: object) -> None:
        """Phase 2 of §4 for lane ``p``::

            acc  += w_self[i] · s_l[t-1][i]
            I[i] = sat( decay(I[i], alpha_q[i]) + acc )
            v    = sat( decay(V[i], beta_q[i]) + I[i] )
            s_l[t][i] = 1 if v > theta_q[i] else 0
            V[i] = 0 if s_l[t][i] else v

        as ``cfg.update_stages`` registered stages (II = 1), one timing-critical step each.
        ``short`` (5): 1 memory data, as read, 2 both decay products and ``acc + w_self``,
        3 ``I``, 4 ``v``, 5 threshold and reset, combinational into the write-back.
        ``deep`` (8) adds three stages of plain copies (``copy``): the multiplier operands
        before the multiply and the products after it (Yosys does not pull registers into
        the ECP5 MULT18X18D; without them the placer left several nanoseconds of routing
        between a DSP and the logic around it, the reason P ≥ 8 missed 100 MHz), and the
        threshold's result, so the compare's carry chain does not share a clock period with
        the spike queue's write enable, which gathers all ``P`` lanes.
        ``first`` stands for the §4 initial state (all 0): it clears the decay products (a
        synchronous reset, no logic before the multiplier) and ``s_l[t-1]``. Stage 1 is a
        plain copy of the read data, so Yosys may fold it into the memory's output register.
        ``decay(x, d) + y`` is formed as ``(x·d + (y·2^F + 2^(F-1))) >> F``, the same
        integer (``y·2^F`` has no fraction bits to round) with one adder instead of two.
        """
        fp = self.cfg.fixed_point
        state = signed(fp.state_bits)
        deep = self.cfg.pipeline == "deep"

        def reg(name: str, shape: object, value: object) -> Signal:
            out = Signal(shape, name=f"{name}{p}", reset_less=True)
            m.d.sync += out.eq(value)
            return out

        def copy(name: str, shape: object, value: object) -> object:
            """A stage of the ``deep`` pipeline only (a wire in the ``short`` one)."""
            return reg(name, shape, value) if deep else value

        # memory data
        first1 = reg("first1", 1, first)
        i_old = reg("i_old", state, st.i[p])
        v_old = reg("v_old", state, st.v[p])
        acc1 = reg("acc1", acc.shape(), acc)
        s_prev1 = reg("s_prev1", 1, s_prev)
        w_self = reg("w_self", prm.w_self.shape(), prm.w_self)
        theta = reg("theta1", prm.theta_q.shape(), prm.theta_q)
        # (deep) multiplier operands; the exact phase-1 sum plus w_self
        # §4: acc = … + w_self[i] · s_l[t-1][i]
        first2 = copy("first2", 1, first1)
        i_opd = copy("i_opd", state, i_old)
        v_opd = copy("v_opd", state, v_old)
        alpha = copy("alpha2", prm.alpha_q.shape(), reg("alpha", prm.alpha_q.shape(), prm.alpha_q))
        beta = copy("beta2", prm.beta_q.shape(), reg("beta", prm.beta_q.shape(), prm.beta_q))
        total = reg("total", signed(self.cfg.acc_bits + 1),
                    acc1 + Mux(s_prev1 & ~first1, w_self, 0))
        # decay products — §4: the x·d of decay(x, d), for I and V
        product = signed(self.cfg.product_bits)
        i_prod = reg("i_prod", product, Mux(first2, 0, i_opd * alpha))
        v_prod = reg("v_prod", product, Mux(first2, 0, v_opd * beta))
        total = copy("total3", total.shape(), total)
        # (deep) the products again, away from the DSP
        i_prod = copy("i_prod4", product, i_prod)
        v_prod = copy("v_prod4", product, v_prod)
        total = copy("total4", total.shape(), total)
        # I   — §4: I[i] = sat( decay(I[i], alpha_q[i]) + acc )
        i_new = reg("i_new", state, self._sat((i_prod + self._rounded(total)) >> fp.decay_bits))
        v_prod = reg("v_prod_i", product, v_prod)
        # v   — §4: v = sat( decay(V[i], beta_q[i]) + I[i] )
        v_sat = reg("v_sat", state, self._sat((v_prod + self._rounded(i_new)) >> fp.decay_bits))
        i_new = reg("i_new_v", state, i_new)
        for k in range(2, self.cfg.update_stages - deep):  # theta_q, to the threshold
            theta = reg(f"theta{k}_", theta.shape(), theta)
        # threshold and reset — §4: s_l[t][i] = 1 if v > theta_q[i] else 0;
        #    V[i] = 0 if s_l[t][i] else v
        spiked = v_sat > theta
        m.d.comb += [fired.eq(copy("fired", 1, spiked)),
                     new_v.eq(copy("v_reset", state, Mux(spiked, 0, v_sat))),
                     new_i.eq(copy("i_new_t", state, i_new))]

    def _rounded(self, y: object) -> object:
        """``y·2^F + 2^(F-1)``: the addend that turns ``x·d`` into ``decay(x, d) + y``
        after ``>> F`` (a concatenation, no adder)."""
        fp = self.cfg.fixed_point
        # §4: decay(x, d) = (x*d + 2^(F-1)) >> F, with y folded in
        return Cat(Const(fp.decay_half, fp.decay_bits), y).as_signed()

    def _sat(self, x: object) -> object:
        """Clamp to ``[s_min, s_max]`` of the bundle's ``FixedPoint``."""
        fp = self.cfg.fixed_point
        # §4: sat(x) clamps to [-2^(Bs-1), 2^(Bs-1) - 1]
        return Mux(x > fp.s_max, fp.s_max, Mux(x < fp.s_min, fp.s_min, x))

    def _emitter(self, m: Module, push: object, last: Signal) -> None:
        """Serialise the spike words queued by phase 2 into ``o_events``, one spike per
        cycle. Words without spikes are not queued, except a timestep's last word, which
        carries the ``eot`` marker sent after its spikes."""
        cfg = self.cfg
        queue, head = push
        taken = Signal(cfg.lanes)  # spikes of the head word already sent
        pending = Signal(cfg.lanes)
        lowest = Signal(range(cfg.lanes))
        m.d.comb += pending.eq(head.bits & ~taken)
        for p in reversed(range(cfg.lanes)):
            with m.If(pending[p]):
                m.d.comb += lowest.eq(p)
        out = self.o_events
        with m.If(queue.r_rdy):
            m.d.comb += out.valid.eq(1)
            with m.If(pending != 0):
                m.d.comb += out.payload.index.eq(times(head.word, cfg.lanes) + lowest)
                with m.If(out.ready):
                    with m.If(((pending & (pending - 1)) == 0) & ~head.eot):  # word done
                        m.d.comb += queue.r_en.eq(1)
                        m.d.sync += taken.eq(0)
                    with m.Else():
                        m.d.sync += taken.eq(taken | (pending & -pending))
            with m.Else():  # only the timestep's last entry is queued without spikes left
                m.d.comb += [out.payload.eot.eq(1), out.payload.last.eq(head.last),
                             queue.r_en.eq(out.ready)]
                with m.If(out.ready):
                    m.d.sync += taken.eq(0)

    def _param_words(self) -> list[list[dict[str, int]]]:
        names = {"alpha": "alpha_q", "beta": "beta_q", "theta": "theta_q", "w_self": "w_self"}
        columns = {field: self.cfg.param_lanes(self._bundle, kind) for kind, field in names.items()}
        return [[{field: columns[field][w][p] for field in columns} for p in range(self.cfg.lanes)]
                for w in range(self.cfg.words)]
