"""The synchronous order path: an accepted intent is journaled and its request written inside
``Executor.submit`` (nothing awaited before the bytes leave); the kill switch, a rejected
verdict and a busy rate limiter keep it from sending; the one-tick board call gives the
records of the batch path; the journal's checkpoints leave the commits; the write-ahead
file holds an order before it leaves and is merged by the next open after a crash."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from daemon_helpers import FAST, check_agreement, sim_books

from tickgate.gateware.records import OUTPUT_DTYPE, OutputKind, Reject, Side
from tickgate.host.daemon.boardloop import Batch, BoardRunner
from tickgate.host.daemon.config import validate
from tickgate.host.daemon.daemon import Daemon
from tickgate.host.daemon.execution import Executor, OrderIntent
from tickgate.host.daemon.journal import AHEAD_SUFFIX, Journal, JournalState
from tickgate.host.daemon.simthread import SimThread
from tickgate.host.daemon.status import Stats
from tickgate.host.venues.deriv import DerivClient, UrlConnector
from tickgate.host.venues.deriv.ratelimit import Window

TOKEN = "hotpath-test-token-0001"
STAKE = FAST["execution"]["stake_per_lot"]


def _kinds(path: Path) -> list[tuple[str, str]]:
    """``(kind, client_id)`` of every event, as another process reads the file now."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.execute("SELECT kind, client_id FROM events ORDER BY id"))
    finally:
        db.close()


async def _nothing(symbol: str) -> None:
    return None


async def _no_thread(fn: Any, *a: Any, **kw: Any) -> Any:
    return fn(*a, **kw)


def _executor(client: DerivClient, path: Path, **config: Any) -> Executor:
    cfg = validate({**FAST, "execution": {**FAST["execution"], **config}})
    journal = Journal(path, stake_per_lot=STAKE, sync="normal", autocheckpoint=False)
    return Executor(client, journal, JournalState(), cfg, Stats(), run_sync=_no_thread,
                    on_change=_nothing, inline=True)


def _trade(tmp_path: Path, body: Any, on_send: list[Any]) -> Any:
    async def main() -> Any:
        async with DerivClient(UrlConnector(sim.url, TOKEN), keepalive_s=None,
                               on_send=on_send) as client:
            return await body(client)

    with SimThread(seed=6, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        result = asyncio.run(main())
        books = sim_books(sim, TOKEN)
    return result, books


def test_submit_journals_intent_and_send_then_writes_the_buy_before_returning(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def hook(msg: dict[str, Any]) -> None:
        call = "buy" if "buy" in msg else "sell" if "sell" in msg else None
        if call is not None:
            seen.append((call, _kinds(path)))

    async def body(client: DerivClient) -> Executor:
        ex = _executor(client, path)
        epoch = int((await client.request({"time": 1}))["time"])
        assert ex.submit(OrderIntent("R_10", Side.BUY, 1, epoch, 7, 0.0))
        assert len(seen) == 1                   # written before submit returned
        await ex.drain(10)
        assert ex.submit(OrderIntent("R_10", Side.SELL, 1, epoch, 8, 0.0))     # closes it
        assert len(seen) == 2
        await ex.drain(10)
        ex.journal.close()
        return ex

    ex, books = _trade(tmp_path, body, [hook])
    (buy_call, at_buy), (sell_call, at_sell) = seen
    assert buy_call == "buy" and [k for k, _ in at_buy] == ["intent", "send"]
    assert sell_call == "sell" and [k for k, _ in at_sell[-2:]] == ["intent", "send"]
    assert at_sell[-1][1] != at_buy[-1][1]          # a client id of its own
    assert ex.stats.orders == 2 and ex.stats.fills == 2
    assert ex.state.position("R_10") == 0 and not ex.state.unresolved()
    assert len(books["buys"]) == 1 and not books["open"]
    check_agreement(path, books)


def test_submit_after_the_kill_switch_journals_nothing_and_sends_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    sent: list[dict[str, Any]] = []

    async def body(client: DerivClient) -> Executor:
        ex = _executor(client, path)
        ex.killed = True
        assert not ex.submit(OrderIntent("R_10", Side.BUY, 1, 0, 7, 0.0))
        await ex.drain(10)
        ex.journal.close()
        return ex

    ex, books = _trade(tmp_path, body, [sent.append])
    assert ex.stats.refused_killed == 1 and ex.stats.orders == 0
    assert not [m for m in sent if "buy" in m] and not books["buys"]
    assert _kinds(path) == []


def test_an_intent_the_rate_limiter_would_hold_waits_on_the_task_path(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    sent: list[dict[str, Any]] = []

    async def body(client: DerivClient) -> tuple[Executor, int, list[Any]]:
        ex = _executor(client, path)
        epoch = int((await client.request({"time": 1}))["time"])
        client.limiter.configure({"general": (Window(1, 0.5),)})
        assert client.limiter.try_acquire("buy")            # the window is now full
        assert ex.submit(OrderIntent("R_10", Side.BUY, 1, epoch, 7, 0.0))
        left_at_once = len([m for m in sent if "buy" in m])
        events_at_once = _kinds(path)
        await ex.drain(10)
        ex.journal.close()
        return ex, left_at_once, events_at_once

    (ex, left_at_once, events_at_once), books = _trade(tmp_path, body, [sent.append])
    assert left_at_once == 0 and events_at_once == []     # nothing journaled or sent at once
    assert len([m for m in sent if "buy" in m]) == 1 and ex.stats.fills == 1
    check_agreement(path, books)


def test_send_nowait_refuses_without_writing_when_the_limiter_would_wait(
        tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    async def body(client: DerivClient) -> str:
        client.limiter.configure({"general": (Window(1, 60),)})
        del sent[:]                                  # the session's own requests
        reply = await client.send_nowait({"website_status": 1})
        try:
            client.send_nowait({"website_status": 1})
        except Exception as err:      # noqa: BLE001 - the type is what is checked
            return f"{type(err).__name__} {reply['msg_type']}"
        return "sent"

    result, _ = _trade(tmp_path, body, [sent.append])
    assert result == "RateLimitError website_status"
    assert [list(m) for m in sent] == [["website_status", "req_id"]]


def test_an_encoded_request_is_seen_decoded_by_on_send_and_answered_like_a_dict_one(
        tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    async def body(client: DerivClient) -> tuple[str, str]:
        client.limiter.configure({"general": (Window(1, 60),)})
        del sent[:]                                  # the session's own requests
        reply = await client.send_encoded_nowait("website_status", b'{"website_status":1')
        try:
            client.send_encoded_nowait("website_status", b'{"website_status":1')
        except Exception as err:      # noqa: BLE001 - the type is what is checked
            return reply["msg_type"], type(err).__name__
        return reply["msg_type"], "sent"

    result, _ = _trade(tmp_path, body, [sent.append])
    assert result == ("website_status", "RateLimitError")
    assert len(sent) == 1 and sent[0]["website_status"] == 1 and sent[0]["req_id"] >= 1


def _records(*rows: tuple[int, int, int]) -> np.ndarray:
    """Output records of intents ``(symbol, side, reject)``."""
    out = np.zeros(len(rows), OUTPUT_DTYPE)
    for i, (symbol, side, reject) in enumerate(rows):
        out[i]["kind"] = OutputKind.FEATURE | OutputKind.ORDER
        out[i]["symbol"], out[i]["side"], out[i]["qty"] = symbol, side, 1
        out[i]["reject"] = reject
    return out


class _Submits:
    def __init__(self) -> None:
        self.got: list[OrderIntent] = []

    def submit(self, intent: OrderIntent) -> bool:
        self.got.append(intent)
        return True


def test_a_rejected_verdict_never_reaches_the_executor(tmp_path: Path) -> None:
    daemon = Daemon(validate({**FAST, "daemon": {**FAST["daemon"],
                                                  "state_dir": str(tmp_path)}}))
    ex = _Submits()
    daemon.executor = ex  # type: ignore[assignment]
    daemon._handle(_records((0, Side.BUY, Reject.POSITION)), (100,), (0.0,), 1.0, 1)
    daemon._handle(_records((1, Side.SELL, Reject.KILL | Reject.STALE), (2, Side.BUY, 0)),
                   (100, 101), (0.0, 0.0), 1.0, 2)
    assert [(i.symbol, i.side, i.venue_epoch) for i in ex.got] == [("1HZ10V", Side.BUY, 101)]
    stats = daemon.stats
    assert stats.intents == 3 and stats.accepted == 1 and stats.rejected_intents == 2
    assert stats.rejected["POSITION"] == 1 and stats.rejected["KILL"] == 1
    assert stats.rejected["STALE"] == 1


def test_one_tick_at_a_time_gives_the_records_of_one_batch() -> None:
    config = validate({**FAST, "daemon": {"symbols": ["R_10", "R_25", "R_50"]}})
    rng = np.random.default_rng(11)
    symbols = rng.integers(0, 3, 600)
    pips = 100_000 + np.cumsum(rng.integers(-3, 4, 600))
    epochs = 1_700_000_000 + np.arange(600) // 3

    async def run() -> tuple[np.ndarray, np.ndarray]:
        one, batch = BoardRunner(config), BoardRunner(config)
        for r in (one, batch):
            await r.open(equity_cents=10**7, positions={})
        singles = []
        for s, p, e in zip(symbols.tolist(), pips.tolist(), epochs.tolist(), strict=True):
            done = one.process_one(s, p, e)
            assert done is not None
            singles.append(done[0])
        whole, _ = await batch.process(Batch(symbols.tolist(), pips.tolist(),
                                             epochs.tolist(), [0.0] * 600))
        for r in (one, batch):
            await r.close()
        return np.concatenate(singles), whole

    singles, whole = asyncio.run(run())
    assert np.count_nonzero(whole["kind"] & OutputKind.ORDER) > 10
    assert singles.tobytes() == whole.tobytes()


def test_a_checkpoint_from_another_connection_keeps_every_commit(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite", sync="normal", autocheckpoint=False)
    assert journal.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    ids = journal.append_many([("intent", "c1", None, {"symbol": "R_10"}),
                               ("send", "c1", None, {"call": "buy"})])
    journal.checkpoint()
    ids += journal.append_many([("reply", "c1", 5, {"call": "buy"})])
    journal.checkpoint()
    assert ids == [1, 2, 3]
    assert [(i, k, d.get("client_id")) for i, k, d in journal.events()] == [
        (1, "intent", "c1"), (2, "send", "c1"), (3, "reply", "c1")]
    journal.close()
    assert _kinds(tmp_path / "j.sqlite") == [("intent", "c1"), ("send", "c1"),
                                             ("reply", "c1")]


def _ahead_lines(path: Path) -> list[Any]:
    """The write-ahead file's lines (what follows the last newline is not a line)."""
    return [orjson.loads(line) for line in Path(str(path) + AHEAD_SUFFIX).read_bytes()
            .split(b"\n")[:-1]]


def test_written_ahead_an_order_is_on_disk_before_it_leaves_and_in_the_log_after(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    seen: list[tuple[Any, list[tuple[str, str]]]] = []

    def hook(msg: dict[str, Any]) -> None:
        if "buy" in msg:
            seen.append((msg["passthrough"]["client_id"], _ahead_lines(path)))

    async def body(client: DerivClient) -> Executor:
        cfg = validate(FAST)
        journal = Journal(path, stake_per_lot=STAKE, sync="normal", autocheckpoint=False,
                          ahead=True)
        ex = Executor(client, journal, JournalState(), cfg, Stats(), run_sync=_no_thread,
                      on_change=_nothing, inline=True)
        epoch = int((await client.request({"time": 1}))["time"])
        assert ex.submit(OrderIntent("R_25", Side.SELL, 1, epoch, 7, 0.0))
        assert _kinds(path) == [] and len(_ahead_lines(path)) == 1   # the log's commit: next
        await ex.drain(10)
        journal.trim_ahead()
        assert _ahead_lines(path) == []
        journal.close()
        return ex

    ex, books = _trade(tmp_path, body, [hook])
    [(cid, lines)] = seen
    [(_, events)] = lines
    assert [(kind, client_id) for kind, client_id, _, _ in events] == [("intent", cid),
                                                                        ("send", cid)]
    assert events[0][3]["contract_type"] == "MULTDOWN"
    assert [k for k, c in _kinds(path) if c == cid] == ["intent", "send", "reply"]
    assert ex.state.position("R_25") == -1
    check_agreement(path, books)


def _order_events(cid: str) -> list[tuple[str, str | None, int | None, dict[str, Any]]]:
    return [("intent", cid, None, {"action": "open", "symbol": "R_10", "side": 1, "lots": 1,
                                   "contract_type": "MULTUP", "stake": 5.0}),
            ("send", cid, None, {"call": "buy"})]


def test_the_next_open_merges_what_was_written_ahead_and_never_appended(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, sync="normal", ahead=True)
    journal.write_ahead(_order_events("done"))
    journal.append_many(_order_events("done"), merged_ahead=True)
    journal.write_ahead(_order_events("lost"))      # the process dies after the write
    journal.close()
    with open(str(path) + AHEAD_SUFFIX, "ab") as f:
        f.write(b'[1.0, [["intent", "torn", null, {"act')     # a write that never returned
    again = Journal(path, sync="normal")
    assert [(k, d["client_id"]) for _, k, d in again.events()] == [
        ("intent", "done"), ("send", "done"), ("intent", "lost"), ("send", "lost")]
    assert again.state().intents["lost"].state == "sent"       # reconciliation settles it
    assert again.ahead_path.read_bytes() == b""
    again.close()


def test_a_live_writer_keeps_its_write_ahead_lines_from_other_openers(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    writer = Journal(path, sync="normal", ahead=True)
    writer.write_ahead(_order_events("c1"))
    reader = Journal(path, sync="normal")             # e.g. a report while the daemon runs
    assert reader.events() == []
    writer.append_many(_order_events("c1"), merged_ahead=True)
    assert [k for _, k, _ in reader.events()] == ["intent", "send"]   # once, not twice
    reader.close()
    writer.close()
