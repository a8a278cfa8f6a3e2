"""A FIFO behind a free-running producer: credit accounting and a zero-latency bypass.

A pipeline without an enable (every stage moves every cycle, so no enable net fans out to
thousands of flip-flops) cannot be stalled once an item is in it. It may take an item only
when the FIFO at its end is sure to have room for it and for every item already on its
way: :class:`CreditFifo` counts them. ``o_credit`` is high while
``occupancy < depth``, where *occupancy* is the items the producer took (``i_admit``) and
that have not left yet: in flight, or in the FIFO. It is a flip-flop (the compare is made on
the next occupancy), so it can drive a producer's ``ready`` directly.

The FIFO is ``depth`` entries of memory with an asynchronous read (LUT RAM: ECP5 DPR16X4,
7-series RAM32M/RAM64M). While it is empty, an arriving item is offered downstream in the
same cycle (``o_valid = i_valid``, ``o_data = i_data``) and is written only if it is not
taken, so the FIFO adds no latency; an item arriving while older ones wait is queued
behind them. Order is kept and nothing is dropped or duplicated: the
credits make ``i_valid`` into a full FIFO impossible (``occupancy <= depth`` always).

Ports
-----
``i_admit``: the producer takes an item this cycle (its result arrives later as ``i_valid``,
or never if ``i_drop`` says so). ``i_valid``, ``i_data``: the item arriving (no ready: the
credit guarantees room). ``i_drop``: an admitted item leaves without arriving (e.g. a
position write that makes no record); one per cycle at most. ``o_valid``, ``o_data``,
``o_ready``: downstream, a transfer is ``o_valid & o_ready``. ``o_credit``: the producer
may admit an item this cycle.

Throughput: one item per cycle as long as ``depth`` exceeds the producer's latency plus one
(the occupancy in steady flow).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CreditFifo"]


class CreditFifo(wiring.Component):
    """See the module docstring. ``depth`` must be a power of two."""

    def __init__(self, width: int, depth: int) -> None:
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two >= 2, not {depth}")
        self.width = width
        self.depth = depth
        super().__init__({
            "i_admit": In(1), "i_drop": In(1),
            "i_valid": In(1), "i_data": In(width),
            "o_valid": Out(1), "o_ready": In(1), "o_data": Out(width),
            "o_credit": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bits = (self.depth - 1).bit_length()
        m.submodules.mem = mem = memory.Memory(shape=self.width, depth=self.depth, init=[])
        rd = mem.read_port(domain="comb")
        wr = mem.write_port()

        head = Signal(bits)
        tail = Signal(bits)
        level = Signal(bits + 1)
        occupancy = Signal(bits + 2)
        next_occupancy = Signal(bits + 2)
        credit = Signal(init=1)
        empty = level == 0
        taken = self.o_valid & self.o_ready
        # A bypassed item is not written. (Writing every item, so that the RAM's write
        # enable would not wait for ``o_ready``, routed worse on the whole card: see
        # BENCHMARKS.md, "Synthesis of the card".)
        bypass = empty & self.i_valid & self.o_ready
        write = self.i_valid & ~bypass
        read = ~empty & self.o_ready

        m.d.comb += [
            rd.addr.eq(head),
            self.o_valid.eq(~empty | self.i_valid),
            self.o_data.eq(Mux(empty, self.i_data, rd.data)),
            wr.addr.eq(tail), wr.data.eq(self.i_data), wr.en.eq(write),
            next_occupancy.eq(occupancy + self.i_admit - taken - self.i_drop),
            self.o_credit.eq(credit),
        ]
        with m.If(write):
            m.d.sync += tail.eq(tail + 1)
        with m.If(read):
            m.d.sync += head.eq(head + 1)
        m.d.sync += level.eq(level + write - read)
        m.d.sync += [occupancy.eq(next_occupancy), credit.eq(next_occupancy < self.depth)]
        return m
