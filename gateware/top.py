"""The card's top level: ticks and host orders in, tagged records out, one register file.

Ports (Xilinx names: Vivado infers two AXI4-Stream slaves, one master and an AXI4-Lite
slave; all in one clock domain, reset active high)::

    s_axis_tick_tdata[127:0]  s_axis_tick_tvalid  s_axis_tick_tlast   -> s_axis_tick_tready
    s_axis_order_tdata[127:0] s_axis_order_tvalid s_axis_order_tlast  -> s_axis_order_tready
    m_axis_tdata[1023:0] m_axis_tvalid m_axis_tlast                   <- m_axis_tready
    s_axi_*                   the registers of :func:`.card_regs.card_regmap`

Records: ``TICK_DTYPE`` and ``ORDER_DTYPE`` in, ``OUTPUT_DTYPE`` out (:mod:`.records`):
one output record per tick (its features, its score, and its intent with the verdict when
the decision fired) and one per host order (its verdict); ``tlast`` goes from a tick or an
order to its record, so a DMA batch ends where it began.

Data path::

    ticks -> IndicatorEngine -> DecisionUnit --+
                                               +-> arbiter -> RiskGate -> m_axis
    host orders -------------------------------+
    position writes (sym_command) -------------+

The arbiter takes a queued position write first, then alternates between a host order and
the decision unit's record when both wait (neither starves). Behind the engine nothing has
an enable: the decision unit and the risk gate move every cycle, and each takes an item only
when the :class:`~.credit_fifo.CreditFifo` at its end has room for it and for everything
already on its way (no enable net fans out to the thousands of flip-flops of the 1024-bit
records; the FIFOs add no latency while empty). The engine's ``ready`` is the decision
FIFO's credit, a flip-flop. Back-pressure on ``m_axis`` fills the output FIFO, then the
decision unit's, then stalls the engine; nothing is dropped. A host order waits one cycle in
a register stage (which also works out its signed quantity) before the arbiter.

The 1024-bit records do not ride through the pipelines: the feature record (with its
``tlast``) is written into a :class:`~.record_queue.RecordQueue` (LUT RAM, one write and one
read per record) when the decision unit admits its tick, and read at the head when that
tick's decision leaves the decision FIFO; the arbiter's output record is written into a
second queue when the risk gate takes its item and read at the head when it is sent, with
the verdict (and, for a host order, the market clock as ``ts``) that came through the output
FIFO merged in. The credit FIFOs carry only what the stages compute (the decision: 186 bits;
the verdict: 50 bits), and their credits also bound the queues' entries.

Latency (no stalls): tick handshake to its record's ``m_axis_tvalid`` =
``IndicatorEngine.LATENCY + DecisionUnit.LATENCY + RiskGate.LATENCY`` cycles
(:attr:`TickgateTop.latency`). The card measures it too: the ``latency_*`` probes compare
the free-running cycle counter at each tick's input handshake (kept in a FIFO) with the
cycle of its record's output handshake. Throughput: one tick per cycle while symbols
interleave (the engine's hazard rule) and no host order takes a slot.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from .axil import AxiLiteRegisters, axil_members, forward_axil
from .card_regs import Command, Status, SymbolCommand, card_regmap
from .credit_fifo import CreditFifo
from .decision import INTENT_LAYOUT, DecisionUnit
from .engine import IndicatorEngine
from .layouts import CONFIG_LAYOUT, ORDER_LAYOUT, OUTPUT_LAYOUT
from .params import EngineParams
from .record_queue import RecordQueue
from .records import (
    FEATURE_BYTES,
    ORDER_BYTES,
    TICK_BYTES,
    FeatureValid,
    OutputKind,
    Reject,
    Side,
)
from .risk import RiskGate
from .skid import SkidBuffer

__all__ = ["TickgateTop", "TOP_NAME", "PASS_LAYOUT"]

TOP_NAME = "tickgate_top"

#: What rides through the risk gate beside its item: whether to send its record, tlast, and
#: the record's ``kind``. (The 1024-bit record itself waits in a
#: :class:`~.record_queue.RecordQueue` for the gate's verdict.)
PASS_LAYOUT = data.StructLayout({"emit": 1, "last": 1, "kind": OUTPUT_LAYOUT["kind"].shape})

#: Entries of each credit FIFO and record queue (more than the latency of the stage before
#: it, plus one).
_FIFO_DEPTH = 8

#: Depth of the FIFO of input cycle stamps (ticks in flight between input and output).
_STAMP_DEPTH = 64


class TickgateTop(wiring.Component):
    """The whole card (see the module docstring)."""

    def __init__(self, params: EngineParams | None = None) -> None:
        self.params = params or EngineParams()
        self.regmap = card_regmap(self.params)
        self.engine = IndicatorEngine(self.params)
        self.decision = DecisionUnit(self.params)
        self.risk = RiskGate(self.params, PASS_LAYOUT)
        #: Tick handshake to record valid, in cycles, without stalls (and the same under the
        #: name the synthesis report reads).
        self.latency = self.LATENCY = self.latency_of(self.params)
        #: Ticks per cycle sustained with interleaved symbols and no host orders.
        self.TICKS_PER_CYCLE = 1.0
        super().__init__({
            "s_axis_tick_tdata": In(TICK_BYTES * 8), "s_axis_tick_tvalid": In(1),
            "s_axis_tick_tlast": In(1), "s_axis_tick_tready": Out(1),
            "s_axis_order_tdata": In(ORDER_BYTES * 8), "s_axis_order_tvalid": In(1),
            "s_axis_order_tlast": In(1), "s_axis_order_tready": Out(1),
            "m_axis_tdata": Out(FEATURE_BYTES * 8), "m_axis_tvalid": Out(1),
            "m_axis_tlast": Out(1), "m_axis_tready": In(1),
            **axil_members(self.regmap.addr_bits),
        })

    @staticmethod
    def latency_of(params: EngineParams) -> int:
        """Return the tick-to-record latency in cycles of a build (without stalls)."""
        return IndicatorEngine.timing(params)[0] + DecisionUnit.LATENCY + RiskGate.LATENCY

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.submodules.regs = regs = AxiLiteRegisters(self.regmap)
        forward_axil(m, self, regs)
        m.submodules.engine = engine = self.engine
        m.submodules.decision = dec = self.decision
        m.submodules.risk = risk = self.risk

        # ------------------------------------------------------------ registers -> blocks
        for name in CONFIG_LAYOUT.members:
            m.d.comb += getattr(engine.config, name).eq(regs.value(name))
        for name in ("enable", "warmup", "bias", "enter", "exit", "qty", "strategy"):
            m.d.comb += getattr(dec.config, name).eq(regs.value(f"decision_{name}"))
        for k in range(len(dec.config.weights)):
            m.d.comb += [dec.config.weights[k].eq(regs.value("decision_weights", k)),
                         dec.config.shifts[k].eq(regs.value("decision_shifts", k))]
        lim = risk.limits
        for name in ("max_qty", "collar_bps", "stale_ms", "gross_limit", "daily_loss_limit",
                     "max_drawdown", "rate_sym_interval", "rate_sym_tolerance",
                     "rate_global_interval", "rate_global_tolerance", "dup_window_ms",
                     "feed_timeout", "pnl_day", "equity"):
            m.d.comb += getattr(lim, name).eq(regs.value(name))
        max_notional = Signal(64)
        with m.If(regs.strobe("max_notional_hi")):
            m.d.sync += max_notional.eq(Cat(regs.value("max_notional_lo"),
                                            regs.value("max_notional_hi")))
        m.d.comb += lim.max_notional.eq(max_notional)
        restricted_words = self.regmap.register("restricted").count
        m.d.comb += risk.restricted.eq(
            Cat(*(regs.value("restricted", k) for k in range(restricted_words)))[:p.n_symbols])

        setpos_pending = Signal()
        command = regs.value("command")
        command_now = regs.strobe("command")
        sym_cmd = regs.value("sym_command")
        sym_now = regs.strobe("sym_command")
        m.d.comb += [
            risk.i_kill_set.eq(regs.strobe("kill_set") & regs.value("kill_set")[0]),
            risk.i_kill_clear.eq(regs.strobe("kill_clear") & regs.value("kill_clear")[0]),
            risk.i_clear.eq(command_now & (command & Command.CLEAR_RISK).any()),
            risk.i_peak_reset.eq(command_now & (command & Command.RESET_PEAK).any()),
            risk.i_table_we.eq(sym_now & (sym_cmd & SymbolCommand.WRITE_TABLE).any()),
            risk.i_table_symbol.eq(regs.value("sym_index")),
            risk.i_table_base.eq(regs.value("sym_base")),
            risk.i_table_pos_limit.eq(regs.value("sym_pos_limit")),
            risk.i_rd_symbol.eq(regs.value("sym_index")),
            regs.value("sym_position_now").eq(risk.o_rd_position),
            regs.value("status").eq(Cat(risk.o_kill, risk.o_feed_expired, risk.o_clearing,
                                        setpos_pending)),
            regs.value("equity_peak").eq(risk.o_equity_peak),
        ]
        assert (Status.KILL, Status.FEED_EXPIRED, Status.CLEARING,
                Status.SETPOS_PENDING) == (1, 2, 4, 8)
        gross_hi = Signal(8)
        with m.If(regs.read_strobe("gross_lo")):
            m.d.sync += gross_hi.eq(risk.o_gross[32:])
        m.d.comb += [regs.value("gross_lo").eq(risk.o_gross[:32]),
                     regs.value("gross_hi").eq(gross_hi)]

        # ------------------------------------------------------------ output
        # Behind the engine nothing has an enable: the decision unit and the risk gate move
        # every cycle, and each admits an item only when the credit FIFO at its end has room
        # for it and for everything on its way (no enable net fans out to the thousands of
        # flip-flops of the 1024-bit records; the FIFOs add no latency while empty).
        out_pass = risk.o_pass
        # The record does not ride through the risk gate: it is written into a queue in LUT
        # RAM when the gate takes its item, and read at the head when it is sent; only the
        # verdict, the market clock, tlast and whether the clock replaces the record's ``ts``
        # (a host order's) go through the credit FIFO. (The FIFO's credits bound the entries.)
        m.submodules.out_recs = out_recs = RecordQueue(OUTPUT_LAYOUT.size, _FIFO_DEPTH)
        verdict = data.StructLayout({"reject": 16, "now": 32, "host": 1, "last": 1})
        verdict_in = Signal(verdict)
        m.submodules.out_fifo = out_fifo = CreditFifo(verdict.size, _FIFO_DEPTH)
        verdict_out = data.View(verdict, out_fifo.o_data)
        out_rec = Signal(OUTPUT_LAYOUT)
        m.d.comb += [
            risk.en.eq(1),
            verdict_in.reject.eq(risk.o_reject), verdict_in.now.eq(risk.o_now),
            verdict_in.host.eq((out_pass.kind & OutputKind.HOST).any()),
            verdict_in.last.eq(out_pass.last),
            out_fifo.i_valid.eq(risk.o_valid & out_pass.emit),
            out_fifo.i_drop.eq(risk.o_valid & ~out_pass.emit),
            out_fifo.i_data.eq(verdict_in),
            out_rec.eq(out_recs.o_data),
            out_rec.reject.eq(verdict_out.reject),
            self.m_axis_tvalid.eq(out_fifo.o_valid),
            self.m_axis_tdata.eq(out_rec),
            self.m_axis_tlast.eq(verdict_out.last),
            out_fifo.o_ready.eq(self.m_axis_tready),
            out_recs.i_pop.eq(self.m_axis_tvalid & self.m_axis_tready),
        ]
        with m.If(verdict_out.host):
            m.d.comb += out_rec.ts.eq(verdict_out.now)
        m.d.comb += regs.value("market_clock").eq(risk.o_now)

        # ------------------------------------------------------------ ticks -> engine
        m.submodules.stamps = stamps = fifo.SyncFIFO(width=32, depth=_STAMP_DEPTH)
        cycles = Signal(64)
        m.d.sync += cycles.eq(cycles + 1)
        tick_in = Signal()
        m.d.comb += [
            engine.i_tick.valid.eq(self.s_axis_tick_tvalid & stamps.w_rdy),
            engine.i_tick.payload.data.eq(self.s_axis_tick_tdata),
            engine.i_tick.payload.last.eq(self.s_axis_tick_tlast),
            self.s_axis_tick_tready.eq(engine.i_tick.ready & stamps.w_rdy),
            tick_in.eq(self.s_axis_tick_tvalid & self.s_axis_tick_tready),
            stamps.w_en.eq(tick_in), stamps.w_data.eq(cycles[:32]),
        ]

        # ------------------------------------------------------------ engine -> decision
        # The credit is a flip-flop, so the engine's ``ready`` (its pipeline enable) comes
        # straight from a register, as from a skid buffer, without a 1025-bit one.
        admit_dec = Signal()
        dec_credit = Signal()
        m.d.comb += [
            engine.o_feature.ready.eq(dec_credit),
            dec.en.eq(1),
            admit_dec.eq(engine.o_feature.valid & dec_credit),
            dec.i_valid.eq(admit_dec),
            dec.i_feature.eq(engine.o_feature.payload.data),
        ]
        # The feature record (and its tlast) does not ride through the decision unit: it is
        # written into a queue in LUT RAM when the decision unit admits it and read at the
        # head when its decision leaves the FIFO (the FIFO's credits bound the entries).
        m.submodules.features = features = RecordQueue(FEATURE_BYTES * 8 + 1, _FIFO_DEPTH)
        # The intent's signed quantity (-qty for a SELL) goes with it, so the risk gate's
        # first stage adds it to the position without negating first. ``neg_qty`` is
        # registered from the register the decision unit's output stage read in the same
        # cycle, so it always matches ``o_intent.qty``.
        neg_qty = Signal(signed(32))
        m.d.sync += neg_qty.eq(-regs.value("decision_qty"))
        sqty = Mux(dec.o_intent.side == Side.BUY, dec.o_intent.qty, neg_qty)
        decided = Cat(dec.o_intent.as_value(), dec.o_score, dec.o_saturated, sqty)
        m.submodules.dec_fifo = dec_fifo = CreditFifo(len(decided), _FIFO_DEPTH)
        dec_taken = Signal()
        m.d.comb += [
            dec_credit.eq(dec_fifo.o_credit),
            dec_fifo.i_admit.eq(admit_dec),
            dec_fifo.i_drop.eq(0),
            dec_fifo.i_valid.eq(dec.o_valid), dec_fifo.i_data.eq(decided),
            dec_fifo.o_ready.eq(dec_taken),
            features.i_push.eq(admit_dec),
            features.i_data.eq(Cat(engine.o_feature.payload.data.as_value(),
                                   engine.o_feature.payload.last)),
            features.i_pop.eq(dec_taken),
        ]
        width = FEATURE_BYTES * 8
        feature = data.View(OUTPUT_LAYOUT, features.o_data[:width])
        feature_last = features.o_data[width]
        rest = dec_fifo.o_data
        intent = data.View(INTENT_LAYOUT, rest[:INTENT_LAYOUT.size])
        score = rest[INTENT_LAYOUT.size:INTENT_LAYOUT.size + 32].as_signed()
        saturated = rest[INTENT_LAYOUT.size + 32]
        intent_sqty = rest[INTENT_LAYOUT.size + 33:INTENT_LAYOUT.size + 65].as_signed()
        dec_valid = dec_fifo.o_valid

        # ------------------------------------------------------------ host orders
        # A skid buffer (s_axis_order_tready is a register) and one register stage that
        # also works out the order's signed quantity: a host order reaches the arbiter one
        # cycle after its handshake.
        m.submodules.order_skid = order_skid = SkidBuffer(ORDER_BYTES * 8 + 1)
        order_in = data.View(ORDER_LAYOUT, order_skid.o_data[:-1])
        order = Signal(ORDER_LAYOUT)
        order_last = Signal()
        order_sqty = Signal(signed(32))
        order_full = Signal()
        order_taken = Signal()
        load_order = order_skid.o_valid & (~order_full | order_taken)
        m.d.comb += [
            order_skid.i_valid.eq(self.s_axis_order_tvalid),
            order_skid.i_data.eq(Cat(self.s_axis_order_tdata, self.s_axis_order_tlast)),
            self.s_axis_order_tready.eq(order_skid.i_ready),
            order_skid.o_ready.eq(~order_full | order_taken),
        ]
        with m.If(load_order):
            m.d.sync += [
                order_full.eq(1), order.eq(order_in), order_last.eq(order_skid.o_data[-1]),
                order_sqty.eq(Mux(order_in.side == Side.BUY, order_in.qty, -order_in.qty)),
            ]
        with m.Elif(order_taken):
            m.d.sync += order_full.eq(0)

        # ------------------------------------------------------------ the arbiter
        setpos_symbol = Signal(8)
        setpos_value = Signal(32)
        last_was_order = Signal()
        pick_setpos = setpos_pending
        pick_order = ~pick_setpos & order_full & (~dec_valid | ~last_was_order)
        pick_dec = ~pick_setpos & ~pick_order & dec_valid
        take = Signal()
        m.d.comb += [
            # Offered only with a credit: the gate takes what it is offered and ready for.
            risk.i_valid.eq((setpos_pending | order_full | dec_valid) & out_fifo.o_credit),
            take.eq(risk.o_ready & risk.i_valid),
            out_fifo.i_admit.eq(take),
            out_recs.i_push.eq(take & ~pick_setpos),
            dec_taken.eq(take & pick_dec),
            order_taken.eq(take & pick_order),
        ]
        with m.If(take):
            m.d.sync += last_was_order.eq(pick_order)
        with m.If(take & pick_setpos):
            m.d.sync += setpos_pending.eq(0)
        with m.If(sym_now & (sym_cmd & SymbolCommand.SET_POSITION).any()):
            m.d.sync += [setpos_pending.eq(1), setpos_symbol.eq(regs.value("sym_index")),
                         setpos_value.eq(regs.value("sym_position"))]

        item = risk.i_item
        rec = data.View(OUTPUT_LAYOUT, out_recs.i_data)
        m.d.comb += risk.i_pass.kind.eq(rec.kind)
        with m.If(pick_setpos):
            m.d.comb += [item.set_pos.eq(1), item.symbol.eq(setpos_symbol),
                         item.price.eq(setpos_value), risk.i_pass.emit.eq(0)]
        with m.Elif(pick_order):
            m.d.comb += [
                item.order.eq(1), item.symbol.eq(order.symbol), item.qty.eq(order.qty),
                item.sqty.eq(order_sqty),
                item.price.eq(order.price), item.side.eq(order.side), item.flags.eq(order.flags),
                risk.i_pass.emit.eq(1), risk.i_pass.last.eq(order_last),
                rec.kind.eq(OutputKind.ORDER | OutputKind.HOST), rec.symbol.eq(order.symbol),
                rec.order_id.eq(order.order_id), rec.qty.eq(order.qty),
                rec.order_price.eq(order.price), rec.side.eq(order.side),
                rec.strategy.eq(order.strategy),
            ]
        with m.Else():
            # ``tick`` only with a decision waiting: the gate's stages move every cycle, and
            # ``o_now`` (the ``market_clock`` register) of a cycle without an item must stay
            # the last tick's clock, not the stale head entry of the feature queue.
            good = ~(feature.valid & FeatureValid.BAD_SYMBOL).any()
            m.d.comb += [
                item.tick.eq(good & dec_valid), item.order.eq(intent.fire),
                item.symbol.eq(feature.symbol),
                item.ts.eq(feature.ts), item.tick_price.eq(feature.price),
                item.qty.eq(intent.qty), item.sqty.eq(intent_sqty),
                item.price.eq(intent.price), item.side.eq(intent.side),
                risk.i_pass.emit.eq(1), risk.i_pass.last.eq(feature_last),
                rec.as_value().eq(feature.as_value()),
                rec.kind.eq(Mux(intent.fire, OutputKind.FEATURE | OutputKind.ORDER,
                                OutputKind.FEATURE)),
                rec.score.eq(score),
            ]
            with m.If(intent.fire):
                m.d.comb += [rec.order_id.eq(intent.order_id), rec.qty.eq(intent.qty),
                             rec.order_price.eq(intent.price), rec.side.eq(intent.side),
                             rec.strategy.eq(intent.strategy)]

        # ------------------------------------------------------------ counters and probes
        clear = command_now & (command & Command.CLEAR_COUNTERS).any()
        checked = risk.o_valid & (out_pass.kind & OutputKind.ORDER).any()
        sent = self.m_axis_tvalid & self.m_axis_tready
        events = {
            "ticks_in": tick_in, "records_out": sent,
            "intents": dec_taken & intent.fire, "host_orders": order_taken,
            "accepted": checked & (risk.o_reject == 0), "rejected": checked & (risk.o_reject != 0),
            "saturations": dec_taken & saturated, "bus_errors": regs.o_bus_error,
        }
        for k in range(Reject.COUNT):
            events[("reject_count", k)] = checked & risk.o_reject[k]
        for key, pulse in events.items():
            name, index = key if isinstance(key, tuple) else (key, 0)
            counter = Signal(32, name=f"count_{name}_{index}")
            with m.If(clear):
                m.d.sync += counter.eq(0)
            with m.Elif(pulse):
                m.d.sync += counter.eq(counter + 1)
            m.d.comb += regs.value(name, index).eq(counter)

        cycles_hi = Signal(32)
        with m.If(regs.read_strobe("cycles_lo")):
            m.d.sync += cycles_hi.eq(cycles[32:])
        m.d.comb += [regs.value("cycles_lo").eq(cycles[:32]), regs.value("cycles_hi").eq(cycles_hi)]

        lat_last = Signal(32)
        lat_min = Signal(32, init=2**32 - 1)
        lat_max = Signal(32)
        sent_kind = data.View(OUTPUT_LAYOUT, self.m_axis_tdata).kind
        tick_out = sent & (sent_kind & OutputKind.FEATURE).any()
        latency = (cycles[:32] - stamps.r_data)[:32]
        m.d.comb += stamps.r_en.eq(tick_out)
        with m.If(clear):
            m.d.sync += [lat_last.eq(0), lat_min.eq(2**32 - 1), lat_max.eq(0)]
        with m.Elif(tick_out):
            m.d.sync += lat_last.eq(latency)
            with m.If(latency < lat_min):
                m.d.sync += lat_min.eq(latency)
            with m.If(latency > lat_max):
                m.d.sync += lat_max.eq(latency)
        m.d.comb += [regs.value("latency_last").eq(lat_last),
                     regs.value("latency_min").eq(lat_min),
                     regs.value("latency_max").eq(lat_max)]
        return m


def top_verilog(params: EngineParams | None = None, *, platform: object = None) -> str:
    """Return the Verilog of :class:`TickgateTop` as module ``tickgate_top``."""
    from amaranth.back import verilog

    top = TickgateTop(params)
    return verilog.convert(top, name=TOP_NAME, platform=platform)
