"""Keepalive: a ``ping`` every ``interval_s`` (Deriv closes a connection silent for 120 s).

``Keepalive(ping, interval_s, pong_timeout_s, on_dead)`` runs while a connection is up: it
sleeps ``interval_s``, awaits ``ping()`` (the client's rate-limited ``{"ping": 1}``, so the
ping-flood guard of at most 10 ping/time a second applies to it too) and, when no pong comes
within ``pong_timeout_s``, calls ``on_dead(reason)`` once (the client then drops the socket
and reconnects). A lost connection simply ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tickgate.host.venues.deriv.errors import DerivError
from tickgate.host.venues.deriv.redact import get_logger

log = get_logger(__name__)


class Keepalive:
    """Periodic pings on one connection."""

    def __init__(self, ping: Callable[[], Awaitable[Any]], interval_s: float,
                 pong_timeout_s: float, on_dead: Callable[[str], None]) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.ping = ping
        self.interval_s = interval_s
        self.pong_timeout_s = pong_timeout_s
        self.on_dead = on_dead
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin pinging (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="deriv-ping")

    def stop(self) -> None:
        """Stop pinging."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.sent += 1
            try:
                await asyncio.wait_for(self.ping(), self.pong_timeout_s)
            except TimeoutError:
                log.warning("no pong within %.1f s: dropping the connection",
                            self.pong_timeout_s)
                self.on_dead(f"no pong within {self.pong_timeout_s:.1f} s")
                return
            except DerivError as err:
                log.debug("keepalive stops: %s", err)
                return
