"""The pre-trade risk gate: every order's checks in a fixed three-cycle pipeline.

The arithmetic is :mod:`.risk_model`'s, bit for bit; this file only schedules it.

Ports
-----
``en``: the pipeline enable (the top's output can move); nothing moves or is written while it
is low. ``i_valid``, ``i_item`` (:data:`ITEM_LAYOUT`), ``i_pass`` (a payload carried along
untouched): sampled when ``en & i_valid & o_ready``. ``o_ready`` is low while the gate clears
its state (``n_symbols`` cycles after reset or ``i_clear``) and while the input is an order
or position write of a symbol with an order or position write in the two stages behind it
(a read-after-write hazard: at most 3 cycles of wait). ``o_valid``, ``o_reject``
(``Reject`` bits, 0 for accepted orders and for items that carry no order), ``o_now`` (the
market clock the checks used) and ``o_pass`` come :attr:`RiskGate.LATENCY` enabled cycles
after their input, all registers. ``limits`` (:data:`LIMITS_LAYOUT`) and ``restricted``
(one bit per symbol) are live registers.

Host side: ``i_table_*`` writes a symbol's base price and position limit; ``i_kill_set`` /
``i_kill_clear`` pulses; ``pnl_day``, ``equity`` (live registers); ``i_peak_reset``;
``i_clear`` (pulse: forget ticks, positions, buckets, duplicates); ``i_rd_symbol`` ->
``o_rd_position`` (combinational read-back; 0 for an unknown symbol, whose table writes and
position writes are ignored); ``o_gross``, ``o_kill``, ``o_equity_peak``,
``o_feed_expired``, ``o_clearing``.

Schedule (the input cycle is A; B and C follow; outputs are registers after C)::

    A  read the symbol's table, last tick and order state (LUT RAM, asynchronous); bad
       order; abs prices; |price - last|; the clock; new position and its absolute value;
       bucket and duplicate distances: one carry chain after the read, absolute values
       chosen between two sums computed side by side (the state keeps ``-pos`` too). A
       tick item writes the symbol's last price and the clock at the end of A.
    B  products (notional, both collar sides); the per-symbol checks; the change of
       ``|position|``; a non-positive abs price
    C  the global checks (gross, global bucket, kill, loss, drawdown) against the live
       registers (the loss and drawdown breaches registered a cycle after the host's
       write); the verdict; gross and the global bucket move at the end of C.
    D  (no output waits for it) an accepted order's position, bucket and duplicate memory,
       or a position write, go into the symbol's state from registers.

Only C is a loop (the global state changes with each accepted order and is checked by the
next one in the following cycle); the per-symbol state is read in A and written at the end
of D, so a second order of one symbol waits at the input while the first is in B, C or D.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .params import EngineParams
from .records import Reject, Side

__all__ = ["RiskGate", "ITEM_LAYOUT", "LIMITS_LAYOUT"]

#: One event of the serialised stream. ``tick``: a tick of a known symbol (moves the clock
#: and the symbol's last price: ``ts``, ``tick_price``); ``order``: an order to check
#: (``qty``, ``price``, ``side``, ``flags``; an intent has ``tick`` set too; ``sqty`` is
#: ``qty`` for a BUY and ``-qty`` (mod 2**32) otherwise, worked out by the sender a cycle
#: ahead so stage A adds without negating); ``set_pos``: the host's position write
#: (``price`` holds the position).
ITEM_LAYOUT = data.StructLayout({
    "tick": 1, "order": 1, "set_pos": 1,
    "symbol": unsigned(8), "ts": unsigned(32), "tick_price": signed(32),
    "qty": signed(32), "sqty": signed(32), "price": signed(32), "side": unsigned(8),
    "flags": unsigned(8),
})

#: The limit registers of :class:`~.risk_model.RiskLimits`, plus the loss inputs and the
#: watchdog (cycles without a tick; 0 = off).
LIMITS_LAYOUT = data.StructLayout({
    "max_qty": unsigned(32), "max_notional": unsigned(64), "collar_bps": unsigned(16),
    "stale_ms": unsigned(32), "gross_limit": unsigned(32), "daily_loss_limit": unsigned(32),
    "max_drawdown": unsigned(32), "rate_sym_interval": unsigned(32),
    "rate_sym_tolerance": unsigned(31), "rate_global_interval": unsigned(32),
    "rate_global_tolerance": unsigned(31), "dup_window_ms": unsigned(32),
    "feed_timeout": unsigned(32), "pnl_day": signed(32), "equity": signed(32),
})

_TABLE = data.StructLayout({"base": unsigned(32), "pos_limit": unsigned(31)})
_LAST = data.StructLayout({"seen": 1, "price": signed(32), "ts": unsigned(32)})
_STATE = data.StructLayout({
    "pos": signed(32), "npos": signed(33), "tat": unsigned(32), "tat_valid": 1,
    "dup_valid": 1, "dup_side": unsigned(2), "dup_qty": signed(32), "dup_price": signed(32),
    "dup_ts": unsigned(32),
})
_GROSS_BITS = 40


def _bit(mask: int) -> int:
    """The bit index of a one-bit ``Reject`` mask."""
    return mask.bit_length() - 1


def _i32(value) -> object:
    """The low 32 bits of ``value`` as a signed number (``int32(x mod 2**32)``)."""
    return value[:32].as_signed()


class RiskGate(wiring.Component):
    """Pre-trade checks of :mod:`.risk_model` (see the module docstring)."""

    LATENCY = 3
    #: Most cycles an order waits behind an order or position write of its own symbol.
    HAZARD_WAIT = 3

    def __init__(self, params: EngineParams, pass_shape) -> None:
        self.params = params
        n = params.n_symbols
        self.table = memory.MemoryData(shape=_TABLE, depth=n, init=[])
        super().__init__({
            "en": In(1),
            "i_valid": In(1), "i_item": In(ITEM_LAYOUT), "i_pass": In(pass_shape),
            "o_ready": Out(1),
            "o_valid": Out(1), "o_reject": Out(16), "o_now": Out(32), "o_pass": Out(pass_shape),
            "limits": In(LIMITS_LAYOUT), "restricted": In(n),
            "i_table_we": In(1), "i_table_symbol": In(8), "i_table_base": In(32),
            "i_table_pos_limit": In(31),
            "i_kill_set": In(1), "i_kill_clear": In(1), "i_peak_reset": In(1),
            "i_clear": In(1),
            "i_rd_symbol": In(8), "o_rd_position": Out(signed(32)),
            "o_gross": Out(_GROSS_BITS), "o_kill": Out(1), "o_equity_peak": Out(signed(32)),
            "o_feed_expired": Out(1), "o_clearing": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        n = p.n_symbols
        sym_bits = max(1, p.symbol_bits)
        lim = self.limits
        en = self.en

        # ------------------------------------------------------------ memories (LUT RAM)
        m.submodules.table = table = memory.Memory(data=self.table)
        m.submodules.last = last_mem = memory.Memory(shape=_LAST, depth=n, init=[])
        m.submodules.state = state_mem = memory.Memory(shape=_STATE, depth=n, init=[])
        table_rd = table.read_port(domain="comb")
        table_wr = table.write_port()
        last_rd = last_mem.read_port(domain="comb")
        last_wr = last_mem.write_port()
        state_rd = state_mem.read_port(domain="comb")
        state_back = state_mem.read_port(domain="comb")
        state_wr = state_mem.write_port()
        m.d.comb += [
            table_wr.addr.eq(self.i_table_symbol[:sym_bits]),
            table_wr.en.eq(self.i_table_we & (self.i_table_symbol < n)),
            table_wr.data.base.eq(self.i_table_base),
            table_wr.data.pos_limit.eq(self.i_table_pos_limit),
            state_back.addr.eq(self.i_rd_symbol[:sym_bits]),
            self.o_rd_position.eq(Mux(self.i_rd_symbol < n, state_back.data.pos, 0)),
        ]

        # ------------------------------------------------------------ clearing sweep
        clearing = Signal(init=1)
        sweep = Signal(sym_bits)
        m.d.comb += self.o_clearing.eq(clearing)
        with m.If(clearing):
            m.d.sync += sweep.eq(sweep + 1)
            with m.If(sweep == n - 1):
                m.d.sync += clearing.eq(0)
        with m.Elif(self.i_clear):
            m.d.sync += [clearing.eq(1), sweep.eq(0)]

        # ------------------------------------------------------------ global registers
        now = Signal(32)
        gross = Signal(_GROSS_BITS)
        gtat = Signal(32)
        gtat_valid = Signal()
        kill = Signal(init=1)
        peak = Signal(signed(32))
        since_tick = Signal(32)
        expired = Signal()
        loss_breach = Signal()
        dd_breach = Signal()
        # The breaches are registered: they depend on host registers only (they take effect
        # one cycle after a write, long before the host's next order can arrive), and the
        # verdict's loop does not carry their two carry chains.
        m.d.sync += [
            loss_breach.eq(lim.pnl_day < -lim.daily_loss_limit),
            dd_breach.eq(peak - lim.equity > lim.max_drawdown),
        ]
        m.d.comb += [
            expired.eq((lim.feed_timeout != 0) & (since_tick >= lim.feed_timeout)),
            self.o_gross.eq(gross), self.o_kill.eq(kill), self.o_equity_peak.eq(peak),
            self.o_feed_expired.eq(expired),
        ]
        with m.If(self.i_peak_reset):
            m.d.sync += peak.eq(lim.equity)
        with m.Elif(lim.equity > peak):
            m.d.sync += peak.eq(lim.equity)
        breach = loss_breach | dd_breach
        m.d.sync += kill.eq(self.i_kill_set | breach | (kill & ~self.i_kill_clear))

        # ------------------------------------------------------------ stage A (input)
        item = self.i_item
        sym_a = item.symbol[:sym_bits]
        known_a = item.symbol < n
        stateful_a = item.order | item.set_pos
        valid_b = Signal()
        valid_c = Signal()
        item_b = Signal(ITEM_LAYOUT)
        item_c = Signal(ITEM_LAYOUT)
        write_d = Signal()                      # stage D: the state write, registered
        symbol_d = Signal(8)
        state_d = Signal(_STATE, reset_less=True)
        hazard = stateful_a & (
            (valid_b & (item_b.order | item_b.set_pos) & (item_b.symbol == item.symbol))
            | (valid_c & (item_c.order | item_c.set_pos) & (item_c.symbol == item.symbol))
            | (write_d & (symbol_d == item.symbol)))
        m.d.comb += self.o_ready.eq(~clearing & ~hazard)
        take = Signal()
        m.d.comb += take.eq(en & self.i_valid & self.o_ready)
        m.d.comb += [table_rd.addr.eq(sym_a), last_rd.addr.eq(sym_a), state_rd.addr.eq(sym_a)]

        tab = table_rd.data
        st = state_rd.data
        tick_a = item.tick & known_a
        seen_a = Mux(tick_a, 1, last_rd.data.seen)
        last_price_a = Mux(tick_a, item.tick_price, last_rd.data.price)
        last_ts_a = Mux(tick_a, item.ts, last_rd.data.ts)
        now_a = Mux(tick_a, item.ts, now)
        # One carry chain deep after the RAM read: every absolute value is a choice
        # between two sums computed side by side (the state keeps -pos as ``npos``, the
        # item brings its signed quantity ``sqty``); the differences of absolute values
        # wait for stage B.
        abs_price_a = tab.base + item.price            # 34-bit signed
        bad_a = ((item.qty <= 0) | ((item.side != Side.BUY) & (item.side != Side.SELL))
                 | ~known_a | (item.flags != 0))
        new_pos_a = st.pos + item.sqty
        neg_new_a = st.npos - item.sqty
        abs_pos_a = Mux(st.pos < 0, st.npos, st.pos)
        abs_new_a = Mux(new_pos_a < 0, neg_new_a, new_pos_a)
        neg_price_a = -item.price
        set_abs_a = Mux(item.price < 0, neg_price_a, item.price)

        # Registers A -> B.
        b = {
            "bad": Signal(), "restricted": Signal(), "now": Signal(32),
            "abs_price": Signal(signed(35)), "dev": Signal(34), "abs_last": Signal(signed(35)),
            "seen": Signal(), "age": Signal(32), "new_pos": Signal(signed(34)),
            "neg_new": Signal(signed(34)), "abs_new": Signal(34), "abs_from": Signal(34),
            "abs_pos": Signal(33), "pos_limit": Signal(31),
            "tat_d": Signal(signed(32)), "tat_valid": Signal(), "tat": Signal(32),
            "dup_hit": Signal(), "dup_age": Signal(32), "state": Signal(_STATE),
        }
        dev_a = item.price - last_price_a
        ndev_a = last_price_a - item.price
        with m.If(en):
            m.d.sync += [valid_b.eq(take), item_b.eq(item)]
            m.d.sync += [
                b["bad"].eq(bad_a), b["restricted"].eq(self.restricted.bit_select(sym_a, 1)),
                b["now"].eq(now_a), b["abs_price"].eq(abs_price_a),
                b["dev"].eq(Mux(dev_a < 0, ndev_a, dev_a)),
                b["abs_last"].eq(tab.base + last_price_a), b["seen"].eq(seen_a),
                b["age"].eq((now_a - last_ts_a)[:32]),
                b["new_pos"].eq(Mux(item.set_pos, item.price, new_pos_a)),
                b["neg_new"].eq(Mux(item.set_pos, neg_price_a, neg_new_a)),
                b["abs_new"].eq(abs_new_a),
                b["abs_from"].eq(Mux(item.set_pos, set_abs_a, abs_new_a)),
                b["abs_pos"].eq(abs_pos_a),
                b["pos_limit"].eq(tab.pos_limit),
                b["tat_d"].eq(_i32(st.tat - now_a)), b["tat_valid"].eq(st.tat_valid),
                b["tat"].eq(st.tat),
                b["dup_hit"].eq(st.dup_valid & (st.dup_side == item.side[:2])
                                & (item.side[2:] == 0) & (st.dup_qty == item.qty)
                                & (st.dup_price == item.price)),
                b["dup_age"].eq((now_a - st.dup_ts)[:32]), b["state"].eq(st),
            ]
        # A tick moves the clock and the symbol's last price at the end of A.
        m.d.comb += [
            last_wr.addr.eq(Mux(clearing, sweep, sym_a)),
            last_wr.en.eq(clearing | (take & tick_a)),
            last_wr.data.seen.eq(~clearing), last_wr.data.price.eq(item.tick_price),
            last_wr.data.ts.eq(item.ts),
        ]
        with m.If(take & tick_a):
            m.d.sync += [now.eq(item.ts), since_tick.eq(0)]
        with m.Elif(since_tick != 2**32 - 1):
            m.d.sync += since_tick.eq(since_tick + 1)

        # ------------------------------------------------------------ stage B
        c = {
            "bad": Signal(), "now": Signal(32), "notional": Signal(67),
            "dev_x": Signal(48), "band": Signal(signed(52)), "fails": Signal(16),
            "new_pos": Signal(signed(32)), "neg_new": Signal(signed(33)),
            "delta": Signal(signed(35)), "next_tat": Signal(32),
            "state": Signal(_STATE),
        }
        sym_fails = Signal(16)
        m.d.comb += [
            sym_fails[_bit(Reject.MAX_QTY)].eq(item_b.qty > lim.max_qty),
            sym_fails[_bit(Reject.RESTRICTED)].eq(b["restricted"]),
            sym_fails[_bit(Reject.STALE)].eq(~b["seen"] | (b["age"] > lim.stale_ms)),
            sym_fails[_bit(Reject.POSITION)].eq(b["abs_new"] > b["pos_limit"]),
            sym_fails[_bit(Reject.RATE_SYMBOL)].eq(
                b["tat_valid"] & (b["tat_d"] > lim.rate_sym_tolerance)),
            sym_fails[_bit(Reject.DUPLICATE)].eq(
                b["dup_hit"] & (b["dup_age"] <= lim.dup_window_ms)),
        ]
        tat_start = Mux(b["tat_valid"] & (b["tat_d"] > 0), b["tat"], b["now"])
        with m.If(en):
            m.d.sync += [valid_c.eq(valid_b), item_c.eq(item_b)]
            m.d.sync += [
                c["bad"].eq(b["bad"] | (b["abs_price"] <= 0)), c["now"].eq(b["now"]),
                c["notional"].eq(item_b.qty.as_unsigned() * b["abs_price"].as_unsigned()),
                c["dev_x"].eq(b["dev"] * 10_000),
                c["band"].eq(lim.collar_bps * b["abs_last"]),
                c["fails"].eq(sym_fails),
                c["new_pos"].eq(b["new_pos"]), c["neg_new"].eq(b["neg_new"]),
                c["delta"].eq(b["abs_from"] - b["abs_pos"]),
                c["next_tat"].eq(tat_start + lim.rate_sym_interval),
                c["state"].eq(b["state"]),
            ]
        seen_c = Signal()
        with m.If(en):
            m.d.sync += seen_c.eq(b["seen"])

        # ------------------------------------------------------------ stage C (verdict)
        fails = Signal(16)
        new_gross = gross + c["delta"]
        gtat_d = _i32(gtat - c["now"])
        collar_fail = seen_c & (c["dev_x"] > c["band"])
        m.d.comb += [
            fails.eq(c["fails"]),
            fails[_bit(Reject.KILL)].eq(kill | breach),
            fails[_bit(Reject.MAX_NOTIONAL)].eq(c["notional"] > lim.max_notional),
            fails[_bit(Reject.COLLAR)].eq(collar_fail),
            fails[_bit(Reject.STALE)].eq(c["fails"][_bit(Reject.STALE)] | expired),
            fails[_bit(Reject.GROSS)].eq(new_gross > lim.gross_limit),
            fails[_bit(Reject.DAILY_LOSS)].eq(loss_breach),
            fails[_bit(Reject.DRAWDOWN)].eq(dd_breach),
            fails[_bit(Reject.RATE_GLOBAL)].eq(
                gtat_valid & (gtat_d > lim.rate_global_tolerance)),
        ]
        reject = Signal(16)
        m.d.comb += reject.eq(Mux(~item_c.order, 0, Mux(c["bad"], Reject.BAD_ORDER, fails)))
        accept = Signal()
        m.d.comb += accept.eq(en & valid_c & item_c.order & (reject == 0))
        set_pos = en & valid_c & item_c.set_pos & (item_c.symbol < n)

        new_state = Signal(_STATE)
        m.d.comb += new_state.eq(c["state"])
        m.d.comb += [new_state.pos.eq(c["new_pos"]), new_state.npos.eq(c["neg_new"])]
        with m.If(~item_c.set_pos):
            m.d.comb += [
                new_state.tat.eq(c["next_tat"]), new_state.tat_valid.eq(1),
                new_state.dup_valid.eq(1), new_state.dup_side.eq(item_c.side[:2]),
                new_state.dup_qty.eq(item_c.qty), new_state.dup_price.eq(item_c.price),
                new_state.dup_ts.eq(c["now"]),
            ]
        # The write goes to the LUT RAM from registers, a cycle after the verdict (the
        # write enable fans out to every RAM cell of the state).
        m.d.sync += [write_d.eq(accept | set_pos), symbol_d.eq(item_c.symbol),
                     state_d.eq(new_state)]
        m.d.comb += [
            state_wr.addr.eq(Mux(clearing, sweep, symbol_d[:sym_bits])),
            state_wr.en.eq(clearing | write_d),
            state_wr.data.eq(Mux(clearing, 0, state_d)),
        ]
        gtat_start = Mux(gtat_valid & (gtat_d > 0), gtat, c["now"])
        with m.If(clearing):
            m.d.sync += [gross.eq(0), gtat_valid.eq(0), now.eq(0)]
        with m.Elif(accept | set_pos):
            m.d.sync += gross.eq(new_gross)
            with m.If(accept):
                m.d.sync += [gtat.eq(gtat_start + lim.rate_global_interval),
                             gtat_valid.eq(1)]

        with m.If(en):
            m.d.sync += [
                self.o_valid.eq(valid_c), self.o_reject.eq(reject), self.o_now.eq(c["now"]),
            ]

        # The pass-through payload rides along A -> B -> C -> out.
        pass_b = Signal.like(self.i_pass, reset_less=True)
        pass_c = Signal.like(self.i_pass, reset_less=True)
        out_pass = Signal.like(self.i_pass, reset_less=True)
        with m.If(en):
            m.d.sync += [pass_b.eq(self.i_pass), pass_c.eq(pass_b), out_pass.eq(pass_c)]
        m.d.comb += self.o_pass.eq(out_pass)
        return m
