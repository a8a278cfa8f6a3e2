"""PynqBoard on the real ``pynq`` package over the fake device: conformance, DMA protocol,
faults, identity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from board_conformance import (
    BoardConformance,
    FaultConformance,
    configure,
    first_ticks,
    random_orders,
    random_ticks,
)
from conftest import make_device, make_image
from fake_device import FakePynqDevice

from tickgate.drivers.board import (
    BoardBusError,
    BoardDmaError,
    BoardMismatch,
    BoardTimeout,
    open_board,
)
from tickgate.drivers.model_board import ModelBoard
from tickgate.drivers.pynq_board import AxiDmaRegs, PynqBoard
from tickgate.gateware.params import EngineParams


class TestPynqConformance(BoardConformance, FaultConformance):
    @pytest.fixture
    def board(self, pynq_board: PynqBoard) -> Iterator[PynqBoard]:
        yield pynq_board

    @contextmanager
    def stalled_output(self, board: PynqBoard) -> Iterator[None]:
        board.device.faults.hang = 1
        yield

    @contextmanager
    def lost_records(self, board: PynqBoard) -> Iterator[None]:
        board.device.faults.short = 1
        yield

    def test_bad_register_accesses_raise_and_are_counted(self, board: PynqBoard) -> None:
        """On a Zynq an AXI error response is a data abort (SIGBUS), so the PYNQ board
        refuses such an access before the bus: the same exception, nothing counted."""
        with pytest.raises(BoardBusError, match="SLVERR"):
            board.write32(board.info.offset("ticks_in"), 5)
        with pytest.raises(BoardBusError, match="DECERR"):
            board.read32(board.info.offset("max_qty") + 2)
        with pytest.raises(BoardBusError, match="DECERR"):
            board.write32((1 << board.info.addr_bits) - 4, 1)
        assert board.read("bus_errors") == 0
        assert board.read32(board.info.offset("kill_set")) == 0


def ticks_for(n: int, seed: int = 1) -> np.ndarray:
    return first_ticks(random_ticks(np.random.default_rng(seed), n))


def test_open_loads_the_overlay_and_allocates_the_buffers_once(
        image: Path, device: FakePynqDevice) -> None:
    board = open_board("pynq", bitfile=image, device=device, max_batch=16)
    try:
        assert device.loads == [str(image.resolve())]
        assert device.allocations == 2
        configure(board)
        for seed in range(3):
            board.process_ticks(ticks_for(40, seed))
            board.submit_orders(random_orders(np.random.default_rng(seed), 20, 1 + 20 * seed))
        assert device.allocations == 2                      # reused by every call
    finally:
        board.close()


def test_batches_arm_the_receive_before_the_send_with_the_right_lengths(
        pynq_board: PynqBoard) -> None:
    device = pynq_board.device
    configure(pynq_board)
    pynq_board.max_batch = 16
    device.log.clear()
    ticks = ticks_for(40)
    pynq_board.process_ticks(ticks)
    orders = random_orders(np.random.default_rng(9), 5, 1)
    pynq_board.submit_orders(orders)
    assert device.log == [
        ("recv", "axi_dma_tick", 16 * 128), ("send", "axi_dma_tick", 16 * 16),
        ("recv", "axi_dma_tick", 16 * 128), ("send", "axi_dma_tick", 16 * 16),
        ("recv", "axi_dma_tick", 8 * 128), ("send", "axi_dma_tick", 8 * 16),
        ("recv", "axi_dma_tick", 5 * 128), ("send", "axi_dma_order", 5 * 16)]
    # one DMA batch each, tlast on its last record: the card saw exactly these batches
    assert device.transfers[-4:] == [("tick", 16), ("tick", 16), ("tick", 8), ("order", 5)]


def test_records_equal_the_model_boards_byte_for_byte(pynq_board: PynqBoard) -> None:
    model = ModelBoard.create(params=EngineParams(n_symbols=64))
    model.open()
    for b in (pynq_board, model):
        configure(b)
    pynq_board.max_batch = 33
    ticks = ticks_for(500, 5)
    assert pynq_board.process_ticks(ticks).tobytes() == model.process_ticks(ticks).tobytes()
    orders = random_orders(np.random.default_rng(6), 70, 1)
    assert pynq_board.submit_orders(orders).tobytes() == model.submit_orders(orders).tobytes()


def test_registers_by_name_reach_the_card(pynq_board: PynqBoard) -> None:
    card = pynq_board.device.card
    pynq_board.write("max_qty", 77)
    assert card.read("max_qty") == 77 and pynq_board.read("max_qty") == 77
    pynq_board.kill()
    assert pynq_board.health().kill


def test_a_dma_error_bit_is_a_board_dma_error_and_the_next_call_works(
        pynq_board: PynqBoard) -> None:
    device = pynq_board.device
    configure(pynq_board)
    device.faults.dma_error = 1
    device.faults.dma_error_bits = AxiDmaRegs.DMA_DEC_ERR
    with pytest.raises(BoardDmaError, match="decode error"):
        pynq_board.process_ticks(ticks_for(10))
    assert ("reset", "axi_dma_tick") in device.log
    assert len(pynq_board.process_ticks(ticks_for(10, 2))) == 10


def test_a_timeout_resets_the_dmas_and_the_next_call_works(pynq_board: PynqBoard) -> None:
    device = pynq_board.device
    configure(pynq_board)
    pynq_board.timeout = 0.2
    device.faults.hang = 1
    orders = random_orders(np.random.default_rng(3), 4, 1)
    with pytest.raises(BoardTimeout, match="axi_dma_order MM2S did not finish in 0.2 s"):
        pynq_board.submit_orders(orders)
    assert {("reset", "axi_dma_order"), ("reset", "axi_dma_tick")} <= set(device.log)
    assert len(pynq_board.submit_orders(orders)) == 4


def test_a_short_receive_is_a_board_dma_error(pynq_board: PynqBoard) -> None:
    configure(pynq_board)
    pynq_board.device.faults.short = 1
    with pytest.raises(BoardDmaError, match=r"received 1152 bytes back, not 1280"):
        pynq_board.process_ticks(ticks_for(10))


def test_a_wrong_id_register_is_refused(image: Path, device: FakePynqDevice) -> None:
    device.faults.wrong_id = 0x1234_5678
    board = PynqBoard.create(bitfile=image, device=device)
    with pytest.raises(BoardMismatch, match="id 0x12345678"):
        board.open()
    assert not board.is_open


def test_a_register_map_of_another_build_is_refused_at_open(tmp_path: Path) -> None:
    """The card is a 64-symbol build; the JSON beside the image describes 32 symbols."""
    bitfile = make_image(tmp_path / "img")
    device = make_device(bitfile)
    make_image(tmp_path / "img", EngineParams(n_symbols=32))   # regmap.json of another build
    device.make_card = lambda: ModelBoard.create(params=EngineParams(n_symbols=64))
    with pytest.raises(BoardMismatch, match="map_hash"):
        PynqBoard.create(bitfile=bitfile, device=device).open()


def test_flush_and_invalidate_are_what_make_the_data_move(pynq_board: PynqBoard) -> None:
    device = pynq_board.device
    configure(pynq_board)
    before = (device.flushes, device.invalidates)
    pynq_board.process_ticks(ticks_for(10))
    assert (device.flushes, device.invalidates) == (before[0] + 1, before[1] + 1)


def test_a_missing_regmap_or_bitstream_is_a_clear_error(tmp_path: Path) -> None:
    from tickgate.drivers.board import BoardError
    with pytest.raises(BoardError, match="no register map"):
        PynqBoard.create(bitfile=tmp_path / "tickgate.bit")
