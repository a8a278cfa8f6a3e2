"""Host side of the tick stream: decimal quotes to tick records, and the batch interleaver.

Quotes to records
-----------------
A quote is parsed as an exact decimal (:class:`decimal.Decimal` from the text, never a
float) and converted to pips, ``round(quote * 10**pip_size)`` (half to even; exact whenever
the quote has at most ``pip_size`` decimals). A symbol's ``pip_size`` is either given or
inferred by :meth:`Packer.observe` as the largest number of significant decimals among its
quotes (trailing zeros do not count: ``1.121200`` has 4), the smallest pip that represents
every quote exactly. The card receives ``price = pips - base`` where ``base`` is the
symbol's first price in pips (see :mod:`tickgate.gateware.records`); the first tick of each
symbol carries the ``RESET`` flag, so a card with stale state starts the symbol afresh.

Validation: a bad row raises :class:`PackError` naming its line number and the reason
(non-numeric, NaN or infinite quote or epoch; zero or negative quote; a symbol beyond the
table's capacity or, with a fixed table, an unknown one; an epoch earlier than the
symbol's previous one; an offset from the base that does not fit ``int32``). Nothing is
skipped silently: a replay of bad data stops at the first bad line.

Interleaving
------------
The gateware stalls a tick whose symbol is still in its pipeline (up to about ten cycles),
so a batch is best sent with consecutive ticks of different symbols, as far apart as
possible. :func:`interleave` computes such an order; each symbol keeps its own order, which
is all the engine's outputs depend on, and :func:`inverse_permutation` puts the outputs back
in input order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from numba import njit

from tickgate.gateware.records import TICK_DTYPE, TickFlag

__all__ = [
    "PackError",
    "parse_decimal",
    "significant_decimals",
    "to_pips",
    "mid_quote",
    "SymbolTable",
    "Packer",
    "interleave",
    "inverse_permutation",
]

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_BASE_MAX = 2**53
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_NAN = {"nan", "+nan", "-nan", "snan"}
_INF = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


class PackError(ValueError):
    """A row the packer refuses: ``line`` is the 1-based line in the input file."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_decimal(text: str, what: str = "quote") -> Decimal:
    """Return the exact decimal value of ``text``; raise ``ValueError`` with a reason.

    Accepts plain decimal notation with an optional exponent (``1.12120``, ``-3``, ``2e-3``),
    surrounding blanks allowed. NaN, infinities and anything else are refused; the message
    names ``what`` (``"quote"``, ``"epoch"``) and the offending text.
    """
    if _NUMBER.fullmatch(text):
        return Decimal(text)
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"{what} is empty")
    if stripped.lower() in _NAN:
        raise ValueError(f"{what} is NaN")
    if stripped.lower() in _INF:
        raise ValueError(f"{what} {stripped!r} is infinite")
    if not _NUMBER.fullmatch(stripped):
        raise ValueError(f"{what} {stripped!r} is not a number")
    return Decimal(stripped)


def significant_decimals(value: Decimal) -> int:
    """Return the decimals ``value`` needs: ``1.121200`` -> 4, ``91.7`` -> 1, ``12`` -> 0."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_pips(value: Decimal, pip_size: int) -> int:
    """Return ``round(value * 10**pip_size)``, half to even, computed exactly."""
    return int(value.scaleb(pip_size).to_integral_value(ROUND_HALF_EVEN))


def mid_quote(bid: Decimal, ask: Decimal) -> Decimal:
    """Return ``(bid + ask) / 2`` exactly (it has at most one decimal more than the inputs)."""
    return (bid + ask) / 2


class SymbolTable:
    """Symbol names to card indices ``0 .. capacity-1``, in order of first appearance.

    With ``names`` given the table is fixed: :meth:`index` refuses any other name.
    """

    def __init__(self, capacity: int, names: Sequence[str] | None = None) -> None:
        self.capacity = capacity
        self.fixed = names is not None
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        for name in names or ():
            self._add(name)

    def __len__(self) -> int:
        return len(self.names)

    def _add(self, name: str) -> int:
        if len(self.names) >= self.capacity:
            raise ValueError(f"symbol {name!r} would be symbol number {len(self.names) + 1}, "
                             f"but the board has room for {self.capacity} symbols")
        self._index[name] = len(self.names)
        self.names.append(name)
        return self._index[name]

    def index(self, name: str) -> int:
        """Return the index of ``name``, adding it unless the table is fixed."""
        found = self._index.get(name)
        if found is not None:
            return found
        if not name:
            raise ValueError("symbol is empty")
        if self.fixed:
            raise ValueError(f"unknown symbol {name!r}")
        return self._add(name)


class Packer:
    """Turn rows of text (epoch, symbol, quote) into ``TICK_DTYPE`` records, batch by batch.

    Parameters
    ----------
    n_symbols
        Symbols the board has state for; a further symbol is an error.
    pip_sizes
        Decimals of given symbols; the others are inferred by :meth:`observe`.
    symbols
        A fixed symbol table (index = position); without it symbols are numbered in
        order of first appearance.

    State kept across batches: the symbol table, each symbol's base (pips of its first
    quote), its latest epoch, and the running ``seq`` number (the tick's position in the
    whole replay, modulo 2**32).
    """

    def __init__(self, *, n_symbols: int = 64, pip_sizes: Mapping[str, int] | None = None,
                 symbols: Sequence[str] | None = None) -> None:
        self.table = SymbolTable(n_symbols, symbols)
        self._given = dict(pip_sizes or {})
        for name, size in self._given.items():
            if not 0 <= size <= 18:
                raise ValueError(f"pip size of {name!r} must be 0 .. 18, not {size}")
        self._inferred: dict[str, int] = {}
        self._base: dict[int, int] = {}
        self._last_epoch: dict[int, Decimal] = {}
        self.seq = 0

    def pip_size(self, name: str) -> int:
        """Return the decimals of ``name`` (given, else inferred)."""
        if name in self._given:
            return self._given[name]
        if name in self._inferred:
            return self._inferred[name]
        raise KeyError(f"no pip size for symbol {name!r}: give one or observe its quotes")

    def observe(self, lines: Iterable[int], symbols: Iterable[str],
                quotes: Iterable[str | Decimal]) -> None:
        """Register symbols and infer pip sizes from quotes, before packing them.

        Raises :class:`PackError` for a quote that is not a positive number or a symbol the
        table has no room for.
        """
        for line, name, text in zip(lines, symbols, quotes, strict=True):
            try:
                self.table.index(name)
                quote = self._quote(text)
            except ValueError as exc:
                raise PackError(line, str(exc)) from None
            if name not in self._given:
                places = significant_decimals(quote)
                self._inferred[name] = max(places, self._inferred.get(name, 0))

    def pip_size_array(self) -> np.ndarray:
        """Return pip sizes by symbol index (int64, ``-1`` for an index not yet in use)."""
        out = np.full(self.table.capacity, -1, np.int64)
        for i, name in enumerate(self.table.names):
            if name in self._given or name in self._inferred:
                out[i] = self.pip_size(name)
        return out

    def base_array(self) -> np.ndarray:
        """Return each symbol's base in pips by index (int64, 0 for an unused index)."""
        out = np.zeros(self.table.capacity, np.int64)
        for i, base in self._base.items():
            out[i] = base
        return out

    def pack(self, lines: Sequence[int], epochs: Sequence[str | Decimal],
             symbols: Sequence[str], quotes: Sequence[str | Decimal]) -> np.ndarray:
        """Return one ``TICK_DTYPE`` record per row.

        ``epochs`` are seconds (integer or fractional); the record's ``ts`` is the epoch in
        milliseconds, rounded half to even, modulo 2**32. A row is refused with a
        :class:`PackError` naming ``lines[i]``; no records are returned then (the rows
        before it in the batch have already moved their symbols' state on).
        """
        n = len(lines)
        price = np.empty(n, np.int64)
        index = np.empty(n, np.int64)
        ts = np.empty(n, np.int64)
        flags = np.zeros(n, np.uint8)
        for i in range(n):
            line, name = lines[i], symbols[i]
            try:
                epoch = (epochs[i] if isinstance(epochs[i], Decimal)
                         else parse_decimal(epochs[i], "epoch"))
                quote = self._quote(quotes[i])
                sym = self.table.index(name)
                pips = to_pips(quote, self.pip_size(name))
                last = self._last_epoch.get(sym)
                if last is not None and epoch < last:
                    raise ValueError(f"time goes backwards for {name!r}: epoch {epoch} "
                                     f"is before {last}")
                base = self._base.get(sym)
                if base is None:
                    if abs(pips) > _BASE_MAX:
                        raise ValueError(f"quote {quote} of {name!r} is {pips} pips, beyond "
                                         f"2**53: its float columns would not be exact")
                    base = pips
                    flags[i] = TickFlag.RESET
                offset = pips - base
                if not _INT32_MIN <= offset <= _INT32_MAX:
                    raise ValueError(f"quote {quote} of {name!r} is {offset} pips from its "
                                     f"first quote, beyond the card's 32-bit range")
            except (ValueError, KeyError) as exc:
                reason = exc.args[0] if isinstance(exc, KeyError) else str(exc)
                raise PackError(line, reason) from None
            self._base[sym] = base
            self._last_epoch[sym] = epoch
            price[i] = offset
            index[i] = sym
            ts[i] = int((epoch * 1000).to_integral_value(ROUND_HALF_EVEN)) % 2**32
        ticks = np.zeros(n, TICK_DTYPE)
        ticks["price"] = price
        ticks["symbol"] = index
        ticks["ts"] = ts
        ticks["flags"] = flags
        ticks["seq"] = (self.seq + np.arange(n, dtype=np.int64)) % 2**32
        self.seq += n
        return ticks

    @staticmethod
    def _quote(text: str | Decimal) -> Decimal:
        quote = text if isinstance(text, Decimal) else parse_decimal(text, "quote")
        if quote.is_nan():
            raise ValueError("quote is NaN")
        if quote.is_infinite():
            raise ValueError("quote is infinite")
        if quote <= 0:
            raise ValueError(f"quote must be positive, not {quote}")
        return quote


@njit(cache=True)
def _interleave(symbol, n_symbols):  # pragma: no cover - compiled
    n = symbol.shape[0]
    remaining = np.zeros(n_symbols, np.int64)
    for i in range(n):
        remaining[symbol[i]] += 1
    # each symbol's ticks in input order: members[start[s] : start[s] + count[s]]
    start = np.zeros(n_symbols + 1, np.int64)
    for s in range(n_symbols):
        start[s + 1] = start[s] + remaining[s]
    fill = start[:n_symbols].copy()
    members = np.empty(n, np.int64)
    for i in range(n):
        members[fill[symbol[i]]] = i
        fill[symbol[i]] += 1
    taken = np.zeros(n_symbols, np.int64)
    last_used = np.full(n_symbols, -1, np.int64)
    active = np.flatnonzero(remaining)
    order = np.empty(n, np.int64)
    last = -1
    for pos in range(n):
        total = n - pos
        # a symbol holding a strict majority of what is left must go now (unless it just
        # went): otherwise an adjacent pair that could have been avoided becomes certain
        pick = -1
        for s in active:
            if 2 * remaining[s] > total and s != last:
                pick = s
        if pick < 0:
            # least recently used other symbol (spreads each symbol's ticks furthest),
            # ties to the one with most ticks left
            best_used = np.int64(2**62)
            for s in active:
                if remaining[s] == 0 or s == last:
                    continue
                if last_used[s] < best_used or (
                        last_used[s] == best_used and remaining[s] > remaining[pick]):
                    pick = s
                    best_used = last_used[s]
        if pick < 0:
            pick = last  # only the previous symbol is left
        order[pos] = members[start[pick] + taken[pick]]
        taken[pick] += 1
        remaining[pick] -= 1
        last_used[pick] = pos
        last = pick
    return order


def interleave(symbols: np.ndarray) -> np.ndarray:
    """Return an order of a batch that separates ticks of the same symbol.

    Parameters
    ----------
    symbols
        Symbol index of each tick (any integer dtype, values 0 .. 255).

    Returns
    -------
    numpy.ndarray
        ``order`` (int64) such that ``batch[order]`` is the batch to send. Each symbol's
        ticks keep their relative order. The number of consecutive same-symbol pairs is the
        least possible, ``max(0, 2 * m - n - 1)`` for ``n`` ticks of which ``m`` belong to
        the most frequent symbol; beyond that, each next tick is the least recently sent
        symbol, so symbols take turns (round robin) while several are left.
    """
    sym = np.ascontiguousarray(symbols, dtype=np.int64)
    if sym.size and (sym.min() < 0 or sym.max() > 255):
        raise ValueError("symbol indices must be 0 .. 255")
    return _interleave(sym, 256)


def inverse_permutation(order: np.ndarray) -> np.ndarray:
    """Return ``inv`` with ``inv[order] = arange(n)``: ``sent[inv]`` is in input order."""
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size, dtype=order.dtype)
    return inv
