"""The PYNQ-Z2 board: the card in a Zynq's programmable logic, reached through PYNQ.

Block design (the overlay ``tickgate.bit`` + ``tickgate.hwh``; the register map
``regmap.json`` beside them)::

    PS7 M_AXI_GP0 -> tickgate_top_0   AXI4-Lite register file (offsets: regmap.json only)
                  -> axi_dma_tick     MM2S -> s_axis_tick (16-byte TICK_DTYPE records)
                                      S2MM <- m_axis (128-byte OUTPUT_DTYPE records, ticks and
                                              host orders alike)
                  -> axi_dma_order    MM2S -> s_axis_order (16-byte ORDER_DTYPE records)

Both DMAs are Xilinx AXI DMA 7.1 in simple (direct register) mode, polled, with buffer length
registers :data:`~.board.DMA_LENGTH_BITS` = 26 bits wide.

One transfer (:meth:`PynqBoard._transfer`) of ``n`` records:

1. copy the records into the input buffer; arm the S2MM receive of ``n * 128`` bytes into the
   output buffer (before anything is sent, so no output record waits on an unarmed channel);
2. start the MM2S send of ``n * 16`` bytes on the port's DMA (the DMA sets ``tlast`` on the
   last beat; the card sets it on the last output record, which ends the receive);
3. poll both channels' DMASR until idle, or an error bit (:class:`~.board.BoardDmaError`), or
   :attr:`~.board.Board.timeout` seconds (:class:`~.board.BoardTimeout`); after either, both
   DMAs are soft-reset and restarted, so the next call starts clean;
4. check the S2MM length register (bytes received) is ``n * 128``; invalidate the output
   buffer and return a copy of its ``n`` records.

The buffers come from ``pynq.allocate`` once at :meth:`open`, sized for
:attr:`~.board.Board.max_batch` records, and are reused by every call; they are not
cache-coherent on the Zynq, so the send flushes and the receive invalidates.

PYNQ's own ``DMA`` driver does the channel set-up and the start of each transfer
(``transfer``); its ``wait`` spins forever, so the waiting (with a deadline) is here.

Register access guards against what a Zynq cannot survive: an AXI error on M_AXI_GP0 is a
data abort (the process gets SIGBUS), so an access the card would answer with DECERR
(unmapped or misaligned offset) or SLVERR (a write to a read-only register) is refused with
:class:`~.board.BoardBusError` before it reaches the bus (:class:`~.bus_guard.BusGuard`).

``pynq`` is an optional dependency (``pip install 'tickgate[pynq]'``), imported only when a
board is created.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tickgate.gateware.records import (
    OUTPUT_BYTES,
    OUTPUT_DTYPE,
    TICK_BYTES,
)

from .board import (
    Board,
    BoardDmaError,
    BoardError,
    BoardTimeout,
    Port,
)
from .bus_guard import BusGuard
from .regmap import RegisterMapInfo

__all__ = ["PynqBoard", "import_pynq", "find_card_ip", "AxiDmaRegs", "IP_NAMES", "DMA_NAMES"]

#: The card's instance in the block design (the first of these names found; else the one
#: IP whose VLNV names the module ``tickgate_top``).
IP_NAMES = ("tickgate_top_0", "tickgate")
IP_NAME = IP_NAMES[0]
#: The DMA whose MM2S feeds each input port; the tick DMA's S2MM takes every output record.
DMA_NAMES: dict[str, str] = {"tick": "axi_dma_tick", "order": "axi_dma_order"}
#: The DMA whose S2MM receives the output stream.
OUTPUT_DMA = "axi_dma_tick"


class AxiDmaRegs:
    """Register offsets and bits of the AXI DMA in simple mode (Xilinx PG021)."""

    MM2S_DMACR = 0x00
    MM2S_DMASR = 0x04
    MM2S_SA = 0x18
    MM2S_SA_MSB = 0x1C
    MM2S_LENGTH = 0x28
    S2MM_DMACR = 0x30
    S2MM_DMASR = 0x34
    S2MM_DA = 0x48
    S2MM_DA_MSB = 0x4C
    S2MM_LENGTH = 0x58
    #: DMACR bits.
    RUN = 0x1
    RESET = 0x4
    #: DMASR bits.
    HALTED = 0x1
    IDLE = 0x2
    DMA_INT_ERR = 0x10
    DMA_SLV_ERR = 0x20
    DMA_DEC_ERR = 0x40
    ERRORS = 0x70
    IOC_IRQ = 0x1000
    ERR_IRQ = 0x4000


def import_pynq() -> ModuleType:
    """Return the ``pynq`` module; raise :class:`BoardError` saying how to install it."""
    try:
        import pynq
    except ImportError as exc:
        raise BoardError("pynq is not installed: pip install 'tickgate[pynq]' (pynq 4.0 "
                         "needs numpy<2: beside a board image's pynq, install tickgate with "
                         f"--no-deps) ({exc})") from None
    return pynq


def dma_error_text(status: int) -> str:
    """Name the error bits of a DMASR word."""
    names = [name for bit, name in ((AxiDmaRegs.DMA_INT_ERR, "internal error (DMAIntErr)"),
                                    (AxiDmaRegs.DMA_SLV_ERR, "slave error (DMASlvErr)"),
                                    (AxiDmaRegs.DMA_DEC_ERR, "decode error (DMADecErr)"))
             if status & bit]
    return ", ".join(names) or "no error bit"


class PynqBoard(Board):
    """The card on a PYNQ-Z2 (see the module docstring)."""

    kind = "pynq"

    def __init__(self, info: RegisterMapInfo, bitfile: str | Path, *, device: Any = None,
                 download: bool = True, **options: Any) -> None:
        super().__init__(info, **options)
        self.bitfile = Path(bitfile)
        #: A ``pynq.Device`` (None: PYNQ's active device).
        self.device = device
        #: Load the bitstream at :meth:`open` (False: use the image the card holds; the
        #: identity check still refuses another one).
        self.download = download
        self.overlay: Any = None
        self._mmio: Any = None
        self._dmas: dict[str, Any] = {}
        self._in_buf: Any = None
        self._out_buf: Any = None
        self._guard = BusGuard(info, self.kind)

    @classmethod
    def create(cls, *, regmap: str | Path | None = None, bitfile: str | Path = "tickgate.bit",
               **options: Any) -> PynqBoard:
        """A board for the overlay ``bitfile`` (its ``.hwh`` beside it), reached through
        ``regmap`` (default: ``regmap.json`` beside the bitfile). Other options:
        ``device``, ``download``, ``max_batch``, ``timeout``."""
        bitfile = Path(bitfile)
        path = Path(regmap) if regmap is not None else bitfile.with_name("regmap.json")
        if not path.is_file():
            raise BoardError(f"pynq board: no register map {path} (it ships beside the "
                             "bitstream; give --regmap)")
        return cls(RegisterMapInfo.from_json(path), bitfile, **options)

    # ------------------------------------------------------------------ life cycle
    def _open(self) -> None:
        pynq = import_pynq()
        if not self.bitfile.is_file():
            raise BoardError(f"pynq board: no bitstream {self.bitfile}")
        try:
            self.overlay = pynq.Overlay(str(self.bitfile.resolve()), download=self.download,
                                        device=self.device)
            device = self.overlay.device
            ip = find_card_ip(self.overlay.ip_dict)
            span = 1 << self.info.addr_bits
            if ip["addr_range"] < span:
                raise BoardError(f"pynq board: the card's IP spans {ip['addr_range']} bytes in "
                                 f"{self.bitfile.name}, the register map needs {span}")
            self._mmio = pynq.MMIO(ip["phys_addr"], span, device=device)
            self._dmas = {name: getattr(self.overlay, name)
                          for name in sorted(set(DMA_NAMES.values()))}
            self._check_dmas()
            self._in_buf = pynq.allocate((self.max_batch * TICK_BYTES,), np.uint8,
                                         target=device)
            self._out_buf = pynq.allocate((self.max_batch * OUTPUT_BYTES,), np.uint8,
                                          target=device)
        except KeyError as exc:
            self._close()
            raise BoardError(f"pynq board: {self.bitfile.name} has no {exc} in its block "
                             "design") from None
        except BoardError:
            self._close()
            raise

    def _check_dmas(self) -> None:
        out = self._dmas[OUTPUT_DMA]
        if out.recvchannel is None:
            raise BoardError(f"pynq board: {OUTPUT_DMA} has no S2MM channel")
        for port, name in DMA_NAMES.items():
            dma = self._dmas[name]
            if dma.sendchannel is None:
                raise BoardError(f"pynq board: {name} has no MM2S channel for the {port} port")
            if dma.buffer_max_size < self.max_batch * OUTPUT_BYTES:
                raise BoardError(f"pynq board: {name} moves at most {dma.buffer_max_size} "
                                 f"bytes a transfer; max_batch {self.max_batch} needs "
                                 f"{self.max_batch * OUTPUT_BYTES}")

    def _close(self) -> None:
        for buf in (self._in_buf, self._out_buf):
            if buf is not None:
                try:
                    buf.freebuffer()
                except Exception:  # noqa: BLE001 - closing must not raise
                    pass
        self._in_buf = self._out_buf = None
        self._mmio = None
        self._dmas = {}
        self.overlay = None

    # ------------------------------------------------------------------ registers
    def _read32(self, offset: int) -> int:
        self._guard.check(offset, write=False)
        return int(self._mmio.read(offset)) & 0xFFFF_FFFF

    def _write32(self, offset: int, value: int) -> None:
        self._guard.check(offset, write=True)
        self._mmio.write(offset, int(value) & 0xFFFF_FFFF)

    # ------------------------------------------------------------------ streams
    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        n = len(records)
        n_in, n_out = n * TICK_BYTES, n * OUTPUT_BYTES
        send_dma, recv_dma = self._dmas[DMA_NAMES[port]], self._dmas[OUTPUT_DMA]
        self._in_buf[:n_in] = np.ascontiguousarray(records).view(np.uint8)
        try:
            recv_dma.recvchannel.transfer(self._out_buf[:n_out])
            send_dma.sendchannel.transfer(self._in_buf[:n_in])      # flushes these bytes
        except RuntimeError as exc:                                # channel not idle/started
            self._reset_dmas(send_dma, recv_dma)
            raise BoardDmaError(f"pynq board: could not start the {port} transfer: {exc}; "
                                "the DMAs were reset") from None
        deadline = time.monotonic() + self.timeout
        try:
            self._wait(send_dma, AxiDmaRegs.MM2S_DMASR, f"{DMA_NAMES[port]} MM2S", deadline)
            self._wait(recv_dma, AxiDmaRegs.S2MM_DMASR, f"{OUTPUT_DMA} S2MM", deadline)
        except BoardError:
            self._reset_dmas(send_dma, recv_dma)
            raise
        self._out_buf[:n_out].invalidate()
        got = recv_dma.mmio.read(AxiDmaRegs.S2MM_LENGTH) & ((1 << 26) - 1)
        if got != n_out:
            raise BoardDmaError(
                f"pynq board: sent {n} {port} records ({n_in} bytes) and received {got} bytes "
                f"back, not {n_out} ({n} records of {OUTPUT_BYTES} bytes); the card lost, "
                "added or cut records (tlast)")
        return self._out_buf[:n_out].view(OUTPUT_DTYPE).copy()

    def _wait(self, dma: Any, status_reg: int, what: str, deadline: float) -> None:
        """Poll a channel's DMASR until idle; raise on an error bit or at ``deadline``."""
        while True:
            status = dma.mmio.read(status_reg)
            if status & AxiDmaRegs.ERRORS:
                raise BoardDmaError(f"pynq board: {what} reported {dma_error_text(status)} "
                                    f"(DMASR {status:#010x}); the DMAs were reset")
            if status & AxiDmaRegs.IDLE:
                return
            if time.monotonic() > deadline:
                raise BoardTimeout(f"pynq board: {what} did not finish in {self.timeout:g} s "
                                   f"(DMASR {status:#010x}); the DMAs were reset")

    def _reset_dmas(self, *dmas: Any) -> None:
        """Soft-reset each DMA (both its channels) and start its channels again."""
        for dma in {id(d): d for d in dmas}.values():
            dma.mmio.write(AxiDmaRegs.MM2S_DMACR, AxiDmaRegs.RESET)
            deadline = time.monotonic() + self.timeout
            while dma.mmio.read(AxiDmaRegs.MM2S_DMACR) & AxiDmaRegs.RESET:
                if time.monotonic() > deadline:
                    raise BoardTimeout("pynq board: a DMA did not leave its soft reset in "
                                       f"{self.timeout:g} s; reload the bitstream")
            for channel in (dma.sendchannel, dma.recvchannel):
                if channel is not None:
                    channel.start()


def find_card_ip(ip_dict: Any) -> dict[str, Any]:
    """Return the card's entry of an overlay's ``ip_dict`` (see :data:`IP_NAMES`)."""
    for name in IP_NAMES:
        if name in ip_dict:
            return ip_dict[name]
    found = [v for v in ip_dict.values() if ":tickgate_top:" in str(v.get("type", ""))]
    if len(found) != 1:
        raise BoardError(f"pynq board: the overlay has no tickgate_top IP (looked for "
                         f"{', '.join(IP_NAMES)}; it has {', '.join(ip_dict)})")
    return found[0]

