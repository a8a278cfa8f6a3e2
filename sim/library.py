"""ctypes binding of the simulated board's library (``harness/board.h``).

:class:`SimLibrary` wraps one ``tg_board``: the Verilated card behind a DMA model and an
AXI4-Lite master, every cycle clocked in C++. Records travel as numpy structured arrays
whose buffers are handed to C++ without a copy (inputs are made C-contiguous first if they
are not). Failures are Python exceptions: :class:`SimError` and its subclasses; bus
responses are returned as the AXI codes (:class:`Resp`) for the board to judge.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

__all__ = [
    "ABI_VERSION",
    "Resp",
    "Status",
    "Fault",
    "SimError",
    "SimTimeout",
    "SimDmaError",
    "SimLibrary",
]

#: ``TG_ABI_VERSION`` this binding speaks.
ABI_VERSION = 1

_P = ctypes.c_void_p
_U32 = ctypes.c_uint32
_U64 = ctypes.c_uint64
_U32P = ctypes.POINTER(ctypes.c_uint32)

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "tg_abi_version": (ctypes.c_int, []),
    "tg_create": (_P, [_U32, _U32, _U32, _U32, _U32, _U32, ctypes.c_char_p, ctypes.c_size_t]),
    "tg_destroy": (None, [_P]),
    "tg_reset": (ctypes.c_int, [_P, _U32, _U64]),
    "tg_axil_read": (ctypes.c_int, [_P, _U32, _U32P]),
    "tg_axil_write": (ctypes.c_int, [_P, _U32, _U32]),
    "tg_set_bus_timeout": (None, [_P, _U64]),
    "tg_transfer": (ctypes.c_int, [_P, ctypes.c_int, _P, _U32, _P, _U32, _U32P, _U64]),
    "tg_drain": (_U64, [_P, _U32, _U64]),
    "tg_idle": (None, [_P, _U64]),
    "tg_set_faults": (None, [_P, _U32]),
    "tg_set_stalls": (None, [_P, _U32, _U32, _U64]),
    "tg_cycles": (_U64, [_P]),
}


class Resp:
    """AXI responses, and the harness's code for a bus that never answered."""

    OKAY = 0
    SLVERR = 2
    DECERR = 3
    TIMEOUT = -1


class Status:
    """``tg_transfer`` / ``tg_reset`` status codes."""

    OK = 0
    TIMEOUT = 1
    OVERFLOW = 2
    BAD_COUNT = 3
    BAD_PORT = 4
    BUS_ERROR = 5


class Fault:
    """Fault-injection bits for :meth:`SimLibrary.set_faults`."""

    NONE = 0
    OUT_STALL = 1      #: S2MM holds m_axis_tready low: the card stops answering
    DROP_TLAST = 2     #: MM2S sends the last record without tlast
    EARLY_TLAST = 4    #: MM2S sets tlast on the first record too
    BUS_STALL = 8      #: the AXI-Lite master never takes a response


#: Input streams by name (the harness's port numbers).
PORTS = {"tick": 0, "order": 1}


class SimError(Exception):
    """The harness refused a call or failed."""


class SimTimeout(SimError):
    """A transfer, a bus access or the reset did not finish in its cycle budget."""


class SimDmaError(SimError):
    """A transfer ended in error (output overflow, bad record count)."""


def _load(path: Path) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise SimError(f"cannot load the simulated board {path}: {exc}") from exc
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = lib.tg_abi_version()
    if version != ABI_VERSION:
        raise SimError(f"{path} speaks ABI {version}, this binding {ABI_VERSION}; rebuild it")
    return lib


class SimLibrary:
    """One simulated card loaded from ``path`` (see the module docstring).

    ``record_bytes``: (tick, order, output) record sizes, checked by C++ against the port
    widths. ``max_records``: the largest transfer. ``status_offset``/``clearing_mask``: where
    :meth:`reset` reads the risk gate's CLEARING bit.
    """

    def __init__(self, path: str | Path, *, record_bytes: tuple[int, int, int],
                 max_records: int, status_offset: int, clearing_mask: int) -> None:
        self.path = Path(path)
        self._lib = _load(self.path)
        err = ctypes.create_string_buffer(256)
        handle = self._lib.tg_create(*record_bytes, max_records, status_offset, clearing_mask,
                                     err, len(err))
        if not handle:
            raise SimError(f"{self.path}: {err.value.decode(errors='replace')}")
        self._handle: int | None = handle
        self.record_bytes = record_bytes
        self.max_records = max_records
        self._word = ctypes.c_uint32()
        self._count = ctypes.c_uint32()

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Free the model. Idempotent."""
        if self._handle is not None:
            self._lib.tg_destroy(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()

    def _h(self) -> int:
        if self._handle is None:
            raise SimError("the simulated board was closed")
        return self._handle

    def reset(self, *, hold_cycles: int = 4, max_cycles: int = 100_000) -> None:
        """Hold reset, release it and wait for the risk gate's clearing sweep."""
        status = self._lib.tg_reset(self._h(), hold_cycles, max_cycles)
        if status == Status.TIMEOUT:
            raise SimTimeout(f"the clearing sweep did not end within {max_cycles} cycles")
        if status != Status.OK:
            raise SimError(f"reset: the status register answered an AXI error ({status})")

    # ------------------------------------------------------------------ registers
    def axil_read(self, addr: int) -> tuple[int, int]:
        """Read the word at byte ``addr``; return (AXI resp or ``Resp.TIMEOUT``, data)."""
        resp = self._lib.tg_axil_read(self._h(), addr, ctypes.byref(self._word))
        return resp, self._word.value

    def axil_write(self, addr: int, data: int) -> int:
        """Write ``data`` at byte ``addr``; return the AXI resp (or ``Resp.TIMEOUT``)."""
        return self._lib.tg_axil_write(self._h(), addr, data & 0xFFFF_FFFF)

    def set_bus_timeout(self, cycles: int) -> None:
        """Cycles a register access may take before it gives up."""
        self._lib.tg_set_bus_timeout(self._h(), cycles)

    # ------------------------------------------------------------------ streams
    def transfer(self, port: str, records: np.ndarray, out: np.ndarray, *,
                 max_cycles: int) -> int:
        """Run one DMA batch of ``records`` to ``port``; fill ``out``; return the count.

        ``out`` is a C-contiguous array of output records (its length is S2MM's capacity).
        Raises :class:`SimTimeout` or :class:`SimDmaError` (after which the card may still
        hold records: :meth:`reset` it).
        """
        records = np.ascontiguousarray(records)
        if records.dtype.itemsize != self.record_bytes[PORTS[port]]:
            raise SimError(f"{port} records are {records.dtype.itemsize} bytes, the port "
                           f"takes {self.record_bytes[PORTS[port]]}")
        if not out.flags.c_contiguous or out.dtype.itemsize != self.record_bytes[2]:
            raise SimError("out must be C-contiguous output records")
        status = self._lib.tg_transfer(self._h(), PORTS[port], records.ctypes.data,
                                       len(records), out.ctypes.data, len(out),
                                       ctypes.byref(self._count), max_cycles)
        got = self._count.value
        if status == Status.OK:
            return got
        if status == Status.TIMEOUT:
            raise SimTimeout(f"a DMA batch of {len(records)} {port} records did not finish in "
                             f"{max_cycles} cycles ({got} output records came back)")
        if status == Status.OVERFLOW:
            raise SimDmaError(f"S2MM's buffer of {len(out)} records filled before tlast "
                              f"(batch of {len(records)} {port} records)")
        if status == Status.BAD_COUNT:
            raise SimDmaError(f"a DMA batch must hold 1 .. {self.max_records} records, "
                              f"not {len(records)}")
        raise SimError(f"tg_transfer returned status {status}")

    def drain(self, *, quiet_cycles: int = 64, max_cycles: int = 1_000_000) -> int:
        """Take and drop output records until m_axis is quiet for ``quiet_cycles`` cycles
        (faults ignored): the recovery after a failed transfer. Return the records dropped."""
        return self._lib.tg_drain(self._h(), quiet_cycles, max_cycles)

    def idle(self, cycles: int) -> None:
        """Clock ``cycles`` cycles with no traffic."""
        self._lib.tg_idle(self._h(), cycles)

    # ------------------------------------------------------------------ tests and probes
    def set_faults(self, faults: int) -> None:
        """Set the :class:`Fault` bits (0: none)."""
        self._lib.tg_set_faults(self._h(), faults)

    def set_stalls(self, gap: float = 0.0, ready_low: float = 0.0, seed: int = 1) -> None:
        """Random back-pressure: probability per cycle of an MM2S gap / S2MM ready low."""
        self._lib.tg_set_stalls(self._h(), round(gap * 1000), round(ready_low * 1000), seed)

    @property
    def cycles(self) -> int:
        """Clock cycles since the model was created."""
        return self._lib.tg_cycles(self._h())
