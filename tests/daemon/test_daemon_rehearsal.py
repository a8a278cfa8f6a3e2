"""The rehearsal (:mod:`tickgate.host.daemon.rehearsal`): the tick-to-order path run while the
feed is quiet changes nothing that counts. The model board's state, counters and records,
the packer's sequence, the journal, the client's requests, ids and limiter, and the
executor's counts are the same with and without rehearsals in between; a rehearsal computes
the real record; the daemon rehearses while it trades and its journal still agrees with
the venue; a failing rehearsal stops rehearsals, not trading."""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from daemon_helpers import FAST, check_agreement, run_cli, sim_books, write_config

from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.records import TICK_DTYPE, Side
from tickgate.host.daemon.boardloop import BoardRunner
from tickgate.host.daemon.config import ConfigError, validate
from tickgate.host.daemon.execution import REHEARSAL_ID, Executor, OrderIntent
from tickgate.host.daemon.journal import AHEAD_SUFFIX, Journal, JournalState
from tickgate.host.daemon.rehearsal import LoopbackWarmer, Rehearsal
from tickgate.host.daemon.simthread import SimThread
from tickgate.host.daemon.status import Stats
from tickgate.host.venues.deriv import DerivClient, UrlConnector

TOKEN = "rehearsal-test-token-0001"
SYMBOLS = 4


def _walk(n: int, seed: int) -> list[tuple[int, int, int]]:
    """``(symbol, pips, epoch)`` of a random walk over ``SYMBOLS`` symbols, each symbol's
    epochs rising."""
    rng = np.random.default_rng(seed)
    price = np.full(SYMBOLS, 100_000)
    out = []
    for i in range(n):
        s = int(rng.integers(SYMBOLS))
        price[s] += int(rng.integers(-40, 41))
        out.append((s, int(price[s]), 1_700_000_000 + i))
    return out


def _runner() -> BoardRunner:
    cfg = validate({**FAST, "daemon": {**FAST["daemon"], "board": "model"}})
    runner = BoardRunner(cfg)
    return runner


def _open(runner: BoardRunner) -> None:
    asyncio.run(runner.open(equity_cents=1_000_000, positions={}))


def _state(board: ModelBoard) -> bytes:
    """The model's whole state, the card's counters and registers."""
    assert board.card is not None
    top = board.card.top
    return pickle.dumps((top.engine.state, top.decision.state, vars(top.risk),
                         top.saturations, top.intents, board.counters()))


def test_rehearsals_leave_the_model_board_and_the_packer_as_they_were() -> None:
    runner, twin = _runner(), _runner()
    _open(runner)
    _open(twin)
    walk = _walk(3_000, seed=1)
    fired = 0
    for k, (s, pips, epoch) in enumerate(walk):
        if k % 3 == 0:                           # rehearsals between the ticks of one board
            before = _state(runner.board)
            seq, bases = runner.packer.seq, dict(runner.packer.base)
            for _ in range(3):
                assert runner.rehearse(s, pips + 7 * k % 50, epoch) is not None
            assert _state(runner.board) == before
            assert (runner.packer.seq, runner.packer.base) == (seq, bases)
        got = runner.process_one(s, pips, epoch)
        want = twin.process_one(s, pips, epoch)
        assert got is not None and want is not None
        assert got[0].tobytes() == want[0].tobytes(), f"tick {k}"
        fired += int(got[0]["kind"][0]) >> 1 & 1
    assert fired > 50                              # the walk fired intents, through the gate
    assert runner.board.counters() == twin.board.counters()


def test_a_rehearsal_gives_the_record_the_board_gives_for_the_same_tick() -> None:
    runner = _runner()
    _open(runner)
    walk = _walk(2_000, seed=2)
    for k, (s, pips, epoch) in enumerate(walk):
        known = s in runner.packer.base      # a symbol's first tick also resets it: not
        rehearsed = runner.rehearse(s, pips, epoch)     # rehearsed (its base is not set)
        real = runner.process_one(s, pips, epoch)
        assert rehearsed is not None and real is not None
        if known:
            assert rehearsed.tobytes() == real[0].tobytes(), f"tick {k}"


def test_a_rehearsal_after_a_card_reset_leaves_the_new_state_alone() -> None:
    runner = _runner()
    _open(runner)
    board = runner.board
    assert isinstance(board, ModelBoard) and board.card is not None
    saved = board.card.save_symbol(1)
    board.card.reset()
    fresh = _state(board)
    board.card.restore_symbol(saved)          # the reset's state is not overwritten
    assert _state(board) == fresh
    with pytest.raises(ValueError, match="symbol 64"):
        board.card.save_symbol(64)


def test_a_board_that_cannot_rehearse_gives_none_and_a_busy_runner_does_not_rehearse() -> None:
    runner = _runner()
    _open(runner)
    assert runner.board is not None
    tick = np.zeros(1, TICK_DTYPE)
    assert super(ModelBoard, runner.board).rehearse_tick(tick) is None    # the Board default
    runner._queued = 1                         # a call waits for the board thread
    assert runner.rehearse(0, 100_000, 1) is None
    runner._queued = 0
    with runner._lock:                         # the thread holds the board
        assert runner.rehearse(0, 100_000, 1) is None
    assert runner.rehearse(0, 100_000, 1) is not None
    with pytest.raises(TypeError):
        runner.board.rehearse_tick(np.zeros(2, TICK_DTYPE))


def _executor(client: DerivClient, path: Path) -> Executor:
    cfg = validate(FAST)
    journal = Journal(path, stake_per_lot=FAST["execution"]["stake_per_lot"], sync="normal",
                      autocheckpoint=False, ahead=True)

    async def nothing(symbol: str) -> None:
        return None

    async def inline(fn: Any, *a: Any, **kw: Any) -> Any:
        return fn(*a, **kw)

    return Executor(client, journal, JournalState(), cfg, Stats(), run_sync=inline,
                    on_change=nothing, inline=True)


def test_the_order_path_rehearsal_sends_journals_and_uses_up_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    sent: list[dict[str, Any]] = []

    async def main() -> tuple[Executor, list[int]]:
        async with DerivClient(UrlConnector(sim.url, TOKEN), keepalive_s=None,
                               on_send=[sent.append]) as client:
            ex = _executor(client, path)
            epoch = int((await client.request({"time": 1}))["time"])
            requests = len(sent)
            ahead = (path.parent / (path.name + AHEAD_SUFFIX)).read_bytes()
            logs = [list(q) for qs in client.limiter._logs.values() for q in qs]
            stats = pickle.dumps(ex.stats)
            rehearsed = []
            for k in range(200):
                data = ex.rehearse(OrderIntent("R_10", Side.BUY if k % 2 else Side.SELL, 1,
                                               epoch, 500, 0.0))
                assert data is not None
                rehearsed.append(orjson.loads(data))
            assert len(sent) == requests and not client._pending
            assert (path.parent / (path.name + AHEAD_SUFFIX)).read_bytes() == ahead
            assert [list(q) for qs in client.limiter._logs.values() for q in qs] == logs
            assert pickle.dumps(ex.stats) == stats and not ex.busy
            assert ex.journal.state().events == 0
            # the real order after them: the next client id and req_id, journaled and sent
            assert ex.submit(OrderIntent("R_10", Side.BUY, 1, epoch, 500, 0.0))
            req_ids = [m["req_id"] for m in sent]
            # the rehearsed request is the real one but for its client id and req_id
            real = dict(sent[-1], req_id=0, passthrough={"client_id": REHEARSAL_ID})
            assert rehearsed[1] == real
            await ex.drain(10)
            # killed, or the symbol busy: no rehearsal either
            ex.busy.add("R_25")
            assert not ex.rehearse(OrderIntent("R_25", Side.BUY, 1, epoch, 1, 0.0))
            ex.killed = True
            assert not ex.rehearse(OrderIntent("R_10", Side.BUY, 1, epoch, 1, 0.0))
            ex.journal.close()
            return ex, req_ids

    with SimThread(seed=6, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        ex, req_ids = asyncio.run(main())
        books = sim_books(sim, TOKEN)
    assert req_ids == list(range(1, len(req_ids) + 1))       # no req_id skipped
    buys = [m for m in sent if "buy" in m]
    assert len(buys) == 1 and buys[0]["passthrough"]["client_id"].endswith("-1")
    assert REHEARSAL_ID not in json.dumps(sent)
    assert ex.stats.orders == 1 and ex.stats.fills == 1
    check_agreement(path, books)


def test_the_timer_rehearses_only_after_a_quiet_period_and_stops_on_an_error() -> None:
    async def main() -> tuple[int, int, int, int]:
        last = [time.perf_counter()]
        calls: list[float] = []
        rehearsal = Rehearsal(2_000, lambda: last[0], lambda: calls.append(0.0) or True)
        rehearsal.start()
        for _ in range(20):                       # frames every 1 ms: never quiet enough
            last[0] = time.perf_counter()
            await asyncio.sleep(0.001)
        busy = len(calls)
        await asyncio.sleep(0.05)                 # quiet: about one every 2 ms
        quiet = len(calls)
        rehearsal.stop()
        await asyncio.sleep(0.01)
        stopped = len(calls) - quiet

        def fail() -> bool:
            raise RuntimeError("boom")

        failing = Rehearsal(1_000, lambda: 0.0, fail)
        failing.start()
        await asyncio.sleep(0.02)
        return busy, quiet, stopped, int(failing.running)

    busy, quiet, stopped, running = asyncio.run(main())
    assert busy <= 2 and quiet >= 8 and stopped == 0 and running == 0
    with pytest.raises(ValueError):
        Rehearsal(999, lambda: 0.0, lambda: True)


def test_the_loopback_warmer_moves_the_bytes_through_the_kernel_and_closes() -> None:
    warmer = LoopbackWarmer()
    try:
        for _ in range(50):
            warmer.warm(b"x" * 300)
        deadline = time.monotonic() + 5
        while warmer.bytes < 50 * 300 and time.monotonic() < deadline:
            warmer.warm(b"")                          # reads what is still on its way
        assert warmer.bytes == 50 * 300
    finally:
        warmer.close()
    assert warmer._out.fileno() == -1 and warmer._in.fileno() == -1


def test_rehearse_us_is_checked_like_every_setting() -> None:
    assert validate({})["daemon"]["rehearse_us"] == 1000
    assert validate({"daemon": {"rehearse_us": 0}})["daemon"]["rehearse_us"] == 0
    with pytest.raises(ConfigError, match="rehearse_us"):
        validate({"daemon": {"rehearse_us": -1}})


def _run_daemon(tmp_path: Path, sim: SimThread, name: str, rehearse_us: int,
                seconds: int) -> tuple[dict[str, Any], str, Path]:
    """``tickgate run`` against ``sim`` with ``[daemon] rehearse_us``; its summary, stderr
    and journal."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    summary, state = tmp_path / f"{name}.json", tmp_path / name
    config = write_config(tmp_path / f"{name}.toml", FAST,
                          {"daemon": {"rehearse_us": rehearse_us}})
    done = run_cli(["run", "--config", str(config), "--venue", "deriv", "--url", sim.url,
                    "--token-file", str(token_file), "--duration", str(seconds),
                    "--summary-json", str(summary), "--state-dir", str(state)], timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    journal = state / f"journal-{sim_books(sim, TOKEN)['loginid']}.sqlite"
    return json.loads(summary.read_text()), done.stderr, journal


def test_the_daemon_rehearses_while_it_trades_and_its_journal_agrees_with_the_venue(
        tmp_path: Path) -> None:
    with SimThread(seed=4, speed=20, tokens=[f"{TOKEN}=demo:read,trade"]) as sim:
        data, err, journal = _run_daemon(tmp_path, sim, "on", 1000, 4)
        counts = check_agreement(journal, sim_books(sim, TOKEN))
        off, _, _ = _run_daemon(tmp_path, sim, "off", 0, 2)
    assert data["rehearsals"] > 500 and data["orders"] > 0 and data["fills"] > 0
    assert data["latency"]["rehearsal"]["p50_us"] > 0
    assert counts["contracts"] > 0 and "rehearsal failed" not in err
    assert off["rehearsals"] == 0 and off["orders"] > 0
