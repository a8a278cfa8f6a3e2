"""Failover: a card that stops answering is replaced by its model, bit for bit, loudly."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from board_conformance import PARAMS, configure, first_ticks, random_orders, random_ticks

from tickgate.drivers.board import BoardBusError, BoardMismatch, BoardTimeout, Port
from tickgate.drivers.failover import FailoverBoard
from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.params import EngineParams


class FlakyCard(ModelBoard):
    """A model board that stops answering after ``good`` transfers, or whose id goes wrong."""

    kind = "flaky"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.good = 10**9
        self.wrong_id = False
        self.corrupt = False

    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        if self.good <= 0:
            raise BoardTimeout("flaky board: the DMA did not finish in 0.1 s")
        self.good -= 1
        out = super()._transfer(port, records)
        if self.corrupt:
            out = out.copy()
            out["ema_fast"][0] ^= 1
        return out

    def _read32(self, offset: int) -> int:
        if self.wrong_id and offset == 0:
            return 0xDEAD_BEEF
        return super()._read32(offset)


def flaky() -> FlakyCard:
    return FlakyCard.create(params=PARAMS)


def batches(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(9)
    out = [first_ticks(random_ticks(rng, 300))]
    for k in range(1, n):
        out.append(random_ticks(rng, 300, t0=int(out[-1]["ts"][-1]), seq0=300 * k))
    return out


def test_a_dma_timeout_switches_to_the_model_and_the_records_stay_the_same(
        caplog: pytest.LogCaptureFixture) -> None:
    card = flaky()
    board = FailoverBoard(card, PARAMS)
    board.open()
    reference = ModelBoard.create(params=PARAMS)
    reference.open()
    for b in (board, reference):
        configure(b)
    card.good = 3
    with caplog.at_level(logging.CRITICAL, "tickgate.board"):
        for k, ticks in enumerate(batches(6)):
            assert board.process_ticks(ticks).tobytes() == reference.process_ticks(ticks).tobytes()
            orders = random_orders(np.random.default_rng(k), 10, 1 + 10 * k)
            assert board.submit_orders(orders).tobytes() == \
                reference.submit_orders(orders).tobytes()
    assert board.failed_over and "BoardTimeout" in board.failure
    assert [r.levelname for r in caplog.records] == ["CRITICAL"]
    assert "FAILOVER" in caplog.text and "flaky" in caplog.text
    health = board.health()
    assert health.failed_over and health.board == "flaky"
    assert health.detail.startswith("FAILED OVER to the model board: BoardTimeout")
    assert health.counters == reference.counters()
    # Registers now come from the model, which saw every write.
    assert board.read("ticks_in") == 1800 and board.read("max_qty") == reference.read("max_qty")


def test_a_wrong_id_register_is_a_failure_found_by_health() -> None:
    card = flaky()
    board = FailoverBoard(card, PARAMS)
    board.open()
    assert board.health().ok and not board.failed_over
    card.wrong_id = True
    health = board.health()
    assert health.failed_over and "0xdeadbeef" in health.detail
    assert len(board.process_ticks(batches(1)[0])) == 300


def test_a_card_that_disagrees_with_its_model_is_counted_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    card = flaky()
    board = FailoverBoard(card, PARAMS)
    board.open()
    card.corrupt = True
    ticks = batches(1)[0]
    with caplog.at_level(logging.ERROR, "tickgate.board"):
        out = board.process_ticks(ticks)
    assert board.divergences == 1 and not board.failed_over
    assert "differ" in caplog.text
    reference = ModelBoard.create(params=PARAMS)
    reference.open()
    want = reference.process_ticks(ticks)
    assert out["ema_fast"][0] == want["ema_fast"][0] ^ 1       # the card's records are used
    assert "1 batch(es) differed" in board.health().detail


def test_bus_errors_are_answers_not_failures() -> None:
    board = FailoverBoard(flaky(), PARAMS)
    board.open()
    with pytest.raises(BoardBusError):
        board.write32(board.info.offset("ticks_in"), 1)
    assert not board.failed_over
    assert board.read("bus_errors") == 1 == board.shadow.read("bus_errors")


def test_a_card_of_another_build_cannot_be_shadowed() -> None:
    with pytest.raises(BoardMismatch, match="not the same build"):
        FailoverBoard(flaky(), EngineParams(n_symbols=32))
