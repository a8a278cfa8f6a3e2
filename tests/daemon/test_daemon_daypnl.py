"""The day's P&L: per UTC day, its baseline journaled so a restart keeps the day's losses,
rolled at midnight, and the gate's ``DAILY_LOSS`` check fed with it."""

from __future__ import annotations

import asyncio
import calendar
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from daemon_helpers import FAST, run_cli, start_cli, write_config

from tickgate.gateware.records import Reject, Side
from tickgate.host.daemon.boardloop import Batch, BoardRunner
from tickgate.host.daemon.config import validate
from tickgate.host.daemon.daemon import Daemon
from tickgate.host.daemon.daypnl import DayPnl, utc_day
from tickgate.host.daemon.hoststrategy import HostOrder, pack_orders
from tickgate.host.daemon.journal import Journal
from tickgate.host.daemon.simthread import SimThread

TOKEN = "daypnl-test-token-0001"
#: FAST with a daily loss limit of 10.00.
TIGHT = {"risk": {**FAST["risk"], "daily_loss_limit": 1000}}
NOON = calendar.timegm((2026, 12, 1, 12, 0, 0))
MIDNIGHT = calendar.timegm((2026, 12, 2, 0, 0, 0))


def _journal_day(journal: Journal, day: DayPnl, epoch: float, equity: float) -> None:
    """What the daemon does every status period: observe, journal a new baseline."""
    if day.observe(epoch, equity):
        journal.append("day", day=day.day, baseline=day.baseline, epoch=int(epoch))


def _restart(path: Path) -> DayPnl:
    journal = Journal(path)
    try:
        state = journal.state()
    finally:
        journal.close()
    return DayPnl(dict(state.day_baselines), set(state.day_breaches))


def test_utc_day_is_the_calendar_day_in_utc() -> None:
    assert utc_day(MIDNIGHT - 1) == "2026-12-01" and utc_day(MIDNIGHT) == "2026-12-02"


def test_the_daemons_clock_is_the_injected_one_else_the_venues_market_time() -> None:
    assert Daemon(validate({}), clock=lambda: MIDNIGHT + 5.0).now() == MIDNIGHT + 5.0
    daemon = Daemon(validate({}))
    daemon._venue_time = NOON                             # the venue's time at start
    assert daemon.now() == NOON
    daemon.feed = SimpleNamespace(check=SimpleNamespace(  # type: ignore[assignment]
        last_epoch={"R_10": NOON + 30, "R_25": NOON + 12}))
    assert daemon.now() == NOON + 30                      # the latest tick's epoch


def test_a_restart_on_the_same_day_keeps_the_baseline_and_the_loss_before_it(
        tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    day = DayPnl()
    _journal_day(journal, day, NOON, 1000.00)
    _journal_day(journal, day, NOON + 600, 990.00)       # same day: no new baseline
    assert day.pnl(990.00) == -10.00
    journal.close()
    again = _restart(tmp_path / "j.sqlite")               # the daemon restarts at 985.00
    assert not again.observe(NOON + 3600, 985.00)         # nothing new to journal
    assert again.baseline == 1000.00 and again.pnl(985.00) == -15.00
    assert _restart(tmp_path / "j.sqlite").baselines == {"2026-12-01": 1000.00}


def test_crossing_midnight_rolls_the_baseline_to_the_equity_then(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    clock = [MIDNIGHT - 5.0]                               # an injected clock
    day = DayPnl()
    _journal_day(journal, day, clock[0], 1000.00)
    assert day.pnl(970.00) == -30.00
    clock[0] = MIDNIGHT + 1.0
    _journal_day(journal, day, clock[0], 970.00)
    assert day.day == "2026-12-02" and day.baseline == 970.00 and day.pnl(970.00) == 0.0
    assert day.pnl(965.50) == -4.50
    _journal_day(journal, day, MIDNIGHT - 2.0, 900.00)     # a late tick of the day before
    assert day.day == "2026-12-02" and day.baseline == 970.00
    journal.close()
    assert _restart(tmp_path / "j.sqlite").baselines == {"2026-12-01": 1000.00,
                                                         "2026-12-02": 970.00}


def test_a_breach_is_the_gates_rule_and_reported_once_a_day() -> None:
    day = DayPnl()
    day.observe(NOON, 1000.00)
    assert not day.breached(-1000, 1000)                  # at the limit: not below it
    assert day.breached(-1001, 1000)
    assert not day.breached(-5000, 1000)                  # journaled once
    day.observe(MIDNIGHT, 950.00)
    assert day.breached(-1001, 1000)                      # a new day, a new breach
    assert day.breaches == {"2026-12-01", "2026-12-02"}


def _verdict(pnl_cents: int) -> int:
    """Open the model board as the daemon does with ``pnl_cents`` as the day's P&L, give it
    a tick, gate a one-lot buy; its reject bits."""
    config = validate({"daemon": {"symbols": ["R_10"]}, "decision": {"enable": False},
                       "risk": {"daily_loss_limit": 1000}})

    async def run() -> int:
        board = BoardRunner(config)
        await board.open(equity_cents=98_500, pnl_cents=pnl_cents, positions={})
        try:
            await board.process(Batch([0], [6_321_456], [NOON], [0.0]))
            orders = pack_orders([HostOrder(0, Side.BUY, 1, 6_321_456)],
                                 dict(board.packer.base), 1)
            return int((await board.submit_orders(orders))[0]["reject"])
        finally:
            await board.close()
    return asyncio.run(run())


def test_the_gate_refuses_with_daily_loss_when_the_days_loss_passes_a_restart(
        tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    day = DayPnl()
    _journal_day(journal, day, NOON, 1000.00)             # the first run starts the day
    journal.close()
    again = _restart(tmp_path / "j.sqlite")
    again.observe(NOON + 60, 985.00)                      # restarted, 15.00 down on the day
    reject = _verdict(round(again.pnl(985.00) * 100))
    assert reject & Reject.DAILY_LOSS and reject & Reject.KILL
    assert _verdict(0) == 0                     # the run's own P&L (0) would have passed


# -- the daemon, end to end (a simulator on a fixed clock, outliving the daemons) -----------
def _args(sim: SimThread, tmp: Path, config: Path, summary: str) -> list[str]:
    (tmp / "token").write_text(TOKEN + "\n")
    return ["run", "--venue", "deriv", "--url", sim.url, "--token-file", str(tmp / "token"),
            "--config", str(config), "--state-dir", str(tmp / "state"),
            "--summary-json", str(tmp / summary)]


def _lose(sim: SimThread, amount: float) -> None:
    """Take ``amount`` from the account (a loss the daemon did not make)."""
    sim.call(lambda: sim.server.tokens.lookup(TOKEN).account.change_balance(-amount))


def _day_events(tmp: Path) -> list[dict[str, Any]]:
    journal = Journal(next((tmp / "state").glob("journal-*.sqlite")))
    try:
        return [data for _, _, data in journal.events("day")]
    finally:
        journal.close()


def test_a_daemon_restarted_on_the_same_day_keeps_its_loss_and_the_gate_refuses(
        tmp_path: Path) -> None:
    with SimThread(seed=4, speed=20, tokens=[f"{TOKEN}=demo:read,trade"],
                   start_epoch=NOON) as sim:
        loose = write_config(tmp_path / "loose.toml", FAST)
        done = run_cli(_args(sim, tmp_path, loose, "first.json") + ["--duration", "3"])
        assert done.returncode == 0, done.stderr[-3000:]
        _lose(sim, 20.0)                                  # while no daemon runs
        tight = write_config(tmp_path / "tight.toml", FAST, TIGHT)
        done = run_cli(_args(sim, tmp_path, tight, "second.json") + ["--duration", "3"])
        assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads((tmp_path / "first.json").read_text())
    second = json.loads((tmp_path / "second.json").read_text())
    assert first["day"] == second["day"] == "2026-12-01"
    assert second["day_baseline"] == first["day_baseline"]   # from the journal
    assert second["pnl_day"] < -15.0 and abs(second["pnl"]) < 5.0
    assert second["rejected"]["DAILY_LOSS"] > 0 and second["rejected"]["KILL"] > 0
    assert second["accepted"] == 0 and second["orders"] == 0
    assert second["killed"] is True
    assert "daily loss limit" in (tmp_path / "state" / "KILL").read_text()
    assert [e["day"] for e in _day_events(tmp_path)] == ["2026-12-01"]


def _until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_over_midnight_the_day_rolls_and_only_the_operator_clears_the_kill(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    with SimThread(seed=4, speed=20, tokens=[f"{TOKEN}=demo:read,trade"],
                   start_epoch=MIDNIGHT - 160) as sim:     # 8 real seconds before midnight
        tight = write_config(tmp_path / "tight.toml", FAST, TIGHT)
        proc = start_cli(_args(sim, tmp_path, tight, "run.json"))
        try:
            _until(lambda: (state / "control.sock").exists(), 30, "the daemon did not start")
            _lose(sim, 20.0)
            _until(lambda: (state / "KILL").exists(), 10, "no kill on the daily loss")
            held = run_cli(["kill", "--clear", "--state-dir", str(state)])
            assert sim.server.clock.now() < MIDNIGHT, "too slow: midnight came too early"
            assert held.returncode == 1 and "still set" in held.stdout   # the loss holds it
            _until(lambda: sim.server.clock.now() > MIDNIGHT + 10, 20, "no midnight")
            cleared = run_cli(["kill", "--clear", "--state-dir", str(state)])
            assert cleared.returncode == 0 and "kill switch clear" in cleared.stdout
            time.sleep(1.0)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err[-3000:]
    data = json.loads((tmp_path / "run.json").read_text())
    days = _day_events(tmp_path)
    assert [e["day"] for e in days] == ["2026-12-01", "2026-12-02"]
    assert data["day"] == "2026-12-02" and data["day_baseline"] == days[1]["baseline"]
    assert days[1]["baseline"] < days[0]["baseline"] - 15.0     # rolled after the loss
    assert abs(data["pnl_day"]) < 5.0 and data["pnl"] < -15.0   # the day's restarted
    assert data["killed"] is False
