"""Per-symbol rolling minimum and maximum over the last ``min(count, n)`` prices, exact.

Each symbol has a segment tree over a ring of ``minmax_depth`` leaves; the leaf pointer
``pos`` wraps at the window length ``n`` (the engine keeps it in the symbol's state), so
after a tick the leaves ``0 .. fill-1``, ``fill = min(count, n)``, hold exactly the last
``fill`` prices. A node whose first leaf ``j * 2**k`` is ``>= fill`` is neutral (masked);
every other node holds the min/max of its leaves below ``fill`` (it was last written when
its newest leaf was, and leaves below ``fill`` never change without rewriting the path).

Level ``k`` (``0 .. B-1``, ``B = log2(minmax_depth)``) is one RAM of ``minmax_depth >> k``
nodes per symbol; level 0 holds leaf prices, the others ``(lo, hi)`` pairs. The root is
not stored. Per tick: write the leaf at ``pos``; read every level's sibling of the path,
``((pos >> k) ^ 1)``, all in one cycle; then compute every path node at once and write
them back::

    node[k+1] = min/max of price and masked(sibling[0 .. k])
    (lo, hi) = node[B]                                   # the root: the answer

A chain of 32-bit compare-and-select steps is slow on ECP5 (about 5 ns per level), so
the nodes are not combined level by level: two cycles compare every pair of the ``B + 1``
candidates (``B * (B + 1) / 2`` comparators each for min and max), the next selects each
node's winner with a one-hot multiplexer. Latency and hazard window do not grow with ``B``.

Formats: prices signed 32-bit pips; ``lo``/``hi`` signed 32-bit.

Ports and timing, in enabled cycles (everything advances only when ``en`` is high), from the
cycle in which the tick's inputs are presented (cycle 0):

* cycle 0: ``i_valid``, ``i_sym``, ``i_pos`` (leaf pointer, 0 for a fresh tick), ``i_price``.
  The leaf is written and the siblings are read in this cycle.
* cycle 1: ``i_count`` (ticks of the symbol, this one included), ``i_n`` (window length).
* cycle 5 (``LATENCY``): ``o_min``, ``o_max`` (registers; zero unless valid).

One tick per cycle. Cycle 0: RAM reads (block RAM with its output register,
:class:`~.primitives.RegisteredMemory`); cycle 1: masks; cycle 2: RAM data, each 32-bit
pairwise compare split into its 16-bit halves; cycle 3: the halves combined with the masks;
cycle 4: selection; cycle 5: the path nodes are written back. Two ticks of one symbol must
be at least ``WINDOW`` = 6 cycles apart (1 if ``minmax_depth = 2``: no nodes).
"""

from __future__ import annotations

from functools import reduce
from operator import and_, or_

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import WINDOW_BITS
from .params import EngineParams
from .pipe import Delays
from .primitives import RegisteredMemory

__all__ = ["MinMaxTree", "PAIR"]

#: A tree node: the lowest and highest price below it.
PAIR = data.StructLayout({"lo": signed(32), "hi": signed(32)})

_INT32_MIN = -2**31
_INT32_MAX = 2**31 - 1


class MinMaxTree(wiring.Component):
    """Rolling min/max of each symbol's last ``min(count, n)`` prices (see the module doc)."""

    @staticmethod
    def timing(params: EngineParams) -> tuple[int, int]:
        """Return ``(LATENCY, WINDOW)`` of a build, in cycles."""
        return 5, 6 if params.minmax_bits > 1 else 1

    def __init__(self, params: EngineParams) -> None:
        self.params = params
        self.levels = params.minmax_bits
        #: Cycles from the inputs to the outputs; minimum distance of two ticks of a symbol.
        self.LATENCY, self.WINDOW = self.timing(params)
        super().__init__({
            "en": In(1),
            "i_valid": In(1),
            "i_sym": In(max(1, params.symbol_bits)),
            "i_pos": In(params.minmax_bits),
            "i_price": In(signed(32)),
            "i_count": In(32),
            "i_n": In(WINDOW_BITS),
            "o_min": Out(signed(32)),
            "o_max": Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        en = self.en
        dly = Delays(m, en)
        levels = bits = self.levels
        out_cycle = self.LATENCY
        valid = [dly.get(self.i_valid, i, "valid") for i in range(out_cycle + 1)]
        sym = [dly.get(self.i_sym, i, "sym") for i in range(out_cycle + 1)]
        pos = [dly.get(self.i_pos, i, "pos") for i in range(out_cycle + 1)]
        price2 = dly.get(self.i_price, 2, "price")

        # Cycle 0: write the leaf, read one sibling per level; cycle 2: registered RAM data.
        siblings2 = []
        rams = []
        for k in range(levels):
            shape = signed(32) if k == 0 else PAIR
            ram = RegisteredMemory(shape, p.n_symbols * (p.minmax_depth >> k),
                                   name=f"level{k}")
            m.submodules[f"level{k}"] = ram
            sibling = ((self.i_pos >> k) ^ 1)[:bits - k]
            m.d.comb += [ram.en.eq(en), ram.rd_addr.eq(Cat(sibling, self.i_sym))]
            if k == 0:
                m.d.comb += [ram.wr_addr.eq(Cat(self.i_pos, self.i_sym)),
                             ram.wr_data.eq(self.i_price), ram.wr_en.eq(self.i_valid)]
                siblings2.append((ram.rd_data, ram.rd_data))
            else:
                siblings2.append((ram.rd_data.lo, ram.rd_data.hi))
            rams.append(ram)

        # Cycle 1: a sibling is neutral if its first leaf is not below fill = min(count, n).
        masked2 = Signal(max(1, levels))
        with m.If(en):
            for k in range(levels):
                first = ((pos[1] >> k) ^ 1) << k
                m.d.sync += masked2[k].eq((first >= self.i_count) | (first >= self.i_n))
        masked3 = dly.get(masked2, 1, "masked")

        # Cycles 2-3: compare every pair of candidates: 0 is the price (never masked), 1 + k
        # the sibling at level k. beats[i, j] (i < j): candidate i wins over j, ties to i; a
        # masked candidate loses to any unmasked one. This order is total, so every prefix
        # of the candidates has exactly one winner, and the winner of 0 .. k+1 is path node
        # k + 1. A 32-bit compare is split in halves: cycle 2 compares the halves,
        # cycle 3 combines them (a <= b: a.hi < b.hi, or equal and a.lo <= b.lo).
        count = levels + 1
        lo2 = [price2] + [lo for lo, _ in siblings2]
        hi2 = [price2] + [hi for _, hi in siblings2]
        mask3 = [0] + [masked3[k] for k in range(levels)]

        def half_compare(a, b, name: str):
            """Registered (a.hi < b.hi, a.hi == b.hi, a.lo <= b.lo) of signed 32-bit a, b."""
            lt, eq, le = (Signal(name=f"{name}_{x}") for x in ("lt", "eq", "le"))
            with m.If(en):
                m.d.sync += [lt.eq(a[16:32].as_signed() < b[16:32].as_signed()),
                             eq.eq(a[16:32] == b[16:32]),
                             le.eq(a[:16] <= b[:16])]
            return lt | (eq & le)

        beats_lo4 = {}
        beats_hi4 = {}
        for i in range(count):
            for j in range(i + 1, count):
                lo_le = half_compare(lo2[i], lo2[j], f"lo_{i}_le_{j}")
                hi_ge = half_compare(hi2[j], hi2[i], f"hi_{j}_le_{i}")
                lo_win = Signal(name=f"lo_{i}_beats_{j}")
                hi_win = Signal(name=f"hi_{i}_beats_{j}")
                with m.If(en):
                    m.d.sync += [
                        lo_win.eq(mask3[j] | (~mask3[i] & lo_le)),
                        hi_win.eq(mask3[j] | (~mask3[i] & hi_ge)),
                    ]
                beats_lo4[i, j], beats_hi4[i, j] = lo_win, hi_win
        lo4 = [dly.get(v, 2, f"lo{i}") for i, v in enumerate(lo2)]
        hi4 = [dly.get(v, 2, f"hi{i}") for i, v in enumerate(hi2)]

        # Cycle 4: select each path node (a one-hot AND-OR multiplexer per node).
        def winner(values, beats, last: int):
            terms = []
            for i in range(last + 1):
                wins = [beats[i, j] if i < j else ~beats[j, i]
                        for j in range(last + 1) if j != i]
                terms.append(Mux(reduce(and_, wins), values[i], 0))
            return reduce(or_, terms)

        nodes5 = [None]
        for k in range(1, levels + 1):
            node = Signal(PAIR, name=f"node{k}")
            keep = valid[4] if k == levels else 1      # the root: zero for invalid slots
            with m.If(en):
                m.d.sync += [
                    node.lo.eq(Mux(keep, winner(lo4, beats_lo4, k), 0)),
                    node.hi.eq(Mux(keep, winner(hi4, beats_hi4, k), 0)),
                ]
            nodes5.append(node)

        # Cycle 5: write the path nodes below the root.
        for k in range(1, levels):
            m.d.comb += [
                rams[k].wr_addr.eq(Cat((pos[5] >> k)[:bits - k], sym[5])),
                rams[k].wr_data.eq(nodes5[k]), rams[k].wr_en.eq(valid[5]),
            ]
        m.d.comb += [self.o_min.eq(nodes5[levels].lo), self.o_max.eq(nodes5[levels].hi)]
        return m
