"""A per-symbol circular buffer of ticks: numpy arrays allocated once, no allocation per tick.

The arrays are numpy views of ``array.array`` buffers; ``append`` writes through memoryviews
of them (a store into one costs ~25-35 ns, into the ``array.array`` ~40 ns, into a numpy
array from Python ~100 ns: the ring is on the feed's per-tick path).

``TickRing(capacity)`` holds the last ``capacity`` ticks of one symbol in four preallocated
arrays (``epoch`` int64 Unix seconds, ``quote``/``bid``/``ask`` float64, NaN when absent).
``append`` writes one slot in place (O(1)); ``latest(n)`` returns the newest ``n`` ticks in
time order as copies (the only call that allocates). Invariant: appended ticks have strictly
increasing epochs (the feed's validation guarantees it), so ``latest`` is sorted by time.
"""

from __future__ import annotations

from array import array

import numpy as np

_NAN = float("nan")
#: The epochs' array type: ``l`` where a C long is 64-bit (Linux), else ``q``. A memoryview
#: store of a multi-digit int reads it with ``PyLong_AsLong`` for ``l`` and through a byte
#: array for ``q`` (~100 instructions more a tick); the numpy view is int64 either way.
_EPOCH_TYPECODE = "l" if array("l").itemsize == 8 else "q"


class TickRing:
    """The last ``capacity`` ticks of one symbol."""

    __slots__ = ("capacity", "epoch", "quote", "bid", "ask", "total", "_store")

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        e, q, b, a = (array(_EPOCH_TYPECODE, bytes(8 * capacity)), array("d", [_NAN]) * capacity,
                      array("d", [_NAN]) * capacity, array("d", [_NAN]) * capacity)
        self._store = (memoryview(e), memoryview(q), memoryview(b), memoryview(a))
        self.epoch = np.frombuffer(e, dtype=np.int64)
        self.quote = np.frombuffer(q, dtype=np.float64)
        self.bid = np.frombuffer(b, dtype=np.float64)
        self.ask = np.frombuffer(a, dtype=np.float64)
        self.total = 0          # ticks ever appended; the next goes to total % capacity

    def append(self, epoch: int, quote: float, bid: float = _NAN, ask: float = _NAN) -> None:
        """Store one tick in place, overwriting the oldest when full."""
        n = self.total
        i = n % self.capacity
        e, q, b, a = self._store
        e[i] = epoch
        q[i] = quote
        b[i] = bid
        a[i] = ask
        self.total = n + 1

    @property
    def _next(self) -> int:
        """The slot the next tick goes to."""
        return self.total % self.capacity

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    @property
    def last_epoch(self) -> int | None:
        """Epoch of the newest tick (None when empty)."""
        return int(self.epoch[self._next - 1]) if self.total else None

    @property
    def last_quote(self) -> float | None:
        """Quote of the newest tick (None when empty)."""
        return float(self.quote[self._next - 1]) if self.total else None

    def _order(self, n: int) -> np.ndarray:
        n = min(n, len(self))
        return (np.arange(self._next - n, self._next)) % self.capacity

    def latest(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
        """The newest ``n`` (default all) ticks, oldest first: (epoch, quote, bid, ask)."""
        idx = self._order(len(self) if n is None else n)
        return self.epoch[idx], self.quote[idx], self.bid[idx], self.ask[idx]
