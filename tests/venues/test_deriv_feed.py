"""The tick feed: many symbols at once, validation counts, ring buffers, gap backfill."""

from __future__ import annotations

import asyncio
import math
import tracemalloc

import numpy as np
import pytest
from deriv_helpers import TOKENS, FlakyConnector, SendLog, async_test, make_client, wait_for

from tickgate.host.simserver import SimServer
from tickgate.host.simserver.symbols import BY_SYMBOL
from tickgate.host.venues.deriv import Backoff, DerivClient
from tickgate.host.venues.deriv.feed import TickFeed, tick_interval
from tickgate.host.venues.deriv.ring import TickRing
from tickgate.host.venues.deriv.tickcheck import normalise


def test_ring_wraps_in_order_without_allocating_per_tick() -> None:
    ring = TickRing(5)
    arrays = (ring.epoch, ring.quote, ring.bid, ring.ask)
    for i in range(8):
        ring.append(100 + i, 1.5 + i, 1.4 + i, 1.6 + i)
    epoch, quote, bid, ask = ring.latest()
    assert list(epoch) == [103, 104, 105, 106, 107] and len(ring) == 5 and ring.total == 8
    assert quote[-1] == 8.5 and ring.last_epoch == 107 and ring.last_quote == 8.5
    assert list(ring.latest(2)[0]) == [106, 107]
    assert all(a is b for a, b in zip(arrays, (ring.epoch, ring.quote, ring.bid, ring.ask),
                                      strict=True))
    big = TickRing(100_000)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(50_000):
        big.append(i, 100.0 + i, math.nan, math.nan)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown < 10_000                  # no per-tick allocation (50k ticks)


def _tick(symbol: str, epoch: object, quote: object, pip: int = 2) -> dict:
    return {"msg_type": "tick", "echo_req": {}, "subscription": {"id": "x"},
            "tick": {"symbol": symbol, "epoch": epoch, "quote": quote, "bid": quote,
                     "ask": quote, "pip_size": pip, "id": "x"}}


def test_validation_rejects_and_counts() -> None:
    now = [1_000_000.0]

    async def run() -> TickFeed:
        feed = TickFeed(DerivClient.__new__(DerivClient), ["R_100", "frxEURUSD"],
                        capacity=16, stale_after_s=30, clock=lambda: now[0], backfill=False)
        for msg in [_tick("R_100", 999_990, 1234.5678),           # ok (rounded to 2 dp)
                    _tick("R_100", 999_992, None),                 # nan (null quote)
                    _tick("R_100", 999_992, "NaN"),                # nan
                    _tick("R_100", 999_992, -1.0),                 # non_positive
                    _tick("R_100", 999_992, 0),                    # non_positive
                    _tick("R_100", 999_990, 1234.6),               # duplicate
                    _tick("R_100", 999_988, 1234.6),               # out_of_order
                    _tick("R_100", 999_994, 1234.7),               # ok
                    _tick("frxEURUSD", 999_000, 1.08, 5),          # stale (1000 s old)
                    _tick("frxEURUSD", 999_999, 1.083456789, 5),   # ok
                    _tick("XYZ", 999_999, 1.0),                    # not subscribed
                    {"msg_type": "tick", "echo_req": {}, "error": {"code": "X"}}]:
            feed.ingest(msg)
        return feed

    feed = asyncio.run(run())
    assert feed.check.counts("R_100") == {"nan": 2, "non_positive": 2, "duplicate": 1,
                                          "out_of_order": 1, "stale": 0}
    assert feed.check.counts() == {"nan": 2, "non_positive": 2, "duplicate": 1,
                                   "out_of_order": 1, "stale": 1}
    epoch, quote, _, _ = feed.rings["R_100"].latest()
    assert list(epoch) == [999_990, 999_994] and list(quote) == [1234.57, 1234.7]
    assert feed.rings["frxEURUSD"].last_quote == 1.08346
    assert feed.stats["unknown_symbol"] == 1 and feed.stats["not_tick"] == 1
    assert feed.check.accepted["R_100"] == 2


def test_tick_intervals() -> None:
    assert [tick_interval(s) for s in ("R_10", "1HZ100V", "frxEURUSD")] == [2.0, 1.0, None]


@async_test
async def test_the_whole_catalogue_subscribed_at_once() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=20) as server:
        client = make_client(server.url)
        async with client:
            symbols = list(BY_SYMBOL)
            assert len(symbols) >= 100
            feed = TickFeed(client, symbols, capacity=256)
            await feed.start()
            await wait_for(lambda: all(len(feed.rings[s]) >= 3 for s in symbols), 10)
            await feed.stop()
        log: SendLog = client.send_log
        assert len(log.calls("ticks")) == 1 and log.calls("ticks")[0]["ticks"] == symbols
        rejected = {s: c for s in symbols if sum((c := feed.check.counts(s)).values())}
        assert not rejected, rejected
        for s in symbols:
            epoch = feed.rings[s].latest()[0]
            assert np.all(np.diff(epoch) > 0)


@pytest.mark.parametrize("inline", [False, True], ids=["queue", "inline-typed"])
def test_a_gap_is_backfilled_from_ticks_history(inline: bool) -> None:
    _gap_backfilled(inline)


@async_test
async def _gap_backfilled(inline: bool) -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=10) as server:
        connector = FlakyConnector(server.url)
        client = DerivClient(connector, keepalive_s=None, on_send=[SendLog()],
                             backoff=Backoff(base=1.2, rng=lambda: 0.0))
        async with client:
            feed = TickFeed(client, ["R_10", "1HZ10V"], capacity=512, inline=inline)
            await feed.start()
            await wait_for(lambda: len(feed.rings["R_10"]) >= 3, 5)
            connector.fail = 1                     # down ~1.2 s real = ~12 s simulated
            server.drop_connections()
            await wait_for(lambda: client.stats["reconnects"] == 1, 5)
            await wait_for(lambda: len(feed.rings["R_10"]) >= 12, 5)
            await feed.stop()
        assert client._typed_ticks == inline          # the typed path, across the reconnect
        history = client.on_send[0].calls("ticks_history")
        assert {r["ticks_history"] for r in history} == {"R_10", "1HZ10V"}
        assert feed.gaps["R_10"] >= 1 and feed.backfilled["R_10"] >= 4
        assert feed.backfilled["1HZ10V"] >= 8
        for symbol, step in (("R_10", 2), ("1HZ10V", 1)):
            epoch, quote, _, _ = feed.rings[symbol].latest()
            assert np.all(np.diff(epoch) == step), (symbol, epoch)   # no hole left
            path = server.market.path(symbol)
            want = {t.epoch: t.quote for t in path.ticks_between(epoch[0], epoch[-1])}
            assert [want[int(e)] for e in epoch] == pytest.approx(list(quote))


def test_normalise_gives_the_double_round_gives_at_every_pip_size() -> None:
    rng = np.random.default_rng(7)
    for pip in range(13):
        scale = 10.0 ** pip
        exact = 2.0**51 / scale
        values = [*rng.uniform(-1e6, 1e6, 2000), *(rng.integers(-10**6, 10**6, 500) + 0.5)
                  / scale, 0.0, -0.0, -0.4 / scale, 0.5 / scale, 1.5 / scale, 2.5 / scale,
                  exact, -exact, np.nextafter(exact, 0), np.nextafter(-exact, 0),
                  exact * 4, 1e300]
        for v in map(float, values):
            want = round(v * scale) / scale if math.isfinite(v * scale) else round(v, pip)
            got = normalise(v, pip)
            assert got == want and math.copysign(1, got) == math.copysign(1, want), (v, pip)
