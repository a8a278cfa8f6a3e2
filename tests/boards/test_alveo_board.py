"""AlveoBoard over a fake ``pyxrt`` (:mod:`fake_pyxrt`): conformance, the transfer protocol
(s2mm first, syncs, buffers allocated once), faults, identity, register access per binding."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from alveo_support import PARAMS, install_xrt, make_image
from board_conformance import (
    BoardConformance,
    FaultConformance,
    configure,
    first_ticks,
    random_orders,
    random_ticks,
)
from fake_pyxrt import UNITS, FakeXrt

from tickgate.drivers.alveo_board import (
    CARD_CU,
    CARD_KERNEL,
    MM2S_CUS,
    MM2S_KERNEL,
    S2MM_CU,
    S2MM_KERNEL,
    AlveoBoard,
)
from tickgate.drivers.board import (
    BoardBusError,
    BoardDmaError,
    BoardError,
    BoardMismatch,
    BoardTimeout,
    open_board,
)
from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.params import EngineParams


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return make_image(tmp_path / "image")


@pytest.fixture
def xrt(image: Path, monkeypatch: pytest.MonkeyPatch) -> FakeXrt:
    return install_xrt(monkeypatch, image)


@pytest.fixture
def alveo(image: Path, xrt: FakeXrt) -> Iterator[AlveoBoard]:
    board = AlveoBoard.create(bitfile=image, max_batch=4096)
    board.open()
    yield board
    board.close()


class TestAlveoConformance(BoardConformance, FaultConformance):
    @pytest.fixture
    def board(self, alveo: AlveoBoard) -> Iterator[AlveoBoard]:
        yield alveo

    @contextmanager
    def stalled_output(self, board: AlveoBoard) -> Iterator[None]:
        _fake(board).faults.hang = 1
        yield

    @contextmanager
    def lost_records(self, board: AlveoBoard) -> Iterator[None]:
        _fake(board).faults.error = 1
        yield

    def test_bad_register_accesses_raise_and_are_counted(self, board: AlveoBoard) -> None:
        """XRT returns no AXI response code (and the shell's firewall may trip on one), so
        the Alveo board refuses such an access before the bus: same exception, nothing
        counted, nothing reaches the card."""
        with pytest.raises(BoardBusError, match="SLVERR"):
            board.write32(board.info.offset("ticks_in"), 5)
        with pytest.raises(BoardBusError, match="DECERR"):
            board.read32(board.info.offset("max_qty") + 2)
        with pytest.raises(BoardBusError, match="DECERR"):
            board.write32((1 << board.info.addr_bits) - 4, 1)
        assert board.read("bus_errors") == 0
        assert board.read32(board.info.offset("kill_set")) == 0
        assert _fake(board).bus_faults == 0


def _fake(board: AlveoBoard) -> FakeXrt:
    """The fake XRT host behind ``board`` (the fake ``pyxrt`` it opened with)."""
    fake = board._pyxrt._fake               # type: ignore[union-attr]
    assert isinstance(fake, FakeXrt)
    return fake


def ticks_for(n: int, seed: int = 1) -> np.ndarray:
    return first_ticks(random_ticks(np.random.default_rng(seed), n))


def events(xrt: FakeXrt, *kinds: str) -> list[tuple]:
    return [e for e in xrt.log if e[0] in kinds]


# ---------------------------------------------------------------------- open, buffers
def test_open_loads_the_xclbin_and_allocates_the_buffers_once(image: Path,
                                                               xrt: FakeXrt) -> None:
    board = open_board("alveo", bitfile=image, max_batch=16)
    try:
        assert xrt.loads == [str(image.resolve())] and xrt.programs == 1
        assert xrt.allocations == 3                 # tick and order inputs, one output
        assert board.register_api == "pyxrt.kernel (exclusive)"
        configure(board)
        for seed in range(3):
            board.process_ticks(ticks_for(40, seed))
            board.submit_orders(random_orders(np.random.default_rng(seed), 20, 1 + 20 * seed))
        assert xrt.allocations == 3                 # reused by every call
        sizes = sorted(bo.nbytes for bo in (*board._in_bos.values(), board._out_bo))
        assert sizes == [16 * 16, 16 * 16, 16 * 128]
    finally:
        board.close()


def test_a_batch_syncs_its_input_starts_s2mm_first_then_syncs_its_output(
        alveo: AlveoBoard, xrt: FakeXrt) -> None:
    configure(alveo)
    alveo.max_batch = 16
    xrt.log.clear()
    alveo.process_ticks(ticks_for(20))
    alveo.submit_orders(random_orders(np.random.default_rng(9), 5, 1))
    tick_bo, order_bo, out_bo = alveo._in_bos["tick"], alveo._in_bos["order"], alveo._out_bo
    to_dev, from_dev = "XCL_BO_SYNC_BO_TO_DEVICE", "XCL_BO_SYNC_BO_FROM_DEVICE"
    assert events(xrt, "sync", "start") == [
        ("sync", tick_bo, to_dev, 16 * 16, 0),
        ("start", "s2mm_1", 16), ("start", "mm2s_tick_1", 16),
        ("sync", out_bo, from_dev, 16 * 128, 0),
        ("sync", tick_bo, to_dev, 4 * 16, 0),
        ("start", "s2mm_1", 4), ("start", "mm2s_tick_1", 4),
        ("sync", out_bo, from_dev, 4 * 128, 0),
        ("sync", order_bo, to_dev, 5 * 16, 0),
        ("start", "s2mm_1", 5), ("start", "mm2s_order_1", 5),
        ("sync", out_bo, from_dev, 5 * 128, 0)]
    assert xrt.transfers[-3:] == [("tick", 16), ("tick", 4), ("order", 5)]


def test_the_waits_share_the_boards_timeout(alveo: AlveoBoard, xrt: FakeXrt) -> None:
    alveo.timeout = 2.0
    xrt.log.clear()
    alveo.process_ticks(ticks_for(3))
    waits = events(xrt, "wait")
    assert [w[1] for w in waits] == ["mm2s_tick_1", "s2mm_1"]
    assert all(1 <= w[2] <= 2000 for w in waits)


def test_records_equal_the_model_boards_byte_for_byte(alveo: AlveoBoard) -> None:
    model = ModelBoard.create(params=PARAMS)
    model.open()
    for b in (alveo, model):
        configure(b)
    alveo.max_batch = 33
    ticks = ticks_for(500, 5)
    assert alveo.process_ticks(ticks).tobytes() == model.process_ticks(ticks).tobytes()
    orders = random_orders(np.random.default_rng(6), 70, 1)
    assert alveo.submit_orders(orders).tobytes() == model.submit_orders(orders).tobytes()


def test_the_fake_catches_a_forgotten_sync(alveo: AlveoBoard,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the sync to the device the card reads stale (zero) ticks."""
    configure(alveo)
    monkeypatch.setattr(alveo._in_bos["tick"], "sync", lambda *a: None)
    ticks = ticks_for(10)
    out = alveo.process_ticks(ticks)
    assert not np.array_equal(out["seq"], ticks["seq"])


def test_registers_by_name_reach_the_card(alveo: AlveoBoard, xrt: FakeXrt) -> None:
    assert xrt.card is not None
    alveo.write("max_qty", 77)
    assert xrt.card.read("max_qty") == 77 and alveo.read("max_qty") == 77
    alveo.write("pnl_day", -5)                              # signed: a uint32 on the bus
    assert alveo.read("pnl_day") == -5
    alveo.kill()
    assert alveo.health().kill


# ---------------------------------------------------------------------- faults
def test_a_timeout_then_the_next_call_works(alveo: AlveoBoard, xrt: FakeXrt) -> None:
    configure(alveo)
    alveo.timeout = 0.2
    xrt.faults.hang = 1
    orders = random_orders(np.random.default_rng(3), 4, 1)
    with pytest.raises(BoardTimeout, match=r"order transfer of 4 records did not finish in "
                                           r"0.2 s \(mm2s_order_1 ERT_CMD_STATE_RUNNING\)"):
        alveo.submit_orders(orders)
    assert len(alveo._stale) == 2                   # no run.abort in pyxrt: kept, replaced
    ticks = ticks_for(10, 2)
    out = alveo.process_ticks(ticks)                # the stall ended: old runs finish first
    assert np.array_equal(out["seq"], ticks["seq"]) and not alveo._stale
    assert xrt.allocations == 3


def test_a_card_that_never_resumes_is_a_timeout_that_says_to_reload(
        alveo: AlveoBoard, xrt: FakeXrt) -> None:
    configure(alveo)
    alveo.timeout = 0.1
    xrt.faults.hang, xrt.faults.stuck = 1, True
    with pytest.raises(BoardTimeout, match="did not finish"):
        alveo.process_ticks(ticks_for(5))
    with pytest.raises(BoardTimeout, match=r"still running a transfer that timed out "
                                           r"earlier.*tickgate flash"):
        alveo.process_ticks(ticks_for(5, 2))
    assert xrt.transfers[-1] == ("tick", 5) and len(xrt.transfers) == 1


def test_a_run_ending_in_error_is_a_dma_error_and_the_next_call_works(
        alveo: AlveoBoard, xrt: FakeXrt) -> None:
    configure(alveo)
    xrt.faults.error = 1
    with pytest.raises(BoardDmaError, match="s2mm_1 ended in ERT_CMD_STATE_ERROR"):
        alveo.process_ticks(ticks_for(10))
    assert len(alveo.process_ticks(ticks_for(10, 2))) == 10


def test_a_card_sending_more_records_than_it_was_given_is_a_dma_error(
        alveo: AlveoBoard, xrt: FakeXrt) -> None:
    configure(alveo)
    xrt.faults.extra = 1
    with pytest.raises(BoardDmaError, match=r"card sent 11 records on m_axis \(records_out\)"):
        alveo.process_ticks(ticks_for(10))


def test_records_out_wrapping_is_not_an_error(alveo: AlveoBoard, xrt: FakeXrt) -> None:
    xrt.extra_records = 0xFFFF_FFFF - 2                 # the counter is 3 records from 2**32
    assert len(alveo.process_ticks(ticks_for(10))) == 10


# ---------------------------------------------------------------------- identity, image
def test_a_wrong_id_register_is_refused(image: Path, xrt: FakeXrt) -> None:
    xrt.faults.wrong_id = 0x1234_5678
    board = AlveoBoard.create(bitfile=image)
    with pytest.raises(BoardMismatch, match="id 0x12345678"):
        board.open()
    assert not board.is_open and board.device is None


def test_a_register_map_of_another_build_is_refused_at_open(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The card is a 64-symbol build; the JSON beside the image describes 32 symbols."""
    xclbin = make_image(tmp_path / "img", EngineParams(n_symbols=32))
    xrt = install_xrt(monkeypatch, xclbin)
    xrt.make_card = lambda: ModelBoard.create(params=PARAMS)
    with pytest.raises(BoardMismatch, match="map_hash"):
        AlveoBoard.create(bitfile=xclbin).open()


def test_an_xclbin_without_the_movers_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    xclbin = make_image(tmp_path / "img", units={"tickgate": ["tickgate_1"]})
    xrt = install_xrt(monkeypatch, xclbin)
    with pytest.raises(BoardError, match="has no kernel tg_mm2s, tg_s2mm"):
        AlveoBoard.create(bitfile=xclbin).open()
    assert xrt.loads == []


def test_a_missing_regmap_xclbin_or_device_is_a_clear_error(tmp_path: Path, image: Path,
                                                            xrt: FakeXrt) -> None:
    with pytest.raises(BoardError, match="no register map"):
        AlveoBoard.create(bitfile=tmp_path / "tickgate.xclbin")
    (tmp_path / "regmap.json").write_text(image.with_name("regmap.json").read_text())
    with pytest.raises(BoardError, match="no xclbin"):
        AlveoBoard.create(bitfile=tmp_path / "tickgate.xclbin").open()
    with pytest.raises(BoardError, match="no device 1"):
        AlveoBoard.create(bitfile=image, device_index=1).open()


def test_without_pyxrt_the_board_says_how_to_get_it(image: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyxrt", None)          # import pyxrt -> ImportError
    with pytest.raises(BoardError, match=r"pyxrt not found: install XRT 2\.14\+ and source "
                                         r"/opt/xilinx/xrt/setup\.sh"):
        open_board("alveo", bitfile=image)


# ---------------------------------------------------------------------- register bindings
def test_a_binding_with_xrt_ip_uses_it(image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xrt = install_xrt(monkeypatch, image, register_api="ip")
    board = open_board("alveo", bitfile=image)
    assert board.register_api == "pyxrt.ip"
    board.write("max_qty", 9)
    assert xrt.card is not None and xrt.card.read("max_qty") == 9
    board.close()


def test_a_binding_without_register_access_is_refused_clearly(
        image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_xrt(monkeypatch, image, register_api="none")
    with pytest.raises(BoardError, match=r"no register access .*XRT issue #7863"):
        open_board("alveo", bitfile=image)


def test_the_kernel_and_unit_names_are_the_recipes() -> None:
    from tickgate.hw import alveo
    units = {cu: kernel for kernel, cus in UNITS.items() for cu in cus}
    assert units == alveo.COMPUTE_UNITS
    assert alveo.KERNEL_NAME == CARD_KERNEL and units[CARD_CU] == CARD_KERNEL
    assert {units[cu] for cu in MM2S_CUS.values()} == {MM2S_KERNEL}
    assert units[S2MM_CU] == S2MM_KERNEL
    assert ("mm2s_tick_1.out", "tickgate_1.s_axis_tick") in alveo.STREAMS
    assert ("mm2s_order_1.out", "tickgate_1.s_axis_order") in alveo.STREAMS
