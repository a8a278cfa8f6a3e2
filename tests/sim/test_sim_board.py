"""The simulated board (the card's Verilog under Verilator): the board conformance suite,
word-for-word agreement with the card's reference model, DMA batches and the error paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import numpy as np
import pytest
from board_conformance import (
    DECISION,
    ENGINE,
    LIMITS,
    PARAMS,
    BoardConformance,
    FaultConformance,
    configure,
    first_ticks,
    random_orders,
    random_ticks,
)

from tickgate.drivers.board import (
    MAX_BATCH,
    BoardBusError,
    BoardDmaError,
    BoardTimeout,
    open_board,
)
from tickgate.drivers.sim_board import SimBoard
from tickgate.gateware.records import ORDER_DTYPE, OUTPUT_DTYPE, TICK_DTYPE, TickFlag
from tickgate.gateware.top import TickgateTop
from tickgate.gateware.top_model import TopModel
from tickgate.sim.library import Fault, SimDmaError, SimLibrary


@pytest.fixture
def sim(sim_artifacts) -> Iterator[SimBoard]:
    board = SimBoard.create(params=PARAMS)
    board.open()
    assert board.library_path == sim_artifacts.library
    yield board
    board.close()


class TestSimBoard(BoardConformance, FaultConformance):
    """The same calls on the simulated board and on the model board give the same answers."""

    @pytest.fixture
    def board(self, sim: SimBoard) -> SimBoard:
        return sim

    def stalled_output(self, board: SimBoard) -> AbstractContextManager[None]:
        return board.inject(Fault.OUT_STALL)

    def lost_records(self, board: SimBoard) -> AbstractContextManager[None]:
        return board.inject(s2mm_capacity=10)


def model_like(board: SimBoard) -> TopModel:
    """A :class:`TopModel` configured as :func:`configure` configures a board."""
    model = TopModel(PARAMS, engine=ENGINE, decision=DECISION)
    for s in range(PARAMS.n_symbols):
        model.risk.set_symbol(s, base=100_000, pos_limit=10 + s % 7)
        model.risk.set_restricted(s, s == 5)
    model.risk.set_limits(LIMITS)
    model.risk.clear_kill()
    return model


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert len(got) == len(want), what
    if got.tobytes() != want.tobytes():
        i = int(np.flatnonzero(got != want)[0])
        names = [n for n in OUTPUT_DTYPE.names if got[i][n] != want[i][n]]
        raise AssertionError(f"{what}: record {i} differs in {names}: card {got[i]} "
                             f"model {want[i]}")


@pytest.mark.parametrize("stalls", [0.0, 0.3], ids=["streaming", "random-stalls"])
def test_random_ticks_and_orders_are_the_top_models_word_for_word(
        sim: SimBoard, stalls: float) -> None:
    configure(sim)
    model = model_like(sim)
    sim.set_stalls(gap=stalls, ready_low=stalls, seed=9)
    rng = np.random.default_rng(31)
    t, seq, order_id = 0, 0, 1
    before = sim.cycles
    for step in range(6):
        ticks = random_ticks(rng, int(rng.integers(500, 4000)), t0=t, seq0=seq)
        if step == 0:
            first_ticks(ticks)
        t, seq = int(ticks["ts"][-1]), seq + len(ticks)
        want = model.process_ticks(ticks)
        assert_same(sim.process_ticks(ticks), want, f"ticks of step {step}")
        orders = random_orders(rng, int(rng.integers(1, 50)), order_id)
        order_id += len(orders)
        want = np.array([model.pass_order(o) for o in orders], OUTPUT_DTYPE)
        assert_same(sim.submit_orders(orders), want, f"orders of step {step}")
    for s in range(8):
        sim.write("sym_index", s)
        assert sim.read("sym_position_now") == model.risk.symbols[s].pos
    assert sim.read("gross_lo") == model.risk.gross
    assert sim.read("ticks_in") == seq
    if stalls:                                      # the handshakes really were stalled
        assert sim.cycles - before > 1.3 * seq


def test_registers_by_name_over_axi_lite(sim: SimBoard) -> None:
    ident = sim.identify()
    assert (ident.ident, ident.version, ident.map_hash) == (sim.info.ident, sim.info.version,
                                                            sim.info.hash)
    sim.write("max_qty", 1234)
    sim.write("decision_bias", -5)
    assert (sim.read("max_qty"), sim.read("decision_bias")) == (1234, -5)
    with pytest.raises(BoardBusError, match="SLVERR"):
        sim.write32(sim.info.offset("ticks_in"), 7)                    # read-only
    with pytest.raises(BoardBusError, match="DECERR"):
        sim.read32((1 << sim.info.addr_bits) - 4)                      # unmapped
    assert sim.read("bus_errors") == 2 and sim.read("ticks_in") == 0


def test_max_batch_cuts_the_stream_into_batches_each_ending_in_tlast(sim: SimBoard) -> None:
    configure(sim)
    model = model_like(sim)
    ticks = first_ticks(random_ticks(np.random.default_rng(8), 1000))
    sim.max_batch = 37
    before = sim.cycles
    assert_same(sim.process_ticks(ticks), model.process_ticks(ticks), "ticks")
    # S2MM ends a batch at tlast: 28 batches came back whole, none ran into the next.
    assert sim.read("records_out") == 1000
    assert sim.cycles - before < 1000 * 3
    sim.max_batch = 1
    orders = random_orders(np.random.default_rng(2), 5, 1)
    assert len(sim.submit_orders(orders)) == 5


def test_transfer_counts_outside_one_to_max_batch_are_refused(sim: SimBoard) -> None:
    lib: SimLibrary = sim._sim
    out = np.empty(4, OUTPUT_DTYPE)
    with pytest.raises(SimDmaError, match="1 .. "):
        lib.transfer("tick", np.zeros(0, TICK_DTYPE), out, max_cycles=100)
    with pytest.raises(SimDmaError, match="1 .. "):
        lib.transfer("order", np.zeros(MAX_BATCH + 1, ORDER_DTYPE), out, max_cycles=100)


def test_a_stopped_card_times_out_and_the_next_batch_is_whole(sim: SimBoard) -> None:
    ticks = first_ticks(random_ticks(np.random.default_rng(3), 300))
    with sim.inject(Fault.OUT_STALL), pytest.raises(BoardTimeout, match="did not finish"):
        sim.process_ticks(ticks)
    with sim.inject(Fault.DROP_TLAST), pytest.raises(BoardTimeout, match="did not finish"):
        sim.process_ticks(ticks[:5])
    assert np.array_equal(sim.process_ticks(ticks)["seq"], ticks["seq"])


def test_an_early_tlast_or_a_full_buffer_is_a_dma_error(sim: SimBoard) -> None:
    ticks = first_ticks(random_ticks(np.random.default_rng(4), 6))
    with sim.inject(Fault.EARLY_TLAST), pytest.raises(BoardDmaError, match="came back as 1"):
        sim.process_ticks(ticks)
    with sim.inject(s2mm_capacity=2), pytest.raises(BoardDmaError, match="filled before"):
        sim.process_ticks(ticks)
    assert np.array_equal(sim.process_ticks(ticks)["seq"], ticks["seq"])


def test_a_bus_that_never_answers_times_out_and_recovers(sim: SimBoard) -> None:
    with sim.inject(Fault.BUS_STALL), pytest.raises(BoardTimeout, match="no response"):
        sim.read("status")
    with sim.inject(Fault.BUS_STALL), pytest.raises(BoardTimeout, match="no response"):
        sim.write("max_qty", 3)
    assert sim.read("max_qty") == 3                 # the write itself reached the card
    sim.identify()


def test_the_cycle_counter_is_the_cards_clock(sim: SimBoard) -> None:
    lo = sim.read("cycles_lo")
    offset = sim.cycles - lo
    sim.idle(12_345)
    lo = sim.read("cycles_lo")
    assert sim.cycles - lo == offset
    assert sim.read("cycles_hi") == 0


def test_interleaved_ticks_flow_one_per_cycle_with_the_cards_latency(sim: SimBoard) -> None:
    configure(sim)
    sim.write("command", 4)                         # CLEAR_COUNTERS
    n = 16 * PARAMS.n_symbols
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = np.arange(n) % PARAMS.n_symbols
    ticks["price"] = 500 + np.arange(n) % 7
    ticks["ts"] = 1000 + np.arange(n)
    ticks["flags"][: PARAMS.n_symbols] = TickFlag.RESET
    before = sim.cycles
    sim.process_ticks(ticks)
    latency = TickgateTop.latency_of(PARAMS)
    assert sim.cycles - before <= n + latency + 2
    assert [sim.read(f"latency_{k}") for k in ("min", "max")] == [latency, latency]


def test_open_board_by_name_and_reset(sim_artifacts) -> None:
    board = open_board("sim", symbols=PARAMS.n_symbols)
    try:
        assert board.identify().board == "sim"
        board.write("max_qty", 9)
        board.reset()
        assert board.read("max_qty") == 0 and board.read("status") & 1     # KILL after reset
    finally:
        board.close()
