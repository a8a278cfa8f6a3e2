"""The simulated board: the card's own Verilog, compiled by Verilator, behind the Board API.

:class:`SimBoard` loads the library :mod:`tickgate.sim.build` makes (built on first use,
then cached by the hash of the Verilog) and talks to it through :mod:`tickgate.sim.library`:
register accesses are real AXI4-Lite handshakes and each transfer is one DMA batch (MM2S
with ``tlast`` on the last record, S2MM until a record with ``tlast``), clocked in C++.
It runs the very gateware a bitstream is built from, so its records are the card's.

``SimBoard.create(params=EngineParams(n_symbols=16))`` (or ``symbols=16``) simulates another
build. Its register map is the ``regmap.json`` generated with that Verilog unless
``regmap`` names another (which :meth:`open` then checks against the card like a real one).
:class:`Board` cuts calls into batches of :attr:`Board.max_batch` records (changeable at any
time); the DMA model itself refuses a batch above :data:`.board.MAX_BATCH`, its length
register's limit.

Time is counted in clock cycles, not seconds, so results never depend on the machine's
load: a transfer of ``n`` records may take ``cycle_slack + cycles_per_record * n`` cycles
and a register access ``bus_timeout_cycles`` before :class:`BoardTimeout`
(:attr:`Board.timeout`, in seconds, still bounds the helpers that poll a status bit).
After a failed transfer the board drains the card's output (as a driver resets its DMA),
so the next call starts clean; the records in flight are lost.

Fault injection for tests: :meth:`SimBoard.inject` (``Fault.OUT_STALL``: the card stops
answering; ``Fault.DROP_TLAST``; ``Fault.EARLY_TLAST``; ``Fault.BUS_STALL``; a short S2MM
buffer), :meth:`SimBoard.set_stalls` (random back-pressure on both streams).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import ORDER_BYTES, OUTPUT_BYTES, OUTPUT_DTYPE, TICK_BYTES

from .board import (
    MAX_BATCH,
    Board,
    BoardBusError,
    BoardDmaError,
    BoardError,
    BoardTimeout,
    Port,
)
from .regmap import RegisterMapInfo

__all__ = ["SimBoard"]

_RESP_NAMES = {2: "SLVERR", 3: "DECERR"}


class SimBoard(Board):
    """The Verilated card as a board (see the module docstring)."""

    kind = "sim"

    def __init__(self, info: RegisterMapInfo, params: EngineParams, *,
                 cycles_per_record: int = 16, cycle_slack: int = 10_000,
                 bus_timeout_cycles: int = 1_000, build_jobs: int | None = None,
                 library: str | Path | None = None, **options: Any) -> None:
        super().__init__(info, **options)
        self.params = params
        #: Cycle budget of a transfer: ``cycle_slack + cycles_per_record * n`` (one tick per
        #: cycle when symbols interleave, one per 6 for a single symbol, plus stalls).
        self.cycles_per_record = cycles_per_record
        self.cycle_slack = cycle_slack
        self.bus_timeout_cycles = bus_timeout_cycles
        self.build_jobs = build_jobs
        #: A library to load as it is instead of the build of ``params`` (the build's own
        #: PGO training run loads its instrumented library so).
        self.library = Path(library) if library is not None else None
        self.library_path: Path | None = None
        self._sim: Any = None
        self._s2mm_capacity: int | None = None

    @classmethod
    def create(cls, *, regmap: str | Path | None = None, params: EngineParams | None = None,
               symbols: int | None = None, **options: Any) -> SimBoard:
        """A simulated board of the build ``params`` (or ``symbols`` symbols; default 64),
        reached through ``regmap`` (default: the map generated with its Verilog)."""
        from tickgate.sim.build import card_verilog

        if params is None:
            params = EngineParams(n_symbols=symbols) if symbols else EngineParams()
        if regmap is None:
            regmap = card_verilog(params)[1]
        return cls(RegisterMapInfo.from_json(regmap), params, **options)

    # ------------------------------------------------------------------ life cycle
    def _open(self) -> None:
        from tickgate.gateware.card_regs import Status
        from tickgate.sim.build import SimBuildError, build_library
        from tickgate.sim.library import SimError, SimLibrary

        try:
            library = self.library or build_library(self.params, jobs=self.build_jobs).library
            self._sim = SimLibrary(library, record_bytes=(TICK_BYTES, ORDER_BYTES,
                                                          OUTPUT_BYTES),
                                   max_records=MAX_BATCH,
                                   status_offset=self.info.offset("status"),
                                   clearing_mask=Status.CLEARING)
            self.library_path = library
            self._sim.set_bus_timeout(self.bus_timeout_cycles)
            self._sim.reset()
        except (SimBuildError, SimError) as exc:
            self._close()
            raise BoardError(f"sim board: {exc}") from exc

    def _close(self) -> None:
        if self._sim is not None:
            self._sim.close()
            self._sim = None

    def reset(self) -> None:
        """Reset the card: every register to its reset value, the risk state cleared."""
        self._require_open()
        self._sim.reset()

    # ------------------------------------------------------------------ registers
    def _read32(self, offset: int) -> int:
        resp, word = self._sim.axil_read(offset)
        self._check_resp(resp, "read", offset)
        return word

    def _write32(self, offset: int, value: int) -> None:
        self._check_resp(self._sim.axil_write(offset, value), "write", offset)

    def _check_resp(self, resp: int, what: str, offset: int) -> None:
        if resp == 0:
            return
        if resp < 0:
            raise BoardTimeout(f"sim board: a register {what} at {offset:#x} got no response "
                               f"in {self.bus_timeout_cycles} cycles")
        name = _RESP_NAMES.get(resp, f"resp {resp}")
        raise BoardBusError(f"sim board: register {what} at {offset:#x} answered {name}")

    # ------------------------------------------------------------------ streams
    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        capacity = len(records) if self._s2mm_capacity is None else self._s2mm_capacity
        out = np.empty(capacity, OUTPUT_DTYPE)
        return out[:self._run_batch(port, records, out)]

    def _transfer_into(self, port: Port, records: np.ndarray, out: np.ndarray) -> int:
        """The harness's S2MM writes the records straight into ``out`` (no per-batch array,
        no copy: ~8 % of a 1 M-tick ``process_ticks``, BENCHMARKS.md), unless a test gave
        S2MM another capacity (:meth:`inject`)."""
        if self._s2mm_capacity is not None:
            return super()._transfer_into(port, records, out)
        return self._run_batch(port, records, out)

    def _run_batch(self, port: Port, records: np.ndarray, out: np.ndarray) -> int:
        """One DMA batch into ``out`` (S2MM's buffer: its length is the capacity); return the
        records that came back. A failed batch drains the card."""
        from tickgate.sim.library import SimDmaError, SimTimeout

        budget = self.cycle_slack + self.cycles_per_record * len(records)
        try:
            got = self._sim.transfer(port, records, out, max_cycles=budget)
        except SimTimeout as exc:
            self._recover()
            raise BoardTimeout(f"sim board: {exc}") from None
        except SimDmaError as exc:
            self._recover()
            raise BoardDmaError(f"sim board: {exc}") from None
        if got != len(records):
            self._recover()
        return got

    def _recover(self) -> None:
        """Drop what the card still sends after a failed batch."""
        self._sim.drain()

    # ------------------------------------------------------------------ simulation only
    @property
    def cycles(self) -> int:
        """Clock cycles simulated since the board was opened."""
        self._require_open()
        return self._sim.cycles

    def idle(self, cycles: int) -> None:
        """Let ``cycles`` clock cycles pass with no traffic (e.g. for the feed watchdog)."""
        self._require_open()
        self._sim.idle(cycles)

    def set_stalls(self, gap: float = 0.0, ready_low: float = 0.0, seed: int = 1) -> None:
        """Random back-pressure from now on: per cycle, the probability that MM2S withholds
        a record and that S2MM drops ``tready``."""
        self._require_open()
        self._sim.set_stalls(gap, ready_low, seed)

    @contextmanager
    def inject(self, faults: int = 0, *, s2mm_capacity: int | None = None) -> Iterator[None]:
        """Inside the block, inject ``faults`` (:class:`tickgate.sim.library.Fault` bits)
        and/or give S2MM a buffer of ``s2mm_capacity`` records (an overflow error when a
        batch returns more before ``tlast``)."""
        self._require_open()
        self._sim.set_faults(faults)
        self._s2mm_capacity = s2mm_capacity
        try:
            yield
        finally:
            self._s2mm_capacity = None
            if self._sim is not None:
                self._sim.set_faults(0)
