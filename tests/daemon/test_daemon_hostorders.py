"""Host strategies' orders: through the card's risk gate (``submit_orders``), refused ones
counted by reason and never sent, accepted ones executed like intents; the example
strategy; the daemon trading with it enabled."""

from __future__ import annotations

import asyncio
import functools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from daemon_helpers import FAST, run_cli, write_config

from tickgate.gateware.records import Reject, Side
from tickgate.host.daemon.boardloop import Batch, BoardRunner
from tickgate.host.daemon.config import validate
from tickgate.host.daemon.execution import Executor
from tickgate.host.daemon.hostorders import HostOrderPath
from tickgate.host.daemon.hoststrategy import HostOrder, Reversal, make_strategy
from tickgate.host.daemon.journal import Journal, JournalState
from tickgate.host.daemon.simthread import SimThread
from tickgate.host.daemon.status import Stats
from tickgate.host.venues.deriv import DerivClient, UrlConnector

TOKEN = "hostorders-test-token-0001"
SYMBOLS = ["R_10", "R_25"]


def test_reversal_orders_against_the_last_move_every_n_ticks() -> None:
    strat = Reversal(every=3, qty=2)
    got = [strat.on_tick(0, 100 + i, p) for i, p in enumerate([500, 510, 505, 507, 509, 504])]
    assert got[:2] == [[], []]
    assert got[2] == [HostOrder(0, Side.BUY, 2, 505)]       # third tick, down: buy
    assert got[3:5] == [[], []]
    assert got[5] == [HostOrder(0, Side.BUY, 2, 504)]
    assert make_strategy(validate({})["host_strategy"]) is None          # off by default


def test_an_order_over_a_limit_is_refused_with_its_reason_and_never_sent(
        tmp_path: Path) -> None:
    config = validate({**FAST, "daemon": {"symbols": SYMBOLS},
                       "decision": {"enable": False}, "risk": {**FAST["risk"], "max_qty": 2}})
    sent: list[dict[str, Any]] = []

    async def main(client: DerivClient) -> tuple[Stats, Any, JournalState]:
        board = BoardRunner(config)
        await board.open(equity_cents=10**7, positions={})
        pool = ThreadPoolExecutor(1)
        journal = Journal(tmp_path / "j.sqlite", stake_per_lot=5.0)
        state, stats = JournalState(), Stats()

        async def nothing(symbol: str) -> None:
            return None

        def run_sync(fn: Any, *a: Any, **kw: Any) -> Any:
            return asyncio.get_running_loop().run_in_executor(
                pool, functools.partial(fn, *a, **kw))

        ex = Executor(client, journal, state, config, stats, run_sync=run_sync,
                      on_change=nothing)
        epoch = int((await client.request({"time": 1}))["time"])
        await board.process(Batch([0, 1], [632145, 456789], [epoch, epoch], [0.0, 0.0]))
        path = HostOrderPath(board, stats, SYMBOLS, ex.submit)
        verdicts = await path.send([(HostOrder(0, Side.BUY, 3, 632145), epoch, 0.0),
                                    (HostOrder(1, Side.SELL, 1, 456789), epoch, 0.0)])
        await ex.drain(10)
        await board.close()
        journal.close()
        pool.shutdown()
        return stats, verdicts, state

    async def with_client() -> tuple[Stats, Any, JournalState]:
        async with DerivClient(UrlConnector(sim.url, TOKEN), keepalive_s=None,
                               on_send=[sent.append]) as client:
            return await main(client)

    with SimThread(seed=3, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        stats, verdicts, state = asyncio.run(with_client())
    assert int(verdicts[0]["reject"]) == Reject.MAX_QTY                 # 3 lots > max_qty 2
    assert int(verdicts[1]["reject"]) == 0
    assert stats.host_orders == 2 and stats.host_accepted == 1
    assert stats.host_rejected_orders == 1 and stats.host_rejected["MAX_QTY"] == 1
    assert stats.summary()["host_orders"]["rejected"]["MAX_QTY"] == 1
    buys = [m for m in sent if "buy" in m]
    assert len(buys) == 1                                  # the refused order never left
    assert buys[0]["parameters"]["symbol"] == "R_25"
    assert buys[0]["parameters"]["contract_type"] == "MULTDOWN"
    assert state.position("R_25") == -1 and state.position("R_10") == 0


def test_the_daemon_trades_a_host_strategy_and_counts_its_verdicts(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", FAST, {
        "decision": {"enable": False},
        "host_strategy": {"enable": True, "every": 3, "qty": 1}})
    summary = tmp_path / "s.json"
    done = run_cli(["run", "--config", str(cfg), "--duration", "4", "--speed", "100",
                    "--summary-json", str(summary), "--state-dir", str(tmp_path / "st")],
                   timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(summary.read_text())
    host = data["host_orders"]
    assert host["sent"] > 0 and host["accepted"] > 0
    assert host["sent"] == host["accepted"] + host["rejected_orders"]
    assert data["intents"] == 0 and data["orders"] > 0 and data["fills"] > 0
    assert "host orders" in done.stdout
