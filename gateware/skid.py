"""A one-entry skid buffer: breaks a ``ready`` path without adding latency.

``i_ready`` is a register (low only while the buffer holds a payload), so the ready chain
of the stages behind the buffer stops here. While empty, the buffer is transparent:
``o_valid = i_valid`` and ``o_data = i_data`` in the same cycle (zero latency). A payload
offered while ``o_ready`` is low is kept and offered first next; throughput stays one payload
per cycle. Nothing is dropped or duplicated: a transfer is ``valid & ready`` on each side.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """``i_*`` from upstream, ``o_*`` to downstream; ``width`` bits of payload."""

    def __init__(self, width: int) -> None:
        super().__init__({
            "i_valid": In(1), "i_ready": Out(1), "i_data": In(width),
            "o_valid": Out(1), "o_ready": In(1), "o_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        held = Signal(len(self.i_data), reset_less=True)
        m.d.comb += [
            self.i_ready.eq(~full),
            self.o_valid.eq(full | self.i_valid),
            self.o_data.eq(Mux(full, held, self.i_data)),
        ]
        with m.If(full):
            with m.If(self.o_ready):
                m.d.sync += full.eq(0)
        with m.Elif(self.i_valid & ~self.o_ready):
            m.d.sync += [full.eq(1), held.eq(self.i_data)]
        return m
