"""The one interface the host uses to reach a card: :class:`Board`.

Implementations: the model board (:mod:`.model_board`, the numpy reference model), the
simulated board (:mod:`.sim_board`, the top level compiled by Verilator), the PYNQ board
(:mod:`.pynq_board`) and the Alveo board (:mod:`.alveo_board`). The host never knows which
one it has; :func:`open_board` picks one by name.

What a board does
-----------------
* **Registers by name** (:meth:`Board.read`, :meth:`Board.write`), offsets only from the
  register-map JSON (:mod:`.regmap`); :meth:`Board.open` reads the ``id``, ``version`` and
  ``map_hash`` words and refuses (:class:`BoardMismatch`) a card built from another map.
* **Streams**: :meth:`Board.process_ticks` sends ``TICK_DTYPE`` records on the tick stream
  and returns one ``OUTPUT_DTYPE`` record per tick; :meth:`Board.submit_orders` sends
  ``ORDER_DTYPE`` host orders on the order stream and returns one verdict record per order.
  Each call is synchronous: it returns when every record is back, so the card is idle
  between calls and calls are serialised. That makes the interleaving of ticks and orders at
  the risk gate the order of the calls, which every board reproduces exactly; it is what
  lets the model board and the simulated board give byte-identical records.
* **DMA batches**: a call is cut into transfers of at most :attr:`Board.max_batch` records;
  each transfer is one DMA batch, ``tlast`` on its last record, and its records come back as
  one batch ending in ``tlast``. The limit is the Xilinx AXI DMA's buffer length register,
  widened to :data:`DMA_LENGTH_BITS` bits: ``(2**26 - 1) // OUTPUT_BYTES`` = 524,287 records.
* **Configuration helpers** on top of the registers (:meth:`Board.load_engine`,
  :meth:`Board.load_limits`, :meth:`Board.kill`...), the same for every board because they
  only write registers.
* **Health** (:meth:`Board.health`) and counters (:meth:`Board.counters`).

Errors: everything a board raises is a :class:`BoardError`: :class:`BoardMismatch` (wrong
id/version/hash), :class:`BoardTimeout` (a transfer or register access did not finish in
:attr:`Board.timeout` seconds), :class:`BoardDmaError` (the DMA reported an error or
returned the wrong number of records), :class:`BoardBusError` (a register access answered
SLVERR, e.g. a write to a read-only register, or DECERR, an unmapped or misaligned address;
the card counts both in ``bus_errors``), :class:`BoardClosed` (used after :meth:`close`).

Implementing a board: subclass :class:`Board` and define :meth:`_open`, :meth:`_close`,
:meth:`_read32`, :meth:`_write32` and :meth:`_transfer` (one DMA batch). Everything else,
batching and checking included, is here. A board whose DMA can write straight into the
caller's array also overrides :meth:`_transfer_into` (the simulated board does).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from tickgate.gateware.records import (
    ORDER_DTYPE,
    OUTPUT_BYTES,
    OUTPUT_DTYPE,
    TICK_DTYPE,
    OutputKind,
    Reject,
)

from .regmap import RegisterMapInfo, RegisterMapMismatch, Registers

__all__ = [
    "Board",
    "BoardError",
    "BoardMismatch",
    "BoardTimeout",
    "BoardDmaError",
    "BoardClosed",
    "BoardBusError",
    "BoardHealth",
    "Identity",
    "Port",
    "DMA_LENGTH_BITS",
    "MAX_BATCH",
    "BOARD_KINDS",
    "open_board",
]

#: Width of the AXI DMA's buffer length register in the card's block design (bytes).
DMA_LENGTH_BITS = 26
#: Records per DMA transfer: the output buffer (128 bytes a record) bounds it.
MAX_BATCH = ((1 << DMA_LENGTH_BITS) - 1) // OUTPUT_BYTES

#: The input streams of the card.
Port = Literal["tick", "order"]

#: Names :func:`open_board` knows.
BOARD_KINDS = ("model", "sim", "pynq", "alveo")


class BoardError(Exception):
    """Anything that went wrong with a board."""


class BoardMismatch(BoardError, RegisterMapMismatch):
    """The card's id, version or map hash is not the register map's."""


class BoardTimeout(BoardError):
    """A transfer or register access did not finish in time."""


class BoardDmaError(BoardError):
    """The DMA reported an error, or returned another number of records than were sent."""


class BoardBusError(BoardError):
    """The card answered a register access with an AXI error (SLVERR or DECERR)."""


class BoardClosed(BoardError):
    """The board was used before :meth:`Board.open` or after :meth:`Board.close`."""


@dataclass(frozen=True)
class Identity:
    """What :meth:`Board.identify` read."""

    board: str
    ident: int
    version: int
    map_hash: int
    detail: str = ""

    @property
    def version_text(self) -> str:
        return f"{self.version >> 16}.{self.version & 0xFFFF}"


@dataclass
class BoardHealth:
    """A board's state as the host reports it (see :meth:`Board.health`)."""

    board: str
    ok: bool
    #: One sentence: what is wrong, or what the board is.
    detail: str
    #: The board computes with the model because its card failed (:mod:`.failover`).
    failed_over: bool = False
    kill: bool = False
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"board": self.board, "ok": self.ok, "detail": self.detail,
                "failed_over": self.failed_over, "kill": self.kill,
                "counters": dict(self.counters)}


class Board(ABC):
    """A card, real, simulated or modelled (see the module docstring)."""

    #: Short name: ``model``, ``sim``, ``pynq``, ``alveo``.
    kind: ClassVar[str] = "?"

    def __init__(self, info: RegisterMapInfo, *, max_batch: int = MAX_BATCH,
                 timeout: float = 5.0) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be 1 .. {MAX_BATCH}, not {max_batch}")
        self.info = info
        self.max_batch = max_batch
        #: Seconds a transfer or register access may take before :class:`BoardTimeout`.
        self.timeout = timeout
        self.registers = Registers(self, info)
        self._open_ = False

    # ------------------------------------------------------------------ to implement
    @classmethod
    def create(cls, *, regmap: str | Path | None = None, **options: Any) -> Board:
        """Build the board from :func:`open_board`'s arguments (not opened yet)."""
        raise NotImplementedError(f"{cls.__name__} does not define create()")

    @abstractmethod
    def _open(self) -> None:
        """Acquire the card (load, map, allocate)."""

    @abstractmethod
    def _close(self) -> None:
        """Release everything :meth:`_open` acquired. Must not raise."""

    @abstractmethod
    def _read32(self, offset: int) -> int:
        """Return the register word at byte ``offset``; raise :class:`BoardBusError` if the
        card answers SLVERR/DECERR."""

    @abstractmethod
    def _write32(self, offset: int, value: int) -> None:
        """Write the register word ``value`` at byte ``offset``; raise
        :class:`BoardBusError` if the card answers SLVERR/DECERR."""

    @abstractmethod
    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        """Send one DMA batch (``tlast`` on its last record) to ``port``; return the batch
        of ``OUTPUT_DTYPE`` records that came back (``len(records)`` of them when all
        is well; :class:`Board` checks). ``1 <= len(records) <= max_batch``."""

    def _transfer_into(self, port: Port, records: np.ndarray, out: np.ndarray) -> int:
        """Send one DMA batch like :meth:`_transfer`, the records that come back written to
        ``out`` (C-contiguous ``OUTPUT_DTYPE``, ``len(records)`` long; at most ``len(out)``
        written); return how many came back (:class:`Board` checks). By default
        :meth:`_transfer` and a copy; a board overrides it to skip both."""
        got = self._transfer(port, records)
        if got.dtype != OUTPUT_DTYPE:
            raise BoardDmaError(f"{self.kind} board: a batch of {len(records)} {port} records "
                                f"came back as {got.dtype} records, not OUTPUT_DTYPE")
        n = min(len(got), len(out))
        out[:n] = got[:n]
        return len(got)

    # ------------------------------------------------------------------ life cycle
    def open(self) -> Identity:
        """Acquire the card and check its identity; return it. Idempotent."""
        if not self._open_:
            self._open()
            self._open_ = True
            try:
                return self.identify()
            except BaseException:
                self.close()
                raise
        return self.identify()

    def close(self) -> None:
        """Release the card. Idempotent."""
        if self._open_:
            self._open_ = False
            self._close()

    @property
    def is_open(self) -> bool:
        return self._open_

    def __enter__(self) -> Board:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> None:
        if not self._open_:
            raise BoardClosed(f"the {self.kind} board is not open")

    # ------------------------------------------------------------------ RegisterBus
    def read32(self, offset: int) -> int:
        """Return the word at byte ``offset`` (the :class:`.regmap.RegisterBus` protocol)."""
        self._require_open()
        return self._read32(offset)

    def write32(self, offset: int, value: int) -> None:
        """Write the word at byte ``offset`` (the :class:`.regmap.RegisterBus` protocol)."""
        self._require_open()
        self._write32(offset, value)

    # ------------------------------------------------------------------ registers by name
    def identify(self) -> Identity:
        """Read the identification words; raise :class:`BoardMismatch` unless they are the
        register map's."""
        words = [self.read32(self.info.offset(n)) for n in ("id", "version", "map_hash")]
        try:
            self.info.check_identity(*words)
        except RegisterMapMismatch as exc:
            raise BoardMismatch(f"{self.kind} board: {exc}") from None
        return Identity(self.kind, *words)

    def read(self, name: str, index: int = 0) -> int:
        """Return register ``name`` (element ``index``)."""
        return self.registers.read(name, index)

    def write(self, name: str, value: int, index: int = 0) -> None:
        """Write register ``name`` (element ``index``); the value is range-checked."""
        self.registers.write(name, value, index)

    # ------------------------------------------------------------------ streams
    def process_ticks(self, ticks: np.ndarray) -> np.ndarray:
        """Send ``TICK_DTYPE`` records; return one ``OUTPUT_DTYPE`` record per tick."""
        return self._stream("tick", ticks, TICK_DTYPE)

    def rehearse_tick(self, ticks: np.ndarray) -> np.ndarray | None:
        """Run one tick (a ``TICK_DTYPE`` array of one) the way :meth:`process_ticks`
        does and undo all it changed, to keep the live path's code and objects in the CPU's
        caches between bursts (the daemon's rehearsal); its record, or None where the board
        cannot (a card: its state cannot be put back, so no tick is sent). Nothing of the
        board changes either way."""
        return None

    def submit_orders(self, orders: np.ndarray) -> np.ndarray:
        """Send ``ORDER_DTYPE`` host orders; return one verdict record per order, in order
        (``reject`` 0: accepted, else its :class:`~tickgate.gateware.records.Reject` bits)."""
        out = self._stream("order", orders, ORDER_DTYPE)
        if len(out) and (not np.all(out["kind"] & OutputKind.HOST)
                         or not np.array_equal(out["order_id"], orders["order_id"])):
            raise BoardDmaError(f"{self.kind} board: the verdicts do not answer the orders "
                                "sent (kinds or order ids differ)")
        return out

    def _stream(self, port: Port, records: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self._require_open()
        records = np.asarray(records)
        if records.dtype != dtype:
            raise TypeError(f"{port} records must have dtype {dtype}, not {records.dtype}")
        if records.ndim != 1:
            raise ValueError(f"{port} records must be one-dimensional")
        out = np.empty(len(records), OUTPUT_DTYPE)
        for start in range(0, len(records), self.max_batch):
            batch = records[start:start + self.max_batch]
            got = self._transfer_into(port, batch, out[start:start + len(batch)])
            if got != len(batch):
                raise BoardDmaError(
                    f"{self.kind} board: a batch of {len(batch)} {port} records came back as "
                    f"{got} records; the card lost or added records")
        return out

    # ------------------------------------------------------------------ configuration
    def load_engine(self, config: Any) -> None:
        """Write an :class:`~tickgate.gateware.params.EngineConfig` (indicator periods)."""
        for name, value in config.as_dict().items():
            self.write(name, int(value))

    def load_decision(self, config: Any) -> None:
        """Write a :class:`~tickgate.gateware.decision.DecisionConfig` (weights, thresholds)."""
        d = config.as_dict()
        for name in ("warmup", "bias", "enter", "exit", "qty", "strategy"):
            self.write(f"decision_{name}", int(d[name]))
        for k, (w, s) in enumerate(zip(d["weights"], d["shifts"], strict=True)):
            self.write("decision_weights", int(w), k)
            self.write("decision_shifts", int(s), k)
        self.write("decision_enable", int(bool(d["enable"])))

    def load_limits(self, limits: Any) -> None:
        """Write a :class:`~tickgate.gateware.risk_model.RiskLimits` (every limit)."""
        for name, value in limits.as_dict().items():
            if name == "max_notional":
                self.write("max_notional_lo", value & 0xFFFF_FFFF)
                self.write("max_notional_hi", value >> 32)     # commits both words
            else:
                self.write(name, int(value))

    def set_symbol(self, symbol: int, *, base: int, pos_limit: int) -> None:
        """Write symbol ``symbol``'s table entry: abs price base (pips), position limit."""
        from tickgate.gateware.card_regs import SymbolCommand
        self.write("sym_index", symbol)
        self.write("sym_base", base)
        self.write("sym_pos_limit", pos_limit)
        self.write("sym_command", SymbolCommand.WRITE_TABLE)

    def set_restricted(self, mask: int) -> None:
        """Write the restricted bitmap (bit ``s``: symbol ``s`` may not trade)."""
        for k in range(self.info.register("restricted").count):
            self.write("restricted", (mask >> 32 * k) & 0xFFFF_FFFF, k)

    def set_position(self, symbol: int, position: int) -> None:
        """Write a confirmed position (lots) and wait until the gate has applied it."""
        from tickgate.gateware.card_regs import Status, SymbolCommand
        self.write("sym_index", symbol)
        self.write("sym_position", position)
        self.write("sym_command", SymbolCommand.SET_POSITION)
        self._wait_clear(Status.SETPOS_PENDING, "a position write")

    def kill(self) -> None:
        """Set the kill switch: every later order is refused until :meth:`clear_kill`."""
        self.write("kill_set", 1)

    def clear_kill(self) -> bool:
        """Clear the kill switch; return whether it is clear (a standing loss or drawdown
        breach sets it again at once)."""
        from tickgate.gateware.card_regs import Status
        self.write("kill_clear", 1)
        return not self.read("status") & Status.KILL

    def clear_risk(self) -> None:
        """Forget ticks, positions, buckets and duplicates; wait for the sweep to end."""
        from tickgate.gateware.card_regs import Command, Status
        self.write("command", Command.CLEAR_RISK)
        self._wait_clear(Status.CLEARING, "the risk state's clearing")

    def write_pnl(self, pnl_day: int) -> None:
        """The day's realised plus marked P&L, cents."""
        self.write("pnl_day", pnl_day)

    def write_equity(self, equity: int) -> None:
        """Current equity, cents (the card keeps its peak)."""
        self.write("equity", equity)

    def _wait_clear(self, bit: int, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while self.read("status") & bit:
            if time.monotonic() > deadline:
                raise BoardTimeout(f"{self.kind} board: {what} did not finish in "
                                   f"{self.timeout:g} s")

    # ------------------------------------------------------------------ health
    def counters(self) -> dict[str, int]:
        """Return every counter (``reject_<reason>`` per reject bit) and the cycle count."""
        out = {}
        for name in self.info.names():
            reg = self.info.register(name)
            if reg.group != "counters" or name.startswith("cycles"):
                continue
            if name == "reject_count":
                for k, reason in enumerate(Reject.names()):
                    out[f"reject_{reason.lower()}"] = self.read(name, k)
            else:
                out[name] = self.read(name)
        lo = self.read("cycles_lo")                 # latches cycles_hi
        out["cycles"] = self.read("cycles_hi") << 32 | lo
        return out

    def health(self) -> BoardHealth:
        """Identify the card and read its counters; ``ok`` is False (with the reason in
        ``detail``) when it does not answer or is the wrong card. Never raises a
        :class:`BoardError`."""
        from tickgate.gateware.card_regs import Status
        try:
            ident = self.identify()
            status = self.read("status")
            return BoardHealth(self.kind, True, f"{self.kind} board, register map "
                               f"{ident.version_text} ({ident.map_hash:#010x})",
                               kill=bool(status & Status.KILL), counters=self.counters())
        except BoardError as exc:
            return BoardHealth(self.kind, False, str(exc))


def open_board(kind: str, *, regmap: str | Path | None = None, **options: Any) -> Board:
    """Create and open the board called ``kind`` (one of :data:`BOARD_KINDS`).

    ``regmap`` is the register-map JSON written beside the bitstream; the model and
    simulated boards generate theirs from the gateware when it is omitted. Other keyword
    arguments go to the board's constructor.
    """
    if kind == "model":
        from .model_board import ModelBoard as cls
    elif kind == "sim":
        from .sim_board import SimBoard as cls  # type: ignore[no-redef]
    elif kind == "pynq":
        from .pynq_board import PynqBoard as cls  # type: ignore[no-redef]
    elif kind == "alveo":
        from .alveo_board import AlveoBoard as cls  # type: ignore[no-redef]
    else:
        raise ValueError(f"unknown board {kind!r}; one of {', '.join(BOARD_KINDS)}")
    board = cls.create(regmap=regmap, **options)
    board.open()
    return board
