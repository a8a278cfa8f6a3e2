"""Market data: symbols, tick streams, history, candles and the ohlc stream, forget."""

from __future__ import annotations

from simserver_client import TOKENS, Client, async_test, connect

from tickgate.host.simserver import SimServer
from tickgate.host.simserver.clock import SimClock
from tickgate.host.simserver.prices import PricePath, candles
from tickgate.host.simserver.symbols import BY_SYMBOL, CATALOGUE

START = 1_700_000_000


@async_test
async def test_active_symbols() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        brief = (await c.ok({"active_symbols": "brief"}))["active_symbols"]
        names = {s["symbol"] for s in brief}
        assert {"R_10", "R_100", "1HZ100V", "frxEURUSD", "cryBTCUSD"} <= names
        r50 = next(s for s in brief if s["symbol"] == "R_50")
        assert r50["pip"] == 0.0001 and r50["market"] == "synthetic_index"
        full = (await c.ok({"active_symbols": "full"}))["active_symbols"]
        assert all("spot" in s and "exchange_name" in s for s in full)
        digits = (await c.ok({"active_symbols": "brief", "contract_type": ["DIGITMATCH"]}))
        assert all(s["market"] == "synthetic_index" for s in digits["active_symbols"])


@async_test
async def test_the_whole_catalogue_is_listed_and_ticks_valid_in_every_family() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=50) as server, \
            connect(server.url) as ws:
        c = Client(ws)                                    # every frame checked: receive.json
        for style in ("brief", "full"):
            listed = (await c.ok({"active_symbols": style}))["active_symbols"]
            assert [s["symbol"] for s in listed] == [s.symbol for s in CATALOGUE]
            assert all(s["pip"] == BY_SYMBOL[s["symbol"]].pip for s in listed)
        first = {spec.submarket: spec.symbol for spec in reversed(CATALOGUE)}
        await c.send({"ticks": sorted(first.values())})
        seen: set[str] = set()
        while seen != set(first.values()):
            msg = await c.next(lambda m: m["msg_type"] == "tick", timeout=5)
            seen.add(msg["tick"]["symbol"])
            spec = BY_SYMBOL[msg["tick"]["symbol"]]
            assert msg["tick"]["pip_size"] == spec.decimals


@async_test
async def test_tick_streams_and_forget() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=100) as server, connect(server.url) as ws:
        c = Client(ws)
        first = await c.ok({"ticks": "R_100", "subscribe": 1})
        sid = first["subscription"]["id"]
        assert first["tick"]["id"] == sid and first["tick"]["pip_size"] == 2
        seen = [first["tick"]]
        for _ in range(3):
            seen.append((await c.next(lambda m: m.get("subscription", {}).get("id") == sid))
                        ["tick"])
        epochs = [t["epoch"] for t in seen]
        assert all(b - a == 2 for a, b in zip(epochs, epochs[1:], strict=False))  # R_*: 2 s
        await c.error({"ticks": "R_100"}, "AlreadySubscribed")
        await c.error({"ticks": "NOPE"}, "InvalidSymbol")
        both = await c.send({"ticks": ["1HZ100V", "R_10"]})
        m1 = await c.next(lambda m: m.get("req_id") == both)
        m2 = await c.next(lambda m: m.get("req_id") == both and m["tick"]["symbol"] !=
                          m1["tick"]["symbol"])
        hz = m1 if m1["tick"]["symbol"] == "1HZ100V" else m2
        nxt = await c.next(lambda m: m.get("subscription") == hz["subscription"]
                           and m["tick"]["epoch"] > hz["tick"]["epoch"])
        assert nxt["tick"]["epoch"] - hz["tick"]["epoch"] == 1     # 1HZ: 1 s
        assert (await c.ok({"forget": sid}))["forget"] == 1
        assert (await c.ok({"forget": sid}))["forget"] == 0
        gone = (await c.ok({"forget_all": "ticks"}))["forget_all"]
        assert len(gone) == 2


@async_test
async def test_ticks_history_and_candles_stream() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=100, seed=3) as server, \
            connect(server.url) as ws:
        c = Client(ws)
        hist = await c.ok({"ticks_history": "R_50", "end": "latest", "count": 100})
        assert hist["msg_type"] == "history" and hist["pip_size"] == 4
        times = hist["history"]["times"]
        assert len(times) == 100 and times == sorted(times)
        assert len(hist["history"]["prices"]) == 100
        sub = await c.ok({"ticks_history": "R_50", "end": "latest", "count": 10,
                          "subscribe": 1})
        tick = await c.next(lambda m: m["msg_type"] == "tick" and m.get("req_id") ==
                            sub["req_id"])
        assert tick["subscription"] == sub["subscription"]
        assert tick["echo_req"]["ticks_history"] == "R_50"
        await c.error({"ticks": "R_50"}, "AlreadySubscribed")
        cand = await c.ok({"ticks_history": "R_50", "end": "latest", "count": 5,
                           "style": "candles", "granularity": 60, "subscribe": 1})
        assert cand["msg_type"] == "candles" and len(cand["candles"]) == 5
        assert all(b["epoch"] % 60 == 0 and b["low"] <= b["open"] <= b["high"]
                   for b in cand["candles"])
        ohlc = await c.next(lambda m: m["msg_type"] == "ohlc")
        o = ohlc["ohlc"]
        assert o["open_time"] == o["epoch"] - o["epoch"] % 60 and o["granularity"] == 60
        assert isinstance(o["close"], str) and len(o["close"].split(".")[1]) == 4
        stopped = (await c.ok({"forget_all": ["candles", "ticks"]}))["forget_all"]
        assert len(stopped) == 2
        await c.error({"ticks_history": "R_50", "end": "100", "start": 200},
                      "InvalidStartEnd")


def test_price_paths_are_deterministic_and_consistent() -> None:
    a = PricePath(BY_SYMBOL["R_100"], seed=7, start_epoch=START)
    b = PricePath(BY_SYMBOL["R_100"], seed=7, start_epoch=START)
    c = PricePath(BY_SYMBOL["R_100"], seed=8, start_epoch=START)
    ka = [a.tick(k).quote for k in range(-50, 50)]
    assert ka == [b.tick(k).quote for k in range(-50, 50)]
    assert ka != [c.tick(k).quote for k in range(-50, 50)]
    assert a.tick(0).quote == BY_SYMBOL["R_100"].start_price
    t = a.tick(5)
    assert t.bid < t.quote < t.ask and t.epoch == START + 10
    fx = PricePath(BY_SYMBOL["frxEURUSD"], seed=1, start_epoch=START)
    present = sum(fx.present(k) for k in range(1, 2001))
    assert 1000 < present < 1400                     # irregular ticks, p = 0.6
    ticks = a.ticks_between(START - 600, START)
    bars = candles(ticks, 60)
    assert sum(1 for _ in bars) in (10, 11)
    assert bars[-1]["close"] == ticks[-1].quote


def test_accelerated_clock() -> None:
    clock = SimClock(speed=100, start_epoch=START)
    assert START <= clock.now() < START + 5
    assert clock.real_delay(100) == 1.0


class _HeldClock(SimClock):
    """A simulated clock that moves only when told (``advance``)."""

    def __init__(self, start_epoch: float) -> None:
        super().__init__(speed=1000.0, start_epoch=start_epoch)
        self.t = start_epoch

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@async_test
async def test_a_late_publisher_never_sends_a_new_subscriber_its_first_tick_again() -> None:
    """Under load the market's publisher can run behind the clock; a subscription's first
    tick (and a subscribed history) ends where the publisher is, so no tick comes twice."""
    import asyncio

    from tickgate.host.simserver.market import Market

    symbol = "1HZ10V"                                       # a tick every second
    clock = _HeldClock(START + 0.5)
    market = Market(clock, 1, {symbol: BY_SYMBOL[symbol]})
    path = market.path(symbol)
    first_seen: list[int] = []
    market.add_listener(symbol, lambda s, t: first_seen.append(t.epoch))
    clock.advance(3.0)                  # three grid points due, the publisher not run yet
    cut = market.published_epoch(symbol)
    assert cut == START and market.last_tick(symbol).epoch == START + 3
    late_first = path.last_tick(cut).epoch                  # what a new subscriber gets
    late_seen: list[int] = []
    market.add_listener(symbol, lambda s, t: late_seen.append(t.epoch))
    await asyncio.sleep(0.01)           # the publisher catches up (the held clock then
    await market.close()                # makes it run ahead too: only order matters here)
    due = [START + 1, START + 2, START + 3]
    assert late_seen[:3] == due and first_seen[:3] == due
    assert late_first == START < late_seen[0] and len(set(late_seen)) == len(late_seen)
