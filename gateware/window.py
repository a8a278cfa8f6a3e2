"""Per-symbol price ring: SMA window sum, sum of squares, and momentum.

Every symbol has a ring of ``ring_depth`` prices, written at the ring pointer (ticks since
the symbol's reset modulo ``ring_depth``). Per tick, bit-exact with the model::

    old    = ring[ptr - n_sma] if count >= n_sma else 0       # count before this tick
    sum    = sum + price - old                                # modulo 2**64 (int64)
    sumsq  = (sumsq + price**2 - old**2) mod 2**64
    mom    = price - ring[ptr - n_roc] if count >= n_roc else 0
    ring[ptr] = price

The ring is held twice (one copy per read port: the ``n_sma`` and the ``n_roc`` tap). Both
are written and read in the same cycle; with read-before-write RAM a read at the written
address (``n == ring_depth``) returns the old price, as the model wants, and a tick reads
only prices written by earlier ticks, so the ring needs no hazard distance of its own.
``sum``/``sumsq`` live in a third RAM, one entry per symbol.

Formats: ``price`` signed 32-bit pips; ``sum`` signed 64-bit, ``sumsq`` unsigned 64-bit
(modulo 2**64), ``mom`` signed 64-bit; squares from three 16x16 partial products each.

Ports and timing, in enabled cycles (everything advances only when ``en`` is high), from the
cycle in which the tick's inputs are presented (cycle 0):

* cycle 0: ``i_valid``, ``i_sym``, ``i_ptr`` (ring pointer, 0 for a fresh tick), ``i_price``,
  ``i_count`` (ticks before this one, 0 for a fresh tick), ``i_fresh``, ``i_n_sma``,
  ``i_n_roc``. The rings are read and written in this cycle.
* cycle 5: ``o_sum``, ``o_sumsq``, ``o_mom``, ``o_sma_full`` (the window is full: ``count + 1
  >= n_sma`` with this tick), ``o_roc_full`` (``count >= n_roc``): registers, zero unless
  the slot is valid.

Latency 5 cycles, one tick per cycle. The sums RAM is read in cycle 2 and written in cycle 5:
two ticks of one symbol must be at least :attr:`WindowSums.WINDOW` = 4 cycles apart.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .layouts import WINDOW_BITS
from .params import EngineParams
from .pipe import Delays

__all__ = ["WindowSums", "square_parts"]

_SUMS = data.StructLayout({"sum": signed(64), "sumsq": unsigned(64)})


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
    LATENCY = 5
    #: Minimum distance in cycles between two ticks of one symbol.
    WINDOW = 4

    def __init__(self, params: EngineParams) -> None:
        self.params = params
        sym_bits = max(1, params.symbol_bits)
        super().__init__({
            "en": In(1),
            "i_valid": In(1),
            "i_sym": In(sym_bits),
            "i_ptr": In(params.ring_bits),
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
        dly = Delays(m, en)
        valid = [dly.get(self.i_valid, i, "valid") for i in range(6)]
        sym = [dly.get(self.i_sym, i, "sym") for i in range(6)]
        price = [dly.get(self.i_price, i, "price") for i in range(5)]
        fresh4 = dly.get(self.i_fresh, 4, "fresh")

        # Cycle 0: both ring copies written at ptr, read at ptr - n.
        depth = p.n_symbols * p.ring_depth
        taps = {}
        for name, n in (("sma", self.i_n_sma), ("roc", self.i_n_roc)):
            mem = memory.Memory(shape=signed(32), depth=depth, init=[])
            m.submodules[f"ring_{name}"] = mem
            rd = mem.read_port(domain="sync", transparent_for=())
            wr = mem.write_port()
            m.d.comb += [
                rd.addr.eq(Cat((self.i_ptr - n)[:p.ring_bits], self.i_sym)), rd.en.eq(en),
                wr.addr.eq(Cat(self.i_ptr, self.i_sym)), wr.data.eq(self.i_price),
                wr.en.eq(en & self.i_valid),
            ]
            tap2 = Signal(signed(32), name=f"old_{name}2")
            with m.If(en):
                m.d.sync += tap2.eq(rd.data)    # cycle 1: RAM output, registered
            taps[name] = tap2
        old2 = taps["sma"]

        sma_full1 = Signal()     # an old price leaves the window
        sma_ready1 = Signal()    # the window, this tick included, holds n_sma prices
        roc_full1 = Signal()
        with m.If(en):
            m.d.sync += [sma_full1.eq(self.i_count >= self.i_n_sma),
                         sma_ready1.eq(self.i_count + 1 >= self.i_n_sma),
                         roc_full1.eq(self.i_count >= self.i_n_roc)]
        sma_full = [None, sma_full1] + [dly.get(sma_full1, i, "sma_full") for i in (1, 2, 3)]
        roc_full2 = dly.get(roc_full1, 1, "roc_full")

        # Squares: price**2 from cycle 0 (ready in cycle 2), old**2 from cycle 2 (cycle 4).
        def square(value: Value, name: str) -> Signal:
            parts = [Signal(signed(34), name=f"{name}_{k}") for k in ("ll", "hh", "hl")]
            result = Signal(unsigned(64), name=f"{name}_sq")
            with m.If(en):
                m.d.sync += [part.eq(prod) for part, prod in
                             zip(parts, square_parts(value), strict=True)]
                m.d.sync += result.eq(square_sum(*parts))
            return result

        price_sq4 = dly.get(square(self.i_price, "price"), 2, "price_sq")
        old_sq4 = square(old2, "old")

        # Cycle 2: momentum; sums RAM read.
        mom3 = Signal(signed(64))
        with m.If(en):
            m.d.sync += mom3.eq(Mux(roc_full2 & valid[2], price[2] - taps["roc"], 0))
        m.submodules.sums = sums = memory.Memory(shape=_SUMS, depth=p.n_symbols, init=[])
        rd = sums.read_port(domain="sync", transparent_for=())
        wr = sums.write_port()
        m.d.comb += [rd.addr.eq(sym[2]), rd.en.eq(en)]
        sums4 = Signal(_SUMS)
        with m.If(en):
            m.d.sync += sums4.eq(rd.data)       # cycle 3: RAM output, registered
        old4 = dly.get(old2, 2, "old")

        # Cycle 4: update the sums.
        full4 = sma_full[4]
        s1 = Mux(fresh4, 0, sums4.sum)
        s2 = Mux(fresh4, 0, sums4.sumsq)
        with m.If(en):
            m.d.sync += [
                self.o_sum.eq(Mux(valid[4], s1 + price[4] - Mux(full4, old4, 0), 0)),
                self.o_sumsq.eq(Mux(valid[4], s2 + price_sq4 - Mux(full4, old_sq4, 0), 0)),
                self.o_mom.eq(dly.get(mom3, 1, "mom")),
                self.o_sma_full.eq(dly.get(sma_ready1, 3, "sma_ready") & valid[4]),
                self.o_roc_full.eq(dly.get(roc_full2, 2, "roc_full") & valid[4]),
            ]

        # Cycle 5: write the sums back.
        m.d.comb += [
            wr.addr.eq(sym[5]), wr.en.eq(en & valid[5]),
            wr.data.sum.eq(self.o_sum), wr.data.sumsq.eq(self.o_sumsq),
        ]
        return m
