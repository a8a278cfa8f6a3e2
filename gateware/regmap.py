"""The card's register map: one table the gateware, the JSON export and the host all share.

A :class:`RegisterMap` is built once from a tuple of :class:`Register` rows. The AXI4-Lite
register file (:class:`tickgate.gateware.axil.AxiLiteRegisters`) is generated from it, the
build writes :meth:`RegisterMap.to_json` beside each bitstream, and the host loads that JSON
(:mod:`tickgate.drivers.regmap`): no offset is ever copied by hand.

Layout
------
Every register occupies one 32-bit word, 4 bytes apart, in table order; an array
(``count > 1``) occupies ``count`` consecutive words (stride 4). The first three words are
added by the map itself and identify the bitstream:

======  ============  =====================================================================
offset  name          value (``ro``, constant)
======  ============  =====================================================================
0x00    ``id``        ``ident``, e.g. ``0x54474B54`` ("TGKT")
0x04    ``version``   ``major << 16 | minor`` (see :func:`version_word`)
0x08    ``map_hash``  CRC32 of the canonical JSON of every register's name, offset, access,
                      width, signed and count (see :func:`map_hash`)
======  ============  =====================================================================

so any change of the map (a register added, moved, widened, made signed or read-only)
changes ``map_hash`` and the host refuses a bitstream whose words differ from its JSON.

Word format
-----------
A register's value sits in bits ``[width-1:0]`` of its word. Reads return it zero-extended
(unsigned) or sign-extended (``signed``) to 32 bits; writes ignore the bits above ``width``.

Access
------
``rw``
    The bus writes it and the logic reads it; reads return its value; takes ``reset`` at reset.
``ro``
    The logic drives it; a bus write is refused (SLVERR) and has no effect.
``wo``
    A command: a bus write hands the logic the data with a one-cycle strobe; reads return 0.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Register", "RegisterMap", "Word", "ACCESSES", "HEADER", "map_hash", "version_word"]

#: The access kinds (see the module docstring).
ACCESSES = ("rw", "ro", "wo")

#: Names of the three identification words the map adds at offsets 0, 4 and 8.
HEADER = ("id", "version", "map_hash")

#: Bytes between consecutive registers (and array elements).
STRIDE = 4

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Register:
    """One row of the register map: ``Register(name, access, width=..., doc=..., group=...)``.

    ``name``: lower_snake; ``access``: ``"rw"``, ``"ro"`` or ``"wo"``; ``width``: value bits,
    1..32; ``signed``: two's complement value; ``reset``: value at reset (``rw`` only, within
    the width's range); ``count``: number of consecutive words of an array (elements
    ``name[0]`` .. ``name[count-1]``, each ``width`` bits, each reset to ``reset``);
    ``doc``: one sentence for the JSON and docs; ``group``: lower_snake section name
    (``id``, ``control``, ``limits``, ``model``, ``counters``, ``probes``...).

    Raises ``ValueError`` on a bad name, access, width, count, reset or group.
    """

    name: str
    access: str
    _: KW_ONLY
    width: int = 32
    signed: bool = False
    reset: int = 0
    count: int = 1
    doc: str
    group: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"register name {self.name!r} is not lower_snake")
        if self.access not in ACCESSES:
            raise ValueError(f"register {self.name}: access {self.access!r} is not one of "
                             f"{', '.join(ACCESSES)}")
        if not 1 <= self.width <= 32:
            raise ValueError(f"register {self.name}: width {self.width} is not in 1..32")
        if self.count < 1:
            raise ValueError(f"register {self.name}: count {self.count} is below 1")
        if self.reset and self.access != "rw":
            raise ValueError(f"register {self.name}: only rw registers have a reset value")
        lo, hi = self.range
        if not lo <= self.reset <= hi:
            raise ValueError(f"register {self.name}: reset {self.reset} is outside "
                             f"{lo}..{hi}")
        if not _NAME.match(self.group):
            raise ValueError(f"register {self.name}: group {self.group!r} is not lower_snake")

    @property
    def range(self) -> tuple[int, int]:
        """Return the lowest and highest value the register holds."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1


class Word(NamedTuple):
    """One 32-bit word of the map: its byte offset, its register and the array index."""

    offset: int
    register: Register
    index: int


def version_word(major: int, minor: int) -> int:
    """Return the ``version`` word ``major << 16 | minor`` (each 0..65535)."""
    if not (0 <= major < 1 << 16 and 0 <= minor < 1 << 16):
        raise ValueError(f"version {major}.{minor}: major and minor must be in 0..65535")
    return major << 16 | minor


def map_hash(entries: Iterable[dict[str, Any]]) -> int:
    """Return the CRC32 of the canonical JSON of the entries' layout fields.

    Canonical: a list, in offset order, of ``{name, offset, access, width, signed, count}``
    objects, keys sorted, no whitespace. ``doc``, ``group`` and ``reset`` are not hashed.
    :mod:`tickgate.drivers.regmap` recomputes it the same way from the JSON.
    """
    keys = ("name", "offset", "access", "width", "signed", "count")
    canon = [{k: e[k] for k in keys} for e in entries]
    text = json.dumps(canon, sort_keys=True, separators=(",", ":"))
    return zlib.crc32(text.encode()) & 0xFFFF_FFFF


class RegisterMap:
    """The registers of a card, with the identification words, at their offsets.

    Parameters
    ----------
    registers
        The card's rows, in address order (after the three identification words).
    ident
        The ``id`` word (32 bits).
    version
        The ``version`` word, ``major << 16 | minor`` (see :func:`version_word`).

    Raises ``ValueError`` on a duplicate or reserved name or an ident/version beyond 32 bits.
    """

    def __init__(self, registers: Iterable[Register], *, ident: int, version: int) -> None:
        for what, word in (("ident", ident), ("version", version)):
            if not 0 <= word < 1 << 32:
                raise ValueError(f"{what} {word:#x} does not fit 32 bits")
        self.ident = ident
        self.version = version
        rows = tuple(registers)
        seen: set[str] = set()
        for reg in rows:
            if reg.name in HEADER:
                raise ValueError(f"register name {reg.name!r} is reserved "
                                 f"({', '.join(HEADER)} are added by the map)")
            if reg.name in seen:
                raise ValueError(f"register name {reg.name!r} is used twice")
            seen.add(reg.name)
        header = (
            Register("id", "ro", doc="identification constant", group="id"),
            Register("version", "ro", doc="major << 16 | minor", group="id"),
            Register("map_hash", "ro", group="id",
                     doc="CRC32 of the canonical layout JSON (any map change changes it)"),
        )
        self.registers: tuple[Register, ...] = header + rows
        self._by_name = {reg.name: reg for reg in self.registers}
        self._offsets: dict[str, int] = {}
        offset = 0
        for reg in self.registers:
            self._offsets[reg.name] = offset
            offset += STRIDE * reg.count
        #: Bytes the map spans.
        self.size = offset
        #: Address bits of the bus port: enough for every word, at least 4.
        self.addr_bits = max(4, (self.size - 1).bit_length())
        #: The ``map_hash`` word.
        self.hash = map_hash(self._entries())

    def __iter__(self) -> Iterator[Register]:
        """Iterate over the registers in address order, identification words first."""
        return iter(self.registers)

    def __len__(self) -> int:
        return len(self.registers)

    def register(self, name: str) -> Register:
        """Return the register called ``name``; raise ``KeyError`` if there is none."""
        return self._by_name[self._check(name)]

    def offset(self, name: str, index: int = 0) -> int:
        """Return the byte offset of ``name`` (element ``index`` of an array)."""
        reg = self.register(name)
        if not 0 <= index < reg.count:
            raise IndexError(f"register {name} has {reg.count} element(s); no index {index}")
        return self._offsets[name] + STRIDE * index

    def words(self) -> Iterator[Word]:
        """Iterate over every 32-bit word (each array element separately) in address order."""
        for reg in self.registers:
            for index in range(reg.count):
                yield Word(self._offsets[reg.name] + STRIDE * index, reg, index)

    def constants(self) -> dict[str, int]:
        """Return the values of the identification words, by name."""
        return {"id": self.ident, "version": self.version, "map_hash": self.hash}

    def to_json(self) -> dict[str, Any]:
        """Return the map as a JSON-ready dict (see :mod:`tickgate.drivers.regmap`)."""
        return {"ident": self.ident, "version": self.version, "hash": self.hash,
                "addr_bits": self.addr_bits, "registers": self._entries()}

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (indented, newline-terminated)."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")

    def _check(self, name: str) -> str:
        if name not in self._offsets:
            raise KeyError(f"no register {name!r} in the map")
        return name

    def _entries(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "offset": self._offsets[r.name], "access": r.access,
                 "width": r.width, "signed": r.signed, "reset": r.reset, "count": r.count,
                 "stride": STRIDE, "group": r.group, "doc": r.doc}
                for r in self.registers]
