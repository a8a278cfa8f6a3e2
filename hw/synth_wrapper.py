"""A thin top level that lets a wide-port core be synthesised and placed on a real package.

The indicator engine has about 1200 top-level port bits; an ECP5 CABGA381 has about 200 user
I/O, so nextpnr cannot place the engine as a top level. :class:`SynthTop` wraps any
:class:`amaranth.lib.wiring.Component` (the engine, or a test stand-in) behind a few pins:

* every input port of the core is driven from one serial-in shift register, ``width`` bits
  shifted in per cycle from the ``si`` pins while ``si_en`` is high;
* every output port of the core is captured into one parallel-load shift register when
  ``so_load`` is high and shifted out ``width`` bits per cycle on ``so`` otherwise.

Every core input thus comes from a flip-flop (not a constant) and every core output reaches
a pin through a flip-flop, so synthesis keeps all of the core's logic and the timing paths
that the place-and-route tool reports are core-internal (register to register), not pad
limited. The core's ``sync`` domain is renamed to a local ``core`` domain on the same clock
whose reset is the ``rst`` pin registered once, as a reset synchroniser would give it on a
board: the reset's fan-out net is then a timed register-to-register path too. The overhead
is one flip-flop per port bit plus one, and about one LUT per output bit (the load/shift
multiplexer); :meth:`SynthTop.overhead` gives the figure for the report.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, DomainRenamer, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SynthTop", "SYNTH_TOP_NAME"]

#: Module name of the wrapper in the generated Verilog.
SYNTH_TOP_NAME = "tickgate_synth_top"


def _ports(core: wiring.Component) -> tuple[list[Value], list[Value]]:
    """Return the core's input and output port values, flattened, in signature order."""
    inputs: list[Value] = []
    outputs: list[Value] = []
    for _path, member, value in core.signature.flatten(core):
        (inputs if member.flow == wiring.In else outputs).append(value)
    return inputs, outputs


def _round_up(bits: int, width: int) -> int:
    return max(width, -(-bits // width) * width)


class SynthTop(wiring.Component):
    """Serial-in / serial-out shell around ``core`` (see the module doc).

    Pins: ``si`` (``width`` bits in), ``si_en``, ``so_load`` and ``so`` (``width`` bits out),
    plus the ``sync`` domain's ``clk`` and ``rst`` that Amaranth adds.
    """

    def __init__(self, core: wiring.Component, *, width: int = 8) -> None:
        if width < 1:
            raise ValueError(f"width must be at least 1, not {width}")
        self.core = core
        self.width = width
        inputs, outputs = _ports(core)
        self.in_bits = sum(len(Value.cast(v)) for v in inputs)
        self.out_bits = sum(len(Value.cast(v)) for v in outputs)
        super().__init__({
            "si": In(width),
            "si_en": In(1),
            "so_load": In(1),
            "so": Out(width),
        })

    def overhead(self) -> dict[str, int]:
        """Return the wrapper's own cost: flip-flops and (approximate) LUTs, and its pins."""
        in_ffs = _round_up(self.in_bits, self.width) if self.in_bits else 0
        out_ffs = _round_up(self.out_bits, self.width) if self.out_bits else 0
        return {
            "core_in_bits": self.in_bits,
            "core_out_bits": self.out_bits,
            "ff": in_ffs + out_ffs + 1,
            "lut_approx": out_ffs,
            "pins": 2 * self.width + 2 + 2,  # si, so, si_en, so_load, clk, rst
        }

    def elaborate(self, platform) -> Module:
        m = Module()
        core = self.core
        m.submodules.core = DomainRenamer("core")(core)
        m.domains.core = cd_core = ClockDomain("core", local=True)
        # Registered reset: goes to its init value 1 while ``rst`` is high, else 0.
        rst_q = Signal(init=1)
        m.d.sync += rst_q.eq(0)
        m.d.comb += [cd_core.clk.eq(ClockSignal("sync")), cd_core.rst.eq(rst_q)]

        inputs, outputs = _ports(core)
        w = self.width

        if self.in_bits:
            shift_in = Signal(_round_up(self.in_bits, w), reset_less=True)
            with m.If(self.si_en):
                m.d.sync += shift_in.eq(Cat(shift_in[w:], self.si))
            offset = 0
            for value in inputs:
                n = len(Value.cast(value))
                m.d.comb += value.eq(shift_in[offset:offset + n])
                offset += n

        if self.out_bits:
            shift_out = Signal(_round_up(self.out_bits, w), reset_less=True)
            gathered = Cat(*(Value.cast(v) for v in outputs))
            with m.If(self.so_load):
                m.d.sync += shift_out.eq(gathered)
            with m.Else():
                m.d.sync += shift_out.eq(Cat(shift_out[w:], Const(0, w)))
            m.d.comb += self.so.eq(shift_out[:w])
        return m
