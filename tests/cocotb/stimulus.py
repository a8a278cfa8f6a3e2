"""Tick streams for the engine benches: random, back-to-back runs, extremes, real quotes.

Every generator returns a ``TICK_DTYPE`` array; ``seq`` is the position in the stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tickgate.gateware.records import TICK_DTYPE, TickFlag

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
MARKET_DATA = Path(__file__).resolve().parents[3] / "shared" / "market-data"


def _ticks(symbols: np.ndarray, prices: np.ndarray) -> np.ndarray:
    ticks = np.zeros(len(symbols), TICK_DTYPE)
    ticks["symbol"] = symbols
    ticks["price"] = np.clip(prices, I32_MIN, I32_MAX)
    ticks["ts"] = np.arange(len(symbols), dtype=np.uint32) * 7
    return ticks


def random_walks(rng: np.random.Generator, n: int, n_symbols: int) -> np.ndarray:
    """Random symbols (repeats included), each a random walk with rare large jumps."""
    symbols = rng.integers(0, n_symbols, n)
    steps = rng.integers(-50, 51, n)
    jumps = rng.random(n) < 0.01
    steps[jumps] = rng.integers(-(2**24), 2**24, jumps.sum())
    prices = np.zeros(n, np.int64)
    for s in range(n_symbols):
        idx = np.flatnonzero(symbols == s)
        prices[idx] = rng.integers(-(2**20), 2**20) + np.cumsum(steps[idx])
    return _ticks(symbols, prices)


def same_symbol_runs(rng: np.random.Generator, n: int, n_symbols: int) -> np.ndarray:
    """Runs of 1 to 40 ticks of one symbol back to back."""
    lengths = rng.integers(1, 41, n)
    symbols = np.repeat(rng.integers(0, n_symbols, n), lengths)[:n]
    prices = 1000 + np.cumsum(rng.integers(-3, 4, n))
    return _ticks(symbols, prices)


def extremes(rng: np.random.Generator, n: int, n_symbols: int) -> np.ndarray:
    """Prices at and around the int32 limits, full-scale swings between ticks."""
    symbols = rng.integers(0, min(n_symbols, 4), n)
    choices = np.array([I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX - 1, I32_MAX], np.int64)
    prices = choices[rng.integers(0, len(choices), n)]
    return _ticks(symbols, prices)


def real_quotes(n_symbols: int, limit: int = 9500) -> np.ndarray:
    """Recorded EUR/USD bids and asks as pips (5 decimals), offset from the first bid.

    Bids go to even symbols, asks to odd ones, interleaved as they were recorded.
    """
    path = MARKET_DATA / "eurusd-quotes-2020-01-01.csv"
    raw = np.loadtxt(path, delimiter=",", usecols=(1, 2), dtype=str, max_rows=limit)
    pips = np.array([[int(v.replace(".", "")) for v in row] for row in raw], np.int64)
    pips -= pips[0, 0]
    pairs = np.arange(len(pips)) % max(1, n_symbols // 2)
    symbols = np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel() % n_symbols
    return _ticks(symbols, pips.ravel())


def sprinkle(rng: np.random.Generator, ticks: np.ndarray, n_symbols: int, *,
             reset: float = 0.005, bad_symbol: float = 0.002) -> np.ndarray:
    """Set RESET on a fraction of ticks and, if the build has <256 symbols, bad symbols."""
    ticks = ticks.copy()
    ticks["flags"][rng.random(len(ticks)) < reset] |= TickFlag.RESET
    if n_symbols < 256:
        bad = rng.random(len(ticks)) < bad_symbol
        ticks["symbol"][bad] = rng.integers(n_symbols, 256, bad.sum())
    return ticks


def mixed(rng: np.random.Generator, n: int, n_symbols: int) -> np.ndarray:
    """All of the above, concatenated, with fresh ``seq`` numbers."""
    quarter = n // 4
    parts = [random_walks(rng, quarter, n_symbols), same_symbol_runs(rng, quarter, n_symbols),
             extremes(rng, n // 20, n_symbols)]
    parts.append(real_quotes(n_symbols, limit=max(1, (n - sum(map(len, parts))) // 2)))
    rest = n - sum(map(len, parts))
    if rest > 0:
        parts.append(random_walks(rng, rest, n_symbols))
    ticks = sprinkle(rng, np.concatenate(parts)[:n], n_symbols)
    ticks["seq"] = np.arange(len(ticks), dtype=np.uint32)
    return ticks
