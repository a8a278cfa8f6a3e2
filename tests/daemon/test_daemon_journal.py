"""The order journal: WAL, append-only, written before the request leaves; reconciliation
resolves every intent and adopts unknown contracts without sending anything."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import FAST, check_agreement, sim_books

from tickgate.gateware.records import Side
from tickgate.host.daemon.config import validate
from tickgate.host.daemon.execution import Executor, OrderIntent
from tickgate.host.daemon.journal import Journal, JournalState
from tickgate.host.daemon.reconcile import reconcile
from tickgate.host.daemon.simthread import SimThread
from tickgate.host.daemon.status import Stats
from tickgate.host.venues.deriv import DerivClient, UrlConnector

TOKEN = "journal-test-token-0001"
STAKE = FAST["execution"]["stake_per_lot"]


def _kinds(path: Path, client_id: str) -> list[str]:
    """The events of one order as another process would read them from disk now."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [k for (k,) in db.execute(
            "SELECT kind FROM events WHERE client_id = ? ORDER BY id", (client_id,))]
    finally:
        db.close()


def test_wal_and_append_only(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert journal.journal_mode == "wal"
    assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2      # FULL
    assert Journal(tmp_path / "n.sqlite", sync="normal").db.execute(
        "PRAGMA synchronous").fetchone()[0] == 1                                # NORMAL
    journal.append("session", loginid="VRTC1", venue="sim", venue_time=100)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        journal.db.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        journal.db.execute("DELETE FROM events")
    assert journal.state().loginid == "VRTC1"
    a, b = journal.new_client_id(), journal.new_client_id()
    assert a != b and a.startswith("tg")
    journal.close()


async def _with_client(sim: SimThread, fn: Any, on_send: list[Any] | None = None) -> Any:
    async with DerivClient(UrlConnector(sim.url, TOKEN), keepalive_s=None,
                           on_send=on_send or []) as client:
        return await fn(client)


def _sync(pool: ThreadPoolExecutor) -> Any:
    """A ``run_sync`` (as the daemon's): ``fn(*args, **kw)`` in the journal's thread."""
    return lambda fn, *a, **kw: asyncio.get_running_loop().run_in_executor(
        pool, functools.partial(fn, *a, **kw))


@pytest.mark.parametrize("mode,sync", [("direct", "full"), ("proposal", "full"),
                                       ("direct", "normal")])
def test_every_order_is_journaled_before_it_leaves(tmp_path: Path, mode: str,
                                                   sync: str) -> None:
    path = tmp_path / "j.sqlite"
    seen: list[tuple[str, list[str]]] = []

    def hook(msg: dict[str, Any]) -> None:
        if "buy" in msg:
            seen.append(("buy", _kinds(path, msg["passthrough"]["client_id"])))
        elif "sell" in msg:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            (cid,) = db.execute("SELECT client_id FROM events WHERE kind = 'intent' "
                                "ORDER BY id DESC LIMIT 1").fetchone()
            db.close()
            seen.append(("sell", _kinds(path, cid)))

    async def trade(client: DerivClient) -> Stats:
        pool = ThreadPoolExecutor(1)
        journal = Journal(path, stake_per_lot=STAKE, sync=sync)
        stats = Stats()
        state = JournalState()

        async def nothing(symbol: str) -> None:
            return None

        config = validate({**FAST, "execution": {**FAST["execution"], "order_mode": mode}})
        ex = Executor(client, journal, state, config, stats, run_sync=_sync(pool),
                      on_change=nothing)
        epoch = int((await client.request({"time": 1}))["time"])
        assert ex.submit(OrderIntent("R_10", Side.BUY, 1, epoch, 7, 0.0))
        assert not ex.submit(OrderIntent("R_10", Side.BUY, 1, epoch, 8, 0.0))  # busy: dropped
        await ex.drain(10)
        assert state.position("R_10") == 1
        assert ex.submit(OrderIntent("R_10", Side.SELL, 1, epoch, 9, 0.0))     # closes it
        await ex.drain(10)
        assert state.position("R_10") == 0 and not state.unresolved()
        journal.close()
        pool.shutdown()
        return stats

    with SimThread(seed=4, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        stats = asyncio.run(_with_client(sim, trade, [hook]))
        books = sim_books(sim, TOKEN)
    opened = ["intent", "proposal", "send"] if mode == "proposal" else ["intent", "send"]
    assert seen == [("buy", opened), ("sell", ["intent", "send"])]
    assert stats.orders == 2 and stats.fills == 2 and stats.dropped == 1
    assert len(books["buys"]) == 1 and not books["open"]
    check_agreement(path, books)


def test_reconciliation_resolves_adopts_and_never_resends(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, stake_per_lot=STAKE)

    def params(symbol: str, kind: str, stake: float) -> dict[str, Any]:
        return {"amount": stake, "basis": "stake", "contract_type": kind, "currency": "USD",
                "symbol": symbol, "multiplier": 40}

    def intent(symbol: str, kind: str, state: str, **extra: Any) -> str:
        cid = journal.new_client_id()
        journal.append("intent", cid, extra.pop("contract_id", None), action="open",
                       symbol=symbol, side=Side.BUY if kind == "MULTUP" else Side.SELL,
                       lots=1, contract_type=kind, stake=STAKE, venue_epoch=epoch, order_id=0,
                       **extra)
        if state in ("sent", "replied"):
            journal.append("send", cid, call="buy")
        return cid

    async def setup(client: DerivClient) -> dict[str, int]:
        nonlocal epoch
        epoch = int((await client.request({"time": 1}))["time"])
        journal.append("session", loginid="VRTC9000001", venue="sim", venue_time=epoch)

        async def buy(symbol: str, kind: str, stake: float) -> int:
            reply = await client.request({"buy": "1", "price": stake,
                                          "parameters": params(symbol, kind, stake)})
            return int(reply["buy"]["contract_id"])

        lost_reply = intent("R_10", "MULTUP", "sent")
        got = await buy("R_10", "MULTUP", STAKE)            # the buy left; its reply was lost
        never_left = intent("R_25", "MULTUP", "sent")      # send written, crash before the buy
        pending = intent("1HZ10V", "MULTUP", "pending")     # crash right after the intent
        known = intent("1HZ25V", "MULTDOWN", "sent")
        known_id = await buy("1HZ25V", "MULTDOWN", STAKE)
        journal.append("reply", known, known_id, call="buy", buy_price=STAKE)
        await client.request({"sell": known_id, "price": 0})   # closed while we were away
        stranger = await buy("R_50", "MULTDOWN", 2 * STAKE)     # bought by someone else
        return {"lost_reply": got, "stranger": stranger, "known": known_id,
                "ids": {"lost": lost_reply, "never": never_left, "pending": pending}}

    async def go(client: DerivClient) -> Any:
        pool = ThreadPoolExecutor(1)
        report = await reconcile(client, journal, run_sync=_sync(pool), stake_per_lot=STAKE)
        again = await reconcile(client, journal, run_sync=_sync(pool), stake_per_lot=STAKE)
        pool.shutdown()
        return report, again

    epoch = 0
    with SimThread(seed=5, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        made = asyncio.run(_with_client(sim, setup))
        buys_before = sim_books(sim, TOKEN)["buys"]
        report, again = asyncio.run(_with_client(sim, go))
        books = sim_books(sim, TOKEN)
    assert books["buys"] == buys_before                       # nothing was (re-)sent
    assert report.resolved == {"filled": 1, "not_executed": 1, "not_sent": 1}
    assert report.adopted == [made["stranger"]] and report.closed == [made["known"]]
    assert not report.disagreements
    assert again.resolved == {} and again.adopted == [] and again.closed == []
    state = journal.state()
    ids = made["ids"]
    assert state.intents[ids["lost"]].state == "filled"
    assert state.intents[ids["lost"]].contract_id == made["lost_reply"]
    assert state.intents[ids["never"]].state == "not_executed"
    assert state.intents[ids["pending"]].state == "not_sent"
    assert state.contracts[made["stranger"]].client_id is None
    assert state.contracts[made["stranger"]].lots == -2
    assert state.position("R_50") == -2 and state.position("R_10") == 1
    journal.close()
    check_agreement(path, books)


_CLOSE_RACE = """
import sys, threading
from tickgate.host.daemon.journal import Journal
for i in range(100):
    journal = Journal(f"{sys.argv[1]}/j{i}.sqlite", sync="normal", autocheckpoint=False)
    journal.append("session", loginid="VRTC1")
    stop = threading.Event()
    def checkpoints():
        while not stop.is_set():
            journal.checkpoint()
    worker = threading.Thread(target=checkpoints)
    worker.start()
    journal.close()
    stop.set()
    worker.join()
    journal.checkpoint()
print("ok")
"""


def test_closing_while_another_thread_checkpoints_waits_for_it_and_never_crashes(
        tmp_path: Path) -> None:
    # The daemon's status task checkpoints in the journal thread; at exit the journal was
    # closed on the loop while a checkpoint could still run: SIGSEGV. In a child process,
    # so that a crash fails this test rather than the session.
    done = subprocess.run([sys.executable, "-c", _CLOSE_RACE, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
