"""The layer core: one layer's neurons, ``P`` lanes wide, in two phases per timestep.

Phase 1 (events) adds one weight-memory word per clock into the accumulators (II = 1)
in three stages (read, register, add and write); the sums of the two adds still in flight
when a word is read are forwarded, so back-to-back events on the same word see each
other's sums. Phase 2 (update) decays, saturates, thresholds and
resets one word of ``P`` neurons per clock (II = 1) in a pipeline of ``UPDATE_STAGES``
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

from .config import ADD_STAGES, UPDATE_STAGES, CoreConfig, bits_for
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
    ``FIXED_LATENCY`` cycles of handshake and pipeline drain per timestep
    (``(E_in + 1) · ceil(N/P) + UPDATE_STAGES + 2``); the emitter overlaps the next
    timestep.
    """

    def __init__(self, cfg: CoreConfig, bundle: Bundle) -> None:
        self.cfg = cfg
        self._bundle = bundle
        super().__init__({
            "i_rows": In(stream.Signature(row_layout(cfg))),
            "o_events": Out(stream.Signature(event_layout(cfg.index_bits))),
            "trace": Out(stream.Signature(trace_layout(cfg))),
            "i_starved": In(1),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        cfg, fp = self.cfg, self.cfg.fixed_point
        lanes, words = cfg.lanes, cfg.words
        state_lanes = data.ArrayLayout(signed(fp.state_bits), lanes)

        m.submodules.weights = weights = Memory(
            shape=data.ArrayLayout(signed(fp.weight_bits), lanes), depth=cfg.weight_depth,
            init=cfg.weight_words(self._bundle))
        m.submodules.params = params = Memory(
            shape=data.ArrayLayout(param_layout(cfg), lanes), depth=words,
            init=self._param_words())
        m.submodules.acc = acc = Memory(
            shape=data.ArrayLayout(signed(cfg.acc_bits), lanes), depth=words, init=[])
        m.submodules.state = state = Memory(
            shape=data.StructLayout({"i": state_lanes, "v": state_lanes}), depth=words, init=[])
        m.submodules.spikes = spikes = Memory(shape=unsigned(lanes), depth=words, init=[])

        weight_r = weights.read_port()
        param_r = params.read_port()
        acc_w = acc.write_port()
        acc_r = acc.read_port()
        state_w = state.write_port()
        state_r = state.read_port()
        spike_w = spikes.write_port()
        spike_prev_r = spikes.read_port()

        # --- phase 1: issue stage (busy/base/word), read stage (s1), add stage (s2) --------
        busy = Signal()
        base = Signal(range(cfg.weight_depth))
        word = Signal(range(words))
        last_word = word == words - 1
        issue = Signal()
        s1 = Signal()
        s1_word = Signal(range(words))
        s2 = Signal()
        s2_word = Signal(range(words))
        # --- phase 2: issue stage (u_word), then stages 1 … UPDATE_STAGES (write-back) ----
        u_word = Signal(range(words))
        u_issue = Signal()
        u_valid = [Signal(name=f"u{k}") for k in range(1, UPDATE_STAGES + 1)]
        u_words = [Signal(range(words), name=f"u{k}_word") for k in range(1, UPDATE_STAGES + 1)]
        u1, u1_word = u_valid[0], u_words[0]  # memory data: accumulator cleared here
        wb, wb_word = u_valid[-1], u_words[-1]  # write-back of state, spikes, queue, trace
        first = Signal()
        last = Signal()
        words_layout = data.StructLayout({"word": unsigned(bits_for(words)),
                                          "bits": unsigned(lanes), "eot": 1, "last": 1})
        m.submodules.spike_queue = queue = RegisteredFIFO(words_layout.size,
                                                          cfg.spike_queue_depth)
        queued = data.View(words_layout, queue.w_data)
        head = data.View(words_layout, queue.r_data)
        room = Signal()
        m.d.comb += room.eq(queue.level <= words + 1)
        cycles = Signal(trace_layout(cfg)["cycles"].shape)

        m.d.sync += [s1.eq(issue), s1_word.eq(word), s2.eq(s1), s2_word.eq(s1_word)]
        for valid, at, prev_valid, prev_at in zip(u_valid, u_words, [u_issue, *u_valid],
                                                  [u_word, *u_words], strict=False):
            m.d.sync += [valid.eq(prev_valid), at.eq(prev_at)]
        m.d.comb += [
            weight_r.addr.eq(base + word),
            acc_r.addr.eq(Mux(u_issue, u_word, word)),
            state_r.addr.eq(u_word),
            param_r.addr.eq(u_word),
            spike_prev_r.addr.eq(u_word),
        ]

        with m.FSM(name="phase") as phase:
            with m.State("EVENTS"):
                m.d.comb += [self.i_rows.ready.eq(~busy | last_word), issue.eq(busy)]
                with m.If(busy):
                    with m.If(last_word):
                        m.d.sync += busy.eq(0)
                    with m.Else():
                        m.d.sync += word.eq(word + 1)
                with m.If(self.i_rows.valid & self.i_rows.ready):
                    with m.If(self.i_rows.payload.eot):
                        m.d.sync += [first.eq(self.i_rows.payload.first),
                                     last.eq(self.i_rows.payload.last)]
                        m.next = "SETTLE"
                    with m.Else():
                        m.d.sync += [busy.eq(1), word.eq(0),
                                     base.eq(times(self.i_rows.payload.row, words))]
            # The last add retires; the spike queue has room for this timestep's words.
            with m.State("SETTLE"):  # noqa: SIM117 (an FSM state, not a context to merge)
                with m.If(~s1 & ~s2 & room):
                    m.next = "UPDATE"
            with m.State("UPDATE"):
                m.d.comb += u_issue.eq(1)
                with m.If(u_word == words - 1):
                    m.d.sync += u_word.eq(0)
                    m.next = "DRAIN"
                with m.Else():
                    m.d.sync += u_word.eq(u_word + 1)
            # Nothing of the next timestep enters before the last word is written back: the
            # next update reads that state, and ``first``/``last`` must not change under it.
            with m.State("DRAIN"):  # noqa: SIM117 (an FSM state, not a context to merge)
                with m.If(u_valid[-2] & (u_words[-2] == words - 1)):
                    m.next = "EVENTS"

        closing = wb & (wb_word == words - 1)  # the timestep's last write-back
        self._count_cycles(m, cycles, closing, phase, (busy, s1, s2, *u_valid))

        # --- add stage (phase 1) and write-back stage (phase 2) ---------------------------
        new_i = [Signal(signed(fp.state_bits), name=f"new_i{p}") for p in range(lanes)]
        new_v = [Signal(signed(fp.state_bits), name=f"new_v{p}") for p in range(lanes)]
        fired = Signal(lanes)
        sums = self._adder(m, s1_word, (s2, s2_word), acc_r.data, weight_r.data)
        with m.If(s2):
            m.d.comb += [acc_w.addr.eq(s2_word), acc_w.en.eq(1), acc_w.data.eq(sums)]
        with m.Elif(u1):
            m.d.comb += [acc_w.addr.eq(u1_word), acc_w.en.eq(1)]  # data 0: cleared for t+1
        with m.If(wb):
            m.d.comb += [state_w.addr.eq(wb_word), state_w.en.eq(1),
                         spike_w.addr.eq(wb_word), spike_w.en.eq(1), spike_w.data.eq(fired),
                         queue.w_en.eq((fired != 0) | closing), queued.word.eq(wb_word),
                         queued.bits.eq(fired), queued.eot.eq(closing), queued.last.eq(last)]
            for p in range(lanes):
                m.d.comb += [state_w.data.i[p].eq(new_i[p]), state_w.data.v[p].eq(new_v[p])]
        for p in range(lanes):
            self._neuron(m, p, first, acc_r.data[p], state_r.data, param_r.data[p],
                         spike_prev_r.data[p], new_i[p], new_v[p], fired[p])

        m.d.comb += [
            self.trace.valid.eq(wb),
            self.trace.payload.word.eq(wb_word),
            self.trace.payload.s.eq(fired),
            self.trace.payload.cycles.eq(cycles),
        ]
        for p in range(lanes):
            m.d.comb += [self.trace.payload.i[p].eq(new_i[p]),
                         self.trace.payload.v[p].eq(new_v[p])]

        self._emitter(m, (queue, head), last)
        return m

    def _count_cycles(self, m: Module, cycles: Signal, closing: Value, phase: object,
                      in_flight: tuple) -> None:
        """The busy-cycle count of the trace: this core's own cycles in the timestep.

        A cycle counts while work is in flight (issue, the add pipeline, the update
        phase), except between rows when the core waits for upstream (the router says
        ``i_starved``) or takes the row that ends such a wait: the add pipeline's drain
        then overlaps the wait. Those drain cycles are held in ``pending`` and dropped
        when another row follows, or counted when the timestep's ``eot`` comes, so the
        final drain always counts. So the count is ``(E_in + 1) · words`` plus
        ``UPDATE_STAGES + 1``, plus ``ADD_STAGES`` after events, whatever the upstream
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

        as ``UPDATE_STAGES`` = 5 registered stages (II = 1), one timing-critical step each:
        1 memory data, as read, 2 both decay products and ``acc + w_self``, 3 ``I``, 4 ``v``,
        5 threshold and reset (combinational into the write-back). ``first`` stands for the
        §4 initial state (all 0): it clears the decay products (a synchronous reset, no
        logic before the multiplier) and ``s_l[t-1]``. Stage 1 is a plain copy of the read
        data, so Yosys may fold it into the memory's output register.
        ``decay(x, d) + y`` is formed as ``(x·d + (y·2^F + 2^(F-1))) >> F``, the same
        integer (``y·2^F`` has no fraction bits to round) with one adder instead of two.
        """
        fp = self.cfg.fixed_point
        state = signed(fp.state_bits)

        def reg(name: str, shape: object, value: object) -> Signal:
            out = Signal(shape, name=f"{name}{p}", reset_less=True)
            m.d.sync += out.eq(value)
            return out

        # 1: memory data
        first1 = reg("first1", 1, first)
        i_old = reg("i_old", state, st.i[p])
        v_old = reg("v_old", state, st.v[p])
        acc1 = reg("acc1", acc.shape(), acc)
        s_prev1 = reg("s_prev1", 1, s_prev)
        w_self = reg("w_self", prm.w_self.shape(), prm.w_self)
        alpha = reg("alpha", prm.alpha_q.shape(), prm.alpha_q)
        beta = reg("beta", prm.beta_q.shape(), prm.beta_q)
        theta1 = reg("theta1", prm.theta_q.shape(), prm.theta_q)
        # 2: decay products and the exact phase-1 sum plus w_self
        product = signed(self.cfg.product_bits)
        i_prod = reg("i_prod", product, Mux(first1, 0, i_old * alpha))
        v_prod = reg("v_prod", product, Mux(first1, 0, v_old * beta))
        total = reg("total", signed(self.cfg.acc_bits + 1),
                    acc1 + Mux(s_prev1 & ~first1, w_self, 0))
        theta2 = reg("theta2", theta1.shape(), theta1)
        # 3: I
        i_new = reg("i_new", state, self._sat((i_prod + self._rounded(total)) >> fp.decay_bits))
        v_prod3 = reg("v_prod3", v_prod.shape(), v_prod)
        theta3 = reg("theta3", theta1.shape(), theta2)
        # 4: v
        v_sat = reg("v_sat", state, self._sat((v_prod3 + self._rounded(i_new)) >> fp.decay_bits))
        i_new4 = reg("i_new4", state, i_new)
        theta4 = reg("theta4", theta1.shape(), theta3)
        # 5: threshold and reset
        m.d.comb += [
            new_i.eq(i_new4),
            fired.eq(v_sat > theta4),
            new_v.eq(Mux(fired, 0, v_sat)),
        ]

    def _rounded(self, y: object) -> object:
        """``y·2^F + 2^(F-1)``: the addend that turns ``x·d`` into ``decay(x, d) + y``
        after ``>> F`` (a concatenation, no adder)."""
        fp = self.cfg.fixed_point
        return Cat(Const(fp.decay_half, fp.decay_bits), y).as_signed()

    def _sat(self, x: object) -> object:
        """Clamp to ``[s_min, s_max]`` of the bundle's ``FixedPoint``."""
        fp = self.cfg.fixed_point
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
