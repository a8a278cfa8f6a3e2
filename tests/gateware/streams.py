"""Shared helpers of the Amaranth-simulator benches: stream transfers and tick streams.

``stream_put`` / ``stream_get`` move one payload over an ``amaranth.lib.stream`` interface
from an async testbench (a transfer is a clock edge with ``valid & ready``). Payloads are
plain integers (the layout's bits; see :func:`tickgate.gateware.layouts.record_to_int`).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Value

from tickgate.gateware.records import TICK_DTYPE, TickFlag

__all__ = ["stream_put", "stream_get", "tick_stream"]


async def stream_put(ctx, stream, payload: int) -> None:
    """Offer ``payload`` on ``stream`` until it is taken; return after the transfer edge."""
    ctx.set(stream.valid, 1)
    ctx.set(Value.cast(stream.payload), payload)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream) -> int:
    """Accept one payload from ``stream``; return it after the transfer edge."""
    ctx.set(stream.ready, 1)
    (payload,) = await ctx.tick().sample(Value.cast(stream.payload)).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


def tick_stream(rng: np.random.Generator, n: int, n_symbols: int, *, symbols: int | None = None,
                bad: float = 0.0, reset: float = 0.0, jumps: float = 0.0,
                extremes: float = 0.0, runs: float = 0.0) -> np.ndarray:
    """Return ``n`` tick records: random walks over ``symbols`` symbols (all by default).

    ``bad``: share of ticks with a symbol ``>= n_symbols`` (none if the build has 256);
    ``reset``: share with the RESET flag (and, as often, a reserved flag bit); ``jumps``:
    share of steps to anywhere in int32; ``extremes``: share of prices at the int32 ends;
    ``runs``: share of ticks that repeat the previous tick's symbol (back-to-back runs).
    """
    ticks = np.zeros(n, TICK_DTYPE)
    symbol = rng.integers(0, symbols or n_symbols, n)
    repeat = np.flatnonzero(rng.random(n) < runs)
    for i in repeat[repeat > 0]:
        symbol[i] = symbol[i - 1]
    if n_symbols < 256:
        is_bad = rng.random(n) < bad
        symbol[is_bad] = rng.integers(n_symbols, 256, is_bad.sum())
    steps = rng.integers(-40, 41, n)
    jump = rng.random(n) < jumps
    steps[jump] = rng.integers(-2**31, 2**31, jump.sum())
    price = (np.cumsum(steps) + 2**31) % 2**32 - 2**31
    extreme = rng.random(n) < extremes
    price[extreme] = rng.choice([-2**31, 2**31 - 1, -2**31 + 1, 2**31 - 2], extreme.sum())
    ticks["price"] = price
    ticks["symbol"] = symbol
    ticks["seq"] = np.arange(n)
    ticks["ts"] = rng.integers(0, 2**32, n, dtype=np.uint64)
    ticks["flags"] = (np.where(rng.random(n) < reset, TickFlag.RESET, 0)
                      | np.where(rng.random(n) < reset, 0x80, 0))
    return ticks
