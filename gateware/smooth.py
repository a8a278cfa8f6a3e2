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
  The state RAM is read in this cycle. With ``valid_cycle=1`` ``i_valid`` comes a cycle
  later, in cycle 1 (a caller whose cycle-0 valid is combinational from its input
  handshake gives its registered copy instead).
* cycle 2: ``i_fresh``, ``i_init``, ``i_target``, ``i_alpha`` (combinational inputs).
  With ``fresh_cycle=1`` ``i_fresh`` comes a cycle earlier, in cycle 1, and the initial
  value is zero (``i_init`` is not used): a fresh tick's state is cleared in the RAM's
  output register (its synchronous clear), so cycle 2 has no selection in front of the
  subtraction.
* cycle 5: ``o_x``, ``o_gap`` (registers; zero unless the slot is valid). The state RAM
  is written in this cycle.

With ``fresh_target=True`` (``fresh_cycle=2``) a fresh tick starts at its target, as an EMA
starts at its first price (``i_init`` is not used): its difference is zero, so cycle 2 has
no selection in front of the subtraction; the difference's register is cleared instead
(a synchronous clear) and only ``x`` takes the selection.

With ``subtrahend=True`` the block has one more input, ``i_sub`` (signed ``width``-bit, cycle
2), and smooths towards ``target - sub`` (the MACD signal: ``target`` the fast EMA, ``sub``
the slow one), with ``o_gap = target - sub - x_new``; the three-operand difference goes
through one carry-save layer and one adder, no slower than the plain subtraction.

Latency 5 cycles; throughput one tick per cycle. A tick may read its symbol's state only
in a cycle after the previous tick of that symbol wrote it: two ticks of one symbol must be
at least :attr:`Smooth.WINDOW` = 6 cycles apart (read-before-write RAM).

With ``deep=True`` (the engine's deep build) cycle 4 only registers the partial products
and ``x``/``gap`` in fabric, next to the adders, and the sum of cycle 4 moves to cycle 5:
``o_x``/``o_gap`` come in cycle 6, the state is written in cycle 6, and ticks of one
symbol must be 7 cycles apart (:meth:`Smooth.timing`; the instance's ``LATENCY`` and
``WINDOW``). Its DSPs register their operands themselves: each DSP's 18-bit chunk of the
difference and ``alpha`` go into the DSP's input registers in cycle 2 (their setup is 0.08
ns on ECP5; a DSP fed from fabric registers needs 3.5 ns of setup for its multiply), so
the products still come in cycle 4. Each chunk comes from an adder of its own, without the
carry from the chunks below (an 18-bit carry chain, not 51 bits, in front of the long
route to the DSP): chunk ``i``'s true value is ``chunk_i + c_i - 2**len_i * z_i``, with
``c_i`` the true carry into its first bit and ``z_i`` set when that carry makes the chunk
wrap to zero, so ``floor(diff * alpha / 2**18)`` is the DSPs' sum plus ``P`` minus ``Q``::

    P = sum over i >= 1 of (c_i and not z_(i-1)) * alpha << 18*(i-1)   (disjoint fields)
    Q = (z_top or sign) * alpha << (width + 1 - 18)

(``z_(i-1)`` implies ``c_i``, and ``z_top`` a zero top chunk, so each coefficient is 0 or
1). The fabric keeps the full difference in registers of its own (its 51-bit carry chain
is on no path to a DSP): cycle 3 works out ``c_i``, ``z_i`` and the sign from it into
registers, cycle 4 sums ``x + P - Q`` and the gap's ``diff + Q - P + 1``. With
``fresh_target`` a fresh tick's DSPs and corrections take ``alpha`` zero (the DSPs'
chunks are ``target - x`` as they are), so no selection sits between the subtraction and
the DSPs.

With ``registered_operands=True`` (deep blocks with ``fresh_cycle=1`` only) the operands
of cycle 2 (``i_target``, ``i_alpha`` and the state from the RAM's output register) go
into registers first, two of each: one for the DSPs' chunk adders, one for the fabric's
difference and corrections (:class:`~.primitives.LocalRegister`, which synthesis keeps
apart). So the state's route from its LUT RAM to the DSPs' fixed sites has a register on
the way, and each copy sits by its own consumers. Everything after is as without, a cycle
later: latency 7, window 8.

Pipeline: cycle 0 the state RAM read (:class:`~.primitives.RegisteredMemory`: LUT RAM, an
asynchronous read into a register and one more register, data in cycle 2; the second
register sits next to the subtraction; with ``fresh_cycle=1`` it is cleared for a fresh
tick); cycle 2 the fresh selection (unless ``fresh_cycle=1``) and the subtraction into
fabric registers next to its adder; cycle 3 those registers straight into the multipliers
(:class:`~.primitives.RegisteredMultiplier` with ``fabric_operands``: unsigned 18x18
partial products, one DSP each, its operand registers bypassed, products in cycle 4 from
its output register), so the long route to the DSPs' fixed sites starts at a register and
not behind the subtraction's carry chain; cycle 4 the partial products summed with ``x``
(and with the gap) through one carry-save layer and one adder; cycle 5 the result.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import ALPHA_BITS
from .pipe import add3, carry_save
from .primitives import RegisteredMemory, RegisteredMultiplier, local_copy

__all__ = ["Smooth", "mulshr_parts"]

#: Operand width of one DSP multiplier (ECP5 MULT18X18D, unsigned use).
DSP_BITS = 18


def mulshr_parts(width: int) -> list[tuple[int, int]]:
    """Return the ``(start, stop)`` bit ranges of a ``width``-bit multiplicand's DSP chunks."""
    return [(i, min(i + DSP_BITS, width)) for i in range(0, width, DSP_BITS)]


class Smooth(wiring.Component):
    """One smoothing recurrence with per-symbol state (see the module doc)."""

    #: Cycles from ``i_addr`` to ``o_x`` (the default build; an instance has its own).
    LATENCY = 5
    #: Minimum distance in cycles between two ticks of one symbol (state read to write + 1).
    WINDOW = 6

    @classmethod
    def timing(cls, deep: bool = False, registered_operands: bool = False
               ) -> tuple[int, int]:
        """Return ``(LATENCY, WINDOW)`` in cycles of the default or the deep block (with
        ``registered_operands``, a cycle more)."""
        extra = deep + registered_operands
        return cls.LATENCY + extra, cls.WINDOW + extra

    def __init__(self, n_symbols: int, width: int = 50, *, subtrahend: bool = False,
                 valid_cycle: int = 0, fresh_cycle: int = 2, fresh_target: bool = False,
                 deep: bool = False, registered_operands: bool = False) -> None:
        if valid_cycle not in (0, 1):
            raise ValueError(f"valid_cycle must be 0 or 1, not {valid_cycle}")
        if fresh_cycle not in (1, 2):
            raise ValueError(f"fresh_cycle must be 1 or 2, not {fresh_cycle}")
        if fresh_target and (fresh_cycle != 2 or subtrahend):
            raise ValueError("fresh_target needs fresh_cycle=2 and no subtrahend")
        if registered_operands and not (deep and fresh_cycle == 1 and not subtrahend):
            raise ValueError("registered_operands needs deep=True, fresh_cycle=1 and no "
                             "subtrahend")
        #: The deep block's operands and state into two registers each (see the module doc).
        self.registered_operands = registered_operands
        self.fresh_cycle = fresh_cycle
        #: A fresh tick starts at its target: the difference's register is cleared.
        self.fresh_target = fresh_target
        self.valid_cycle = valid_cycle
        #: The deep block: the products and the cycle-4 operands into fabric registers, the
        #: sum a cycle later (latency and window one cycle longer); the DSPs register their
        #: operands themselves.
        self.deep = deep
        self.LATENCY, self.WINDOW = self.timing(deep, registered_operands)
        self.n_symbols = n_symbols
        self.width = width
        self.subtrahend = subtrahend
        addr_bits = max(1, (n_symbols - 1).bit_length())
        sub = {"i_sub": In(signed(width))} if subtrahend else {}
        super().__init__({
            **sub,
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

        m.submodules.state = state = RegisteredMemory(signed(w), self.n_symbols,
                                                      distributed=True,
                                                      clearable=self.fresh_cycle == 1,
                                                      name="state")
        m.d.comb += state.en.eq(en)

        # Slot bookkeeping: valid and address, cycles 1 .. 5.
        first = self.valid_cycle
        out = self.LATENCY
        valid = [None] * first + [self.i_valid] + [
            Signal(name=f"valid{i}", reset_less=True) for i in range(first + 1, out + 1)]
        addr = [self.i_addr] + [Signal.like(self.i_addr, name=f"addr{i}", reset_less=True)
                                for i in range(1, out + 1)]
        with m.If(en):
            for i in range(1, out + 1):
                m.d.sync += addr[i].eq(addr[i - 1])
                if i > first:
                    m.d.sync += valid[i].eq(valid[i - 1])

        # Cycle 0: read; the registered RAM output arrives in cycle 2.
        m.d.comb += state.rd_addr.eq(self.i_addr)
        x2 = state.rd_data
        target, alpha = self.i_target, self.i_alpha
        if self.registered_operands:
            # Cycle 2 into registers, two of each (one for the DSPs' adders, one for the
            # fabric), which the placer may put anywhere between the state RAM (its output
            # register sits next to it), the operands' sources and their consumers. The
            # rest of the block is as without them, a cycle later.
            x2, x2_dsp = (local_copy(m, state.rd_data, f"x_{side}", en)
                          for side in ("fab", "dsp"))
            target, target_dsp = (local_copy(m, self.i_target, f"target_{side}", en)
                                  for side in ("fab", "dsp"))
            alpha, alpha_dsp = (local_copy(m, self.i_alpha, f"alpha_{side}", en)
                                for side in ("fab", "dsp"))
        else:
            x2_dsp, target_dsp, alpha_dsp = x2, target, alpha

        # Cycle 2: select the state, subtract; diff, x and alpha into fabric registers (diff3,
        # x3, alpha3), which feed the multipliers in cycle 3.
        # (fresh_cycle=1: a fresh tick's x2 is already zero, its initial value.)
        if self.fresh_cycle == 1:
            m.d.comb += state.rd_clear.eq(self.i_fresh)
            x_sel = x2
        elif self.fresh_target:
            x_sel = Mux(self.i_fresh, target, x2)
        else:
            x_sel = Mux(self.i_fresh, self.i_init, x2)
        diff2 = Signal(signed(w + 1))
        if self.subtrahend:
            # target - sub - x = target + ~sub + ~x + 2: with a 1 appended below every
            # operand and a carry-in of 1 the sum is 2 * (target + ~sub + ~x + 2).
            def ext(v):
                return Cat(Const(1, 1), Value.cast(v).as_signed()[:w], Value.cast(v)[w - 1])
            total = add3(m, ext(target), ext(~self.i_sub), ext(~x_sel), w + 2,
                         carry_in=1)
            m.d.comb += diff2.eq(total[1:])
        elif self.fresh_target:
            # target - x2, or zero for a fresh tick (the register's clear, below).
            m.d.comb += diff2.eq(Mux(self.i_fresh, 0, target - x2))
        else:
            m.d.comb += diff2.eq(target - x_sel)
        diff3 = Signal(signed(w + 1), reset_less=True)
        x3 = Signal(signed(w), reset_less=True)
        alpha3 = Signal(unsigned(ALPHA_BITS), reset_less=True)
        # (With fresh_target the deep block's DSPs and corrections take alpha zero for a
        # fresh tick; see below.)
        alpha_eff2 = (Mux(self.i_fresh, 0, alpha) if self.fresh_target and self.deep
                      else alpha)
        with m.If(en):
            m.d.sync += [diff3.eq(diff2), x3.eq(x_sel), alpha3.eq(alpha_eff2)]

        # Cycles 3-4: unsigned partial products of diff's two's-complement bits U, where
        # diff = U - sign * 2**(w+1), so floor(diff * a / 2**18) =
        # floor(U * a / 2**18) - sign * a * 2**(w+1-18); the correction goes into x and gap.
        parts = mulshr_parts(w + 1)
        if self.deep:
            x_fab = x2 if self.fresh_cycle == 1 or self.fresh_target else x_sel
            if self.registered_operands:
                chunks2, chunk_bits3 = self._dsp_chunks(m, x2_dsp, target_dsp, parts,
                                                        fabric=(x_fab, target))
                alpha_dsp2 = alpha_dsp
            else:
                chunks2, chunk_bits3 = self._dsp_chunks(m, x_fab, target, parts)
                alpha_dsp2 = alpha_eff2
        pp4 = []
        for i, (start, stop) in enumerate(parts):
            mul = RegisteredMultiplier(unsigned(stop - start), unsigned(ALPHA_BITS),
                                       name=f"mul{i}", fabric_operands=not self.deep)
            m.submodules[f"mul{i}"] = mul
            if self.deep:
                # Chunk i of cycle 2 (its own adder) and alpha into the DSP's own registers.
                m.d.comb += [mul.en.eq(en), mul.a.eq(chunks2[i]), mul.b.eq(alpha_dsp2)]
            else:
                m.d.comb += [mul.en.eq(en), mul.a.eq(diff3.as_unsigned()[start:stop]),
                             mul.b.eq(alpha3)]
            pp4.append(mul.p)
        x4 = Signal(unsigned(w), reset_less=True)     # x - correction, modulo 2**w
        gap4 = Signal(unsigned(w + 1), reset_less=True)     # diff + correction + 1, modulo 2**(w+1)
        shift = w + 1 - ALPHA_BITS
        if not self.deep:
            correction = Mux(diff3[-1], alpha3, 0) << shift
            with m.If(en):
                # correction's bit 0 is zero (w + 1 > ALPHA_BITS), so | 1 adds one.
                m.d.sync += [x4.eq(x3 - correction), gap4.eq(diff3 + (correction | 1))]
        else:
            # Deep block: the DSPs' chunks lack the carries from below; the corrections P
            # and Q of the module doc from the full difference: their bits into registers
            # in cycle 3, x + P - Q and diff + Q - P + 1 in cycle 4 (into x5_in, gap5_in).
            n = w + 1
            full = diff3.as_unsigned()
            carry = [None] + [Signal(name=f"carry{i}_3") for i in range(1, len(parts))]
            zero = [Signal(name=f"zero{i}_3") for i in range(len(parts))]
            for i, (start, stop) in enumerate(parts):
                if i:
                    m.d.comb += carry[i].eq(full[start] ^ chunk_bits3[i])
                m.d.comb += zero[i].eq((carry[i] if i else 0) & (full[start:stop] == 0))
            adds = [carry[i] & ~zero[i - 1] for i in range(1, len(parts))]
            subtract = zero[-1] | full[-1]
            adds4 = [self._register(m, v, f"add{i + 1}_4") for i, v in enumerate(adds)]
            subtract4 = self._register(m, subtract, "subtract4")
            alpha4 = self._register(m, alpha3, "alpha4")
            x3_4 = self._register(m, x3, "x3_4")
            diff4 = self._register(m, diff3, "diff4")
            big_p = Cat(*(Mux(bit, alpha4, 0) for bit in adds4))
            big_q = Mux(subtract4, alpha4, 0) << shift
            m.d.comb += [
                x4.eq(add3(m, x3_4, big_p, ~Value.cast(big_q)[:w], w, carry_in=1)),
                gap4.eq(add3(m, diff4, big_q | 1, ~Cat(big_p, Const(0, n - len(big_p))), n,
                             carry_in=1)),
            ]

        # Cycle 4: floor(U * a / 2**18) = sum over chunks i >= 1 of pp[i] << 18*(i-1), plus
        # pp[0] >> 18; the even and the odd chunks each tile disjoint bit ranges. Each
        # three-operand sum goes through one carry-save layer and one adder:
        #   x4 + even + odd;  gap4 - 1 - even - odd = gap4 + ~even + ~odd + 1.
        even = Cat(pp4[0][ALPHA_BITS:], *pp4[2::2])
        odd = Cat(*pp4[1::2]) if len(pp4) > 1 else 0
        n = w + 1
        e = Signal(n)
        o = Signal(n)
        m.d.comb += [e.eq(even), o.eq(odd)]

        if self.deep:
            # The products (from the DSPs' fixed sites) and x, gap into fabric registers
            # next to the adders: the route from the DSPs ends at a register.
            e, o, x4, gap4 = (self._register(m, v, name) for v, name in
                              ((e, "e5"), (o, "o5"), (x4, "x5_in"), (gap4, "gap5_in")))
        sx, cx = carry_save(m, x4, e, o, n, name="csa_x")
        sg, cg = carry_save(m, gap4, ~e, ~o, n, name="csa_gap")
        o_x = Signal.like(self.o_x, name=f"x{out}", reset_less=True)
        o_gap = Signal.like(self.o_gap, name=f"gap{out}", reset_less=True)
        with m.If(en):
            m.d.sync += [
                o_x.eq(Mux(valid[out - 1], (sx + Cat(Const(0, 1), cx))[:w], 0)),
                o_gap.eq(Mux(valid[out - 1], (sg + Cat(Const(1, 1), cg))[:n], 0)),
            ]
        m.d.comb += [self.o_x.eq(o_x), self.o_gap.eq(o_gap)]

        # Cycle 5 (6 in the deep block): write back.
        m.d.comb += [state.wr_addr.eq(addr[out]), state.wr_data.eq(self.o_x),
                     state.wr_en.eq(valid[out])]
        return m

    def _dsp_chunks(self, m: Module, x: Value, target: Value, parts: list[tuple[int, int]],
                    fabric: tuple[Value, Value] | None = None
                    ) -> tuple[list[Signal], list[Signal | None]]:
        """Deep block, cycle 2: the DSP chunks of ``target - x`` (``width + 1`` bits), each
        from an adder of its own: chunk 0 is the true low chunk, chunk ``i >= 1`` is
        ``target_i + ~x_i`` without the carry from below. Also returns, per chunk ``i >= 1``,
        a register (cycle 3) of the operands' bits at its first bit, ``target ^ ~x``, from
        the fabric's own copies ``fabric = (x, target)`` if given (the same values): with the full
        difference's bit there it gives the true carry into the chunk."""
        def operands(x: Value, target: Value) -> tuple[Value, Value]:
            t = Value.cast(target).as_signed()
            return (Cat(t, t[-1]).as_unsigned(),        # width + 1 bits
                    ~Cat(Value.cast(x), Value.cast(x)[-1]).as_unsigned())

        t, nx = operands(x, target)
        t_fab, nx_fab = (t, nx) if fabric is None else operands(*fabric)
        chunks, bits3 = [], [None]
        for i, (start, stop) in enumerate(parts):
            chunk = Signal(stop - start, name=f"chunk{i}_2")
            if i == 0:
                m.d.comb += chunk.eq(t[start:stop] - ~nx[start:stop])
            else:
                m.d.comb += chunk.eq(t[start:stop] + nx[start:stop])
                bits3.append(self._register(m, t_fab[start] ^ nx_fab[start],
                                            f"chunk{i}_bit3"))
            chunks.append(chunk)
        return chunks, bits3

    def _register(self, m: Module, value: Value, name: str) -> Signal:
        reg = Signal(len(Value.cast(value)), name=name, reset_less=True)
        with m.If(self.en):
            m.d.sync += reg.eq(value)
        return reg
