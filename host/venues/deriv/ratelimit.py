"""Client-side rate limiting per Deriv call group, and backing off after ``RateLimit``.

Groups (as Deriv's server buckets them): ``pricing`` = proposal, proposal_open_contract;
``outcome`` = portfolio, statement, profit_table, reality_check; ``ping`` = ping, time (Deriv
closes a connection with 1008 after more than 10 a second); ``general`` = every other call.
Each group has windows ``(limit, seconds)``: at most ``limit`` calls in any ``seconds``-long
sliding window (a log of send times per window). Limits come from ``website_status``'s
``api_call_limits`` (``max_requestes_general`` — Deriv's spelling — ``max_requests_outcome``,
``max_requests_pricing``: ``minutely`` and ``hourly``), else ``DEFAULT_LIMITS`` (Deriv's
published figures). The ping group is always 10 per 1.05 s (a margin over Deriv's second).

``acquire(call)`` waits (asyncio sleep, never blocking the loop) until the call fits every
window of its group and no back-off holds the group, then records it. ``penalise(call)``
after a ``RateLimit`` reply holds the group for ``penalty_s`` seconds, doubling on each
further ``RateLimit`` up to ``max_penalty_s`` (Deriv gives no retry-after hint; its windows
are a minute); ``succeeded(call)`` resets the doubling. The clock and sleep are injectable.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tickgate.host.venues.deriv.redact import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` calls in any ``seconds``."""

    limit: int
    seconds: float


PING_WINDOWS = (Window(10, 1.05),)
DEFAULT_LIMITS: dict[str, tuple[Window, ...]] = {
    "general": (Window(180, 60), Window(14400, 3600)),
    "outcome": (Window(25, 60), Window(1500, 3600)),
    "pricing": (Window(80, 60), Window(3600, 3600)),
    "ping": PING_WINDOWS,
}
GROUP_OF = {"proposal": "pricing", "proposal_open_contract": "pricing",
            "portfolio": "outcome", "statement": "outcome", "profit_table": "outcome",
            "reality_check": "outcome", "ping": "ping", "time": "ping"}
_STATUS_KEYS = {"general": "max_requestes_general", "outcome": "max_requests_outcome",
                "pricing": "max_requests_pricing"}


def group_of(call: str) -> str:
    """The rate-limit group of a call."""
    return GROUP_OF.get(call, "general")


def limits_from_website_status(status: Mapping[str, Any] | None) -> dict[str, tuple[Window, ...]]:
    """Limits from a ``website_status`` payload; a missing or odd group keeps its default."""
    limits = dict(DEFAULT_LIMITS)
    calls = (status or {}).get("api_call_limits") or {}
    for group, key in _STATUS_KEYS.items():
        entry = calls.get(key)
        if not isinstance(entry, dict):
            continue
        windows = []
        for name, seconds in (("minutely", 60.0), ("hourly", 3600.0)):
            value = entry.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
                windows.append(Window(int(value), seconds))
        if windows:
            limits[group] = tuple(windows)
    return limits


class RateLimiter:
    """Sliding-window limits per group plus back-off after ``RateLimit`` errors."""

    def __init__(self, limits: Mapping[str, tuple[Window, ...]] | None = None, *,
                 penalty_s: float = 5.0, max_penalty_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.penalty_s = penalty_s
        self.max_penalty_s = max_penalty_s
        self._clock = clock
        self._sleep = sleep
        self._held_until: dict[str, float] = {}
        self._strikes: dict[str, int] = {}
        self.waited_s = 0.0          # total time callers spent waiting (a health figure)
        self.configure(limits or DEFAULT_LIMITS)

    def configure(self, limits: Mapping[str, tuple[Window, ...]]) -> None:
        """Install new limits (keeps the ping rule); past sends are forgotten."""
        self.limits = {**DEFAULT_LIMITS, **limits, "ping": PING_WINDOWS}
        self._logs = {g: [deque(maxlen=w.limit) for w in ws] for g, ws in self.limits.items()}

    def wait_time(self, call: str) -> float:
        """Seconds until ``call`` may be sent (0 = now)."""
        group = group_of(call)
        now = self._clock()
        wait = self._held_until.get(group, 0.0) - now
        for window, sent in zip(self.limits[group], self._logs[group], strict=True):
            if len(sent) >= window.limit:
                wait = max(wait, sent[0] + window.seconds - now)
        return max(0.0, wait)

    async def acquire(self, call: str) -> None:
        """Wait until ``call`` fits its group's limits, then count it as sent."""
        while (wait := self.wait_time(call)) > 0:
            self.waited_s += wait
            await self._sleep(wait)
        now = self._clock()
        for sent in self._logs[group_of(call)]:
            sent.append(now)

    def try_acquire(self, call: str) -> bool:
        """Count ``call`` as sent now if it fits its group's limits at once; whether it did
        (never waits: the synchronous order path's check)."""
        if self.wait_time(call) > 0:
            return False
        now = self._clock()
        for sent in self._logs[group_of(call)]:
            sent.append(now)
        return True

    def penalise(self, call: str) -> float:
        """A ``RateLimit`` reply for ``call``: hold its group; the hold in seconds."""
        group = group_of(call)
        strikes = self._strikes.get(group, 0)
        hold = min(self.max_penalty_s, self.penalty_s * 2 ** strikes)
        self._strikes[group] = strikes + 1
        self._held_until[group] = max(self._held_until.get(group, 0.0), self._clock() + hold)
        log.warning("RateLimit on %s: holding the %s group for %.1f s", call, group, hold)
        return hold

    def succeeded(self, call: str) -> None:
        """A call of this group got a normal reply: the next penalty starts small again."""
        self._strikes.pop(group_of(call), None)
