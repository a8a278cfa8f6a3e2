"""The model board passes the conformance suite; its own limits and its bulk fast path."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from board_conformance import (
    DECISION,
    ENGINE,
    PARAMS,
    BoardConformance,
    configure,
    first_ticks,
    random_ticks,
)

from tickgate.drivers.board import BoardError, open_board
from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.risk_model import RiskLimits
from tickgate.gateware.top_model import TopModel


class TestModelBoard(BoardConformance):
    @pytest.fixture
    def board(self) -> Iterator[ModelBoard]:
        board = ModelBoard.create(params=PARAMS)
        board.open()
        yield board
        board.close()


def test_open_board_by_name_gives_an_opened_model_board() -> None:
    board = open_board("model", symbols=16)
    assert board.is_open and board.identify().board == "model"
    assert board.info.register("restricted").count == 1
    with pytest.raises(ValueError, match="unknown board"):
        open_board("fpga")


def test_an_engine_register_the_card_cannot_use_stops_the_batch_with_its_name() -> None:
    board = open_board("model", params=PARAMS)
    board.write("n_sma", 0)
    with pytest.raises(BoardError, match="n_sma"):
        board.process_ticks(random_ticks(np.random.default_rng(0), 4))


def test_bulk_tick_pass_equals_the_record_by_record_pass() -> None:
    rng = np.random.default_rng(42)
    limits = RiskLimits(max_qty=5, max_notional=10**9, collar_bps=50, stale_ms=300,
                        gross_limit=30, daily_loss_limit=10, max_drawdown=10,
                        rate_sym_interval=15, rate_sym_tolerance=30, dup_window_ms=40)
    bulk, single = (TopModel(PARAMS, engine=ENGINE, decision=DECISION, limits=limits)
                    for _ in range(2))
    for model in (bulk, single):
        for s in range(PARAMS.n_symbols):
            model.risk.set_symbol(s, base=100_000, pos_limit=8)
        model.risk.clear_kill()
    t = 0
    for _ in range(5):
        ticks = first_ticks(random_ticks(rng, 4000, t0=t))
        t = int(ticks["ts"][-1])
        got = bulk.process_ticks(ticks)
        want = np.array([single.pass_tick(r) for r in single.tick_records(ticks)])
        assert got.tobytes() == want.tobytes()
        assert np.count_nonzero(got["reject"]) > 10 and np.count_nonzero(got["kind"] & 2) > 100
    assert vars(bulk.risk).keys() == vars(single.risk).keys()
    assert bulk.risk.now == single.risk.now and bulk.risk.gross == single.risk.gross
    assert bulk.risk.symbols == single.risk.symbols


def test_configure_helper_clears_the_kill_switch() -> None:
    board = open_board("model", params=PARAMS)
    configure(board)
    assert board.read("status") == 0


def test_board_command_prints_the_health_of_the_model_board(
        capsys: pytest.CaptureFixture[str]) -> None:
    from tickgate.host.cli import main
    assert main(["board", "--symbols", "16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["kill"] and report["board"] == "model"
    assert report["identity"]["id"] == "0x54474b54" and report["counters"]["ticks_in"] == 0
    assert main(["board", "--bitstream", "x.bit"]) == 2
    assert "--bitstream is for a card" in capsys.readouterr().err
