"""The market: every symbol's price path on the simulated clock, and the tick publisher.

A symbol is *active* while it has listeners (tick/ohlc/proposal streams, open contracts).
An active symbol's task sleeps until the simulated clock reaches its next grid point and then
calls each listener with that ``Tick`` (present points only), in order and without gaps: if
the loop falls behind (high ``speed``), missed ticks are published in a burst. Listeners are
plain callables run in the event loop; an exception in one is logged and does not stop the
others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tickgate.host.simserver.clock import SimClock
from tickgate.host.simserver.prices import PricePath, Tick
from tickgate.host.simserver.symbols import BY_SYMBOL, SymbolSpec

log = logging.getLogger(__name__)

TickListener = Callable[[str, Tick], None]


class Market:
    """Price paths for the catalogue and per-symbol listeners."""

    def __init__(self, clock: SimClock, seed: int,
                 symbols: dict[str, SymbolSpec] | None = None) -> None:
        self.clock = clock
        self.specs = dict(symbols or BY_SYMBOL)
        self.paths = {name: PricePath(spec, seed, clock.start_epoch)
                      for name, spec in self.specs.items()}
        self._listeners: dict[str, list[TickListener]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._published: dict[str, int] = {}

    def path(self, symbol: str) -> PricePath:
        """The price path of ``symbol`` (KeyError if unknown)."""
        return self.paths[symbol]

    def last_tick(self, symbol: str) -> Tick:
        """The latest tick at the current simulated time."""
        return self.paths[symbol].last_tick(self.clock.now())

    def published_epoch(self, symbol: str) -> float:
        """The epoch up to which ``symbol``'s ticks are published: a listener added now gets
        every tick after it, so a subscription's first tick (or its history) must end there,
        not at the clock, or a tick the publisher is about to send (it may be late under
        load) would reach the subscriber twice. The clock when nothing listens."""
        k = self._published.get(symbol)
        if k is None or symbol not in self._tasks:
            return self.clock.now()
        return float(self.paths[symbol].epoch(k))

    def add_listener(self, symbol: str, listener: TickListener) -> None:
        """Call ``listener(symbol, tick)`` on every new tick of ``symbol``."""
        self._listeners.setdefault(symbol, []).append(listener)
        if symbol not in self._tasks:
            path = self.paths[symbol]
            self._published[symbol] = path.index_at(self.clock.now())
            self._tasks[symbol] = asyncio.get_running_loop().create_task(
                self._run(symbol), name=f"sim-market-{symbol}")

    def remove_listener(self, symbol: str, listener: TickListener) -> None:
        """Stop calling ``listener``; the symbol's task stops with its last listener."""
        listeners = self._listeners.get(symbol, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            self._listeners.pop(symbol, None)
            task = self._tasks.pop(symbol, None)
            if task is not None:
                task.cancel()

    async def _run(self, symbol: str) -> None:
        path = self.paths[symbol]
        clock = self.clock
        while True:
            k = self._published[symbol] + 1
            wait = clock.real_delay(path.epoch(k) - clock.now())
            if wait > 0:
                await asyncio.sleep(wait)
            now_k = path.index_at(clock.now())
            for j in range(k, max(k, now_k) + 1):
                self._published[symbol] = j
                if not path.present(j):
                    continue
                tick = path.tick(j)
                for listener in list(self._listeners.get(symbol, ())):
                    try:
                        listener(symbol, tick)
                    except Exception:  # a listener's bug must not stop the feed
                        log.exception("tick listener failed for %s", symbol)

    async def close(self) -> None:
        """Stop every symbol's task."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._listeners.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
