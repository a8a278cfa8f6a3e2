"""The card's stream records: the one definition of every field, width and scaling.

Everything that crosses the card boundary is described here once. The gateware builds its
Amaranth ``data.StructLayout`` from these tables and the host builds its numpy structured
``dtype`` from them, so a record's bits on the AXI4-Stream bus are exactly the bytes of a
numpy record (little-endian, fields in table order, no implicit padding).

Price domain
------------
A quote arrives as a decimal with a per-symbol number of decimals (Deriv's ``pip_size``:
2 for R_100, 4 for R_50, 5 for frxEURUSD). The host converts it exactly to an integer
number of *pips* (``round(quote * 10**pip_size)``) and sends the card the signed offset
``price = pips - base`` from a per-symbol base the host chose (the symbol's first price in a
replay). Every indicator is shift-invariant or has the base added back by the host, so the
card never needs more than 32 bits of price, whatever the symbol's magnitude (R_75 at four
decimals is above 2**32 pips, but its offsets are not). Overflow rule: the host refuses a
quote whose offset does not fit ``int32``; it must re-base the symbol (a tick with the
``RESET`` flag) instead of sending a wrapped price.

Fixed-point formats
-------------------
``Q.16``: signed, 16 fraction bits, in pips; EMA, MACD, RSI averages. Recurrences multiply
by a smoothing factor ``alpha`` held as unsigned ``Q0.18`` (see :mod:`.params`) and round
toward minus infinity (arithmetic shift). Window sums are exact integers; the sum of squares
is kept modulo 2**64 (see :data:`FEATURE_FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Field",
    "TICK_FIELDS",
    "FEATURE_FIELDS",
    "TICK_DTYPE",
    "FEATURE_DTYPE",
    "TICK_BYTES",
    "FEATURE_BYTES",
    "TickFlag",
    "FeatureValid",
    "FRAC_BITS",
    "record_dtype",
]

#: Fraction bits of every ``Q.16`` word (EMA, MACD, RSI averages).
FRAC_BITS = 16


@dataclass(frozen=True)
class Field:
    """One field of a stream record.

    ``kind`` is a numpy type code: ``"i"`` signed or ``"u"`` unsigned; ``bits`` is the
    container width on the bus (8, 16, 32 or 64). ``unit`` says what one LSB means.
    """

    name: str
    kind: str
    bits: int
    unit: str
    doc: str

    @property
    def signed(self) -> bool:
        return self.kind == "i"

    @property
    def numpy_type(self) -> str:
        return f"<{self.kind}{self.bits // 8}"


class TickFlag:
    """Bits of the tick record's ``flags`` byte."""

    #: Discard the symbol's state: this tick is its first (re-base, period change).
    RESET = 0x01
    #: Bits the card ignores and the host never sets.
    RESERVED = 0xFE


class FeatureValid:
    """Bits of the feature record's ``valid`` byte: which windows are full."""

    #: ``count >= n_sma``: ``sum``/``sumsq`` cover a full window.
    SMA = 0x01
    #: ``count > n_roc``: ``mom`` compares with a price ``n_roc`` ticks back.
    ROC = 0x02
    #: ``count >= n_minmax``: ``min``/``max`` cover a full window.
    MINMAX = 0x04
    #: The tick's symbol is not below the build's ``n_symbols``: no state was read or
    #: written and every indicator word is zero; the record only echoes the tick.
    BAD_SYMBOL = 0x80


#: Host to card, one per tick: 16 bytes (128 bits).
TICK_FIELDS: tuple[Field, ...] = (
    Field("price", "i", 32, "pip", "quote in pips minus the symbol's base (see module doc)"),
    Field("seq", "u", 32, "1", "host sequence number, echoed in the output record"),
    Field("ts", "u", 32, "ms", "host timestamp in ms (wraps after 49.7 days), echoed"),
    Field("symbol", "u", 8, "1", "symbol index, 0 .. n_symbols-1 (build parameter)"),
    Field("flags", "u", 8, "1", "TickFlag bits"),
    Field("_pad", "u", 16, "1", "zero"),
)

#: Card to host, one per tick: 128 bytes (1024 bits).
FEATURE_FIELDS: tuple[Field, ...] = (
    Field("seq", "u", 32, "1", "the tick's seq"),
    Field("ts", "u", 32, "ms", "the tick's ts"),
    Field("price", "i", 32, "pip", "the tick's price offset"),
    Field("count", "u", 32, "1", "ticks of this symbol since reset, this one included; "
          "saturates at 2**32-1"),
    Field("symbol", "u", 8, "1", "the tick's symbol"),
    Field("valid", "u", 8, "1", "FeatureValid bits"),
    Field("flags", "u", 8, "1", "the tick's flags"),
    Field("_pad0", "u", 8, "1", "zero"),
    Field("min", "i", 32, "pip", "lowest price of the last min(count, n_minmax) ticks"),
    Field("max", "i", 32, "pip", "highest price of the last min(count, n_minmax) ticks"),
    Field("_pad1", "u", 32, "1", "zero"),
    Field("ema_fast", "i", 64, "Q.16 pip", "EMA with alpha_fast"),
    Field("ema_slow", "i", 64, "Q.16 pip", "EMA with alpha_slow"),
    Field("macd", "i", 64, "Q.16 pip", "ema_fast - ema_slow"),
    Field("macd_signal", "i", 64, "Q.16 pip", "EMA of macd with alpha_signal"),
    Field("macd_hist", "i", 64, "Q.16 pip", "macd - macd_signal"),
    Field("sum", "i", 64, "pip", "sum of the last min(count, n_sma) prices (exact)"),
    Field("sumsq", "u", 64, "pip^2", "sum of their squares modulo 2**64; "
          "(n*sumsq - sum**2) mod 2**64 is exact while n*std < 2**32 pips"),
    Field("avg_gain", "i", 64, "Q.16 pip", "Wilder average of up-moves, alpha_rsi"),
    Field("avg_loss", "i", 64, "Q.16 pip", "Wilder average of down-moves, alpha_rsi"),
    Field("mom", "i", 64, "pip", "price - price n_roc ticks back (0 until valid)"),
    Field("_pad2", "u", 64, "1", "zero"),
    Field("_pad3", "u", 64, "1", "zero"),
)


def record_dtype(fields: tuple[Field, ...]) -> np.dtype:
    """Return the packed little-endian numpy dtype of a record table."""
    return np.dtype([(f.name, f.numpy_type) for f in fields])


TICK_DTYPE = record_dtype(TICK_FIELDS)
FEATURE_DTYPE = record_dtype(FEATURE_FIELDS)
TICK_BYTES = TICK_DTYPE.itemsize
FEATURE_BYTES = FEATURE_DTYPE.itemsize

assert TICK_BYTES == 16 and FEATURE_BYTES == 128
