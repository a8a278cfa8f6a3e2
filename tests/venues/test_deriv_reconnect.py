"""Reconnects: the backoff schedule, replay of live streams with id mapping, maintenance."""

from __future__ import annotations

import asyncio
import time

import pytest
from deriv_helpers import CALL, TOKENS, FlakyConnector, SendLog, async_test, make_client, wait_for

from tickgate.host.simserver import SimServer
from tickgate.host.venues.deriv import AuthError, Backoff, DerivClient


def test_backoff_schedule() -> None:
    nominal = Backoff(rng=lambda: 0.0).schedule(12)
    assert nominal[:6] == [0.0, 2.0, 3.0, 4.5, 6.75, 10.125]
    assert nominal[-3:] == [30.0, 30.0, 30.0]                # capped
    low = Backoff(jitter=0.2, rng=lambda: 0.999999).schedule(12)
    assert low[0] == 0.0
    for lo, hi in zip(low[1:], nominal[1:], strict=True):
        assert 0.8 * hi <= lo < hi                           # jitter shortens, never lengthens
    rng = iter([0.5] * 12)
    mixed = Backoff(rng=lambda: next(rng)).schedule(12)
    assert mixed[1] == pytest.approx(2.0 * 0.9) and max(mixed) <= 30.0


@async_test
async def test_reconnect_first_retry_immediate_then_backoff() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        connector = FlakyConnector(server.url)
        backoff = Backoff(base=0.2, factor=1.5, cap=1.0, rng=lambda: 0.0)
        client = DerivClient(connector, keepalive_s=None, backoff=backoff)
        async with client:
            connector.fail = 3                     # the next three connects fail
            connector.calls.clear()
            t0 = time.monotonic()
            server.drop_connections()
            await wait_for(lambda: client.stats["reconnects"] == 1, 5)
            gaps = [b - a for a, b in zip([t0, *connector.calls], connector.calls,
                                          strict=False)]
            assert len(connector.calls) == 4 and client.stats["connect_failures"] == 3
            assert gaps[0] < 0.1                                       # immediate
            for gap, want in zip(gaps[1:], [0.2, 0.3, 0.45], strict=True):
                assert want - 0.01 <= gap < want + 0.15
            assert (await client.request({"ping": 1}))["ping"] == "pong"


@async_test
async def test_replay_maps_ids_and_the_streams_continue() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=10) as server:
        client = make_client(server.url, backoff=Backoff(base=5.0))    # only retry 0 is fast
        async with client:
            ticks = await client.subscribe({"ticks": ["R_10", "1HZ10V"]})
            balance = await client.subscribe({"balance": 1})
            trans = await client.subscribe({"transaction": 1})
            poc_all = await client.subscribe({"proposal_open_contract": 1})
            bought = await client.subscribe({"buy": "1", "price": 100, "parameters": CALL})
            contract_id = (await anext(bought))["buy"]["contract_id"]
            for _ in range(4):
                await anext(ticks)
            old = {name: dict(sub.ids) for name, sub in
                   [("ticks", ticks), ("balance", balance), ("trans", trans),
                    ("poc_all", poc_all), ("bought", bought)]}
            t0 = time.monotonic()
            server.drop_connections()
            await wait_for(lambda: client.stats["reconnects"] == 1, 3)
            assert time.monotonic() - t0 < 1.0                 # first retry: at once
            # every stream has a new id per old id (same key), and the old ids map to them
            for name, sub in [("ticks", ticks), ("balance", balance), ("trans", trans),
                              ("poc_all", poc_all), ("bought", bought)]:
                assert sorted(sub.ids.values(), key=str) == sorted(old[name].values(), key=str)
                for old_id, key in old[name].items():
                    new_id = client.current_id(old_id)
                    assert new_id is not None and new_id != old_id, (name, key)
                    assert sub.ids[new_id] == key
            symbols = set()
            while symbols != {"R_10", "1HZ10V"}:          # the consumer's stream goes on
                msg = await asyncio.wait_for(anext(ticks), 3)
                if msg["subscription"]["id"] in ticks.ids:
                    symbols.add(msg["tick"]["symbol"])
            # a sale shows up on the replayed balance and transaction streams
            await client.request({"sell": contract_id, "price": 0})
            actions = []
            while not actions or actions[-1] != "sell":       # the buy came before the drop
                msg = await asyncio.wait_for(anext(trans), 3)
                actions.append(msg["transaction"]["action"])
            assert actions == ["buy", "sell"] and msg["subscription"]["id"] in trans.ids
            msg = await asyncio.wait_for(anext(balance), 3)
            while msg["subscription"]["id"] not in balance.ids:
                msg = await asyncio.wait_for(anext(balance), 3)
            while True:
                poc = await asyncio.wait_for(anext(bought), 3)
                if poc["proposal_open_contract"].get("is_sold"):
                    break
            with pytest.raises(StopAsyncIteration):            # a sold contract's stream ends
                await asyncio.wait_for(anext(bought), 3)
        log: SendLog = client.send_log
        assert len(log.calls("buy")) == 1                       # the buy was never replayed
        assert len(log.calls("authorize")) == 2                 # re-authorised
        replayed_poc = [r for r in log.calls("proposal_open_contract")
                        if r.get("contract_id") == contract_id]
        assert len(replayed_poc) == 1                           # its stream: as a POC
        assert len(log.calls("ticks")) == 2 and len(log.calls("transaction")) == 2


@async_test
async def test_maintenance_then_drop_reconnects() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=10) as server:
        client = make_client(server.url)
        async with client:
            ticks = await client.subscribe({"ticks": "R_10"})
            task = asyncio.ensure_future(server.announce_maintenance(0.3))
            await wait_for(lambda: client.site_status == "updating", 2)
            assert await task == 1
            await wait_for(lambda: client.stats["reconnects"] == 1, 3)
            assert client.stats["reconnects"] == 1 and client.site_status == "up"
            msg = await asyncio.wait_for(anext(ticks), 3)
            assert msg["tick"]["symbol"] == "R_10"


@async_test
async def test_a_refused_reauthorisation_ends_the_client() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        client = make_client(server.url)
        async with client:
            sub = await client.subscribe({"ticks": "R_10"})
            server.tokens = type(server.tokens)()          # every token revoked
            server.drop_connections()
            with pytest.raises(AuthError):
                async for _ in sub:
                    pass
            with pytest.raises(AuthError):
                await client.request({"ping": 1})
