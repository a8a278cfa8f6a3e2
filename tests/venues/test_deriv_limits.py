"""Rate limits (from website_status, defaults, RateLimit back-off), keepalive, ping guard."""

from __future__ import annotations

import asyncio
import time

import pytest
from deriv_helpers import CALL, TOKENS, async_test, make_client, wait_for

from tickgate.host.simserver import Faults, SimServer, handlers
from tickgate.host.venues.deriv import RateLimiter, RateLimitError, Window
from tickgate.host.venues.deriv.ratelimit import (
    DEFAULT_LIMITS,
    group_of,
    limits_from_website_status,
)


def test_limits_from_website_status_and_fallback() -> None:
    status = {"api_call_limits": {
        "max_requestes_general": {"applies_to": "rest of calls", "minutely": 220,
                                  "hourly": 9000},
        "max_requests_pricing": {"minutely": 70},
        "max_requests_outcome": {"minutely": "junk"}}}
    limits = limits_from_website_status(status)
    assert limits["general"] == (Window(220, 60), Window(9000, 3600))
    assert limits["pricing"] == (Window(70, 60),)
    assert limits["outcome"] == DEFAULT_LIMITS["outcome"]               # odd value: default
    assert limits_from_website_status(None) == DEFAULT_LIMITS
    assert limits_from_website_status({}) == DEFAULT_LIMITS
    assert [group_of(c) for c in ("proposal", "statement", "ping", "buy", "ticks")] == \
        ["pricing", "outcome", "ping", "general", "general"]


def test_limiter_paces_calls_in_a_sliding_window() -> None:
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    async def run() -> list[float]:
        lim = RateLimiter({"general": (Window(3, 1.0),)}, clock=lambda: now[0], sleep=sleep)
        times = []
        for _ in range(7):
            await lim.acquire("ticks")
            times.append(now[0])
        return times

    assert asyncio.run(run()) == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0]


def test_penalty_doubles_and_resets() -> None:
    lim = RateLimiter(penalty_s=1.0, max_penalty_s=3.0, clock=lambda: 100.0)
    assert [lim.penalise("ticks_history") for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    assert lim.wait_time("active_symbols") == pytest.approx(3.0)       # same group: held
    assert lim.wait_time("proposal") == 0.0                            # other group: free
    lim.succeeded("ticks")
    assert lim.penalise("ticks") == 1.0


@async_test
async def test_limits_are_read_from_website_status(monkeypatch: pytest.MonkeyPatch) -> None:
    original = handlers.website_status_payload

    def custom(site_status: str) -> dict:
        out = original(site_status)
        out["api_call_limits"]["max_requestes_general"]["minutely"] = 77
        out["api_call_limits"]["max_requests_pricing"]["hourly"] = 1234
        return out

    async with SimServer(port=0, tokens=TOKENS) as server:
        monkeypatch.setattr(handlers, "website_status_payload", custom)
        async with make_client(server.url) as client:
            assert client.limiter.limits["general"][0] == Window(77, 60)
            assert client.limiter.limits["pricing"][1] == Window(1234, 3600)
        async with make_client(server.url, read_limits=False) as client:
            assert client.limiter.limits["general"] == DEFAULT_LIMITS["general"]
            assert not client.send_log.calls("website_status")


@async_test
async def test_rate_limit_backs_off_and_retries_idempotent_calls_only() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        limiter = RateLimiter(penalty_s=0.1, max_penalty_s=1.0)
        client = make_client(server.url, limiter=limiter, rate_limit_retries=5)
        async with client:
            server.faults.rate_limit = frozenset({"ticks_history", "buy"})
            task = asyncio.ensure_future(client.request(
                {"ticks_history": "R_10", "end": "latest", "count": 3}))
            await asyncio.sleep(0.45)
            server.faults.rate_limit = frozenset({"buy"})
            reply = await task
            assert len(reply["history"]["prices"]) == 3
            sends = client.send_log.times("ticks_history")
            gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
            assert len(sends) >= 3                       # retried…
            assert gaps[0] >= 0.1 and gaps[1] >= 0.2     # …after growing holds, not at once
            with pytest.raises(RateLimitError):
                await client.request({"buy": "1", "price": 100, "parameters": CALL})
            assert len(client.send_log.calls("buy")) == 1          # a buy is never retried


@async_test
async def test_keepalive_pings_keep_an_idle_connection_open() -> None:
    faults = Faults(idle_timeout_s=0.4)
    async with SimServer(port=0, tokens=TOKENS, faults=faults) as server:
        client = make_client(server.url, keepalive_s=0.1)
        async with client:
            await asyncio.sleep(1.2)
            assert client.sessions == 1 and client.stats["reconnects"] == 0
            assert len(client.send_log.calls("ping")) >= 8
        idle = make_client(server.url)                     # no keepalive: dropped, reconnects
        async with idle:
            await wait_for(lambda: idle.stats["reconnects"] >= 1, 3)


@async_test
async def test_keepalive_without_pong_drops_and_reconnects() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        client = make_client(server.url, keepalive_s=0.1, pong_timeout_s=0.2)
        async with client:
            server.faults.delay_s = 1.0                    # pongs come too late
            await wait_for(lambda: client.stats["reconnects"] >= 1, 5)
            server.faults.delay_s = 0.0


@async_test
async def test_ping_flood_guard() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:      # server closes at >10/s
        client = make_client(server.url)
        async with client:
            t0 = time.monotonic()
            await asyncio.gather(*(client.ping() for _ in range(25)))
            assert time.monotonic() - t0 >= 2.0
            await asyncio.gather(*(client.request({"time": 1}) for _ in range(5)))
            assert client.sessions == 1 and client.stats["reconnects"] == 0
        times = sorted(client.send_log.times("ping") + client.send_log.times("time"))
        assert len(times) == 30
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u - t < 1.0) <= 10
