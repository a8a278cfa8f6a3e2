"""The typed tick path (msgspec) against the general one (orjson dicts): same frames, same
results, down to every counter, ring slot and ``on_tick`` call; malformed frames still a
clear error with nothing lost."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickgate.host.venues.deriv import DerivClient, UrlConnector
from tickgate.host.venues.deriv.feed import TickFeed
from tickgate.host.venues.deriv.subscriptions import Subscription
from tickgate.host.venues.deriv.wire import decode_tick

SYMBOLS = ["R_100", "1HZ10V", "frxEURUSD"]
SID = {s: f"c84a793b-8a87-7999-ce10-9b22f7ce{i:04x}" for i, s in enumerate(SYMBOLS)}
REQUEST = {"ticks": SYMBOLS, "subscribe": 1}
NOW = 1_718_000_100


def frame(symbol: str = "R_100", epoch: Any = NOW, quote: Any = 1234.56, *,
          sid: str | None = None, drop: tuple[str, ...] = (), **extra: Any) -> bytes:
    """A Deriv ``tick`` frame (``tick`` fields given in ``extra`` as ``tick_<name>``)."""
    tick = {"ask": 1234.57, "bid": 1234.55, "epoch": epoch, "id": SID.get(symbol, "x"),
            "pip_size": 2, "quote": quote, "symbol": symbol}
    tick.update({k[5:]: v for k, v in extra.items() if k.startswith("tick_")})
    for key in drop:
        tick.pop(key, None)
    msg = {"echo_req": REQUEST, "msg_type": "tick", "req_id": 1,
           "subscription": {"id": sid or SID.get(symbol, "x")}, "tick": tick}
    msg.update({k: v for k, v in extra.items() if not k.startswith("tick_")})
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


class Rig:
    """A client and an inline feed on no connection: frames go straight to ``_on_message``;
    ``typed`` chooses whether the feed listens with the typed fast path."""

    def __init__(self, typed: bool, backfill: bool = False) -> None:
        async def forget(_sub: Subscription) -> None:
            return None

        self.client = DerivClient(UrlConnector("ws://127.0.0.1:9"), keepalive_s=None,
                                  read_limits=False)
        self.sub = Subscription(REQUEST, "ticks", forget)
        self.client.registry.add(self.sub, 1)
        self.feed = TickFeed(self.client, SYMBOLS, capacity=64, stale_after_s=30,
                             clock=lambda: NOW, backfill=backfill, inline=True)
        self.feed.subscription = self.sub
        self.calls: list[tuple[str, int, float]] = []
        self.feed.on_tick.append(lambda s, e, q: self.calls.append((s, e, q)))
        self.general = 0
        ingest = self.feed.ingest

        def counted(msg: dict[str, Any]) -> None:
            self.general += 1
            ingest(msg)

        self.sub.listen(counted, ticks=self.feed.ingest_tick if typed else None)
        self.errors: list[str] = []

    def feed_frames(self, frames: list[bytes]) -> None:
        for data in frames:
            try:                               # as the transport does: log, skip, go on
                self.client._on_message(data)
            except Exception as err:           # noqa: BLE001
                self.errors.append(type(err).__name__)

    def state(self) -> dict[str, Any]:
        """Everything the two paths must agree on (NaN made comparable)."""
        return {**feed_state(self.feed, self.calls), "client": dict(self.client.stats),
                "errors": self.errors, "queued": self.sub.pending}


def clean(xs: Any) -> list[Any]:
    """``xs`` as a list with NaN made comparable."""
    return ["nan" if isinstance(x, float) and math.isnan(x) else x for x in xs]


def feed_state(feed: TickFeed, calls: list[tuple[str, int, float]]) -> dict[str, Any]:
    """Everything a feed decided: rings, counters, held ticks and ``on_tick`` calls."""
    return {
        "rings": {s: [clean(a.tolist()) for a in r.latest()] for s, r in feed.rings.items()},
        "totals": {s: r.total for s, r in feed.rings.items()},
        "accepted": dict(feed.check.accepted), "last_epoch": dict(feed.check.last_epoch),
        "rejected": {s: dict(c) for s, c in feed.check.rejected.items()},
        "stats": dict(feed.stats), "gaps": dict(feed.gaps),
        "held": {s: [clean(r) for r in rows] for s, rows in feed._held.items()},
        "calls": [clean(c) for c in calls],
    }


def run_both(frames: list[bytes], backfill: bool = False) -> tuple[Rig, Rig]:
    """The frames through a typed and a general rig (the first one binds the stream ids)."""
    first = [frame(s, NOW - 10 + i) for i, s in enumerate(SYMBOLS)]

    async def run() -> tuple[Rig, Rig]:
        rigs = Rig(True, backfill), Rig(False, backfill)
        for rig in rigs:
            rig.feed_frames(first + frames)
            for task in list(rig.feed._tasks):
                task.cancel()
        return rigs

    return asyncio.run(run())


EDGE_FRAMES = {
    "good": [frame("R_100", NOW - 5), frame("1HZ10V", NOW - 5, 12.3456789, tick_pip_size=3)],
    "int quote": [frame(quote=1234), frame("1HZ10V", quote=7, tick_bid=6, tick_ask=8)],
    "exponent": [frame(quote=1.23456e3)],
    "bid/ask absent": [frame(drop=("bid", "ask"))],
    "null quote": [frame(quote=None)],
    "string quote": [frame(quote="NaN"), frame(epoch=NOW + 1, quote="1234.5")],
    "non-positive": [frame(quote=-1.0), frame(quote=0), frame(quote=-0.0)],
    "duplicate": [frame(epoch=NOW), frame(epoch=NOW)],
    "out of order": [frame(epoch=NOW), frame(epoch=NOW - 3)],
    "stale": [frame("frxEURUSD", NOW - 1000, 1.08, tick_pip_size=5)],
    "float epoch": [frame(epoch=float(NOW))],
    "bool epoch": [frame(epoch=True)],
    "epoch beyond int64": [frame(epoch=2**63)],
    "epoch beyond orjson ints": [b'{"msg_type":"tick","req_id":1,"subscription":{"id":"'
                                 + SID["R_100"].encode() + b'"},"tick":{"symbol":"R_100",'
                                 b'"epoch":123456789012345678901234567890,"quote":1.5}}'],
    "quote beyond int64": [frame(quote=2**64 - 1)],
    "pip sizes": [frame(epoch=NOW, tick_pip_size=2.0), frame("1HZ10V", NOW, tick_pip_size=True),
                  frame("frxEURUSD", NOW, 1.08, tick_pip_size="5"),
                  frame("R_100", NOW + 1, tick_pip_size=None),
                  frame("1HZ10V", NOW + 1, tick_pip_size=99)],
    "pip size absent": [frame(drop=("pip_size",))],
    "unknown symbol": [frame("XYZ"), frame(sid=SID["R_100"], tick_symbol="XYZ")],
    "symbol not a string": [frame(sid=SID["R_100"], tick_symbol=5)],
    "symbol absent": [frame(drop=("symbol",))],
    "unknown stream id": [frame(sid="0000")],
    "error key": [frame(error=None), frame(error={"code": "X", "message": "y"})],
    "other msg_type": [frame(msg_type="ohlc"), frame(msg_type=None)],
    "no msg_type": [orjson.dumps({**orjson.loads(frame()), "msg_type": "x"}).replace(
        b'"msg_type":"x",', b"")],
    "tick not an object": [frame(tick=[1, 2]), frame(tick=None)],
    "subscription not an object": [frame(subscription="x"), frame(subscription={"id": 5})],
    "req_id types": [frame(epoch=NOW, req_id=1.0), frame(epoch=NOW + 1, req_id="1"),
                     frame(epoch=NOW + 2, req_id=None), frame(epoch=NOW + 3, req_id=2**64)],
    "duplicate keys": [frame().replace(b'"quote":1234.56', b'"quote":1.0,"quote":1234.56'),
                       frame(epoch=NOW + 1).replace(b'"msg_type":"tick"',
                                                    b'"msg_type":"ohlc","msg_type":"tick"'),
                       frame(epoch=NOW + 2).replace(b'"msg_type":"tick"',
                                                    b'"msg_type":"tick","msg_type":"ohlc"')],
    "escaped strings": [frame().replace(b'"R_100"', b'"R\\u005f100"')],
    "non-ASCII, valid": [frame(echo_req={"ticks": "R_100", "passthrough": {"n": "é"}})],
    "invalid UTF-8 in a skipped string": [frame().replace(b'"subscribe":1', b'"s\xff":1')],
    "invalid UTF-8 in the symbol": [frame().replace(b'"R_100"', b'"R_\xff"')],
    "lone surrogate": [frame().replace(b'"R_100"', b'"R_\\ud800"')],
    "not JSON": [b"{", b"", b"nope", frame()[:-1], frame() + b"x", b"\xef\xbb\xbf" + frame()],
    "not an object": [b"[]", b"1", b'"tick"', b"null"],
    "number out of range": [frame().replace(b"1234.56", b"1e400")],
    "deep nesting": [frame().replace(b'"subscribe":1', b'"subscribe":' + b"[" * 1100
                                     + b"]" * 1100)],
    "gap": [frame(epoch=NOW - 5), frame(epoch=NOW + 20), frame(epoch=NOW + 21)],
    "huge frame of ticks": [frame(s, NOW - 8 + i // 3) for i, s in
                            enumerate(SYMBOLS * 5)],
}


@pytest.mark.parametrize("case", list(EDGE_FRAMES))
def test_typed_and_general_paths_agree_on_edge_frames(case: str) -> None:
    typed, general = run_both(EDGE_FRAMES[case], backfill=(case == "gap"))
    assert typed.state() == general.state()


def test_well_formed_ticks_take_the_typed_path() -> None:
    frames = [frame(s, NOW - 5 + i // 3, 100.0 + i) for i, s in enumerate(SYMBOLS * 3)]
    typed, general = run_both(frames)
    assert typed.state() == general.state()
    assert len(typed.calls) == len(SYMBOLS) + len(frames)
    assert typed.general == len(SYMBOLS)        # the first tick of each stream binds its id
    assert general.general == len(SYMBOLS) + len(frames)


def test_malformed_frames_are_counted_and_logged_and_nothing_after_them_is_lost(
        caplog: pytest.LogCaptureFixture) -> None:
    frames = [frame(epoch=NOW - 3), b"{not json", frame(epoch=NOW - 2), b"[1]",
              frame(epoch=NOW - 1)]
    with caplog.at_level(logging.WARNING, logger="tickgate.host.venues.deriv.client"):
        typed, general = run_both(frames)
    assert typed.state() == general.state()
    assert typed.client.stats["malformed"] == 2
    assert [c[1] for c in typed.calls if c[0] == "R_100"] == [NOW - 10, NOW - 3, NOW - 2,
                                                               NOW - 1]
    assert sum("malformed frame skipped" in r.getMessage() for r in caplog.records) == 4


def test_a_reply_to_a_waiting_request_is_not_taken_by_the_typed_path() -> None:
    async def run() -> None:
        rig = Rig(True)
        rig.feed_frames([frame(s, NOW - 10 + i) for i, s in enumerate(SYMBOLS)]
                        + [frame(epoch=NOW - 5)])
        future = asyncio.get_running_loop().create_future()
        from tickgate.host.venues.deriv.client import _Pending
        rig.client._pending[7] = _Pending(future, "ticks")
        rig.feed_frames([frame(epoch=NOW - 4, req_id=7)])
        assert future.done() and future.result()["tick"]["epoch"] == NOW - 4
        assert rig.calls[-1] == ("R_100", NOW - 4, 1234.56)

    asyncio.run(run())


def test_frames_the_typed_decoder_cannot_vouch_for_go_the_general_way() -> None:
    refused = [frame(msg_type="ohlc"), frame(error=None), frame(tick=None),
               frame(subscription=None), frame(epoch=2**63), frame(quote=True),
               frame().replace(b'"subscribe":1', b'"s\xff":1'),
               frame(echo_req={"passthrough": "é"}), b"{", b"[]"]
    typed, general = run_both([frame(epoch=NOW - 5)] + refused)
    assert typed.state() == general.state()
    # all but four reach the feed as dicts: three frames are malformed (two not JSON objects,
    # one not UTF-8) and one names no stream (unsolicited)
    assert typed.general == len(SYMBOLS) + len(refused) - 4
    assert typed.client.stats["malformed"] == 3 and typed.client.stats["unsolicited"] == 1


_value = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.floats(0.001, 1e6), st.text(max_size=3), st.just([1]), st.just({}))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"symbol": st.sampled_from([*SYMBOLS, "XYZ"]),
     "epoch": st.one_of(st.integers(NOW - 60, NOW + 60), _value),
     "quote": st.one_of(st.floats(0.001, 1e6), _value), "bid": _value, "ask": _value,
     "pip_size": st.one_of(st.integers(0, 14), _value)},
    optional={"error": _value, "req_id": _value}), max_size=12))
def test_typed_and_general_paths_agree_on_random_ticks(ticks: list[dict[str, Any]]) -> None:
    frames = []
    for t in ticks:
        extra = {k: t.pop(k) for k in ("error", "req_id") if k in t}
        frames.append(frame(t["symbol"], t["epoch"], t["quote"], sid=SID.get(t["symbol"]),
                            **{f"tick_{k}": v for k, v in t.items()}, **extra))
    typed, general = run_both(frames, backfill=True)
    assert typed.state() == general.state()


# -- the feed's common case (``ingest_tick``) against its general way ---------------------
_price = st.one_of(st.floats(0.001, 1e6), st.integers(-10, 10**7), st.floats(), _value)
_pip = st.one_of(st.integers(-2, 14), st.floats(-1, 14), st.floats(), _value)


def _two_feeds(ticks: list[tuple[Any, ...]], resync: bool, backfill: bool) -> tuple[
        dict[str, Any], dict[str, Any]]:
    """The ticks through ``ingest_tick`` in one feed, ``_ingest_tick_general`` in another."""
    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        states = []
        for general in (False, True):
            feed = TickFeed(DerivClient.__new__(DerivClient), SYMBOLS, capacity=8,
                            stale_after_s=30, clock=lambda: NOW, backfill=backfill)
            calls: list[tuple[str, int, float]] = []
            feed.on_tick.append(lambda s, e, q, calls=calls: calls.append((s, e, q)))
            if resync:
                feed._on_session(2)
            errors = []
            for tick in ticks:
                try:
                    if general:
                        feed._ingest_tick_general(*tick, feed.now())
                    else:
                        feed.ingest_tick(*tick)
                except Exception as err:       # noqa: BLE001
                    errors.append(type(err).__name__)
            for task in list(feed._tasks):
                task.cancel()
            states.append({**feed_state(feed, calls), "errors": errors})
        return states[0], states[1]

    return asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([*SYMBOLS, "XYZ", None]),
                          st.one_of(st.integers(NOW - 40, NOW + 10), _value),
                          _price, _price, _price, _pip), max_size=16),
       st.booleans(), st.booleans())
def test_the_common_case_and_the_general_ingest_agree_on_random_ticks(
        ticks: list[tuple[Any, ...]], resync: bool, backfill: bool) -> None:
    fast, general = _two_feeds(ticks, resync, backfill)
    assert fast == general


def test_the_common_case_and_the_general_ingest_agree_at_each_boundary() -> None:
    e = NOW - 20
    ticks = [
        ("R_100", e, 1234.56, 1234.55, 1234.57, 2), ("R_100", e + 2, 1234.565, 1.0, 1.0, 2),
        ("R_100", e + 3, 1234, True, 7, 2.0), ("R_100", e + 4, 5.0, 5.0, 5.0, True),
        ("R_100", e + 7, 2.0**51 / 100, 1.0, 1.0, 2), ("R_100", e + 8, 2.0**51 / 100 - 1, 1.0,
                                                         1.0, 2),
        ("R_100", e + 9, 1.0, 2**60, 1.0, 2), ("R_100", e + 10, 1.0, 1.0, 2**1100, 2),
        ("R_100", e + 11, 0.004, 1.0, 1.0, 2), ("R_100", e + 12, 0.005, 1.0, 1.0, 2),
        ("R_100", e + 13, -0.0, 1.0, 1.0, 2), ("R_100", e + 14, 1.0, None, 1.0, 2),
        ("R_100", e + 15, 1.0, 1.0, 1.0, None), ("R_100", e + 16, 1.0, 1.0, 1.0, [2]),
        ("R_100", e + 17, 1.0, 1.0, 1.0, 13), ("R_100", e + 18, 1.0, 1.0, 1.0, 12),
        ("1HZ10V", NOW - 31, 1.0, 1.0, 1.0, 2), ("1HZ10V", NOW - 30, 1.0, 1.0, 1.0, 2),
        ("1HZ10V", NOW - 29, 1.0, 1.0, 1.0, 2), ("1HZ10V", NOW - 27, 1.0, 1.0, 1.0, 2),
        ("frxEURUSD", NOW - 5, 1.08, 1.07, 1.09, 5), ("frxEURUSD", NOW + 100, 1.08, 1.07,
                                                       1.09, 5),
        ("frxEURUSD", NOW + 100, 1.08, 1.07, 1.09, 5), ("frxEURUSD", NOW + 99, 1.08, 1.07,
                                                         1.09, 5),
        ("frxEURUSD", 2**63, 1.08, 1.07, 1.09, 5), ("XYZ", NOW, 1.0, 1.0, 1.0, 2),
    ]
    for resync in (False, True):
        for backfill in (False, True):
            fast, general = _two_feeds(ticks, resync, backfill)
            assert fast == general
            assert fast["accepted"]                 # not all refused: both ways exercised


def test_well_formed_ticks_never_reach_the_general_ingest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    feed = TickFeed(DerivClient.__new__(DerivClient), SYMBOLS, capacity=8, stale_after_s=90,
                    clock=lambda: NOW)
    general: list[Any] = []
    monkeypatch.setattr(feed, "_ingest_tick_general", lambda *a: general.append(a))
    for i in range(30):                             # R_100 every 2 s, 1HZ10V every 1 s
        feed.ingest_tick("R_100", NOW - 60 + 2 * i, 1000.0 + i / 100, 999.99, 1000.01, 2)
        feed.ingest_tick("1HZ10V", NOW - 29 + i, 7 + i, 6.5, 7.5, 3)
    assert general == [] and feed.check.accepted == {"R_100": 30, "1HZ10V": 30}
    feed.ingest_tick("R_100", NOW + 2, 1.0, 1.0, 1.0, 2)  # 4 s after the last: a gap
    assert len(general) == 1


@pytest.mark.parametrize("case", sorted(EDGE_FRAMES))
def test_a_rehearsed_tick_changes_nothing_of_the_feed_and_reaches_only_its_hook(
        case: str) -> None:
    # the daemon's rehearsal (TickFeed.rehearse_tick) with every edge case's values, then
    # a plain good tick: the feed's rings, counters, held ticks and on_tick calls as before
    async def run() -> tuple[dict[str, Any], dict[str, Any], list[Any], list[bool]]:
        rig = Rig(True)
        rig.feed_frames([frame(s, NOW - 10 + i) for i, s in enumerate(SYMBOLS)])
        before = rig.state()
        heard: list[Any] = []
        ran = []
        for data in EDGE_FRAMES[case] + [frame("R_100", NOW - 3)]:
            if not data.isascii():             # as the client: not for the typed decoder
                continue
            try:
                tick = decode_tick(data).tick
            except (msgspec.MsgspecError, RecursionError):
                continue
            ran.append(rig.feed.rehearse_tick(tick.symbol, tick.epoch, tick.quote, tick.bid,
                                              tick.ask, tick.pip_size,
                                              lambda *a: heard.append(a)))
        after = rig.state()
        for task in list(rig.feed._tasks):
            task.cancel()
        return before, after, heard, ran

    before, after, heard, ran = asyncio.run(run())
    assert after == before
    assert heard[-1] == ("R_100", NOW - 3, 1234.56) and ran[-1]
    assert len(heard) == sum(ran)
    assert "_ingest_tick_general" not in vars(Rig(True).feed)     # the general way is back
