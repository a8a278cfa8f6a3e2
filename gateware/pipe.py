"""Pipeline helpers shared by the engine's blocks: delay lines, a carry-save layer, a
three-operand adder.

The engine's pipeline is free-running (no global enable: a stalled output is absorbed by its
output FIFO, and the input takes a tick only while the FIFO has room for it); the blocks
keep an enable ``en`` of their own for unit tests, tied high in the engine. :class:`Delays`
builds and shares the delay lines that carry a value from the stage where it is computed to
the stages where it is used.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import data

__all__ = ["Delays", "add3", "carry_save"]


class Delays:
    """Registers clocked by ``m.d.sync`` and enabled by ``en``, shared per source value.

    ``delays.get(value, n)`` returns ``value`` delayed by ``n`` enabled cycles (``n = 0``:
    ``value`` itself). Asking again for the same source object reuses its registers.
    ``en=None``: the registers advance every cycle. ``reset_less=True``: the registers keep
    their value through a reset of the domain (data that a valid bit qualifies: no reset
    net to thousands of flip-flops).
    """

    def __init__(self, m: Module, en: Value | None = None, *, reset_less: bool = False) -> None:
        self._m = m
        self._en = en
        self._reset_less = reset_less
        self._lines: dict[int, tuple[Value, list[Value]]] = {}

    def get(self, value: Value, n: int, name: str | None = None) -> Value:
        if n < 0:
            raise ValueError(f"cannot delay by {n} cycles")
        key = id(value)
        if key not in self._lines:
            self._lines[key] = (value, [value])
        _, line = self._lines[key]
        if isinstance(value, data.View):
            shape = value.shape()
            base = name or getattr(Value.cast(value), "name", None) or "dly"
        else:
            shape = Value.cast(value).shape()
            base = name or getattr(value, "name", None) or "dly"
        while len(line) <= n:
            reg = Signal(shape, name=f"{base}_d{len(line)}", reset_less=self._reset_less)
            if self._en is None:
                self._m.d.sync += reg.eq(line[-1])
            else:
                with self._m.If(self._en):
                    self._m.d.sync += reg.eq(line[-1])
            line.append(reg)
        return line[n]


def carry_save(m: Module, a: Value, b: Value, c: Value, width: int, *,
               name: str = "csa") -> tuple[Signal, Signal]:
    """Return ``(sum, carry)`` of one carry-save (3:2) layer over ``width`` bits, one LUT per
    bit each: ``a + b + c == sum + (carry << 1)`` modulo ``2**(width + 1)``. The operands go
    through signals of their own (``<name>_a`` .. ``_c``), so the layer is one LUT level
    whatever they are made of; the caller shifts ``carry`` (and fills its bit 0)."""
    parts = [Signal(width, name=f"{name}_{k}") for k in ("a", "b", "c")]
    s = Signal(width, name=f"{name}_sum")
    carry = Signal(width, name=f"{name}_carry")
    m.d.comb += [p.eq(Value.cast(v)) for p, v in zip(parts, (a, b, c), strict=True)]
    x, y, z = parts
    m.d.comb += [s.eq(x ^ y ^ z), carry.eq((x & y) | (x & z) | (y & z))]
    return s, carry


def add3(m: Module, a: Value, b: Value, c: Value, width: int, *, carry_in: int = 0) -> Value:
    """Return ``(a + b + c + carry_in) mod 2**width`` through one carry-save layer.

    ECP5 has no three-input adder: ``a + b + c`` is two carry chains in a row. A carry-save
    layer (one LUT per bit, :func:`carry_save`) and one adder is faster. ``carry_in`` is 0
    or 1 (it fills the free bit 0 of the shifted carries), so ``a + b - c`` is
    ``add3(a, b, ~c, carry_in=1)``.
    """
    s, carry = carry_save(m, a, b, c, width)
    return (s + Cat(Const(carry_in, 1), carry))[:width]
