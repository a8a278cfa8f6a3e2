"""``tickgate run``: venue feed → board → risk gate → execution on Deriv, and back.

Start-up, in order (any refusal is one sentence and exit status 2; no order is sent before
step 6):

1. validate the configuration; refuse a real account unless allowed (:mod:`.safety`); take
   the state directory's lock (one daemon per state directory);
2. venue: the in-process simulator (:mod:`.simthread`, a generated demo token kept in
   memory) or Deriv (``UrlConnector`` for ``[venue] url``, else Deriv's v3 endpoint with
   ``app_id``); connect and ``authorize``; check the account kind and scopes;
3. the journal (:mod:`.journal`): ``journal-<loginid>.sqlite`` in the state directory (the
   in-process simulator's books die with it, so its journal is started afresh each run);
   a ``session`` event;
4. reconciliation with the venue (:mod:`.reconcile`); a disagreement it cannot explain
   stops the daemon (exit 3) before trading;
5. the board (:mod:`.boardloop`, its own thread): engine periods, the decision unit's
   placeholder strategy, the risk limits, confirmed positions, equity; kill switch cleared
   unless the ``KILL`` file exists;
6. streams: ``balance``, ``proposal_open_contract`` (all contracts: marks and the venue's own
   closes), the ticks of every symbol (:class:`~tickgate.host.venues.deriv.feed.TickFeed`);
   the control socket (:mod:`.control`).

Running: ticks are ingested in the client's transport callback (the feed's ``inline``
mode), stamped with the frame's arrival. The hot path is flat and synchronous, in the tick's
own frame callback: when nothing waits for the board (no queued ticks, the board thread
idle) the tick goes through the model board at once (:meth:`.BoardRunner.process_one`), and
an accepted intent is journaled and its request written by :meth:`.Executor.submit` before
the callback returns (no task, no await before the bytes leave; the reply is awaited by a
task after). Otherwise the tick is queued and sent to the board in batches by the pump task
(small ones on the event loop, see :mod:`.boardloop`). Each record with ``ORDER`` is an
intent: accepted ones go to the :class:`~.execution.Executor`, rejected ones are counted by
reason. A host strategy (``[host_strategy]``, :mod:`.hoststrategy`) sees the same ticks;
its orders pass the board's risk gate after the batch of their tick
(:class:`~.hostorders.HostOrderPath`) and accepted ones are executed like intents. Every
change of a symbol's confirmed position is written to the board (``set_position``); every
status period the day's P&L (equity now minus the equity at the start of the UTC day, kept
in the journal across restarts; equity is the balance plus the marks of open contracts: see
:mod:`.daypnl` for the day, its clock, midnight and a breach of the daily loss limit) and
the equity go to ``pnl_day``/``equity``. An order whose outcome is unknown triggers a live
reconciliation (orders paused meanwhile).

Stopping: ``--duration`` elapsed, SIGINT or SIGTERM: the feed stops, orders in flight are
given 5 s, the summary is printed (and written with ``--summary-json``). Open contracts stay
open; the journal has them and the next start reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np

from tickgate.gateware.records import OUTPUT_DTYPE, OutputKind, Side
from tickgate.host.daemon.boardloop import Batch, BoardRunner
from tickgate.host.daemon.config import Config
from tickgate.host.daemon.control import KILL_FILE, ControlServer
from tickgate.host.daemon.cpulatency import CpuLatencyError, CpuLatencyRequest
from tickgate.host.daemon.crash import CrashHook
from tickgate.host.daemon.daypnl import DayPnl
from tickgate.host.daemon.execution import Executor, OrderIntent
from tickgate.host.daemon.hostorders import HostOrderPath
from tickgate.host.daemon.hoststrategy import HostOrder, HostStrategy, make_strategy
from tickgate.host.daemon.journal import AHEAD_SUFFIX, Journal, JournalState
from tickgate.host.daemon.reconcile import Report, reconcile
from tickgate.host.daemon.rehearsal import LoopbackWarmer, Rehearsal
from tickgate.host.daemon.safety import (
    SafetyError,
    check_account_request,
    check_authorized,
    load_token,
)
from tickgate.host.daemon.status import REJECT_NAMES, Stats
from tickgate.host.venues.deriv import DerivClient, LegacyConnector, UrlConnector
from tickgate.host.venues.deriv.errors import DerivError
from tickgate.host.venues.deriv.feed import TickFeed
from tickgate.host.venues.deriv.redact import get_logger
from tickgate.host.venues.deriv.subscriptions import Subscription

__all__ = ["Daemon", "StartError", "DisagreementError"]

#: Positions in an output record's ``item()`` tuple of the fields an intent is made of.
_SYMBOL, _SIDE, _QTY, _ORDER_ID, _REJECT = (
    OUTPUT_DTYPE.names.index(name) for name in ("symbol", "side", "qty", "order_id", "reject"))

log = get_logger("tickgate.daemon")
T = TypeVar("T")
#: The collector's first threshold while trading (see ``_start_trading``).
GC_YOUNG = 10_000


class StartError(RuntimeError):
    """The daemon cannot start: one sentence."""


class DisagreementError(RuntimeError):
    """The journal and the venue disagree in a way reconciliation cannot explain."""


class Daemon:
    """One run of the daemon (see the module docstring)."""

    def __init__(self, config: Config, *, duration: float | None = None,
                 summary_json: str | None = None, out: TextIO | None = None,
                 reconcile_only: bool = False,
                 clock: Callable[[], float] | None = None) -> None:
        """``clock``: Unix seconds for the day's P&L instead of the venue's market time
        (:meth:`now`)."""
        self.config = config
        self.duration = duration
        self.summary_json = summary_json
        self.out = out or sys.stdout
        self.reconcile_only = reconcile_only
        self.symbols: list[str] = list(config["daemon"]["symbols"])
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.pip: dict[str, int] = {}
        self._scale: dict[str, int] = {}
        self.stats = Stats(board=config["daemon"]["board"], venue=config["venue"]["kind"])
        self.state_dir = config.state_dir
        self.crash = CrashHook()
        self.sim: Any = None
        self.client: DerivClient | None = None
        self.journal: Journal | None = None
        self.jstate = JournalState()
        self.board = BoardRunner(config)
        self.board_open = False
        self.executor: Executor | None = None
        self.feed: TickFeed | None = None
        self.control: ControlServer | None = None
        self.marks: dict[int, float] = {}
        self.killed = False
        self.stop_event = asyncio.Event()
        self._jpool = ThreadPoolExecutor(1, thread_name_prefix="tickgate-journal")
        self._journal_inline = config["daemon"]["journal_sync"] == "normal"
        self._pending = Batch.empty()
        self._frame_clock: Any = None
        self.strategy: HostStrategy | None = make_strategy(config["host_strategy"])
        self.host_path: HostOrderPath | None = None
        self._host_pending: list[tuple[HostOrder, int, float]] = []
        self._tick_ready = asyncio.Event()
        self._batches = 0
        self._kill_batch: int | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._subs: list[Subscription] = []
        self._lock_file: Any = None
        self._cpu_latency: CpuLatencyRequest | None = None
        self.rehearsal: Rehearsal | None = None
        self._warmer: LoopbackWarmer | None = None
        self._last_money: tuple[int, int] | None = None
        self._clock = clock
        self._venue_time = 0

    # -- helpers ---------------------------------------------------------------------------
    async def run_sync(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run ``fn`` in the journal's thread; with ``journal_sync = "normal"`` (a commit
        costs microseconds, no fsync) on the event loop itself."""
        if self._journal_inline:
            return fn(*args, **kw)
        return await asyncio.get_running_loop().run_in_executor(
            self._jpool, lambda: fn(*args, **kw))

    def now(self) -> float:
        """The daemon's clock, Unix seconds: the injected one, else the venue's market time
        (the latest tick epoch the feed accepted, or the venue's ``time`` at start)."""
        if self._clock is not None:
            return self._clock()
        last = self.feed.check.last_epoch if self.feed is not None else {}
        return float(max(max(last.values(), default=0), self._venue_time))

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- start-up --------------------------------------------------------------------------
    def _lock(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.state_dir / "daemon.lock", "a+")  # noqa: SIM115
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StartError(f"another tickgate daemon runs with the state directory "
                             f"{self.state_dir}.") from None

    def _hold_cpu_latency(self) -> None:
        """``[daemon] cpu_latency_us`` (see :mod:`.cpulatency`); released at shutdown."""
        limit = self.config["daemon"]["cpu_latency_us"]
        if limit < 0:
            return
        try:
            self._cpu_latency = CpuLatencyRequest(limit)
        except CpuLatencyError as err:
            raise StartError(str(err)) from None
        log.info("CPU latency limit %d us held (PM QoS) while the daemon runs", limit)

    async def _connect(self) -> DerivClient:
        venue = self.config["venue"]
        if venue["kind"] == "sim":
            from tickgate.host.daemon.simthread import SimThread
            sim_cfg = self.config["sim"]
            self.sim = await asyncio.to_thread(
                lambda: SimThread(seed=sim_cfg["seed"], speed=sim_cfg["speed"]).start())
            connector: Any = UrlConnector(self.sim.url, self.sim.token)
        else:
            token = load_token(self.config)
            connector = (UrlConnector(venue["url"], token) if venue["url"]
                         else LegacyConnector(venue["app_id"], token))
        client = DerivClient(connector, keepalive_s=30.0,
                             request_timeout_s=self.config["execution"]["order_timeout_s"])
        try:
            await client.connect()
        except DerivError as err:
            raise StartError(f"cannot connect to the venue: {err}") from None
        self.client = client
        check_authorized(self.config, client.authorize_info or {})
        info = client.authorize_info or {}
        self.stats.loginid = str(info.get("loginid", ""))
        self.stats.currency = str(info.get("currency") or "USD")
        return client

    def _journal_path(self) -> Path:
        loginid = self.stats.loginid or "unknown"
        if self.config["venue"]["kind"] == "sim":
            path = self.state_dir / "journal-sim.sqlite"
            for suffix in ("", "-wal", "-shm", AHEAD_SUFFIX):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return path
        return self.state_dir / f"journal-{loginid}.sqlite"

    async def _reconcile(self) -> Report:
        assert self.client is not None and self.journal is not None
        report = await reconcile(self.client, self.journal, run_sync=self.run_sync,
                                 stake_per_lot=self.config["execution"]["stake_per_lot"])
        self.jstate = await self.run_sync(self.journal.state)
        if self.executor is not None:
            self.executor.state = self.jstate
        self.stats.reconcile = {"resolved": report.resolved, "adopted": len(report.adopted),
                                "closed": len(report.closed),
                                "disagreements": report.disagreements,
                                "venue_contracts": report.venue_contracts}
        log.info("%s", report.line())
        if report.disagreements:
            raise DisagreementError("the journal and the venue disagree: "
                                    + "; ".join(report.disagreements[:3]))
        return report

    async def _pip_sizes(self) -> None:
        assert self.client is not None
        reply = await self.client.request({"active_symbols": "brief"})
        pips = {s["symbol"]: s.get("pip") for s in reply.get("active_symbols") or []}
        missing = [s for s in self.symbols if s not in pips]
        if missing:
            raise StartError(f"the venue does not offer {', '.join(missing)}.")
        for s in self.symbols:
            self.pip[s] = max(0, round(-np.log10(float(pips[s]))))
            self._scale[s] = 10 ** self.pip[s]

    # -- the main coroutine ----------------------------------------------------------------
    async def run(self) -> int:
        """Run until the duration, a signal or a fatal error; the exit status."""
        check_account_request(self.config)
        self._lock()
        try:
            self._hold_cpu_latency()
            client = await self._connect()
            self.journal = Journal(self._journal_path(),
                                   stake_per_lot=self.config["execution"]["stake_per_lot"],
                                   sync=self.config["daemon"]["journal_sync"],
                                   autocheckpoint=False, ahead=self._journal_inline)
            venue_time = int((await client.request({"time": 1}))["time"])
            self._venue_time = venue_time
            await self.run_sync(self.journal.append, "session", loginid=self.stats.loginid,
                                venue=self.config["venue"]["kind"], venue_time=venue_time)
            report = await self._reconcile()
            if self.reconcile_only:
                self._say(report.line())
                return 0
            await self._start_trading()
            await self._wait()
            return 0
        finally:
            await self._shutdown()

    async def _start_trading(self) -> None:
        assert self.client is not None and self.journal is not None
        client = self.client
        await self._pip_sizes()
        balance_sub = await client.subscribe({"balance": 1})
        self._subs.append(balance_sub)
        self.stats.balance = await self._first_balance(balance_sub)
        self.stats.start_equity = self._equity()
        self.stats.equity = self.stats.start_equity
        self.stats.day = DayPnl(dict(self.jstate.day_baselines), set(self.jstate.day_breaches))
        await self._observe_day(self.stats.start_equity)
        positions = {self.index[s]: self.jstate.position(s) for s in self.symbols
                     if self.jstate.position(s)}
        try:
            detail = await self.board.open(equity_cents=round(self.stats.start_equity * 100),
                                           pnl_cents=round(self.stats.pnl_day * 100),
                                           positions=positions)
        except ValueError as exc:
            raise StartError(str(exc)) from None
        self.board_open = True
        log.info("%s", detail)
        self.executor = Executor(client, self.journal, self.jstate, self.config, self.stats,
                                 run_sync=self.run_sync, on_change=self._position_changed,
                                 currency=self.stats.currency, crash=self.crash,
                                 inline=self._journal_inline)
        if (self.state_dir / KILL_FILE).exists():
            await self._kill("the KILL file exists")
        self.stats.open_contracts = len(self.jstate.open_contracts())
        poc = await client.subscribe({"proposal_open_contract": 1})
        self._subs.append(poc)
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(self._balances(balance_sub), name="balances"),
                        loop.create_task(self._contracts(poc), name="contracts"),
                        loop.create_task(self._pump(), name="pump"),
                        loop.create_task(self._status(), name="status"),
                        loop.create_task(self._live_reconcile(), name="reconcile")]
        self._frame_clock = client
        if self.strategy is not None:
            self.host_path = HostOrderPath(self.board, self.stats, self.symbols,
                                           self.executor.submit)
        # What start-up built (modules, numba's code, the board) never becomes garbage: out
        # of the collector's generations, a full collection no longer walks it (~60 ms;
        # done before the ticks come). The young generation is collected every 10,000
        # allocations, not 700: a tick allocates a few dicts that die at once.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG, 20, 10)
        self.feed = TickFeed(client, self.symbols, stale_after_s=60.0, inline=True)
        self.feed.on_tick.append(self._on_tick)
        await self.feed.start()
        rehearse_us = self.config["daemon"]["rehearse_us"]
        if rehearse_us:
            try:
                self._warmer = LoopbackWarmer()
            except OSError as err:
                log.warning("no loopback connection to rehearse the socket's send on: %s", err)
            self.rehearsal = Rehearsal(rehearse_us, lambda: client.frame_time, self._rehearse)
            self.rehearsal.start()
        self.control = ControlServer(self.state_dir, self._command)
        await self.control.start()
        self.stats.started = time.monotonic()
        log.info("trading %d symbols on %s (%s) through the %s board", len(self.symbols),
                 self.stats.loginid, self.config["venue"]["kind"], self.stats.board)

    async def _first_balance(self, sub: Subscription) -> float:
        async with asyncio.timeout(10):
            async for msg in sub:
                bal = (msg.get("balance") or {}).get("balance")
                if bal is not None:
                    return float(bal)
        raise StartError("the venue sent no balance.")

    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop_event.set)
        if self.duration is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), self.duration)
        else:
            await self.stop_event.wait()

    # -- ticks → board → intents -----------------------------------------------------------
    def _on_tick(self, symbol: str, epoch: int, quote: float) -> None:
        p = self._pending
        epoch = int(epoch)
        index = self.index[symbol]
        pips = round(quote * self._scale[symbol])
        arrived = self._frame_clock.frame_time     # the tick frame reached the transport
        if self.strategy is not None:
            for order in self.strategy.on_tick(index, epoch, pips):
                self._host_pending.append((order, epoch, arrived))
            if self._host_pending:
                self._tick_ready.set()             # the pump sends them after the tick
        if not p.symbol:                           # nothing queued before it: at once
            done = self.board.process_one(index, pips, epoch)
            if done is not None:
                self._batches += 1
                self._handle(done[0], (epoch,), (arrived,), done[1], self._batches)
                return
        p.symbol.append(index)
        p.pips.append(pips)
        p.epoch.append(epoch)
        p.arrived.append(arrived)
        self._tick_ready.set()

    async def _pump(self) -> None:
        limit = self.config["daemon"]["batch_max"]
        board = self.board
        while True:
            await self._tick_ready.wait()
            self._tick_ready.clear()
            while len(self._pending):
                batch = self._pending
                if len(batch) > limit:
                    self._pending = batch.tail(limit)
                    batch = batch.head(limit)
                else:
                    self._pending = Batch.empty()
                self._batches += 1
                number = self._batches
                done = board.process_inline(batch)
                if done is None:
                    done = await board.process(batch)
                self._handle(done[0], batch.epoch, batch.arrived, done[1], number)
            if self._host_pending and self.host_path is not None:
                orders, self._host_pending = self._host_pending, []
                await self.host_path.send(orders)

    def _handle(self, records: np.ndarray, epochs: Sequence[int], arrivals: Sequence[float],
                board_us: float, number: int) -> None:
        """Count a batch's records; hand its accepted intents to the executor."""
        stats = self.stats
        now = time.perf_counter()
        stats.ticks += len(arrivals)
        stats.latency["board_call"].append(board_us)
        lat = stats.latency["tick_to_verdict"]
        for t in arrivals:
            lat.append((now - t) * 1e6)
        kinds = records["kind"]
        if len(kinds) == 1:                        # the hot path's one tick
            if not kinds[0] & OutputKind.ORDER:
                return
            fired: Any = (0,)
        else:
            fired = np.flatnonzero(kinds & OutputKind.ORDER)
        after_kill = self._kill_batch is not None and number > self._kill_batch
        for i in fired:
            rec = records.item(i)                  # a tuple: one call, not five field reads
            stats.intents += 1
            reject = rec[_REJECT]
            if reject:
                stats.rejected_intents += 1
                for bit, name in enumerate(REJECT_NAMES):
                    if reject >> bit & 1:
                        stats.rejected[name] += 1
                continue
            stats.accepted += 1
            if after_kill:
                stats.accepted_after_kill += 1
            assert self.executor is not None
            self.executor.submit(self._intent(rec, epochs[i], arrivals[i]))

    def _intent(self, rec: tuple[Any, ...], epoch: int, arrived: float) -> OrderIntent:
        """The order intent of an accepted record (``records.item(i)``) of the tick of
        ``epoch``."""
        return OrderIntent(self.symbols[rec[_SYMBOL]], rec[_SIDE], rec[_QTY], epoch,
                           rec[_ORDER_ID], arrived)

    def _rehearse(self) -> None:
        """One rehearsal of the tick-to-order path (:mod:`.rehearsal`) on the last tick
        frame: decoded by the client, through the feed's common case, then
        :meth:`_rehearse_tick`; counted in ``stats.rehearsals`` when it went through."""
        client, feed = self.client, self.feed
        if client is None or feed is None or self.executor is None:
            return
        t0 = time.perf_counter()
        frame = client.rehearse_tick_frame()
        if frame is None:
            return
        tick = frame.tick
        if not feed.rehearse_tick(tick.symbol, tick.epoch, tick.quote, tick.bid, tick.ask,
                                  tick.pip_size, self._rehearse_tick):
            return
        self.stats.rehearsals += 1
        self.stats.latency["rehearsal"].append((time.perf_counter() - t0) * 1e6)

    def _rehearse_tick(self, symbol: str, epoch: int, quote: float) -> None:
        """:meth:`_on_tick`'s work in a rehearsal: the board's rehearsal of the tick, its
        record read into an intent (an open of the record's side and size, or a one-lot buy
        when it did not fire or was refused), the executor's and the socket's rehearsal."""
        assert self.executor is not None and self.client is not None
        arrived = self.client.frame_time
        records = self.board.rehearse(self.index[symbol], round(quote * self._scale[symbol]),
                                      epoch)
        if records is not None:
            kinds = records["kind"]
            rec = records.item(0)
            intent = self._intent(rec, epoch, arrived)
            if not kinds[0] & OutputKind.ORDER or rec[_REJECT]:
                intent = intent._replace(side=Side.BUY, lots=1)
        else:
            intent = OrderIntent(symbol, Side.BUY, 1, epoch, 0, arrived)
        data = self.executor.rehearse(intent)
        if data is not None and self._warmer is not None:
            self._warmer.warm(data)

    # -- positions, money, venue streams ---------------------------------------------------
    async def _position_changed(self, symbol: str) -> None:
        self.stats.open_contracts = len(self.jstate.open_contracts())
        if self.board_open:
            await self.board.set_position(self.index[symbol], self.jstate.position(symbol))

    def _equity(self) -> float:
        value = self.stats.balance or 0.0
        for c in self.jstate.open_contracts():
            value += self.marks.get(c.contract_id, c.buy_price)
        return round(value, 2)

    async def _observe_day(self, equity: float) -> None:
        """Move the day's P&L to the clock's UTC day; journal a new day's baseline."""
        assert self.journal is not None
        now = self.now()
        if self.stats.day.observe(now, equity):
            await self.run_sync(self.journal.append, "day", day=self.stats.day.day,
                                baseline=self.stats.day.baseline, epoch=int(now))
            log.info("UTC day %s: the day's P&L counts from equity %.2f", self.stats.day.day,
                     self.stats.day.baseline)

    async def _daily_loss(self, pnl_cents: int) -> None:
        """The day's loss passed ``[risk] daily_loss_limit``: the gate has set its kill
        switch; set the daemon's, durably (the ``KILL`` file), and journal it."""
        assert self.journal is not None
        limit = self.config["risk"]["daily_loss_limit"]
        text = (f"daily loss limit: the P&L of {self.stats.day.day} (UTC) is "
                f"{pnl_cents / 100:+.2f}, the limit {limit / 100:.2f}")
        (self.state_dir / KILL_FILE).write_text(f"kill switch set by the daemon: {text}\n",
                                                encoding="utf-8")
        await self.run_sync(self.journal.append, "day_breach", day=self.stats.day.day,
                            pnl_day=pnl_cents, limit=limit)
        if not self.killed:
            await self._kill(text)

    async def _balances(self, sub: Subscription) -> None:
        with contextlib.suppress(DerivError):
            async for msg in sub:
                bal = (msg.get("balance") or {}).get("balance")
                if bal is not None:
                    self.stats.balance = float(bal)

    async def _contracts(self, sub: Subscription) -> None:
        with contextlib.suppress(DerivError):
            async for msg in sub:
                poc = msg.get("proposal_open_contract") or {}
                cid = poc.get("contract_id")
                if cid is None:
                    continue
                cid = int(cid)
                if poc.get("is_sold"):
                    self.marks.pop(cid, None)
                    if self.executor is not None:
                        await self.executor.closed_by_venue(cid, poc.get("sell_price"))
                elif poc.get("bid_price") is not None:
                    self.marks[cid] = float(poc["bid_price"])

    async def _live_reconcile(self) -> None:
        assert self.executor is not None and self.client is not None
        while True:
            await self.executor.need_reconcile.wait()
            self.executor.need_reconcile.clear()
            await self.executor.pause()
            try:
                await self.client.wait_connected(60)
                await self._reconcile()
                for s in self.symbols:
                    await self._position_changed(s)
            except (DerivError, TimeoutError) as err:
                log.warning("live reconciliation failed, retrying: %s", err)
                await asyncio.sleep(2)
                self.executor.need_reconcile.set()
                continue
            except DisagreementError as err:
                log.critical("%s; stopping", err)
                self.stop_event.set()
                return
            finally:
                if not self.executor.need_reconcile.is_set():
                    self.executor.resume()

    async def _status(self) -> None:
        interval = self.config["daemon"]["status_interval_s"]
        tty = self.out.isatty() if hasattr(self.out, "isatty") else False
        n = 0
        while True:
            await asyncio.sleep(interval)
            n += 1
            self.stats.equity = self._equity()
            await self._observe_day(self.stats.equity)
            if self.feed is not None:
                self.stats.symbol_ticks = dict(self.feed.check.accepted)
            money = (round(self.stats.pnl_day * 100), round(self.stats.equity * 100))
            if self.journal is not None:      # off the order path (see .journal)
                self.journal.trim_ahead()
                await asyncio.get_running_loop().run_in_executor(self._jpool,
                                                                 self.journal.checkpoint)
            if money != self._last_money and self.board_open:
                self._last_money = money
                await self.board.write_money(*money)
            if self.stats.day.breached(money[0], self.config["risk"]["daily_loss_limit"]):
                await self._daily_loss(money[0])
            if not self.killed and (self.state_dir / KILL_FILE).exists():
                await self._kill("the KILL file appeared")
            if tty:
                self.out.write("\r" + self.stats.line() + "\x1b[K")
                self.out.flush()
            elif n % 10 == 0:
                log.info("%s", self.stats.line())

    # -- control ---------------------------------------------------------------------------
    async def _kill(self, source: str) -> None:
        t0 = time.perf_counter()
        self.killed = True
        self.stats.killed = True
        if self.executor is not None:
            self.executor.killed = True
        self._kill_batch = self._batches
        await self.board.kill()
        self.stats.kill_latency_ms = round((time.perf_counter() - t0) * 1000, 3)
        log.warning("kill switch set (%s): no new orders", source)

    async def _command(self, cmd: str) -> dict[str, Any]:
        if cmd == "kill":
            await self._kill("tickgate kill")
            return {"ok": True, "detail": f"set in {self.stats.kill_latency_ms} ms; "
                    f"{self.stats.orders} orders sent so far"}
        if cmd == "clear":
            clear = await self.board.clear_kill()
            if clear:
                self.killed = False
                self.stats.killed = False
                self._kill_batch = None
                if self.executor is not None:
                    self.executor.killed = False
            return {"ok": True, "clear": clear,
                    "detail": "trading resumes" if clear else "a loss limit holds it"}
        return {"ok": True, "status": self.stats.summary()}

    # -- shutdown --------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if self.rehearsal is not None:
            self.rehearsal.stop()
        if self._warmer is not None:
            self._warmer.close()
        if self.feed is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.feed.stop(), 5)
        if self.executor is not None:
            await self.executor.stop(5.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.control is not None:
            await self.control.stop()
        if self.board_open:
            self.stats.equity = self._equity()
            if self.feed is not None:
                self.stats.symbol_ticks = dict(self.feed.check.accepted)
            if self.out.isatty():
                self.out.write("\n")
            self._say(self.stats.summary_text())
            if self.summary_json:
                self.stats.write_json(self.summary_json)
        self.board_open = False
        with contextlib.suppress(Exception):
            await self.board.close()
        if self.client is not None:
            await self.client.close()
        if self.journal is not None:
            await self.run_sync(self.journal.close)
        self._jpool.shutdown(wait=True)
        if self.sim is not None:
            await asyncio.to_thread(self.sim.stop)
        if self._cpu_latency is not None:
            self._cpu_latency.release()
        if self._lock_file is not None:
            self._lock_file.close()


def run_daemon(config: Config, **kw: Any) -> int:
    """Run a :class:`Daemon` on a uvloop event loop; the exit status."""
    import uvloop

    async def main() -> int:
        return await Daemon(config, **kw).run()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def setup_logging(level: int = logging.INFO) -> None:
    """Log lines on stderr: ``time level logger: message`` (every message redacted)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    from tickgate.host.venues.deriv.redact import RedactFilter
    handler.addFilter(RedactFilter())


__all__ += ["run_daemon", "setup_logging", "SafetyError"]
