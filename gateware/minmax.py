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
the nodes are not combined level by level: one cycle compares every pair of the ``B + 1``
candidates (``B * (B + 1) / 2`` comparators each for min and max, in 16-bit halves), the
next works out each node's one-hot selection (the candidate that beats every other), the
next selects the winner with an AND-OR multiplexer. A masked sibling enters the compares as
the neutral pair (``lo = INT32_MAX``, ``hi = INT32_MIN``): it can tie with an unmasked
candidate only at the same value, so the nodes' values are those of the masked tree.
Latency and hazard window do not grow with ``B``.

Formats: prices signed 32-bit pips; ``lo``/``hi`` signed 32-bit.

Ports and timing, in enabled cycles (everything advances only when ``en`` is high; the
engine ties it high), from the cycle in which the tick's inputs are presented (cycle 0):

* cycle 0: ``i_valid``, ``i_sym``, ``i_pos`` (leaf pointer, 0 for a fresh tick), ``i_price``.
  (The deep block takes ``i_pos`` in cycle -1, below.)
  The leaf is written and the siblings are read in this cycle.
* cycle 1: ``i_count`` (ticks of the symbol, this one included), ``i_n`` (window length).
  Both are compared with leaf indices only, so a caller may clamp them to
  ``minmax_depth``.
* cycle 6 (``LATENCY``): ``o_min``, ``o_max`` (registers; zero unless valid).

One tick per cycle. Cycle 0: RAM reads (block RAM with its output register,
:class:`~.primitives.RegisteredMemory`); cycle 1: masks, forwarding matches; cycle 2: RAM
data (or a forwarded node, below; or the neutral pair if masked) into registers near the
comparators; cycle 3: each 32-bit pairwise compare split into its 16-bit halves; cycle 4:
the halves combined and ANDed into each node's one-hot selection (registers; the root's is
zero unless valid); cycle 5: AND-OR selection; cycle 6: the path nodes are written back.
Two ticks of one symbol must be at least ``distance`` cycles apart (a constructor argument,
at least ``MIN_DISTANCE`` = 4, 5 in the deep block): a sibling read in cycle 0 misses the
path nodes that the previous tick of the symbol writes if that tick is at most 6 cycles
ahead, so its nodes are forwarded into the registers of cycle 2 (write-forwarding). With
``minmax_depth = 2`` there are no nodes and any distance works.

With ``deep=True`` (the engine's deep build) cycle 4 registers each pairwise result
(``a.hi < b.hi`` or equal with ``a.lo <= b.lo``, one LUT) and the one-hot selections are
worked out in cycle 5, from those registers: the selection of the root among ``B + 1``
candidates is then an AND of ``B`` registers, not of ``3 * B`` half-compare bits. The
selection and the write move a cycle later: outputs in cycle 7, path nodes written in
cycle 7 (forwarded from ticks at most 7 cycles ahead; none with the deep engine's hazard
distance 8); ``MinMaxTree.timing``. And
``i_pos`` comes a cycle earlier, in cycle -1: every level's RAM address (the leaf's, each
sibling's ``(pos >> k) ^ 1``) is a register of its own, with no logic in front of the RAM;
the forwarding compares (the symbols and the node indices of a tick and the tick ``d``
cycles ahead) are worked out in cycle 0 into registers, so a match of cycle 1 is one AND.
"""

from __future__ import annotations

from functools import reduce
from operator import and_, or_

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import WINDOW_BITS
from .params import EngineParams
from .pipe import Delays
from .primitives import RegisteredMemory, local_copy

__all__ = ["MinMaxTree", "PAIR"]

#: A tree node: the lowest and highest price below it.
PAIR = data.StructLayout({"lo": signed(32), "hi": signed(32)})

_INT32_MIN = -2**31
_INT32_MAX = 2**31 - 1


class MinMaxTree(wiring.Component):
    """Rolling min/max of each symbol's last ``min(count, n)`` prices (see the module doc)."""

    #: Cycle of the path nodes' write (the default block; an instance has its own).
    WRITE = 6

    @classmethod
    def timing(cls, params: EngineParams, deep: bool = False) -> tuple[int, int]:
        """Return ``(LATENCY, MIN_DISTANCE)`` of a build (the default or the deep block), in
        cycles. A tick's path nodes reach the registers of cycle 2 of a tick ``d`` cycles
        behind from the write's register (cycle ``LATENCY``) at the earliest, so ``d`` is at
        least ``LATENCY - 2``."""
        latency = 6 + deep
        return latency, latency - 2 if params.minmax_bits > 1 else 1

    def __init__(self, params: EngineParams, distance: int = 6, *, deep: bool = False) -> None:
        self.params = params
        self.levels = params.minmax_bits
        #: The deep block: the pairwise results into registers, the selections a cycle
        #: later (latency 7, path nodes written in cycle 7).
        self.deep = deep
        #: Cycles from the inputs to the outputs; smallest distance of two ticks of a symbol
        #: that forwarding covers.
        self.LATENCY, self.MIN_DISTANCE = self.timing(params, deep)
        #: Cycle of the path nodes' write (the output cycle).
        self.WRITE = self.LATENCY
        if distance < self.MIN_DISTANCE:
            raise ValueError(f"distance must be at least {self.MIN_DISTANCE}, not {distance}")
        self.distance = distance
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
        dly = Delays(m, en, reset_less=True)
        levels = bits = self.levels
        out_cycle = self.LATENCY
        write = self.WRITE
        deep = self.deep
        forward = range(self.distance, write + 1) if levels > 1 else range(0)
        top = max([out_cycle, *(1 + d for d in forward)])
        valid = [dly.get(self.i_valid, i, "valid") for i in range(top + 1)]
        sym = [dly.get(self.i_sym, i, "sym") for i in range(top + 1)]
        if deep:
            # i_pos in cycle -1: into a register, and each RAM's address into one of its own.
            pos0 = dly.get(self.i_pos, 1, "pos_in")
            leaf_addr = local_copy(m, self.i_pos, "leaf_pos", en)
            sibling_addr = [local_copy(m, ((self.i_pos >> k) ^ 1)[:bits - k],
                                       f"sibling{k}_pos", en)
                            for k in range(levels)]
        else:
            pos0 = leaf_addr = self.i_pos
            sibling_addr = [((self.i_pos >> k) ^ 1)[:bits - k] for k in range(levels)]
        pos = [dly.get(pos0, i, "pos") for i in range(top + 1)]
        price3 = dly.get(self.i_price, 3, "price")

        # Cycle 0: write the leaf, read one sibling per level; cycle 2: registered RAM data.
        rams = []
        for k in range(levels):
            shape = signed(32) if k == 0 else PAIR
            ram = RegisteredMemory(shape, p.n_symbols * (p.minmax_depth >> k),
                                   name=f"level{k}")
            m.submodules[f"level{k}"] = ram
            m.d.comb += [ram.en.eq(en), ram.rd_addr.eq(Cat(sibling_addr[k], self.i_sym))]
            if k == 0:
                m.d.comb += [ram.wr_addr.eq(Cat(leaf_addr, self.i_sym)),
                             ram.wr_data.eq(self.i_price), ram.wr_en.eq(self.i_valid)]
            rams.append(ram)

        # Cycle 1: a sibling is neutral if its first leaf is not below fill = min(count, n).
        masked2 = Signal(max(1, levels), reset_less=True)
        with m.If(en):
            for k in range(levels):
                first = ((pos[1] >> k) ^ 1) << k
                m.d.sync += masked2[k].eq((first >= self.i_count) | (first >= self.i_n))

        # Cycle 1: does the tick d cycles ahead (in cycle 1 + d) of this symbol write the
        # node this tick reads at level k (its path node (pos >> k) is our sibling)? It
        # writes in cycle 6, too late for this tick's read if d <= 6.
        # (The deep block compares the two ticks a cycle earlier, in cycle 0, when they are
        # d cycles apart as well, into registers: cycle 1 is one AND.)
        def compared(value: Value, name: str) -> Value:
            if not deep:
                return value
            reg = Signal(name=name, reset_less=True)
            with m.If(en):
                m.d.sync += reg.eq(value)
            return reg

        match2 = {}
        at = 0 if deep else 1
        for d in forward:
            same = Signal(name=f"same{d}")
            m.d.comb += same.eq(compared(valid[at + d] & (sym[at + d] == sym[at]),
                                         f"same{d}_1"))
            for k in range(1, levels):
                flag = Signal(name=f"match{d}_{k}", reset_less=True)
                hit = compared((pos[at + d] >> k)[:bits - k] == ((pos[at] >> k) ^ 1)[:bits - k],
                               f"hit{d}_{k}_1")
                with m.If(en):
                    m.d.sync += flag.eq(same & hit)
                match2[d, k] = flag

        # Cycle 2: the RAM data, or the nearest tick ahead's node, into registers; a masked
        # sibling becomes the neutral pair (lo = INT32_MAX, hi = INT32_MIN). A neutral
        # candidate can tie with an unmasked one only at the same value, so every node keeps
        # its value (the price, candidate 0, is never masked).
        masked2_bits = [masked2[k] for k in range(levels)]
        path_nodes = {}           # level -> node register written in cycle 6 (set below)
        sib3 = []
        for k in range(levels):
            data2 = rams[k].rd_data
            if k:
                for d in reversed(forward):
                    node = Signal(PAIR, name=f"fwd{d}_{k}", reset_less=True)
                    path_nodes[d, k] = node
                    data2 = Mux(match2[d, k], node, data2)
                pair2 = PAIR(data2)
                lo2, hi2 = pair2.lo, pair2.hi
            else:
                lo2 = hi2 = data2
            lo = Signal(signed(32), name=f"sibling{k}_lo", reset_less=True)
            hi = Signal(signed(32), name=f"sibling{k}_hi", reset_less=True)
            with m.If(en):
                m.d.sync += [lo.eq(Mux(masked2_bits[k], _INT32_MAX, lo2)),
                             hi.eq(Mux(masked2_bits[k], _INT32_MIN, hi2))]
            sib3.append((lo, hi))

        # Cycle 3: compare every pair of candidates: 0 is the price, 1 + k the sibling at
        # level k. beats[i, j] (i < j): candidate i wins over j, ties to i. This order is
        # total, so every prefix of the candidates has exactly one winner, and the winner
        # of 0 .. k+1 is path node k + 1. A 32-bit compare is split in halves: cycle 3
        # compares the halves into registers (a <= b: a.hi < b.hi, or equal and
        # a.lo <= b.lo, combined in cycle 4).
        count = levels + 1
        lo3 = [price3] + [lo for lo, _ in sib3]
        hi3 = [price3] + [hi for _, hi in sib3]

        def half_compare(a, b, name: str):
            """Registered (a.hi < b.hi, a.hi == b.hi, a.lo <= b.lo) of signed 32-bit a, b,
            combined into ``a <= b`` (in the deep block a register of cycle 5)."""
            lt, eq, le = (Signal(name=f"{name}_{x}", reset_less=True) for x in ("lt", "eq", "le"))
            with m.If(en):
                m.d.sync += [lt.eq(a[16:32].as_signed() < b[16:32].as_signed()),
                             eq.eq(a[16:32] == b[16:32]),
                             le.eq(a[:16] <= b[:16])]
            if not deep:
                return lt | (eq & le)
            a_le_b = Signal(name=f"{name}", reset_less=True)
            with m.If(en):
                m.d.sync += a_le_b.eq(lt | (eq & le))
            return a_le_b

        beats_lo4 = {}
        beats_hi4 = {}
        for i in range(count):
            for j in range(i + 1, count):
                beats_lo4[i, j] = half_compare(lo3[i], lo3[j], f"lo_{i}_le_{j}")
                beats_hi4[i, j] = half_compare(hi3[j], hi3[i], f"hi_{j}_le_{i}")
        # (The deep block: one cycle later from here on.)
        lo5 = [dly.get(v, 2 + deep, f"lo{i}") for i, v in enumerate(lo3)]
        hi5 = [dly.get(v, 2 + deep, f"hi{i}") for i, v in enumerate(hi3)]

        # Cycle 4 (5 in the deep block): each node's one-hot selection into registers:
        # candidate i of 0 .. k wins (it beats every other); the root's selection is zero
        # for an invalid slot.
        def selection(beats, k: int, name: str) -> list[Signal]:
            keep = valid[4 + deep] if k == levels else 1
            regs = []
            for i in range(k + 1):
                wins = [beats[i, j] if i < j else ~beats[j, i] for j in range(k + 1) if j != i]
                reg = Signal(name=f"{name}{k}_sel{i}", reset_less=True)
                with m.If(en):
                    m.d.sync += reg.eq(reduce(and_, wins, keep))
                regs.append(reg)
            return regs

        # Cycle 5 (6 in the deep block): select each path node (an AND-OR multiplexer of the
        # one-hot selection).
        def winner(values, sel):
            return reduce(or_, [Mux(s, values[i], 0) for i, s in enumerate(sel)])

        nodes6 = [None]
        for k in range(1, levels + 1):
            node = Signal(PAIR, name=f"node{k}", reset_less=True)
            sel_lo5 = selection(beats_lo4, k, "lo")
            sel_hi5 = selection(beats_hi4, k, "hi")
            with m.If(en):
                m.d.sync += [node.lo.eq(winner(lo5, sel_lo5)),
                             node.hi.eq(winner(hi5, sel_hi5))]
            nodes6.append(node)

        # Cycle 6 (7 in the deep block): write the path nodes below the root; forward them
        # (from cycle 2 + d).
        for k in range(1, levels):
            m.d.comb += [
                rams[k].wr_addr.eq(Cat((pos[write] >> k)[:bits - k], sym[write])),
                rams[k].wr_data.eq(nodes6[k]), rams[k].wr_en.eq(valid[write]),
            ]
            for d in forward:
                m.d.comb += path_nodes[d, k].eq(dly.get(nodes6[k], 2 + d - write, f"node{k}"))
        m.d.comb += [self.o_min.eq(nodes6[levels].lo), self.o_max.eq(nodes6[levels].hi)]
        return m
