"""Host-side register access, generated from the register-map JSON written beside a bitstream.

The JSON is :meth:`tickgate.gateware.regmap.RegisterMap.to_json`::

    {"ident": int, "version": int, "hash": int, "addr_bits": int,
     "registers": [{"name", "offset", "access", "width", "signed", "reset", "count",
                    "stride", "group", "doc"}, ...]}

Offsets come only from it. Words are little-endian 32-bit values whose bits ``[width-1:0]``
hold the register (the card sign-extends signed ones on read and ignores the upper bits on
write). Before using a card, :meth:`Registers.check_identity` compares its ``id``,
``version`` and ``map_hash`` words with the JSON and refuses a mismatching bitstream.

This module uses the standard library only (no Amaranth): it runs on the board's CPU.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["RegisterInfo", "RegisterMapInfo", "RegisterMapMismatch", "RegisterBus", "Registers"]

_HASHED = ("name", "offset", "access", "width", "signed", "count")


class RegisterMapMismatch(Exception):
    """The card's identification words differ from the register-map JSON."""


@dataclass(frozen=True)
class RegisterInfo:
    """One JSON entry: a register or an array of ``count`` words ``stride`` bytes apart."""

    name: str
    offset: int
    access: str
    width: int
    signed: bool
    reset: int
    count: int
    group: str
    doc: str
    stride: int = 4

    @property
    def range(self) -> tuple[int, int]:
        """Return the lowest and highest value the register holds."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1


class RegisterMapInfo:
    """A loaded register map: offsets, word encoding and the card's expected identity."""

    def __init__(self, data: Mapping[str, Any], source: str = "<dict>") -> None:
        self.source = source
        self.ident: int = data["ident"]
        self.version: int = data["version"]
        self.hash: int = data["hash"]
        self.addr_bits: int = data["addr_bits"]
        entries = sorted(data["registers"], key=lambda e: e["offset"])
        self._registers = {e["name"]: RegisterInfo(**e) for e in entries}
        text = json.dumps([{k: e[k] for k in _HASHED} for e in entries], sort_keys=True,
                          separators=(",", ":"))
        if zlib.crc32(text.encode()) & 0xFFFF_FFFF != self.hash:
            raise ValueError(f"{source}: the registers do not give the map's hash "
                             f"{self.hash:#010x}; the JSON was edited or is corrupt")

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any]) -> RegisterMapInfo:
        """Load a map from a JSON file path or an already parsed dict."""
        if isinstance(source, Mapping):
            return cls(source)
        return cls(json.loads(Path(source).read_text()), str(source))

    def names(self) -> list[str]:
        """Return the register names in offset order."""
        return list(self._registers)

    def register(self, name: str) -> RegisterInfo:
        """Return the entry of ``name``; raise ``KeyError`` if the map has none."""
        try:
            return self._registers[name]
        except KeyError:
            raise KeyError(f"no register {name!r} in {self.source}") from None

    def offset(self, name: str, index: int = 0) -> int:
        """Return the byte offset of ``name`` (element ``index`` of an array)."""
        reg = self.register(name)
        if not 0 <= index < reg.count:
            raise IndexError(f"register {name} has {reg.count} element(s); no index {index}")
        return reg.offset + reg.stride * index

    def encode(self, name: str, value: int) -> int:
        """Return the 32-bit word that writes ``value`` to ``name``.

        Raises ``ValueError`` naming the register and its range if ``value`` does not fit.
        """
        reg = self.register(name)
        lo, hi = reg.range
        if not lo <= value <= hi:
            kind = "signed" if reg.signed else "unsigned"
            raise ValueError(f"register {name}: {value} is outside {lo}..{hi} "
                             f"({kind} {reg.width} bits)")
        return value & ((1 << reg.width) - 1)

    def decode(self, name: str, word: int) -> int:
        """Return the value of ``name`` in a word read from the card (signed ones extended)."""
        reg = self.register(name)
        value = word & ((1 << reg.width) - 1)
        if reg.signed and value >> (reg.width - 1):
            value -= 1 << reg.width
        return value

    def check_identity(self, id_word: int, version_word: int, hash_word: int) -> None:
        """Raise :class:`RegisterMapMismatch` unless the card's words are the JSON's."""
        found = {"id": id_word, "version": version_word, "map_hash": hash_word}
        expected = {"id": self.ident, "version": self.version, "map_hash": self.hash}
        wrong = [f"{k} {found[k]:#010x} (expected {expected[k]:#010x})"
                 for k in found if found[k] != expected[k]]
        if wrong:
            raise RegisterMapMismatch(f"the card's register map is not {self.source}: "
                                      + ", ".join(wrong)
                                      + "; load the bitstream built with this JSON")


class RegisterBus(Protocol):
    """32-bit word access to the card's register space (PYNQ MMIO, XRT, a simulator...)."""

    def read32(self, offset: int) -> int:
        """Return the word at byte ``offset``."""
        ...

    def write32(self, offset: int, value: int) -> None:
        """Write the word ``value`` at byte ``offset``."""
        ...


class Registers:
    """Named register access over a :class:`RegisterBus`, as the map says.

    Unknown names, out-of-range values, writes to ``ro`` and reads of ``wo`` registers raise
    before the bus is touched.
    """

    def __init__(self, bus: RegisterBus, info: RegisterMapInfo) -> None:
        self.bus = bus
        self.info = info

    def read(self, name: str, index: int = 0) -> int:
        """Return the value of ``name`` (element ``index``)."""
        if self.info.register(name).access == "wo":
            raise ValueError(f"register {name} is write-only")
        return self.info.decode(name, self.bus.read32(self.info.offset(name, index)))

    def write(self, name: str, value: int, index: int = 0) -> None:
        """Write ``value`` to ``name`` (element ``index``)."""
        if self.info.register(name).access == "ro":
            raise ValueError(f"register {name} is read-only")
        offset = self.info.offset(name, index)
        self.bus.write32(offset, self.info.encode(name, value))

    def check_identity(self) -> None:
        """Read the card's identification words; raise :class:`RegisterMapMismatch` on a
        mismatch with the JSON."""
        words = (self.bus.read32(self.info.offset(n)) for n in ("id", "version", "map_hash"))
        self.info.check_identity(*words)
