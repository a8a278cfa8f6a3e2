"""Seeded, deterministic price paths on a per-symbol time grid.

Grid point ``k`` (any integer, negative = before the server started) sits at epoch
``base + k * interval`` where ``base`` is the start epoch rounded down to the interval. From
point ``k`` to ``k + 1`` the price moves by its family's increment (:mod:`.motion`: for most
families a driftless geometric random walk, ``sigma * sqrt(dt) * z - sigma**2 * dt / 2`` on
the log price with ``dt = interval / year`` and ``z`` standard normal; jumps, spikes or fixed
steps for the jump, boom/crash and step indices); points before 0 are generated backwards from
the start price with their own random stream (the same moves, undone). A grid point carries a
tick with probability ``presence`` (1 for synthetic indices, so every point; less for forex,
metals, crypto and stock indices, giving irregular ticks); point 0 always does. Quotes are
the price rounded to the symbol's decimals; bid/ask sit half the symbol's spread either side.

Everything depends only on (seed, symbol, start epoch): two servers with the same seed and
``start_epoch`` publish identical ticks. The path extends lazily, in chunks, both ways, into
numpy arrays (9 bytes a grid point: a day of a 1-second symbol is 0.8 MB); history reaches
back at most ``MAX_HISTORY_S`` simulated seconds before the start.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from tickgate.host.simserver.motion import YEAR_S, increments
from tickgate.host.simserver.symbols import SymbolSpec

MAX_HISTORY_S = 86400 * 2   # simulated seconds of history before the start
_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick: grid index, epoch (s), quote, bid, ask (rounded to the symbol's decimals)."""

    index: int
    epoch: int
    quote: float
    bid: float
    ask: float


class _Run:
    """One direction of a path: prices and presence flags in numpy arrays that grow."""

    __slots__ = ("price", "on", "n")

    def __init__(self) -> None:
        self.price = np.empty(_CHUNK + 1)
        self.on = np.empty(_CHUNK + 1, bool)
        self.n = 0

    def append(self, prices: np.ndarray, present: np.ndarray) -> None:
        """Append points (capacity doubles when full)."""
        end = self.n + len(prices)
        if end > len(self.price):
            size = max(end, 2 * len(self.price))
            self.price = np.concatenate([self.price[:self.n], np.empty(size - self.n)])
            self.on = np.concatenate([self.on[:self.n], np.empty(size - self.n, bool)])
        self.price[self.n:end] = prices
        self.on[self.n:end] = present
        self.n = end


class PricePath:
    """One symbol's price on its grid; see the module docstring for the model."""

    def __init__(self, spec: SymbolSpec, seed: int, start_epoch: float) -> None:
        self.spec = spec
        self.interval = spec.interval
        self.base = int(start_epoch) - int(start_epoch) % spec.interval
        mix = zlib.crc32(spec.symbol.encode())
        self._rng_fwd = np.random.default_rng([seed, mix, 1])
        self._rng_back = np.random.default_rng([seed, mix, 2])
        self._dt = spec.interval / YEAR_S
        self._fwd = _Run()                              # index k >= 0 at [k]
        self._fwd.append(np.array([spec.start_price]), np.array([True]))
        self._back = _Run()                             # index -1, -2, ... at [0], [1], ...
        self.min_index = -(MAX_HISTORY_S // spec.interval)
        half = spec.spread_pips * spec.pip / 2
        self._half_spread = half

    # -- generation ------------------------------------------------------------------------
    def _extend(self, forward: bool) -> None:
        rng = self._rng_fwd if forward else self._rng_back
        spec = self.spec
        z = rng.standard_normal(_CHUNK)
        present = rng.random(_CHUNK) < spec.presence
        moves = np.cumsum(increments(spec.motion, z, rng, spec.volatility, self._dt))
        if forward:
            run = self._fwd
            last = run.price[run.n - 1]
            prices = last + moves if spec.motion.additive else last * np.exp(moves)
        else:
            run = self._back
            last = run.price[run.n - 1] if run.n else self._fwd.price[0]
            prices = last - moves if spec.motion.additive else last * np.exp(-moves)
        run.append(prices, present)

    def price(self, k: int) -> float:
        """The unrounded price at grid point ``k``."""
        if k >= 0:
            while k >= self._fwd.n:
                self._extend(True)
            return float(self._fwd.price[k])
        while -k > self._back.n:
            self._extend(False)
        return float(self._back.price[-k - 1])

    def present(self, k: int) -> bool:
        """Whether grid point ``k`` carries a tick."""
        self.price(k)
        return bool(self._fwd.on[k] if k >= 0 else self._back.on[-k - 1])

    # -- grid ------------------------------------------------------------------------------
    def epoch(self, k: int) -> int:
        """Epoch of grid point ``k``."""
        return self.base + k * self.interval

    def index_at(self, epoch: float) -> int:
        """The last grid point at or before ``epoch``."""
        return math.floor((epoch - self.base) / self.interval)

    def round(self, value: float) -> float:
        """``value`` rounded to the symbol's decimals."""
        return round(value, self.spec.decimals)

    def tick(self, k: int) -> Tick:
        """The tick at grid point ``k`` (whether or not the point is present)."""
        p = self.price(k)
        d = self.spec.decimals
        return Tick(k, self.epoch(k), round(p, d), round(p - self._half_spread, d),
                    round(p + self._half_spread, d))

    def last_tick(self, epoch: float) -> Tick:
        """The last present tick at or before ``epoch`` (never before the history limit)."""
        k = max(self.index_at(epoch), self.min_index)
        while k > self.min_index and not self.present(k):
            k -= 1
        return self.tick(k)

    def ticks_between(self, start: float, end: float, limit: int | None = None) -> list[Tick]:
        """Present ticks with ``start <= epoch <= end``, ascending; the last ``limit`` if given."""
        k0 = max(math.ceil((start - self.base) / self.interval), self.min_index)
        k1 = self.index_at(end)
        if limit is not None:
            out: list[Tick] = []
            k = k1
            while k >= k0 and len(out) < limit:
                if self.present(k):
                    out.append(self.tick(k))
                k -= 1
            out.reverse()
            return out
        return [self.tick(k) for k in range(k0, k1 + 1) if self.present(k)]

    def format(self, value: float) -> str:
        """``value`` as a string with exactly the symbol's decimals (Deriv's display values)."""
        return f"{value:.{self.spec.decimals}f}"


def candles(ticks: list[Tick], granularity: int) -> list[dict[str, float | int]]:
    """OHLC candles of ``granularity`` seconds from ascending ticks; ``epoch`` = open time."""
    out: list[dict[str, float | int]] = []
    for t in ticks:
        open_time = t.epoch - t.epoch % granularity
        if out and out[-1]["epoch"] == open_time:
            c = out[-1]
            c["high"] = max(c["high"], t.quote)
            c["low"] = min(c["low"], t.quote)
            c["close"] = t.quote
        else:
            out.append({"epoch": open_time, "open": t.quote, "high": t.quote, "low": t.quote,
                        "close": t.quote})
    return out
