"""Tick streams for the model tests: random walks over several symbols with the rough edges."""

from __future__ import annotations

import numpy as np

from tickgate.gateware.records import TICK_DTYPE, TickFlag


def varied_ticks(n: int, seed: int, n_symbols: int, *, bad_symbols: bool = True,
                 jumps: bool = True) -> np.ndarray:
    """Return ``n`` tick records: random walks, RESET and reserved flags, extreme prices.

    With ``bad_symbols`` about 2% of ticks carry a symbol in ``n_symbols .. 255``; with
    ``jumps`` about 1% of steps are jumps anywhere in int32 and 0.5% of prices are the
    int32 extremes (so sums of squares wrap modulo 2**64).
    """
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, TICK_DTYPE)
    symbol = rng.integers(0, n_symbols, n)
    if bad_symbols:
        bad = rng.random(n) < 0.02
        symbol[bad] = rng.integers(n_symbols, 256, bad.sum())
    steps = rng.integers(-50, 51, n)
    price = np.cumsum(steps)
    if jumps:
        jump = rng.random(n) < 0.01
        steps[jump] = rng.integers(-2**31, 2**31, jump.sum())
        price = (np.cumsum(steps) + 2**31) % 2**32 - 2**31
        extreme = rng.random(n) < 0.005
        price[extreme] = rng.choice([-2**31, 2**31 - 1, 0, -1], extreme.sum())
    ticks["price"] = price
    ticks["symbol"] = symbol
    ticks["seq"] = np.arange(n)
    ticks["ts"] = rng.integers(0, 2**32, n, dtype=np.uint64)
    ticks["flags"] = (np.where(rng.random(n) < 0.01, TickFlag.RESET, 0)
                      | np.where(rng.random(n) < 0.01, TickFlag.RESERVED, 0))
    return ticks


def as_dicts(ticks: np.ndarray) -> list[dict[str, int]]:
    """Return the records as a list of dicts of Python ints."""
    names = ticks.dtype.names
    return [{k: int(v) for k, v in zip(names, rec.tolist(), strict=True)} for rec in ticks]
