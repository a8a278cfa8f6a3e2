"""The conformance suite every :class:`~tickgate.drivers.board.Board` passes.

Subclass :class:`BoardConformance` and give it a ``board`` fixture (an opened board of
:data:`SYMBOLS` symbols, its register map generated from the gateware); every test runs the
same calls on it and on a fresh :class:`~tickgate.drivers.model_board.ModelBoard`, the
reference, and requires the same answers: the same output records byte for byte, the same
register values, the same errors. Boards that can inject faults also subclass
:class:`FaultConformance` and implement its hooks.

The scenario keeps ``feed_timeout`` at 0 and reads no cycle-timed register (``cycles_*``,
the watchdog): the model has no clock (see :mod:`tickgate.gateware.card_model`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import numpy as np
import pytest

from tickgate.drivers.board import (
    Board,
    BoardBusError,
    BoardClosed,
    BoardDmaError,
    BoardError,
    BoardMismatch,
    BoardTimeout,
)
from tickgate.drivers.model_board import ModelBoard
from tickgate.drivers.regmap import RegisterMapInfo
from tickgate.gateware.card_regs import card_regmap
from tickgate.gateware.decision import DecisionConfig
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import ORDER_DTYPE, TICK_DTYPE, OutputKind, Reject, Side, TickFlag
from tickgate.gateware.risk_model import RiskLimits

#: Symbols of the build every board of the suite has.
SYMBOLS = 64
PARAMS = EngineParams(n_symbols=SYMBOLS)

ENGINE = EngineConfig.from_periods(ema_fast=3, ema_slow=7, macd_signal=4, rsi=5, sma=6, roc=4,
                                   minmax=6)
#: Fires often: the momentum input alone, small thresholds.
DECISION = DecisionConfig(enable=True, warmup=3, enter=3, exit=1, qty=2, strategy=7,
                          weights=(0, 0, 0, 0, 1, 0, 0, 0), shifts=(16, 16, 16, 16, 0, 16, 0, 0))
#: Tight enough that every kind of refusal happens in the scenario.
LIMITS = RiskLimits(max_qty=5, max_notional=5 * 100_500, collar_bps=30, stale_ms=400,
                    gross_limit=40, daily_loss_limit=1_000, max_drawdown=5_000,
                    rate_sym_interval=20, rate_sym_tolerance=40, rate_global_interval=2,
                    rate_global_tolerance=10, dup_window_ms=50)
BASE = 100_000
#: Registers whose value depends on the clock (the model has none).
CLOCKED = {"cycles_lo", "cycles_hi", "latency_last", "latency_min", "latency_max"}


def reference() -> ModelBoard:
    """A fresh, opened model board of the suite's build: the reference."""
    board = ModelBoard.create(params=PARAMS)
    board.open()
    return board


def random_ticks(rng: np.random.Generator, n: int, *, t0: int = 0, seq0: int = 0,
                 bad: float = 0.01) -> np.ndarray:
    """``n`` ticks of random symbols (a few unknown ones), prices walking in pips."""
    ticks = np.zeros(n, TICK_DTYPE)
    symbols = rng.integers(0, SYMBOLS, n)
    symbols[rng.random(n) < bad] = SYMBOLS + 3          # unknown: BAD_SYMBOL records
    ticks["symbol"] = symbols
    ticks["price"] = 500 + np.cumsum(rng.integers(-4, 5, n))
    ticks["ts"] = t0 + np.cumsum(rng.integers(0, 9, n))
    ticks["seq"] = seq0 + np.arange(n)
    return ticks


def random_orders(rng: np.random.Generator, n: int, first_id: int) -> np.ndarray:
    """``n`` host orders, most plausible, some over a limit, a few malformed."""
    orders = np.zeros(n, ORDER_DTYPE)
    orders["order_id"] = first_id + np.arange(n)
    orders["qty"] = rng.choice([1, 2, 3, 6, 0, -1], n, p=[.35, .25, .2, .1, .05, .05])
    orders["price"] = 500 + rng.integers(-10, 11, n)
    orders["symbol"] = rng.choice(np.r_[np.arange(8), SYMBOLS + 1], n)
    orders["side"] = rng.choice([Side.BUY, Side.SELL, 0], n, p=[.48, .48, .04])
    orders["strategy"] = 9
    orders["flags"] = rng.choice([0, 1], n, p=[.97, .03])
    return orders


def configure(board: Board) -> None:
    """Load the suite's engine, model, limits and symbol table; clear the kill switch."""
    board.load_engine(ENGINE)
    board.load_decision(DECISION)
    board.load_limits(LIMITS)
    board.set_restricted(1 << 5)
    for s in range(SYMBOLS):
        board.set_symbol(s, base=BASE, pos_limit=10 + s % 7)
    assert board.clear_kill()


def first_ticks(ticks: np.ndarray) -> np.ndarray:
    """Set RESET on each symbol's first tick (the engine starts the symbol afresh)."""
    first = np.unique(ticks["symbol"], return_index=True)[1]
    ticks["flags"][first] |= TickFlag.RESET
    return ticks


def observed(board: Board) -> dict[str, int]:
    """Every register a host reads that does not depend on the clock."""
    values = {}
    for name in board.info.names():
        reg = board.info.register(name)
        if reg.access == "wo" or name in CLOCKED:
            continue
        for k in range(reg.count):
            values[f"{name}[{k}]"] = board.read(name, k)
    return values


def assert_same_records(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and len(got) == len(want), what
    if got.tobytes() != want.tobytes():
        i = int(np.flatnonzero(got != want)[0])
        names = [n for n in got.dtype.names if got[i][n] != want[i][n]]
        raise AssertionError(f"{what}: record {i} differs in {names}: board {got[i]} "
                             f"model {want[i]}")


class BoardConformance:
    """Tests every board passes. Subclasses define the ``board`` fixture."""

    @pytest.fixture
    def board(self) -> Iterator[Board]:     # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def model(self) -> Iterator[ModelBoard]:
        board = reference()
        yield board
        board.close()

    # ------------------------------------------------------------------ identity
    def test_identify_reads_the_maps_id_version_and_hash(self, board: Board) -> None:
        ident = board.identify()
        assert (ident.ident, ident.version, ident.map_hash) == (
            board.info.ident, board.info.version, board.info.hash)
        assert ident.board == board.kind

    def test_a_register_map_of_another_build_is_refused(self, board: Board) -> None:
        other = RegisterMapInfo.from_json(card_regmap(EngineParams(n_symbols=32)).to_json())
        board.info, saved = other, board.info
        try:
            with pytest.raises(BoardMismatch, match="map_hash"):
                board.identify()
        finally:
            board.info = saved

    # ------------------------------------------------------------------ registers
    def test_reset_values_and_every_rw_register_read_back_as_on_the_model(
            self, board: Board, model: ModelBoard) -> None:
        assert observed(board) == observed(model)
        rng = np.random.default_rng(7)
        for name in board.info.names():
            reg = board.info.register(name)
            if reg.access != "rw":
                continue
            lo, hi = reg.range
            for k in range(reg.count):
                for value in (lo, hi, int(rng.integers(lo, hi, endpoint=True))):
                    board.write(name, value, k)
                    model.write(name, value, k)
                    assert board.read(name, k) == model.read(name, k) == value, name
                    if name == "feed_timeout":          # the watchdog is clocked: keep it off
                        board.write(name, 0)
                        model.write(name, 0)
        assert observed(board) == observed(model)

    def test_bad_register_accesses_raise_and_are_counted(self, board: Board) -> None:
        before = board.read("bus_errors")
        with pytest.raises(BoardBusError, match="SLVERR"):
            board.write32(board.info.offset("ticks_in"), 5)
        with pytest.raises(BoardBusError, match="DECERR"):
            board.read32(board.info.offset("max_qty") + 2)             # misaligned
        end = (1 << board.info.addr_bits) - 4
        assert end >= board.info.offset("latency_max") + 4
        with pytest.raises(BoardBusError, match="DECERR"):
            board.write32(end, 1)                                      # unmapped
        assert board.read("bus_errors") == before + 3
        assert board.read("ticks_in") == 0
        assert board.read32(board.info.offset("kill_set")) == 0        # wo reads 0

    def test_named_access_refuses_out_of_range_values_before_the_bus(self, board: Board) -> None:
        with pytest.raises(ValueError, match="collar_bps"):
            board.write("collar_bps", 1 << 16)
        with pytest.raises(ValueError, match="read-only"):
            board.write("status", 0)
        with pytest.raises(KeyError):
            board.read("no_such_register")
        assert board.read("bus_errors") == 0

    # ------------------------------------------------------------------ streams
    def test_a_replay_with_orders_kills_and_fills_gives_the_models_records(
            self, board: Board, model: ModelBoard) -> None:
        rng = np.random.default_rng(2026)
        for b in (board, model):
            configure(b)
        t, seq, order_id = 0, 0, 1
        for step in range(12):
            ticks = random_ticks(rng, int(rng.integers(200, 3000)), t0=t, seq0=seq)
            if step == 0:
                first_ticks(ticks)
            t, seq = int(ticks["ts"][-1]), seq + len(ticks)
            orders = random_orders(rng, int(rng.integers(1, 40)), order_id)
            order_id += len(orders)
            for b in (board, model):
                if step == 4:
                    b.set_position(3, 9)
                    b.set_position(4, -8)
                if step == 6:
                    b.kill()
                if step == 7:
                    assert b.clear_kill()
                if step == 9:
                    b.write_pnl(-1_001)                     # a loss breach sets the kill
                if step == 10:
                    b.write_pnl(0)
                    b.clear_risk()
                    assert b.clear_kill()
            assert_same_records(board.process_ticks(ticks), model.process_ticks(ticks),
                                f"ticks of step {step}")
            assert_same_records(board.submit_orders(orders), model.submit_orders(orders),
                                f"orders of step {step}")
        assert observed(board) == observed(model)
        counts = model.counters()
        assert counts["intents"] > 100 and counts["accepted"] > 50
        refused = [k for k in Reject.names() if counts[f"reject_{k.lower()}"]]
        assert len(refused) >= 10, refused

    def test_batches_are_cut_at_max_batch_and_give_the_same_records(
            self, board: Board, model: ModelBoard) -> None:
        rng = np.random.default_rng(5)
        ticks = first_ticks(random_ticks(rng, 1000))
        for b in (board, model):
            configure(b)
        board.max_batch = 37
        assert_same_records(board.process_ticks(ticks), model.process_ticks(ticks), "ticks")
        orders = random_orders(rng, 100, 1)
        assert_same_records(board.submit_orders(orders), model.submit_orders(orders), "orders")
        assert board.read("records_out") == 1100

    def test_every_record_answers_its_tick_or_order(self, board: Board) -> None:
        configure(board)
        rng = np.random.default_rng(11)
        ticks = first_ticks(random_ticks(rng, 500))
        out = board.process_ticks(ticks)
        assert np.array_equal(out["seq"], ticks["seq"])
        assert np.all(out["kind"] & OutputKind.FEATURE)
        orders = random_orders(rng, 20, 1000)
        verdicts = board.submit_orders(orders)
        assert np.array_equal(verdicts["order_id"], orders["order_id"])
        assert np.all(verdicts["reject"][orders["qty"] <= 0] == Reject.BAD_ORDER)

    def test_empty_batches_and_wrong_dtypes(self, board: Board) -> None:
        assert len(board.process_ticks(np.zeros(0, TICK_DTYPE))) == 0
        assert len(board.submit_orders(np.zeros(0, ORDER_DTYPE))) == 0
        with pytest.raises(TypeError, match="dtype"):
            board.process_ticks(np.zeros(3, ORDER_DTYPE))
        with pytest.raises(TypeError, match="dtype"):
            board.submit_orders(np.zeros(3, TICK_DTYPE))

    def test_a_closed_board_refuses_every_call(self, board: Board) -> None:
        board.close()
        board.close()                                   # idempotent
        with pytest.raises(BoardClosed):
            board.read("status")
        with pytest.raises(BoardClosed):
            board.process_ticks(np.zeros(1, TICK_DTYPE))
        health = board.health()
        assert not health.ok and "not open" in health.detail

    def test_health_reports_the_kill_switch_and_counters(self, board: Board) -> None:
        health = board.health()
        assert health.ok and health.kill and not health.failed_over
        assert health.counters["ticks_in"] == 0
        configure(board)
        board.process_ticks(first_ticks(random_ticks(np.random.default_rng(1), 10)))
        health = board.health()
        assert not health.kill and health.counters["ticks_in"] == 10


class FaultConformance:
    """Error paths, for boards that can inject faults: hooks return context managers
    inside which the next transfer fails that way."""

    def stalled_output(self, board: Board) -> AbstractContextManager[None]:
        """The card stops taking or giving records."""
        raise NotImplementedError

    def lost_records(self, board: Board) -> AbstractContextManager[None]:
        """The DMA returns fewer records than were sent, or reports an error."""
        raise NotImplementedError

    def test_a_card_that_stops_answering_times_out_and_the_next_call_works(
            self, board: Board) -> None:
        ticks = first_ticks(random_ticks(np.random.default_rng(3), 50))
        board.timeout = 0.5
        with self.stalled_output(board), pytest.raises(BoardTimeout, match="tick"):
            board.process_ticks(ticks)
        board.timeout = 5.0
        assert len(board.process_ticks(ticks)) == len(ticks)

    def test_a_dma_error_is_a_clear_exception(self, board: Board) -> None:
        ticks = first_ticks(random_ticks(np.random.default_rng(4), 50))
        with self.lost_records(board), pytest.raises(BoardDmaError) as info:
            board.process_ticks(ticks)
        assert isinstance(info.value, BoardError) and str(info.value)
