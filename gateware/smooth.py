"""Per-symbol exponential smoothing: ``x <- x + mulshr(target - x, alpha)``.

One :class:`Smooth` is one recurrence of the engine (EMA fast, EMA slow, MACD signal, RSI
average gain, RSI average loss). It owns the state ``x`` of every symbol in a block RAM and
updates it once per tick, bit-exact with :func:`tickgate.gateware.model.mulshr`::

    x      = init if fresh else ram[addr]
    x_new  = x + floor((target - x) * alpha / 2**18)      (arithmetic shift)
    ram[addr] = x_new;  o_x = x_new;  o_gap = target - x_new

Formats: ``x``, ``init`` and ``target`` are signed ``width``-bit integers (``Q.16`` pips in
the engine); ``alpha`` is unsigned ``Q0.18``. ``x_new`` lies between ``x`` and ``target``,
so it never needs more bits than they do; ``o_gap`` has ``width + 1``.

Ports and timing, in enabled cycles (every register, RAM read and write advances only when
``en`` is high), counted from the cycle in which ``i_addr`` is presented (cycle 0):

* cycle 0: ``i_valid`` (the slot carries a tick whose state lives here), ``i_addr``.
  The state RAM is read in this cycle.
* cycle 2: ``i_fresh``, ``i_init``, ``i_target``, ``i_alpha`` (combinational inputs).
* cycle 5: ``o_x``, ``o_gap`` (registers; zero unless the slot is valid). The state RAM
  is written in this cycle.

Latency 5 cycles; throughput one tick per cycle. A tick may read its symbol's state only
in a cycle after the previous tick of that symbol wrote it: two ticks of one symbol must be
at least :attr:`Smooth.WINDOW` = 6 cycles apart (read-before-write RAM).

Pipeline: cycle 1 the RAM output; cycle 2 a register of it (the block RAM's clock-to-out is
slow on ECP5), the fresh selection and the subtraction; cycle 3 the multiplier operands,
multiplied as unsigned 18x18 partial products (one DSP each); cycle 4 the partial products,
summed with ``x`` in one three-input adder; cycle 5 the result.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .params import ALPHA_BITS

__all__ = ["Smooth", "mulshr_parts"]

#: Operand width of one DSP multiplier (ECP5 MULT18X18D, unsigned use).
DSP_BITS = 18


def mulshr_parts(width: int) -> list[tuple[int, int]]:
    """Return the ``(start, stop)`` bit ranges of a ``width``-bit multiplicand's DSP chunks."""
    return [(i, min(i + DSP_BITS, width)) for i in range(0, width, DSP_BITS)]


class Smooth(wiring.Component):
    """One smoothing recurrence with per-symbol state (see the module doc)."""

    #: Cycles from ``i_addr`` to ``o_x``.
    LATENCY = 5
    #: Minimum distance in cycles between two ticks of one symbol (state read to write + 1).
    WINDOW = 6

    def __init__(self, n_symbols: int, width: int = 50) -> None:
        self.n_symbols = n_symbols
        self.width = width
        addr_bits = max(1, (n_symbols - 1).bit_length())
        super().__init__({
            "en": In(1),
            "i_valid": In(1),
            "i_addr": In(addr_bits),
            "i_fresh": In(1),
            "i_init": In(signed(width)),
            "i_target": In(signed(width)),
            "i_alpha": In(unsigned(ALPHA_BITS)),
            "o_x": Out(signed(width)),
            "o_gap": Out(signed(width + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        w = self.width
        en = self.en

        m.submodules.state = state = memory.Memory(shape=signed(w), depth=self.n_symbols,
                                                   init=[])
        rd = state.read_port(domain="sync", transparent_for=())
        wr = state.write_port()

        # Slot bookkeeping: valid and address, cycles 1 .. 5.
        valid = [self.i_valid] + [Signal(name=f"valid{i}") for i in range(1, 6)]
        addr = [self.i_addr] + [Signal.like(self.i_addr, name=f"addr{i}") for i in range(1, 6)]
        with m.If(en):
            for i in range(1, 6):
                m.d.sync += [valid[i].eq(valid[i - 1]), addr[i].eq(addr[i - 1])]

        # Cycle 0: read. Cycle 1: RAM output, registered into cycle 2.
        m.d.comb += [rd.addr.eq(self.i_addr), rd.en.eq(en)]
        x2 = Signal(signed(w))
        with m.If(en):
            m.d.sync += x2.eq(rd.data)

        # Cycle 2: select the state, subtract.
        x_sel = Mux(self.i_fresh, self.i_init, x2)
        diff3 = Signal(signed(w + 1))
        x3 = Signal(signed(w))
        alpha3 = Signal(unsigned(ALPHA_BITS))
        with m.If(en):
            m.d.sync += [diff3.eq(self.i_target - x_sel), x3.eq(x_sel), alpha3.eq(self.i_alpha)]

        # Cycle 3: unsigned partial products of diff's two's-complement bits U, where
        # diff = U - sign * 2**(w+1), so floor(diff * a / 2**18) =
        # floor(U * a / 2**18) - sign * a * 2**(w+1-18); the correction goes into x and gap.
        parts = mulshr_parts(w + 1)
        pp4 = [Signal(unsigned(stop - start + ALPHA_BITS), name=f"pp{i}")
               for i, (start, stop) in enumerate(parts)]
        x4 = Signal(unsigned(w))            # x - correction, modulo 2**w
        gap4 = Signal(unsigned(w + 1))      # diff + correction, modulo 2**(w+1)
        correction = Mux(diff3[-1], alpha3, 0) << (w + 1 - ALPHA_BITS)
        with m.If(en):
            for (start, stop), pp in zip(parts, pp4, strict=True):
                m.d.sync += pp.eq(diff3.as_unsigned()[start:stop] * alpha3)
            m.d.sync += [x4.eq(x3 - correction), gap4.eq(diff3 + correction)]

        # Cycle 4: floor(U * a / 2**18) = sum over chunks i >= 1 of pp[i] << 18*(i-1), plus
        # pp[0] >> 18; the even and the odd chunks each tile disjoint bit ranges.
        even = Cat(pp4[0][ALPHA_BITS:], *pp4[2::2])
        odd = Cat(*pp4[1::2]) if len(pp4) > 1 else 0
        product = Signal(unsigned(w + 1))
        m.d.comb += product.eq(even + odd)
        with m.If(en):
            m.d.sync += [
                self.o_x.eq(Mux(valid[4], x4 + product, 0)),
                self.o_gap.eq(Mux(valid[4], gap4 - product, 0)),
            ]

        # Cycle 5: write back.
        m.d.comb += [wr.addr.eq(addr[5]), wr.data.eq(self.o_x), wr.en.eq(en & valid[5])]
        return m
