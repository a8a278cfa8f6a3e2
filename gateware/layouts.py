"""Amaranth layouts of the engine's records, registers and streams, built from :mod:`.records`.

The record layouts are generated from :data:`~.records.TICK_FIELDS` and
:data:`~.records.FEATURE_FIELDS`, field for field in table order (padding included), so a
layout's bit ``8*i + j`` is bit ``j`` of byte ``i`` of the numpy record: a record as an
integer is ``int.from_bytes(record.tobytes(), "little")``. Signed fields get signed shapes.

Stream payloads carry ``last`` beside the record (``{"data": <record>, "last": 1}``); it is
mapped to AXI4-Stream ``tlast`` only at the top level.

:data:`CONFIG_LAYOUT` holds the run-time registers of :class:`~.params.EngineConfig`, in its
field order: the smoothing factors as unsigned ``Q0.18``, the window lengths as unsigned
integers wide enough for :data:`MAX_WINDOW` (the largest ring or min/max depth a build may
use) inclusive.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from .params import ALPHA_BITS, EngineConfig
from .records import (
    FEATURE_DTYPE,
    FEATURE_FIELDS,
    ORDER_DTYPE,
    ORDER_FIELDS,
    OUTPUT_DTYPE,
    OUTPUT_FIELDS,
    TICK_DTYPE,
    TICK_FIELDS,
    Field,
)

__all__ = [
    "record_layout",
    "TICK_LAYOUT",
    "FEATURE_LAYOUT",
    "TICK_PAYLOAD",
    "FEATURE_PAYLOAD",
    "ORDER_LAYOUT",
    "OUTPUT_LAYOUT",
    "ORDER_PAYLOAD",
    "OUTPUT_PAYLOAD",
    "CONFIG_LAYOUT",
    "MAX_WINDOW",
    "WINDOW_BITS",
    "record_to_int",
    "int_to_record",
    "records_to_ints",
    "ints_to_records",
    "config_to_int",
]

#: Largest window a register must hold (ring or min/max depth of any build).
MAX_WINDOW = 2**16
#: Width of a window-length register (``1 .. MAX_WINDOW`` inclusive).
WINDOW_BITS = MAX_WINDOW.bit_length()


def record_layout(table: tuple[Field, ...]) -> data.StructLayout:
    """Return the ``StructLayout`` of a record table: fields in order, signed where signed."""
    return data.StructLayout({
        f.name: signed(f.bits) if f.signed else unsigned(f.bits) for f in table
    })


TICK_LAYOUT = record_layout(TICK_FIELDS)
FEATURE_LAYOUT = record_layout(FEATURE_FIELDS)
TICK_PAYLOAD = data.StructLayout({"data": TICK_LAYOUT, "last": 1})
FEATURE_PAYLOAD = data.StructLayout({"data": FEATURE_LAYOUT, "last": 1})
ORDER_LAYOUT = record_layout(ORDER_FIELDS)
OUTPUT_LAYOUT = record_layout(OUTPUT_FIELDS)
ORDER_PAYLOAD = data.StructLayout({"data": ORDER_LAYOUT, "last": 1})
OUTPUT_PAYLOAD = data.StructLayout({"data": OUTPUT_LAYOUT, "last": 1})

CONFIG_LAYOUT = data.StructLayout({
    f.name: unsigned(ALPHA_BITS) if f.name.startswith("alpha") else unsigned(WINDOW_BITS)
    for f in fields(EngineConfig)
})

assert TICK_LAYOUT.size == 8 * TICK_DTYPE.itemsize
assert FEATURE_LAYOUT.size == 8 * FEATURE_DTYPE.itemsize
assert ORDER_LAYOUT.size == 8 * ORDER_DTYPE.itemsize
assert OUTPUT_LAYOUT.size == 8 * OUTPUT_DTYPE.itemsize


def record_to_int(record: np.void | np.ndarray) -> int:
    """Return one numpy record (or a 1-element array) as the integer of its layout's bits."""
    return int.from_bytes(np.asarray(record).tobytes(), "little")


def int_to_record(value: int, dtype: np.dtype) -> np.void:
    """Return the numpy record of ``dtype`` whose bits are ``value`` (the inverse)."""
    raw = (value & ((1 << (8 * dtype.itemsize)) - 1)).to_bytes(dtype.itemsize, "little")
    return np.frombuffer(raw, dtype)[0]


def records_to_ints(records: np.ndarray) -> list[int]:
    """Return every record of an array as an integer (see :func:`record_to_int`)."""
    size = records.dtype.itemsize
    raw = np.ascontiguousarray(records).tobytes()
    return [int.from_bytes(raw[i:i + size], "little") for i in range(0, len(raw), size)]


def ints_to_records(values: list[int], dtype: np.dtype) -> np.ndarray:
    """Return an array of ``dtype`` records from integers (see :func:`int_to_record`)."""
    mask = (1 << (8 * dtype.itemsize)) - 1
    raw = b"".join((v & mask).to_bytes(dtype.itemsize, "little") for v in values)
    return np.frombuffer(raw, dtype).copy()


def config_to_int(config: EngineConfig) -> int:
    """Return the value of a :data:`CONFIG_LAYOUT` signal holding ``config``."""
    return CONFIG_LAYOUT.const(config.as_dict()).as_value().value
