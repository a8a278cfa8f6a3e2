"""A hundred symbols on one feed: one ``ticks`` request, ticks for every symbol, and every
subscription replayed after a forced reconnect (the simulator drops the connection)."""

from __future__ import annotations

import pytest
from deriv_helpers import TOKENS, SendLog, async_test, make_client, wait_for

from tickgate.host.simserver import SimServer
from tickgate.host.simserver.symbols import CATALOGUE
from tickgate.host.venues.deriv import Backoff
from tickgate.host.venues.deriv.feed import TickFeed

SYMBOLS = [s.symbol for s in CATALOGUE][:100]


@pytest.mark.parametrize("inline", [False, True], ids=["queue", "inline-typed"])
def test_a_hundred_symbols_tick_and_all_survive_a_reconnect(inline: bool) -> None:
    _hundred(inline)


@async_test
async def _hundred(inline: bool) -> None:
    assert len(set(SYMBOLS)) == 100
    async with SimServer(port=0, tokens=TOKENS, speed=20) as server:
        client = make_client(server.url, backoff=Backoff(base=5.0))   # retry 0 is at once
        async with client:
            feed = TickFeed(client, SYMBOLS, capacity=512, inline=inline)
            await feed.start()
            sub = feed.subscription
            assert sub is not None
            await wait_for(lambda: all(feed.rings[s].total >= 2 for s in SYMBOLS), 15)
            assert sorted(sub.ids.values()) == sorted(SYMBOLS)      # one stream per symbol
            before = {s: feed.rings[s].total for s in SYMBOLS}
            old_ids = set(sub.ids)
            assert server.drop_connections() == 1
            await wait_for(lambda: client.stats["reconnects"] == 1, 5)
            await wait_for(lambda: all(feed.rings[s].total >= before[s] + 3 for s in SYMBOLS),
                           15)
            assert sorted(sub.ids.values()) == sorted(SYMBOLS)      # none lost
            assert not set(sub.ids) & old_ids                       # all of them new
            assert all(client.current_id(i) in sub.ids for i in old_ids)
            await feed.stop()
        log: SendLog = client.send_log
        requests = log.calls("ticks")
        assert len(requests) == 2 and all(r["ticks"] == SYMBOLS for r in requests)
        counts = feed.check.counts()
        assert counts["nan"] == counts["non_positive"] == counts["out_of_order"] == 0
        assert counts["stale"] == 0
