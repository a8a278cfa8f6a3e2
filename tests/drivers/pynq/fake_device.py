"""A fake PYNQ device: the PYNQ-Z2's programmable logic, modelled, behind the real ``pynq``.

:class:`FakePynqDevice` is a ``pynq.Device`` with the ``REGISTER_RW`` capability, so PYNQ's
own ``Overlay`` (parsing the real ``.hwh`` beside the ``.bit``), ``MMIO``, ``DMA`` driver and
``allocate`` run unchanged on top of it:

* **Overlay**: :meth:`get_bitfile_metadata` parses the ``.hwh`` with PYNQ's metadata parser
  and converts the ``.bit`` to its ``.bin`` (so a malformed header fails as on a board);
  :meth:`download` "programs the PL": a fresh :class:`~tickgate.drivers.model_board.ModelBoard`
  becomes the card, at the addresses the ``.hwh`` gives ``tickgate_top_0`` and the DMAs.
* **Registers** (:meth:`read_registers`, :meth:`write_registers`): the card's range goes to
  ``ModelBoard.read32/write32``; each DMA's to a :class:`FakeAxiDma`; the PS's SLCR (clock
  set-up at download) to a plain word store.
* **Memory**: :meth:`allocate` gives ``PynqBuffer`` arrays with physical addresses; like the
  Zynq's DDR they are *not* coherent: the DMAs read and write a separate device copy that
  ``flush`` updates from the host array and ``invalidate`` copies back, so a driver that
  forgets either sees stale bytes.
* **DMA** (:class:`FakeAxiDma`, Xilinx AXI DMA 7.1 in simple mode): writing S2MM_LENGTH arms a
  receive; writing MM2S_LENGTH sends: the bytes at MM2S_SA go to ``ModelBoard.transfer(port,
  records)`` ("tick" for ``axi_dma_tick``, "order" for ``axi_dma_order``) and the output
  records are written at the armed S2MM_DA, with S2MM_LENGTH = bytes received and both
  channels idle. Output with no receive armed waits (MM2S stays busy) as the stream would.
  Every arm/send is logged in :attr:`FakePynqDevice.log`.

Faults (:class:`Faults`): a DMA error bit, a transfer that never goes idle (the driver's
timeout), a short S2MM length, a wrong ID register.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

from tickgate.drivers.model_board import ModelBoard
from tickgate.drivers.pynq_board import AxiDmaRegs as R
from tickgate.drivers.pynq_board import find_card_ip
from tickgate.gateware.records import ORDER_DTYPE, TICK_DTYPE

__all__ = ["FakePynqDevice", "FakeAxiDma", "Faults", "write_bitfile"]

#: Zynq SLCR (clock registers PYNQ programs at download).
SLCR_BASE, SLCR_SIZE = 0xF800_0000, 0x1000
IO_PLL_CTRL = 0x108
#: Which card port each DMA's MM2S feeds (the block design).
DMA_PORTS = {"axi_dma_tick": "tick", "axi_dma_order": "order"}
DMA_DTYPES = {"tick": TICK_DTYPE, "order": ORDER_DTYPE}
#: Where the fake's "DDR" buffers start (physical addresses).
DDR_BASE = 0x1800_0000


@dataclass
class Faults:
    """Switches the tests turn on; each counts down the transfers it hits (0: off)."""

    #: The next N sends end with DMASR error bits (``dma_error_bits``) and the channel halted.
    dma_error: int = 0
    dma_error_bits: int = R.DMA_SLV_ERR
    #: The next N sends never go idle (the driver's timeout).
    hang: int = 0
    #: The next N receives report one record fewer in S2MM_LENGTH.
    short: int = 0
    #: The card's ``id`` register reads this instead (None: the model's).
    wrong_id: int | None = None


def write_bitfile(path: str | Path, design: str = "tickgate", part: str = "7z020clg400",
                  payload: bytes = b"\xff" * 64) -> Path:
    """Write a ``.bit`` with a valid Xilinx header (what PYNQ's ``bit2bin`` parses) and
    ``payload`` as its configuration data (a multiple of 4 bytes)."""
    def field_(key: bytes, text: str) -> bytes:
        data = text.encode() + b"\0"
        return key + len(data).to_bytes(2, "big") + data
    head = b"\x00\x09" + b"\x0f\xf0" * 4 + b"\x00" + b"\x00\x01"
    body = (field_(b"a", f"{design};UserID=0XFFFFFFFF;Version=2024.1") + field_(b"b", part)
            + field_(b"c", "2026/01/01") + field_(b"d", "00:00:00")
            + b"e" + len(payload).to_bytes(4, "big") + payload)
    path = Path(path)
    path.write_bytes(head + body)
    return path


class FakeAxiDma:
    """One AXI DMA 7.1 in direct-register mode (PG021), modelled at the register level."""

    def __init__(self, device: FakePynqDevice, name: str, has_s2mm: bool) -> None:
        self.device = device
        self.name = name
        self.port = DMA_PORTS[name]
        self.has_s2mm = has_s2mm
        self.regs: dict[int, int] = {}
        self._reset()

    def _reset(self) -> None:
        self.regs = {R.MM2S_DMACR: 0, R.S2MM_DMACR: 0}
        self.status = {R.MM2S_DMASR: R.HALTED, R.S2MM_DMASR: R.HALTED}
        self.armed: tuple[int, int] | None = None       # (address, bytes) of a receive
        self.pending: bytes | None = None               # output waiting for a receive
        self.sending = False
        self.sender: FakeAxiDma | None = None

    # -------------------------------------------------------------- register access
    def read(self, offset: int) -> int:
        if offset in self.status:
            return self.status[offset]
        return self.regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if offset in (R.MM2S_DMACR, R.S2MM_DMACR):
            if value & R.RESET:                         # soft reset: both channels
                self.device.log.append(("reset", self.name))
                self._reset()
                return
            self.regs[offset] = value
            sr = R.MM2S_DMASR if offset == R.MM2S_DMACR else R.S2MM_DMASR
            if value & R.RUN:
                self.status[sr] &= ~R.HALTED
            else:
                self.status[sr] |= R.HALTED
        elif offset in self.status:                     # W1C interrupt bits
            self.status[offset] &= ~(value & (R.IOC_IRQ | R.ERR_IRQ))
        elif offset == R.MM2S_LENGTH:
            self.regs[offset] = value
            self._send(value)
        elif offset == R.S2MM_LENGTH:
            self.regs[offset] = value
            self._arm(value)
        else:
            self.regs[offset] = value

    # -------------------------------------------------------------- data movement
    def _address(self, lo: int, hi: int) -> int:
        return self.regs.get(hi, 0) << 32 | self.regs.get(lo, 0)

    def _arm(self, nbytes: int) -> None:
        if not self.has_s2mm:
            raise AssertionError(f"{self.name} has no S2MM channel")
        self.device.log.append(("recv", self.name, nbytes))
        self.armed = (self._address(R.S2MM_DA, R.S2MM_DA_MSB), nbytes)
        self.status[R.S2MM_DMASR] &= ~R.IDLE
        if self.pending is not None:
            self.device.output_dma.deliver()

    def _send(self, nbytes: int) -> None:
        dev, faults = self.device, self.device.faults
        dev.log.append(("send", self.name, nbytes))
        self.status[R.MM2S_DMASR] &= ~R.IDLE
        if faults.hang:
            faults.hang -= 1
            return                                      # never idle: the driver times out
        if faults.dma_error:
            faults.dma_error -= 1
            self.status[R.MM2S_DMASR] |= faults.dma_error_bits | R.HALTED | R.ERR_IRQ
            return
        data = dev.ddr_read(self._address(R.MM2S_SA, R.MM2S_SA_MSB), nbytes)
        dtype = DMA_DTYPES[self.port]
        records = np.frombuffer(data, dtype).copy()
        dev.transfers.append((self.port, len(records)))
        out = dev.card.transfer(self.port, records)
        self.sending = True
        out_dma = dev.output_dma
        out_dma.pending = out.tobytes()
        out_dma.sender = self
        if out_dma.armed is not None:
            out_dma.deliver()

    def deliver(self) -> None:
        """Write the pending output into the armed receive; both channels go idle."""
        assert self.pending is not None and self.armed is not None
        data, (address, room) = self.pending, self.armed
        faults = self.device.faults
        if faults.short:
            faults.short -= 1
            data = data[:-128]
        if len(data) > room:                            # the packet overflows the buffer
            self.status[R.S2MM_DMASR] |= R.DMA_INT_ERR | R.HALTED | R.ERR_IRQ
        else:
            self.device.ddr_write(address, data)
            self.regs[R.S2MM_LENGTH] = len(data)
            self.status[R.S2MM_DMASR] |= R.IDLE | R.IOC_IRQ
        self.pending, self.armed = None, None
        sender = self.sender
        assert sender is not None
        sender.sending = False
        sender.status[R.MM2S_DMASR] |= R.IDLE | R.IOC_IRQ


@dataclass
class _Region:
    base: int
    size: int
    read: Callable[[int], int]
    write: Callable[[int, int], None]


@dataclass
class _DdrBuffer:
    address: int
    data: bytearray
    buffer: Any = field(repr=False, default=None)


class FakePynqDevice(Device):
    """A PYNQ-Z2 whose PL holds a model board (see the module docstring).

    ``make_card`` builds the card each time a bitstream is downloaded (a fresh PL).
    """

    def __init__(self, make_card: Callable[[], ModelBoard], tag: str = "fake_pynq") -> None:
        super().__init__(tag)
        self.capabilities = {"REGISTER_RW": True}
        self.arch = "armv7l"
        self.timestamp = ""
        self.bitfile_name = None
        self.make_card = make_card
        self.card: ModelBoard | None = None
        self.faults = Faults()
        #: DMA events in order: ("recv", dma, bytes), ("send", dma, bytes), ("reset", dma).
        self.log: list[tuple] = []
        #: (port, records) of each batch the card received.
        self.transfers: list[tuple[str, int]] = []
        #: Bitfiles downloaded, in order.
        self.loads: list[str] = []
        self.allocations = 0
        self.flushes = 0
        self.invalidates = 0
        self._ddr: list[_DdrBuffer] = []
        self._next_address = DDR_BASE
        self._slcr = {IO_PLL_CTRL: 20 << 12}            # IO PLL: 50 MHz * 20
        self._regions: list[_Region] = [
            _Region(SLCR_BASE, SLCR_SIZE, lambda o: self._slcr.get(o, 0),
                    self._slcr.__setitem__)]
        self.dmas: dict[str, FakeAxiDma] = {}
        _forget_pynq_clocks()

    # -------------------------------------------------------------- overlay
    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False) -> Any:
        """Parse ``<bitfile>.hwh`` with PYNQ's parser, as a board does (no xclbin step)."""
        from pynq.pl_server.embedded_device import BitfileHandler
        from pynqmetadata.frontends import Metadata
        from pynqmetadata.views.runtime import RuntimeMetadataParser

        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.is_file():
            raise RuntimeError("Unable to find metadata for bitstream")
        parser = RuntimeMetadataParser(Metadata(input=hwh))
        parser.refresh_hierarchy_dict()
        parser.bin_data = BitfileHandler(bitfile_name).get_bin_data()
        parser.xclbin_data = None
        parser.dtbo_data = None
        return parser

    def download(self, bitstream: Any, parser: Any = None) -> None:
        """"Program the PL": a new card and new DMAs at the ``.hwh``'s addresses."""
        self.loads.append(bitstream.bitfile_name)
        ip_dict = parser.ip_dict
        card_ip = find_card_ip(ip_dict)
        self.card = self.make_card()
        self.card.open()
        id_offset = self.card.info.offset("id")

        def card_read(offset: int) -> int:
            if offset == id_offset and self.faults.wrong_id is not None:
                return self.faults.wrong_id
            return self.card.read32(offset)

        self._regions = self._regions[:1] + [
            _Region(card_ip["phys_addr"], card_ip["addr_range"], card_read,
                    lambda o, v: self.card.write32(o, v))]
        self.dmas = {}
        for name in DMA_PORTS:
            desc = ip_dict[name]
            dma = FakeAxiDma(self, name, bool(int(desc["parameters"]["C_INCLUDE_S2MM"])))
            self.dmas[name] = dma
            self._regions.append(_Region(desc["phys_addr"], desc["addr_range"], dma.read,
                                         dma.write))
        super().post_download(bitstream, parser, "fake")

    @property
    def output_dma(self) -> FakeAxiDma:
        return self.dmas["axi_dma_tick"]

    # -------------------------------------------------------------- registers
    def _region(self, address: int) -> _Region:
        for region in self._regions:
            if region.base <= address < region.base + region.size:
                return region
        raise RuntimeError(f"fake PYNQ: no slave at {address:#010x} (a Zynq would hang)")

    def read_registers(self, address: int, length: int) -> bytes:
        region = self._region(address)
        out = b""
        for k in range(0, length, 4):
            out += (region.read(address + k - region.base) & 0xFFFF_FFFF).to_bytes(4, "little")
        return out[:length]

    def write_registers(self, address: int, data: bytes) -> None:
        region = self._region(address)
        for k in range(0, len(data), 4):
            region.write(address + k - region.base,
                         int.from_bytes(data[k:k + 4], "little"))

    # -------------------------------------------------------------- memory
    def allocate(self, shape: Any, dtype: Any, **kwargs: Any) -> PynqBuffer:
        buf = PynqBuffer(shape, dtype, device=self, device_address=self._next_address,
                         bo=len(self._ddr), coherent=False)
        self._ddr.append(_DdrBuffer(self._next_address, bytearray(buf.nbytes)))
        self._next_address += (buf.nbytes + 0xFFF) & ~0xFFF
        self.allocations += 1
        return buf

    def flush(self, bo: int, offset: int, ptr: int, size: int) -> None:
        self.flushes += 1
        self._ddr[bo].data[offset:offset + size] = ctypes.string_at(ptr, size)

    def invalidate(self, bo: int, offset: int, ptr: int, size: int) -> None:
        self.invalidates += 1
        ctypes.memmove(ptr, bytes(self._ddr[bo].data[offset:offset + size]), size)

    def _ddr_at(self, address: int, nbytes: int) -> tuple[_DdrBuffer, int]:
        for buf in self._ddr:
            if buf.address <= address and address + nbytes <= buf.address + len(buf.data):
                return buf, address - buf.address
        raise RuntimeError(f"fake PYNQ: DMA to unallocated memory {address:#x}+{nbytes}")

    def ddr_read(self, address: int, nbytes: int) -> bytes:
        buf, at = self._ddr_at(address, nbytes)
        return bytes(buf.data[at:at + nbytes])

    def ddr_write(self, address: int, data: bytes) -> None:
        buf, at = self._ddr_at(address, len(data))
        buf.data[at:at + len(data)] = data


def _forget_pynq_clocks() -> None:
    """PYNQ's ``Clocks`` keeps the first device's SLCR for good; each fake starts fresh."""
    from pynq.ps import Clocks
    if "_real_instance" in vars(Clocks):
        del Clocks._real_instance
