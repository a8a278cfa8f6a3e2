"""The board, owned by one worker thread, fed with packed tick batches.

Why a thread: every :class:`~tickgate.drivers.board.Board` call is synchronous (the model
board computes in numpy/numba, the simulated board steps Verilator, a card waits for its
DMA), and the card wants its calls serialised. So the board lives in a single-thread
executor: the event loop hands it work and awaits the result, and is never blocked by it
(the Deriv socket, the control socket and the status line stay live while a batch runs).
Ticks are batched naturally: while one ``process_ticks`` call runs, the feed keeps queueing
ticks, and the next call takes everything queued (up to ``batch_max``).

Inline batches: on the model board a call of one tick takes ~60 µs, about what the hop to
the thread and back costs on a loaded machine, so a batch of at most ``inline_max`` ticks
runs on the event loop itself (:meth:`BoardRunner.process_inline`) when no call waits for
the board thread, so the board still sees every call in the order it was made (a kill
switch set before a batch applies to it). A lock serialises every board access. The
daemon's hot path is one tick at a time, in the tick's own frame callback
(:meth:`BoardRunner.process_one`: no batch object, one record packed at once); the other
short calls (a position, the money registers, the kill switch) also run on the loop when
the thread is idle, so that a fill does not send the next tick through the thread.

Packing (:class:`TickPacker`): a quote (float, already rounded by the feed to the symbol's
``pip_size`` decimals from ``active_symbols``) becomes ``pips = round(quote * 10**pip)``;
the card gets ``pips - base`` where ``base`` is the symbol's first price in pips; that
first tick carries ``TickFlag.RESET`` and the symbol's table entry (base, position limit) is
written before it. A price that drifts beyond ``int32`` from its base re-bases the symbol
(a new base and another RESET). ``ts`` is the tick's epoch in ms modulo 2**32 (the gate's
market clock); ``seq`` counts ticks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from tickgate.drivers.board import Board, open_board
from tickgate.gateware.decision import DecisionConfig
from tickgate.gateware.params import EngineConfig
from tickgate.gateware.records import TICK_DTYPE, TickFlag
from tickgate.gateware.risk_model import RiskLimits, gcra_registers
from tickgate.host.daemon.config import Config, board_build

__all__ = ["BoardRunner", "TickPacker", "Batch", "risk_limits", "decision_config"]

T = TypeVar("T")
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


def risk_limits(config: Config) -> RiskLimits:
    """The gate's limits from ``[risk]`` (order rates through the GCRA registers)."""
    r = config["risk"]
    sym = gcra_registers(r["rate_sym_orders"], r["rate_sym_per_ms"]) \
        if r["rate_sym_per_ms"] else (0, 0)
    glob = gcra_registers(r["rate_global_orders"], r["rate_global_per_ms"]) \
        if r["rate_global_per_ms"] else (0, 0)
    limits = RiskLimits(
        max_qty=r["max_qty"], max_notional=r["max_notional"], collar_bps=r["collar_bps"],
        stale_ms=r["stale_ms"], gross_limit=r["gross_limit"],
        daily_loss_limit=r["daily_loss_limit"], max_drawdown=r["max_drawdown"],
        rate_sym_interval=sym[0], rate_sym_tolerance=sym[1],
        rate_global_interval=glob[0], rate_global_tolerance=glob[1],
        dup_window_ms=r["dup_window_ms"])
    limits.check()
    return limits


def decision_config(config: Config) -> DecisionConfig:
    """The decision unit's registers from ``[decision]`` (the placeholder strategy)."""
    d = config["decision"]
    cfg = DecisionConfig(enable=d["enable"], warmup=d["warmup"], bias=d["bias"],
                         enter=d["enter"], exit=d["exit"], qty=d["qty"],
                         strategy=d["strategy"], weights=tuple(d["weights"]),
                         shifts=tuple(d["shifts"]))
    cfg.check()
    return cfg


@dataclass
class Batch:
    """Ticks waiting for the board: symbol index, pips, epoch, arrival (perf_counter)."""

    symbol: list[int]
    pips: list[int]
    epoch: list[int]
    arrived: list[float]

    @classmethod
    def empty(cls) -> Batch:
        return cls([], [], [], [])

    def __len__(self) -> int:
        return len(self.symbol)

    def head(self, n: int) -> Batch:
        """The first ``n`` ticks."""
        return Batch(self.symbol[:n], self.pips[:n], self.epoch[:n], self.arrived[:n])

    def tail(self, n: int) -> Batch:
        """The ticks after the first ``n``."""
        return Batch(self.symbol[n:], self.pips[n:], self.epoch[n:], self.arrived[n:])


class TickPacker:
    """Per-symbol bases and the ``seq`` counter (see the module docstring). Used only in
    the board thread."""

    def __init__(self, pos_limit: int) -> None:
        self.pos_limit = pos_limit
        self.base: dict[int, int] = {}
        self.seq = 0

    def pack(self, board: Board, batch: Batch) -> np.ndarray:
        """``TICK_DTYPE`` records for ``batch``; writes new symbols' table entries first."""
        n = len(batch)
        ticks = np.zeros(n, TICK_DTYPE)
        price = np.empty(n, np.int64)
        flags = np.zeros(n, np.uint8)
        for i, (sym, pips) in enumerate(zip(batch.symbol, batch.pips, strict=True)):
            base = self._held_base(sym, pips)
            if base is None:
                base = pips
                self.base[sym] = base
                board.set_symbol(sym, base=base, pos_limit=self.pos_limit)
                flags[i] = TickFlag.RESET
            price[i] = pips - base
        ticks["price"] = price
        ticks["symbol"] = batch.symbol
        ticks["ts"] = (np.asarray(batch.epoch, np.int64) * 1000) % 2**32
        ticks["flags"] = flags
        ticks["seq"] = (self.seq + np.arange(n, dtype=np.int64)) % 2**32
        self.seq += n
        return ticks

    def pack_one(self, board: Board, symbol: int, pips: int, epoch: int) -> np.ndarray:
        """:meth:`pack` of a batch of one tick (the same record, fewer steps)."""
        flags = 0
        base = self._held_base(symbol, pips)
        if base is None:
            base = pips
            self.base[symbol] = base
            board.set_symbol(symbol, base=base, pos_limit=self.pos_limit)
            flags = TickFlag.RESET
        seq = self.seq
        self.seq = seq + 1
        return _tick_record(pips - base, seq, epoch, symbol, flags)

    def rehearsal_tick(self, symbol: int, pips: int, epoch: int) -> np.ndarray:
        """The record :meth:`pack_one` would give, built the same way, with nothing of the
        packer (sequence, bases) or the board moved: a rehearsal's tick."""
        base = self._held_base(symbol, pips)
        return _tick_record(pips - (pips if base is None else base), self.seq, epoch, symbol, 0)

    def _held_base(self, symbol: int, pips: int) -> int | None:
        """The symbol's base if ``pips`` is within int32 of it; None when it needs a new
        one (a first tick, or a price that left the range)."""
        base = self.base.get(symbol)
        if base is None or not _I32_MIN <= pips - base <= _I32_MAX:
            return None
        return base


def _tick_record(price: int, seq: int, epoch: int, symbol: int, flags: int) -> np.ndarray:
    """One ``TICK_DTYPE`` record (an array of one): ``seq`` and the epoch (s) in ms
    modulo 2**32."""
    return np.array([(price, seq % 2**32, epoch * 1000 % 2**32, symbol, flags, 0)],
                    TICK_DTYPE)


class BoardRunner:
    """The board and its one thread. Every call reaches the board in call order: in the
    thread, or on the event loop when the board allows it and the thread is idle
    (:meth:`call`, :meth:`process_inline`, :meth:`process_one`)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.kind = config["daemon"]["board"]
        self.board: Board | None = None
        self.packer = TickPacker(config["risk"]["pos_limit"])
        self.inline_max = config["daemon"]["inline_max"] if self.kind == "model" else 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="tickgate-board")
        self._lock = threading.Lock()
        self._queued = 0          # calls handed to the thread and not finished

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the board thread."""
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._locked,
                                                                    fn, *args)
        finally:
            self._queued -= 1

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a short call ``fn(*args)`` on the event loop when inline calls are allowed and
        the thread is idle (call order kept), else in the thread (:meth:`run`)."""
        if self.inline_max and not self._queued and self._lock.acquire(blocking=False):
            try:
                return fn(*args)
            finally:
                self._lock.release()
        return await self.run(fn, *args)

    async def open(self, *, equity_cents: int, pnl_cents: int = 0,
                   positions: dict[int, int]) -> str:
        """Open the board (the model and sim boards of the build ``[daemon]`` asks for, see
        :func:`~.config.board_build`), load every register, write positions, equity and the
        day's P&L, clear the kill switch (a standing loss breach keeps it set); return the
        board's health sentence. ``ValueError`` (one sentence) when the board holds fewer
        symbols than the configuration lists."""
        return await self.run(self._open, equity_cents, pnl_cents, positions)

    def _open(self, equity_cents: int, pnl_cents: int, positions: dict[int, int]) -> str:
        options: dict[str, Any] = {}
        if self.kind in ("pynq", "alveo") and self.config["daemon"]["bitstream"]:
            options["bitfile"] = self.config["daemon"]["bitstream"]
        build = board_build(self.config["daemon"])
        if build is not None:
            options["symbols"] = build
        board = open_board(self.kind, **options)
        self.board = board
        n_symbols = len(self.config["daemon"]["symbols"])
        capacity = board.info.register("restricted").count * 32
        if n_symbols > capacity:
            board.close()
            self.board = None
            raise ValueError(f"the {self.kind} board holds {capacity} symbols but the "
                             f"configuration lists {n_symbols}.")
        board.load_engine(EngineConfig())
        board.load_decision(decision_config(self.config))
        board.load_limits(risk_limits(self.config))
        board.write_equity(equity_cents)
        board.write_pnl(max(_I32_MIN, min(_I32_MAX, pnl_cents)))
        for sym, pos in positions.items():
            board.set_position(sym, pos)
        self._warm_up(board, capacity - 1)
        board.clear_kill()
        return board.health().detail

    @staticmethod
    def _warm_up(board: Board, spare: int) -> None:
        """One tick on an unused symbol index, before the kill switch is cleared: the first
        ``process_ticks`` loads compiled code (numba's cache, a simulator's library) and
        would otherwise delay the first real batch by a few hundred ms. The tick resets that
        symbol only and, with the kill switch still set, can fire nothing."""
        tick = np.zeros(1, TICK_DTYPE)
        tick["symbol"] = spare
        tick["flags"] = TickFlag.RESET
        board.process_ticks(tick)

    def _require(self) -> Board:
        if self.board is None:
            raise RuntimeError("the board is not open")
        return self.board

    async def process(self, batch: Batch) -> tuple[np.ndarray, float]:
        """Pack and run one batch; the records and the board call's time (µs)."""
        return await self.run(self._process, batch)

    def process_inline(self, batch: Batch) -> tuple[np.ndarray, float] | None:
        """Run ``batch`` here (on the event loop) if it is small enough for it and nothing
        waits for the board thread (a kill or a position write queued before it must reach
        the board first); None otherwise (then :meth:`process` it)."""
        if (len(batch) > self.inline_max or self._queued
                or not self._lock.acquire(blocking=False)):
            return None
        try:
            return self._process(batch)
        finally:
            self._lock.release()

    def process_one(self, symbol: int, pips: int, epoch: int) -> tuple[np.ndarray, float] | None:
        """One tick through the board here, on the event loop (see :meth:`process_inline`);
        its record (an array of one) and the call's time (µs), or None."""
        if (not self.inline_max or self._queued
                or not self._lock.acquire(blocking=False)):
            return None
        try:
            board = self._require()
            tick = self.packer.pack_one(board, symbol, pips, epoch)
            t0 = time.perf_counter()
            out = board.process_ticks(tick)
            return out, (time.perf_counter() - t0) * 1e6
        finally:
            self._lock.release()

    def rehearse(self, symbol: int, pips: int, epoch: int) -> np.ndarray | None:
        """:meth:`process_one`'s work, undone (``Board.rehearse_tick``): the packer, the
        board and every count stay as they were. The record, or None when the board cannot
        rehearse or is busy (the thread holds it, or calls wait for it)."""
        if (not self.inline_max or self._queued
                or not self._lock.acquire(blocking=False)):
            return None
        try:
            board = self._require()
            return board.rehearse_tick(self.packer.rehearsal_tick(symbol, pips, epoch))
        finally:
            self._lock.release()

    async def submit_orders(self, orders: np.ndarray) -> np.ndarray:
        """Host orders (``ORDER_DTYPE``) through the risk gate; one verdict record each."""
        return await self.run(lambda: self._require().submit_orders(orders))

    def _process(self, batch: Batch) -> tuple[np.ndarray, float]:
        board = self._require()
        ticks = self.packer.pack(board, batch)
        t0 = time.perf_counter()
        out = board.process_ticks(ticks)
        return out, (time.perf_counter() - t0) * 1e6

    async def set_position(self, symbol: int, lots: int) -> None:
        """The confirmed position of ``symbol`` (lots, signed)."""
        await self.call(lambda: self._require().set_position(symbol, lots))

    async def write_money(self, pnl_cents: int, equity_cents: int) -> None:
        """The day's P&L (the ``pnl_day`` register, see :mod:`.daypnl`) and the equity,
        cents."""
        def write() -> None:
            board = self._require()
            board.write_pnl(max(_I32_MIN, min(_I32_MAX, pnl_cents)))
            board.write_equity(max(_I32_MIN, min(_I32_MAX, equity_cents)))
        await self.call(write)

    async def kill(self) -> None:
        """Set the board's kill switch."""
        await self.call(lambda: self._require().kill())

    async def clear_kill(self) -> bool:
        """Clear it; whether it is clear."""
        return await self.call(lambda: self._require().clear_kill())

    async def close(self) -> None:
        """Close the board and stop the thread."""
        if self.board is not None:
            await self.run(self.board.close)
        self._pool.shutdown(wait=True)
