"""Pipeline helpers shared by the engine's blocks: enabled delay lines.

Every register of the engine advances only when the global pipeline enable ``en`` is high
(``en = ~last_stage_valid | output_ready``), so a stalled output freezes the whole pipeline
and nothing is lost or duplicated. :class:`Delays` builds and shares the delay lines that
carry a value from the stage where it is computed to the stages where it is used.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import data

__all__ = ["Delays"]


class Delays:
    """Registers clocked by ``m.d.sync`` and enabled by ``en``, shared per source value.

    ``delays.get(value, n)`` returns ``value`` delayed by ``n`` enabled cycles (``n = 0``:
    ``value`` itself). Asking again for the same source object reuses its registers.
    """

    def __init__(self, m: Module, en: Value) -> None:
        self._m = m
        self._en = en
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
            reg = Signal(shape, name=f"{base}_d{len(line)}")
            with self._m.If(self._en):
                self._m.d.sync += reg.eq(line[-1])
            line.append(reg)
        return line[n]
