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
    "ORDER_FIELDS",
    "OUTPUT_FIELDS",
    "ORDER_DTYPE",
    "OUTPUT_DTYPE",
    "ORDER_BYTES",
    "OUTPUT_BYTES",
    "TickFlag",
    "FeatureValid",
    "Side",
    "OutputKind",
    "Reject",
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


class Side:
    """Values of an order's ``side`` byte (any other value is a bad order)."""

    BUY = 1
    SELL = 2


class OutputKind:
    """Bits of the output record's ``kind`` byte."""

    #: The feature words are a tick's features (every tick gives one such record).
    FEATURE = 0x01
    #: The order fields hold an order and its verdict (``reject``).
    ORDER = 0x02
    #: The order came from the host's order stream (else from the decision unit).
    HOST = 0x04


class Reject:
    """Bits of a verdict's ``reject`` word: one per risk check; 0 means accepted.

    A bad order gets ``BAD_ORDER`` alone (no other check is evaluated on it); any other
    order gets the bit of every check it fails.
    """

    KILL = 1 << 0  #: the kill switch is set (by the host or by a loss/drawdown breach)
    BAD_ORDER = 1 << 1  #: qty <= 0, side not BUY/SELL, unknown symbol or reserved flags set
    RESTRICTED = 1 << 2  #: the symbol's bit is set in the restricted bitmap
    MAX_QTY = 1 << 3  #: qty above the maximum order quantity
    MAX_NOTIONAL = 1 << 4  #: qty * (base + price) above the maximum notional per order
    COLLAR = 1 << 5  #: price outside the band around the symbol's last tick price
    STALE = 1 << 6  #: no tick yet, last tick too old, or the feed watchdog expired
    POSITION = 1 << 7  #: the resulting |position| would exceed the symbol's limit
    GROSS = 1 << 8  #: the resulting sum of |positions| would exceed the gross limit
    DAILY_LOSS = 1 << 9  #: the day's P&L is below minus the daily loss limit
    DRAWDOWN = 1 << 10  #: equity is further below its peak than the drawdown limit
    RATE_SYMBOL = 1 << 11  #: the symbol's order-rate bucket is empty
    RATE_GLOBAL = 1 << 12  #: the global order-rate bucket is empty
    DUPLICATE = 1 << 13  #: same side/qty/price as the symbol's last accepted order, too soon

    #: Number of reject bits (and of per-reason counters).
    COUNT = 14

    @classmethod
    def names(cls) -> list[str]:
        """Return the check names in bit order."""
        bits = {v: k for k, v in vars(cls).items() if k.isupper() and k != "COUNT"}
        return [bits[1 << i] for i in range(cls.COUNT)]


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


#: Host to card, one per host order (the second input stream): 16 bytes (128 bits).
ORDER_FIELDS: tuple[Field, ...] = (
    Field("order_id", "u", 32, "1", "the host's order id, echoed in the verdict"),
    Field("qty", "i", 32, "lot", "quantity, > 0 (signed so that a negative one is seen and "
          "refused, never wrapped)"),
    Field("price", "i", 32, "pip", "limit/reference price as an offset from the symbol's "
          "base, like a tick's price"),
    Field("symbol", "u", 8, "1", "symbol index, 0 .. n_symbols-1"),
    Field("side", "u", 8, "1", "Side.BUY or Side.SELL"),
    Field("strategy", "u", 8, "1", "strategy/reason id, echoed"),
    Field("flags", "u", 8, "1", "zero (reserved: an order with any bit set is refused)"),
)


def _output_fields() -> tuple[Field, ...]:
    """The feature record with its padding put to use: the kind tag, the score, the order."""
    spare = {
        "_pad0": (Field("kind", "u", 8, "1", "OutputKind bits: what this record carries"),),
        "_pad1": (Field("score", "i", 32, "1", "decision score saturated to int32 (FEATURE "
                        "records of a known symbol; else 0)"),),
        "_pad2": (Field("order_id", "u", 32, "1", "ORDER: the order's id (host's, or the "
                        "decision unit's intent counter)"),
                  Field("qty", "i", 32, "lot", "ORDER: quantity")),
        "_pad3": (Field("order_price", "i", 32, "pip", "ORDER: limit/reference price offset"),
                  Field("side", "u", 8, "1", "ORDER: Side"),
                  Field("strategy", "u", 8, "1", "ORDER: strategy/reason id"),
                  Field("reject", "u", 16, "1", "ORDER: Reject bits; 0 = accepted and "
                        "forwarded")),
    }
    out: list[Field] = []
    for f in FEATURE_FIELDS:
        out.extend(spare.get(f.name, (f,)))
    return tuple(out)


#: Card to host, one per tick and one per host order: 128 bytes (1024 bits), tagged by
#: ``kind``. The feature words are the feature record's, at the same offsets; the feature
#: record's padding carries the tag, the decision score and the order with its verdict. A
#: tick whose decision fired carries its intent and the intent's verdict in the same record
#: (``kind = FEATURE | ORDER``), so one tick gives exactly one record. A host order's record
#: (``kind = ORDER | HOST``) has ``symbol``, ``ts`` (the market clock its checks used) and
#: the order fields; every other feature word is zero.
OUTPUT_FIELDS: tuple[Field, ...] = _output_fields()


def record_dtype(fields: tuple[Field, ...]) -> np.dtype:
    """Return the packed little-endian numpy dtype of a record table."""
    return np.dtype([(f.name, f.numpy_type) for f in fields])


TICK_DTYPE = record_dtype(TICK_FIELDS)
FEATURE_DTYPE = record_dtype(FEATURE_FIELDS)
ORDER_DTYPE = record_dtype(ORDER_FIELDS)
OUTPUT_DTYPE = record_dtype(OUTPUT_FIELDS)
TICK_BYTES = TICK_DTYPE.itemsize
FEATURE_BYTES = FEATURE_DTYPE.itemsize
ORDER_BYTES = ORDER_DTYPE.itemsize
OUTPUT_BYTES = OUTPUT_DTYPE.itemsize

assert TICK_BYTES == 16 and FEATURE_BYTES == 128
assert ORDER_BYTES == 16 and OUTPUT_BYTES == FEATURE_BYTES
assert all(FEATURE_DTYPE.fields[n][1] == OUTPUT_DTYPE.fields[n][1]
           for n in FEATURE_DTYPE.names if not n.startswith("_"))
