"""The Alveo board (U50, U250): the card as a Vitis kernel, reached through XRT's ``pyxrt``.

The image ``tickgate.xclbin`` (:mod:`tickgate.hw.alveo` builds it; ``regmap.json`` beside it)
holds four compute units::

    tickgate_1     the card: a free-running, user-managed RTL kernel; its s_axi_control is
                   the card's AXI4-Lite register file (offsets: regmap.json only)
    mm2s_tick_1    tg_mm2s(in, out, count): count 16-byte TICK_DTYPE records from a buffer
                   -> s_axis_tick, tlast on the last one
    mm2s_order_1   tg_mm2s(in, out, count): ORDER_DTYPE records -> s_axis_order
    s2mm_1         tg_s2mm(out, in, count): count 128-byte OUTPUT_DTYPE records from m_axis
                   (ticks and host orders alike) -> a buffer

The movers are XRT-managed HLS kernels (``ap_ctrl_hs``); their stream arguments (index 1) are
wired by ``stream_connect`` and never set. The XRT calls, and where ``pyxrt`` versions
differ, are in :mod:`.xrt_api`.

Open (:meth:`AlveoBoard._open`): ``pyxrt.device(device_index)``; ``pyxrt.xclbin(path)``, its
kernels checked; ``device.load_xclbin`` (XRT leaves a card that already holds this image's
UUID as it is, registers included); the register port of ``tickgate_1``; each mover opened
with exclusive access; one ``pyxrt.bo`` per mover buffer, in the bank ``group_id(0)`` names,
sized for :attr:`~.board.Board.max_batch` records (an input buffer per port, one output
buffer) and reused by every call; one ``pyxrt.run`` per mover, its buffer argument set once.

One transfer (:meth:`AlveoBoard._transfer`) of ``n`` records on ``port``:

1. finish off a transfer that timed out earlier (below);
2. ``bo.write`` the records into the port's input buffer, ``bo.sync(TO_DEVICE, n * 16, 0)``;
3. read ``records_out``;
4. start ``s2mm_1`` with ``count = n`` first (it takes ``n * 128`` bytes), then the port's
   mover with ``count = n`` (``n * 16`` bytes), so no output record waits on an idle s2mm;
5. ``run.wait`` the mover, then ``s2mm_1``, both within :attr:`~.board.Board.timeout` seconds
   in all: a run ending in ``ERROR``/``ABORT`` (or any state but ``COMPLETED``) is a
   :class:`~.board.BoardDmaError`, no end in time a :class:`~.board.BoardTimeout`;
6. ``bo.sync(FROM_DEVICE, n * 128, 0)`` and ``bo.read`` the ``n`` records;
7. ``records_out`` must have grown by exactly ``n`` (modulo 2**32): ``tg_s2mm`` reports no
   count, so the card's counter tells whether it sent more records than were taken (they
   would sit in the stream); else :class:`~.board.BoardDmaError`.

**After a timeout** XRT can do little: ``pyxrt`` binds no ``run.abort()`` (it is called where
a binding has it) and nothing stops an HLS mover waiting on a stream. The board forgets those
runs (a running ``xrt::run`` cannot be started again) and makes new ones; the next transfer
first waits, within its own timeout, for the old runs to end (a card that stalled and resumed
finishes them; their late records land in the output buffer before the new ones and are not
returned). If they never end, every later transfer raises :class:`~.board.BoardTimeout`
saying the card must be reloaded (``tickgate flash``, or ``xbutil reset``).

**Registers** are guarded like the PYNQ board's (:class:`~.bus_guard.BusGuard`): XRT's
register calls return no AXI response code, so a SLVERR/DECERR answer would be lost silently
(a read returning garbage, a write dropped), and the shell's AXI firewall may trip, which only
``xbutil reset`` clears. Accesses the card would answer with an error are refused with
:class:`~.board.BoardBusError` before they reach the card (and are not counted in
``bus_errors``). The window is the kernel's 4 KiB ``s_axi_control``
(:data:`CTRL_WINDOW`); the register map must fit in it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tickgate.gateware.records import ORDER_BYTES, OUTPUT_BYTES, OUTPUT_DTYPE, TICK_BYTES

from .board import Board, BoardDmaError, BoardError, BoardTimeout, Port
from .bus_guard import BusGuard
from .regmap import RegisterMapInfo
from .xrt_api import (
    abort_run,
    cu_name,
    import_pyxrt,
    is_completed,
    is_running,
    open_register_port,
    state_name,
)

__all__ = ["AlveoBoard", "CARD_KERNEL", "CARD_CU", "MM2S_KERNEL", "S2MM_KERNEL", "MM2S_CUS",
           "S2MM_CU", "CTRL_WINDOW"]

#: The card's RTL kernel and its one compute unit (:data:`tickgate.hw.alveo.COMPUTE_UNITS`).
CARD_KERNEL, CARD_CU = "tickgate", "tickgate_1"
#: The data movers' kernels.
MM2S_KERNEL, S2MM_KERNEL = "tg_mm2s", "tg_s2mm"
#: The mover feeding each input port, and the one taking every output record.
MM2S_CUS: dict[str, str] = {"tick": "mm2s_tick_1", "order": "mm2s_order_1"}
S2MM_CU = "s2mm_1"
#: Argument indices of both movers: the buffer, the stream (never set), the record count.
ARG_BUFFER, ARG_COUNT = 0, 2
#: Bytes of the card kernel's ``s_axi_control`` window (12 address bits).
CTRL_WINDOW = 1 << 12
#: Bytes of one input record, per port.
IN_BYTES = {"tick": TICK_BYTES, "order": ORDER_BYTES}
_COUNTER_MASK = 0xFFFF_FFFF


class AlveoBoard(Board):
    """The card on an Alveo U50/U250 (see the module docstring)."""

    kind = "alveo"

    def __init__(self, info: RegisterMapInfo, bitfile: str | Path, *, device_index: int = 0,
                 **options: Any) -> None:
        super().__init__(info, **options)
        self.bitfile = Path(bitfile)
        #: XRT's index of the card (``xbutil examine`` lists them).
        self.device_index = device_index
        self.device: Any = None
        self.uuid: Any = None
        #: Which binding call gives register access (:func:`.xrt_api.open_register_port`).
        self.register_api = ""
        self._pyxrt: ModuleType | None = None
        self._regs: Any = None
        self._kernels: dict[str, Any] = {}
        self._in_bos: dict[str, Any] = {}
        self._out_bo: Any = None
        self._runs: dict[str, Any] = {}
        #: Runs of a transfer that timed out, not known to have ended.
        self._stale: list[tuple[str, Any]] = []
        self._guard = BusGuard(info, self.kind)

    @classmethod
    def create(cls, *, regmap: str | Path | None = None,
               bitfile: str | Path = "tickgate.xclbin", device_index: int = 0,
               **options: Any) -> AlveoBoard:
        """A board for the image ``bitfile`` (an ``.xclbin``) on XRT device ``device_index``,
        reached through ``regmap`` (default: ``regmap.json`` beside the xclbin). Other
        options: ``max_batch``, ``timeout``."""
        bitfile = Path(bitfile)
        path = Path(regmap) if regmap is not None else bitfile.with_name("regmap.json")
        if not path.is_file():
            raise BoardError(f"alveo board: no register map {path} (it ships beside the "
                             "xclbin; give --regmap)")
        return cls(RegisterMapInfo.from_json(path), bitfile, device_index=device_index,
                   **options)

    # ------------------------------------------------------------------ life cycle
    def _open(self) -> None:
        pyxrt = import_pyxrt()
        if not self.bitfile.is_file():
            raise BoardError(f"alveo board: no xclbin {self.bitfile}")
        span = 1 << self.info.addr_bits
        if span > CTRL_WINDOW:
            raise BoardError(f"alveo board: the register map spans {span} bytes, the card "
                             f"kernel's s_axi_control window {CTRL_WINDOW}")
        self._pyxrt = pyxrt
        try:
            self._load(pyxrt)
        except RuntimeError as exc:                     # what pyxrt raises for XRT errors
            self._close()
            raise BoardError(f"alveo board: XRT refused {self.bitfile.name} on device "
                             f"{self.device_index}: {exc}") from None
        except BoardError:
            self._close()
            raise

    def _load(self, pyxrt: ModuleType) -> None:
        self.device = pyxrt.device(self.device_index)
        xclbin = pyxrt.xclbin(str(self.bitfile.resolve()))
        names = {k.get_name() for k in xclbin.get_kernels()}
        missing = sorted({CARD_KERNEL, MM2S_KERNEL, S2MM_KERNEL} - names)
        if missing:
            raise BoardError(f"alveo board: {self.bitfile.name} has no kernel "
                             f"{', '.join(missing)} (it has {', '.join(sorted(names))})")
        self.uuid = self.device.load_xclbin(xclbin)
        self._regs, self.register_api = open_register_port(
            pyxrt, self.device, self.uuid, cu_name(CARD_KERNEL, CARD_CU))
        exclusive = pyxrt.kernel.cu_access_mode.exclusive
        for port, cu in MM2S_CUS.items():
            kernel = pyxrt.kernel(self.device, self.uuid, cu_name(MM2S_KERNEL, cu), exclusive)
            self._kernels[cu] = kernel
            self._in_bos[port] = pyxrt.bo(self.device, self.max_batch * IN_BYTES[port],
                                          pyxrt.bo.normal, kernel.group_id(ARG_BUFFER))
        kernel = pyxrt.kernel(self.device, self.uuid, cu_name(S2MM_KERNEL, S2MM_CU), exclusive)
        self._kernels[S2MM_CU] = kernel
        self._out_bo = pyxrt.bo(self.device, self.max_batch * OUTPUT_BYTES, pyxrt.bo.normal,
                                kernel.group_id(ARG_BUFFER))

    def _close(self) -> None:
        for _, run in self._stale:
            abort_run(run)
        self._stale = []
        self._runs = {}
        self._in_bos = {}
        self._out_bo = None
        self._kernels = {}
        self._regs = None
        self.uuid = None
        self.device = None                  # pyxrt frees each object with its last reference

    # ------------------------------------------------------------------ registers
    def _read32(self, offset: int) -> int:
        self._guard.check(offset, write=False)
        try:
            return int(self._regs.read_register(offset)) & 0xFFFF_FFFF
        except RuntimeError as exc:
            raise BoardError(f"alveo board: reading {offset:#x} failed in XRT: {exc}") from None

    def _write32(self, offset: int, value: int) -> None:
        self._guard.check(offset, write=True)
        try:
            self._regs.write_register(offset, int(value) & 0xFFFF_FFFF)
        except RuntimeError as exc:
            raise BoardError(f"alveo board: writing {offset:#x} failed in XRT: {exc}") from None

    def _records_out(self) -> int:
        return self._read32(self.info.offset("records_out"))

    # ------------------------------------------------------------------ streams
    def _run(self, cu: str) -> Any:
        """The reusable run of mover ``cu``, its buffer argument set."""
        run = self._runs.get(cu)
        if run is None:
            assert self._pyxrt is not None
            run = self._pyxrt.run(self._kernels[cu])
            bo = self._out_bo if cu == S2MM_CU else self._in_bos[_port_of(cu)]
            run.set_arg(ARG_BUFFER, bo)
            self._runs[cu] = run
        return run

    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        pyxrt = self._pyxrt
        assert pyxrt is not None
        sync = pyxrt.xclBOSyncDirection
        n = len(records)
        n_in, n_out = n * IN_BYTES[port], n * OUTPUT_BYTES
        mover = MM2S_CUS[port]
        self._finish_stale(port)
        in_bo = self._in_bos[port]
        try:
            in_bo.write(np.ascontiguousarray(records).view(np.uint8), 0)
            in_bo.sync(sync.XCL_BO_SYNC_BO_TO_DEVICE, n_in, 0)
        except RuntimeError as exc:
            raise BoardDmaError(f"alveo board: copying {n} {port} records to the card failed: "
                                f"{exc}") from None
        before = self._records_out()
        runs = [(S2MM_CU, self._run(S2MM_CU)), (mover, self._run(mover))]
        try:
            for _, run in runs:                         # s2mm first, then the port's mover
                run.set_arg(ARG_COUNT, n)
                run.start()
        except RuntimeError as exc:
            self._forget(runs)
            raise BoardDmaError(f"alveo board: could not start the {port} transfer: "
                                f"{exc}") from None
        self._wait(port, n, [runs[1], runs[0]])
        try:
            self._out_bo.sync(sync.XCL_BO_SYNC_BO_FROM_DEVICE, n_out, 0)
            raw = np.asarray(self._out_bo.read(n_out, 0))
        except RuntimeError as exc:
            raise BoardDmaError(f"alveo board: copying {n} records back from the card "
                                f"failed: {exc}") from None
        sent = (self._records_out() - before) & _COUNTER_MASK
        if sent != n:
            raise BoardDmaError(
                f"alveo board: sent {n} {port} records and the card sent {sent} records on "
                f"m_axis (records_out), not {n}; the card lost or added records (the stream "
                "may hold stray records: reload the image if the next transfer fails)")
        return raw.view(np.uint8).view(OUTPUT_DTYPE).copy()

    def _wait(self, port: Port, n: int, runs: list[tuple[str, Any]]) -> None:
        """Wait for ``runs`` in order within :attr:`timeout`; raise on an error or timeout."""
        deadline = time.monotonic() + self.timeout
        for cu, run in runs:
            state = run.wait(_ms_left(deadline))
            if is_completed(state):
                continue
            if is_running(state) or state_name(state) == "ERT_CMD_STATE_TIMEOUT":
                self._forget(runs)
                raise BoardTimeout(
                    f"alveo board: the {port} transfer of {n} records did not finish in "
                    f"{self.timeout:g} s ({cu} {state_name(run.state())}); the card may have "
                    "stopped taking or giving records")
            self._forget(runs)
            raise BoardDmaError(f"alveo board: the {port} transfer of {n} records failed: "
                                f"{cu} ended in {state_name(state)}")

    def _forget(self, runs: list[tuple[str, Any]]) -> None:
        """Abort where XRT can, keep the runs as stale and make new ones for the next call."""
        for cu, run in runs:
            self._runs.pop(cu, None)
            if is_running(run.state()):
                abort_run(run)
                self._stale.append((cu, run))

    def _finish_stale(self, port: Port) -> None:
        """Wait (within :attr:`timeout`) for the runs of a transfer that timed out to end."""
        deadline = time.monotonic() + self.timeout
        while self._stale:
            cu, run = self._stale[0]
            run.wait(_ms_left(deadline))
            if is_running(run.state()):
                raise BoardTimeout(
                    f"alveo board: {cu} is still running a transfer that timed out earlier, "
                    f"so the {port} transfer cannot start; reload the image (tickgate flash) "
                    "or reset the card (xbutil reset)")
            self._stale.pop(0)


def _port_of(cu: str) -> str:
    return next(port for port, name in MM2S_CUS.items() if name == cu)


def _ms_left(deadline: float) -> int:
    """Milliseconds to ``deadline``, at least 1 (``run.wait(0)`` would wait for ever)."""
    return max(1, math.ceil((deadline - time.monotonic()) * 1000))
