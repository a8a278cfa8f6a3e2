"""Refuse, before the bus, a register access the card would answer with an AXI error.

On a real card an AXI error response can be worse than an exception: on the PYNQ-Z2 it is a
data abort (SIGBUS), on an Alveo card XRT reports no response code at all (the access is
silently lost, or the shell's AXI firewall trips). A board that cannot survive one checks
every access with :class:`BusGuard` first and raises :class:`~.board.BoardBusError` with the
answer the card would have given:

* **DECERR**: an offset that is not a multiple of 4, outside the register file
  (``2**addr_bits`` bytes) or between registers;
* **SLVERR**: a write to a read-only register.

Reads of write-only registers are allowed (the card answers 0). Such a refused access never
reaches the card, so the card's ``bus_errors`` counter does not count it.
"""

from __future__ import annotations

from .board import BoardBusError
from .regmap import RegisterInfo, RegisterMapInfo

__all__ = ["BusGuard", "registers_by_offset"]


def registers_by_offset(info: RegisterMapInfo) -> dict[int, RegisterInfo]:
    """Return every word's byte offset -> its register entry (arrays: each element)."""
    out = {}
    for name in info.names():
        reg = info.register(name)
        for k in range(reg.count):
            out[reg.offset + reg.stride * k] = reg
    return out


class BusGuard:
    """The register map's words, and the check of one access against them."""

    def __init__(self, info: RegisterMapInfo, board: str) -> None:
        #: Bytes of the register file (``2**addr_bits``).
        self.span = 1 << info.addr_bits
        self.board = board
        self._by_offset = registers_by_offset(info)

    def check(self, offset: int, *, write: bool) -> None:
        """Raise :class:`~.board.BoardBusError` unless the card would answer OKAY."""
        if offset % 4 or not 0 <= offset < self.span:
            raise BoardBusError(f"{self.board} board: offset {offset:#x} is misaligned or "
                                "outside the register file (the card would answer DECERR)")
        reg = self._by_offset.get(offset)
        if reg is None:
            raise BoardBusError(f"{self.board} board: no register at {offset:#x} (the card "
                                "would answer DECERR)")
        if write and reg.access == "ro":
            raise BoardBusError(f"{self.board} board: {reg.name} at {offset:#x} is read-only "
                                "(the card would answer SLVERR)")
