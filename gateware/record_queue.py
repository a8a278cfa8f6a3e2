"""A queue of wide records in LUT RAM, with no flags: its user's credits bound the fill.

Behind a :class:`~.credit_fifo.CreditFifo`, every item a producer admits stays counted
until it leaves, and there are never more than ``depth`` of them. A wide payload that the
producer does not change (the 1024-bit feature record beside the decision unit, say) can
therefore be written into a ``depth``-entry queue when its item is admitted and read at the
head when the item leaves, instead of riding through the producer's pipeline stages and
the FIFO's bypass multiplexer: one write and one read per item, and no flip-flop of
payload at all.

Ports: ``i_push`` with ``i_data`` (``width`` bits): write at the tail (taken at the clock
edge). ``i_pop``: the head leaves at the clock edge. ``o_data``: the head entry,
combinational from the head pointer (asynchronous read: ECP5 DPR16X4, 7-series
RAM32M/RAM64M). There is no full or empty flag: the user guarantees a push only while
fewer than ``depth`` entries are held and a pop only of an entry pushed in an earlier cycle
(an entry is readable from the cycle after its push). Throughput: one push and one pop per
cycle. ``depth`` is a power of two.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RecordQueue"]


class RecordQueue(wiring.Component):
    """See the module docstring: ``width``-bit entries, ``depth`` of them."""

    def __init__(self, width: int, depth: int) -> None:
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two >= 2, not {depth}")
        self.width = width
        self.depth = depth
        super().__init__({"i_push": In(1), "i_data": In(width), "i_pop": In(1),
                          "o_data": Out(width)})

    def elaborate(self, platform):
        m = Module()
        bits = (self.depth - 1).bit_length()
        m.submodules.mem = mem = memory.Memory(shape=self.width, depth=self.depth, init=[])
        rd = mem.read_port(domain="comb")
        wr = mem.write_port()
        head = Signal(bits)
        tail = Signal(bits)
        m.d.comb += [
            rd.addr.eq(head), self.o_data.eq(rd.data),
            wr.addr.eq(tail), wr.data.eq(self.i_data), wr.en.eq(self.i_push),
        ]
        with m.If(self.i_push):
            m.d.sync += tail.eq(tail + 1)
        with m.If(self.i_pop):
            m.d.sync += head.eq(head + 1)
        return m
