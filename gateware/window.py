"""Per-symbol price ring: SMA window sum, sum of squares, and momentum.

Every symbol has a ring of ``ring_depth`` prices, written at the ring pointer (it advances
by one per tick of the symbol; a reset need not rewind it: only offsets from the newest
price are read, and ``count``, the ticks since the reset, masks the older ones). Per tick,
bit-exact with the model::

    old    = ring[ptr - n_sma] if count >= n_sma else 0       # count before this tick
    sum    = sum + price - old                                # modulo 2**64 (int64)
    sumsq  = (sumsq + price**2 - old**2) mod 2**64
    mom    = price - ring[ptr - n_roc] if count >= n_roc else 0
    ring[ptr] = price

The ring is held twice (one copy per read port: the ``n_sma`` and the ``n_roc`` tap). A
tick reads both in its cycle 0 and writes its price a cycle later (the write goes through
registers of the RAM's own, :class:`~.primitives.RegisteredMemory` with
``write_registered``), so a read at the written address (``n == ring_depth``) returns the
old price, as the model wants (read before write); a tick reads only prices written by
earlier ticks of its symbol, at least two cycles ahead, so the ring needs no hazard
distance of its own and no two ports ever touch one address in a cycle. ``sum``/``sumsq``
live in a third RAM, one entry per symbol.

Formats: ``price`` signed 32-bit pips; ``sum`` signed 64-bit, ``sumsq`` unsigned 64-bit
(modulo 2**64), ``mom`` signed 64-bit; squares from three 16x16 partial products each.

Ports and timing, in enabled cycles (everything advances only when ``en`` is high), from the
cycle in which the tick's inputs are presented (cycle 0):

* cycle -1 (a cycle ahead of the tick): ``i_n_sma``, ``i_n_roc``, the windows. Each group
  of a ring's block RAMs registers its own copy and works out its read index ``ptr - n``
  with a subtractor of its own (:class:`~.primitives.RegisteredMemory`'s ``rd_sub``).
* cycle 0: ``i_valid``, ``i_sym``, ``i_price``, and each ring's address ``i_ring_sma`` /
  ``i_ring_roc`` (``Cat(ptr, symbol)``, from registers of the caller's own: the write
  index is the ring pointer ``ptr``, the read index ``ptr - n``). With ``deep=True``
  (the engine's deep build) the read addresses come in too, as ``i_tap_sma`` /
  ``i_tap_roc`` (``Cat(ptr - n, symbol)``, from the caller's registers: no subtractor in
  front of the block RAMs), and no group works out a tap. The rings are read in this cycle
  and written at the end of the next.
* cycle 1: ``i_count`` (ticks before this one, 0 for a fresh tick), ``i_fresh``.
* cycle 7: ``o_sum``, ``o_sumsq``, ``o_mom``, ``o_sma_full`` (the window is full: ``count + 1
  >= n_sma`` with this tick), ``o_roc_full`` (``count >= n_roc``): registers, zero unless
  the slot is valid.

Latency 7 cycles, one tick per cycle. Stage map: cycle 0 ring read (block RAM with
its output register, :class:`~.primitives.RegisteredMemory`, data in cycle 2, registered
once more in cycle 3: the rings spread over many block RAMs), price**2 operands into the
multipliers (:class:`~.primitives.RegisteredMultiplier`); cycle 1 ring write, the count into a
register; cycle 2 count against the windows, price**2 partial products summed (plus 2;
with ``deep=True`` the products go into fabric registers first and are summed in cycle 3);
cycle 3 ring data: momentum,
``d_sum = price - old``, old**2 operands into the multipliers, sums RAM read (with
``deep=True``: ``price - old`` and ``price`` into registers, and in cycle 4 one of them,
picked by the window's full flag, into ``d_sum``: the flag drives a multiplexer into
registers, not the 64 bits of a subtraction's operand); cycle 5
``d_sumsq = price**2 - old**2`` (a carry-save layer into registers, no adder), sums RAM
data (zero for a fresh tick) into registers; cycle 6 ``sums + d`` (one adder from
registers; for the squares a carry-save layer in front of it); cycle 7
outputs, sums written back. The sums RAM is read in cycle 3 and written in cycle 7: two
ticks of one symbol must be at least :attr:`WindowSums.WINDOW` = 5 cycles apart.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import WINDOW_BITS
from .params import EngineParams
from .pipe import Delays, add3, carry_save
from .primitives import RegisteredMemory, RegisteredMultiplier

__all__ = ["WindowSums", "square_operands", "square_parts"]

_SUMS = data.StructLayout({"sum": signed(64), "sumsq": unsigned(64)})


def square_operands(value: Value) -> tuple[tuple[Value, Value], ...]:
    """Return the operand pairs of :func:`square_parts`' three products."""
    low = value[:16]
    high = value[16:32].as_signed()
    return (low, low), (high, high), (high, low)


def square_parts(value: Value) -> tuple[Value, Value, Value]:
    """Return ``(l*l, h*h, h*l)`` for a signed 32-bit ``value = h * 2**16 + l``.

    ``h`` is the signed top half and ``l`` the unsigned bottom half, so every product fits
    one 18x18 signed multiplier; ``value**2 = (h*h << 32) + (h*l << 17) + l*l``.
    """
    low = value[:16]
    high = value[16:32].as_signed()
    return low * low, high * high, high * low


def square_sum(ll: Value, hh: Value, hl: Value) -> Value:
    """Return the square from :func:`square_parts`' (registered) products."""
    return Cat(ll[:32], hh[:32]) + (hl << 17)


class WindowSums(wiring.Component):
    """SMA window sums and momentum over a per-symbol price ring (see the module doc)."""

    #: Cycles from the inputs to the outputs.
    LATENCY = 7
    #: Minimum distance in cycles between two ticks of one symbol.
    WINDOW = 5

    def __init__(self, params: EngineParams, *, deep: bool = False) -> None:
        self.params = params
        #: The engine's deep build: the read taps come in from the caller's registers, and
        #: the full flag picks ``d_sum`` a cycle later (same latency).
        self.deep = deep
        sym_bits = max(1, params.symbol_bits)
        ring_addr_bits = params.ring_bits + sym_bits
        taps = ({"i_tap_sma": In(ring_addr_bits), "i_tap_roc": In(ring_addr_bits)}
                if deep else {})
        super().__init__({
            "en": In(1),
            "i_valid": In(1),
            "i_sym": In(sym_bits),
            "i_ring_sma": In(ring_addr_bits), "i_ring_roc": In(ring_addr_bits),
            **taps,
            "i_price": In(signed(32)),
            "i_count": In(32),
            "i_fresh": In(1),
            "i_n_sma": In(WINDOW_BITS),
            "i_n_roc": In(WINDOW_BITS),
            "o_sum": Out(signed(64)),
            "o_sumsq": Out(unsigned(64)),
            "o_mom": Out(signed(64)),
            "o_sma_full": Out(1),
            "o_roc_full": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        en = self.en
        dly = Delays(m, en, reset_less=True)
        valid = [dly.get(self.i_valid, i, "valid") for i in range(8)]
        sym = [dly.get(self.i_sym, i, "sym") for i in range(8)]
        price = [dly.get(self.i_price, i, "price") for i in range(4)]

        # Cycle 0: both ring copies read at ptr - n, data in cycle 2 (the block RAM's output
        # register), registered once more near the RAM (the ring spreads over many block
        # RAMs); the write at ptr presented, it lands at the end of cycle 1 (the RAM's own
        # registers: no logic in front of the 32 blocks' write enables). With n = ring_depth
        # the two addresses are equal and the read returns the old price.
        depth = p.n_symbols * p.ring_depth
        taps3 = {}
        for name in ("sma", "roc"):
            ring = RegisteredMemory(signed(32), depth, write_registered=True,
                                    rd_sub_bits=0 if self.deep else p.ring_bits,
                                    name=f"ring_{name}")
            m.submodules[f"ring_{name}"] = ring
            address = getattr(self, f"i_ring_{name}")
            if self.deep:
                read = [ring.rd_addr.eq(getattr(self, f"i_tap_{name}"))]
            else:
                read = [ring.rd_addr.eq(address), ring.rd_sub.eq(getattr(self, f"i_n_{name}"))]
            m.d.comb += [
                ring.en.eq(en),
                *read,
                ring.wr_addr.eq(address), ring.wr_data.eq(self.i_price),
                ring.wr_en.eq(self.i_valid),
            ]
            taps3[name] = dly.get(ring.rd_data, 1, f"tap_{name}")
        old3 = taps3["sma"]

        # Cycle 1: the count (before this tick) into a register; cycle 2: against the
        # windows (first needed in cycle 3).
        count2 = Signal(32, reset_less=True)
        with m.If(en):
            m.d.sync += count2.eq(self.i_count)
        # (i_n_* come a cycle ahead: their delays are one longer.)
        n_sma2 = dly.get(self.i_n_sma, 3, "n_sma")
        # count + 1 >= n  <=>  count >= n - 1 (signed: n = 0 gives -1), no adder in front.
        n_sma_less1_2 = Signal(signed(len(self.i_n_sma) + 1), reset_less=True)
        with m.If(en):
            m.d.sync += n_sma_less1_2.eq(dly.get(self.i_n_sma, 2, "n_sma") - 1)
        n_roc2 = dly.get(self.i_n_roc, 3, "n_roc")
        sma_full3 = Signal(reset_less=True)     # an old price leaves the window
        sma_ready3 = Signal(reset_less=True)    # the window, this tick included, holds n_sma prices
        roc_full3 = Signal(reset_less=True)
        with m.If(en):
            m.d.sync += [sma_full3.eq(count2 >= n_sma2),
                         sma_ready3.eq(count2 >= n_sma_less1_2),
                         roc_full3.eq(count2 >= n_roc2)]

        # Squares: price**2 = (ll, hh, hl) products of cycle 0 (in cycle 2), summed (plus 2,
        # for the subtraction below) in cycle 2; old**2 products of cycle 3 (in cycle 5).
        def products(value: Value, name: str) -> list[Value]:
            parts = []
            for k, (a, b) in zip(("ll", "hh", "hl"), square_operands(value), strict=True):
                mul = RegisteredMultiplier(a.shape(), b.shape(), name=f"{name}_{k}")
                m.submodules[f"{name}_{k}"] = mul
                m.d.comb += [mul.en.eq(en), mul.a.eq(a), mul.b.eq(b)]
                parts.append(mul.p)
            return parts

        ll, hh, hl = products(self.i_price, "price")
        if self.deep:
            # Deep: the products (from the DSPs' fixed sites) into fabric registers first,
            # summed a cycle later (cycle 3; the sum is needed in cycle 5).
            ll, hh, hl = (dly.get(v, 1, f"price_{k}") for v, k in
                          ((ll, "ll"), (hh, "hh"), (hl, "hl")))
        price_sq_plus2 = Signal(unsigned(64), name=f"price_sq_plus2_{3 + self.deep}",
                                reset_less=True)
        with m.If(en):
            # hl << 17 has 17 zero bits at the bottom: + 2 goes in there.
            m.d.sync += price_sq_plus2.eq(Cat(ll[:32], hh[:32])
                                          + Cat(Const(2, 17), hl).as_signed())
        price_sq_plus2_5 = dly.get(price_sq_plus2, 2 - self.deep, "price_sq_plus2")
        old_ll, old_hh, old_hl = products(old3, "old")

        # Cycle 3: momentum; d_sum = price - (old if the window is full else 0).
        mom4 = Signal(signed(64), reset_less=True)
        with m.If(en):
            m.d.sync += mom4.eq(Mux(roc_full3 & valid[3], price[3] - taps3["roc"], 0))
        if self.deep:
            # price - old into a register, picked in cycle 4 (or the price alone).
            diff4 = Signal(signed(33), reset_less=True)
            d_sum5 = Signal(signed(64), reset_less=True)
            with m.If(en):
                m.d.sync += [
                    diff4.eq(price[3] - old3),
                    d_sum5.eq(Mux(dly.get(sma_full3, 1, "sma_full"), diff4,
                                  dly.get(self.i_price, 4, "price"))),
                ]
            d_sum6 = dly.get(d_sum5, 1, "d_sum")
        else:
            d_sum4 = Signal(signed(64), reset_less=True)
            with m.If(en):
                m.d.sync += d_sum4.eq(price[3] - Mux(sma_full3, old3, 0))
            d_sum6 = dly.get(d_sum4, 2, "d_sum")

        # Cycle 3: sums RAM read (data in cycle 5, registered in cycle 6: zero for a fresh
        # tick, so that cycle 6 is one adder from registers).
        m.submodules.sums = sums = RegisteredMemory(_SUMS, p.n_symbols, name="sums")
        m.d.comb += [sums.en.eq(en), sums.rd_addr.eq(sym[3])]
        sums6 = Signal(_SUMS, reset_less=True)
        fresh5 = dly.get(self.i_fresh, 4, "fresh")
        with m.If(en):
            m.d.sync += sums6.eq(Mux(fresh5, 0, sums.rd_data))

        # Cycle 5: d_sumsq = price**2 - (old**2 if full else 0)
        #   = (price**2 + 2) + ~(full & ll:hh) + ~(full & hl << 17),
        # kept as a carry-save pair (sum, carry << 1) in registers: no carry chain behind
        # the multipliers; the pair's addition joins the sum's own in cycle 6.
        full5 = dly.get(sma_full3, 2, "sma_full")
        old_low = Mux(full5, Cat(old_ll[:32], old_hh[:32]), 0)
        old_mid = Mux(full5, old_hl << 17, 0)
        d_sumsq_s6 = Signal(unsigned(64), reset_less=True)
        d_sumsq_c6 = Signal(unsigned(64), reset_less=True)
        s5, carry5 = carry_save(m, price_sq_plus2_5, ~Value.cast(old_low),
                                ~Value.cast(old_mid), 64, name="d_sumsq")
        with m.If(en):
            m.d.sync += [d_sumsq_s6.eq(s5), d_sumsq_c6.eq(Cat(Const(0, 1), carry5))]

        # Cycle 6: sums = (0 if fresh else sums) + d: one adder from registers.
        new_sum = sums6.sum + d_sum6
        new_sumsq = add3(m, sums6.sumsq, d_sumsq_s6, d_sumsq_c6, 64)
        outs = {name: Signal.like(getattr(self, name), name=f"{name[2:]}7", reset_less=True)
                for name in ("o_sum", "o_sumsq", "o_mom", "o_sma_full", "o_roc_full")}
        with m.If(en):
            m.d.sync += [
                outs["o_sum"].eq(Mux(valid[6], new_sum, 0)),
                outs["o_sumsq"].eq(Mux(valid[6], new_sumsq, 0)),
                outs["o_mom"].eq(dly.get(mom4, 2, "mom")),
                outs["o_sma_full"].eq(dly.get(sma_ready3, 3, "sma_ready") & valid[6]),
                outs["o_roc_full"].eq(dly.get(roc_full3, 3, "roc_full") & valid[6]),
            ]
        m.d.comb += [getattr(self, name).eq(reg) for name, reg in outs.items()]

        # Cycle 7: write the sums back.
        m.d.comb += [
            sums.wr_addr.eq(sym[7]), sums.wr_en.eq(valid[7]),
            sums.wr_data.sum.eq(self.o_sum), sums.wr_data.sumsq.eq(self.o_sumsq),
        ]
        return m
