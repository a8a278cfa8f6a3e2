"""The card as the host sees it, modelled: the register file over :class:`.top_model.TopModel`.

:class:`CardModel` answers 32-bit register reads and writes at the offsets of
:func:`.card_regs.card_regmap` with the register file's rules (:mod:`.regmap`,
:mod:`.axil`) and :class:`~.top.TickgateTop`'s wiring, and runs DMA batches of ticks or
host orders through :class:`~.top_model.TopModel`. It is the model board's card
(:mod:`tickgate.drivers.model_board`) and the fake device's behind the PYNQ driver tests.

Register semantics (those of the card)
--------------------------------------
* Addresses: the card decodes the low ``addr_bits`` bits only. A misaligned or unmapped
  address answers DECERR, a write to an ``ro`` register SLVERR; neither has an effect other
  than counting in ``bus_errors`` (:class:`BusError` is raised with the AXI response).
* ``rw`` words keep the low ``width`` bits written, read back sign-extended when signed;
  ``wo`` words act on write and read as 0.
* Engine, model and limit registers are live: they apply to the next record. The calls of
  a board are synchronous, so "next record" is "the next batch".
* ``max_notional`` changes when ``max_notional_hi`` is written; reading ``gross_lo``
  (``cycles_lo``) latches ``gross_hi`` (``cycles_hi``).

What the model cannot know, and gives instead
---------------------------------------------
The model has no clock. ``cycles_lo``/``cycles_hi`` read 0; the ``feed_timeout`` watchdog
never expires (``FEED_EXPIRED`` stays 0: with ``feed_timeout`` nonzero a card may refuse
orders as ``STALE`` that the model accepts); ``CLEARING`` and ``SETPOS_PENDING`` are never
seen set because the model does both at once. The latency probes give the card's designed
latency, :meth:`~.top.TickgateTop.latency_of` (what a card shows when its output is never
stalled), for every tick record. Every other register and every record is the card's, bit
for bit.

Engine registers outside what :meth:`~.params.EngineConfig.check` allows (an ``alpha`` of
0, a window longer than the build's ring) make the card's features unspecified; the model
refuses to run a batch with them (``ValueError`` naming the register).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .card_regs import Command, Status, SymbolCommand, card_regmap
from .decision import DecisionConfig
from .layouts import CONFIG_LAYOUT
from .params import EngineConfig, EngineParams
from .records import ORDER_DTYPE, OUTPUT_DTYPE, TICK_DTYPE, OutputKind, Reject
from .regmap import Register
from .risk_model import RiskLimits
from .top_model import TopModel

__all__ = ["CardModel", "BusError", "OKAY", "SLVERR", "DECERR"]

#: AXI responses.
OKAY, SLVERR, DECERR = 0, 2, 3

_LIMITS = tuple(RiskLimits().as_dict())
_DECISION_SCALARS = ("enable", "warmup", "bias", "enter", "exit", "qty", "strategy")
_REJECT_BITS = np.arange(Reject.COUNT, dtype=np.uint16)


class BusError(Exception):
    """A register access the card answers with SLVERR or DECERR."""

    def __init__(self, resp: int, offset: int, message: str) -> None:
        super().__init__(message)
        self.resp = resp
        self.offset = offset


class CardModel:
    """The card's registers and streams (see the module docstring). Starts as after reset."""

    def __init__(self, params: EngineParams | None = None) -> None:
        self.params = params or EngineParams()
        self.regmap = card_regmap(self.params)
        self._mask = (1 << self.regmap.addr_bits) - 1
        self._words = {w.offset: (w.register, w.index) for w in self.regmap.words()}
        from .top import TickgateTop
        self.latency = TickgateTop.latency_of(self.params)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """The card's reset: registers to their reset values, every block's state cleared,
        the kill switch set."""
        self.top = TopModel(self.params)
        self._values: dict[tuple[str, int], int] = {
            (w.register.name, w.index): w.register.reset for w in self.regmap.words()
            if w.register.access == "rw"}
        self._max_notional = 0
        self._gross_hi = 0
        self._counts: dict[tuple[str, int], int] = {}
        self._latency: tuple[int, int, int] = (0, 2**32 - 1, 0)
        self._engine_dirty = self._decision_dirty = self._limits_dirty = True
        self._sync_restricted()
        self.top.risk.write_pnl(0)
        self.top.risk.write_equity(0)

    def value(self, name: str, index: int = 0) -> int:
        """Return the value an ``rw`` register holds."""
        return self._values[(name, index)]

    # ------------------------------------------------------------------ the bus
    def read32(self, offset: int) -> int:
        """Return the word at ``offset``; raise :class:`BusError` (DECERR) if unmapped."""
        reg, index = self._decode(offset, write=False)
        if reg.access == "wo":
            return 0
        return self._read(reg, index) & 0xFFFF_FFFF

    def write32(self, offset: int, word: int) -> None:
        """Write ``word`` at ``offset``; raise :class:`BusError` (SLVERR on an ``ro``
        register, DECERR if unmapped)."""
        reg, index = self._decode(offset, write=True)
        value = word & ((1 << reg.width) - 1)
        if reg.signed and value >> (reg.width - 1):
            value -= 1 << reg.width
        if reg.access == "rw":
            self._values[(reg.name, index)] = value
        self._written(reg, index, value)

    def _decode(self, offset: int, *, write: bool) -> tuple[Register, int]:
        offset &= self._mask
        found = self._words.get(offset)
        if found is None:
            self._count("bus_errors")
            raise BusError(DECERR, offset, f"no register at {offset:#x} (DECERR)")
        reg, index = found
        if write and reg.access == "ro":
            self._count("bus_errors")
            raise BusError(SLVERR, offset, f"register {reg.name} is read-only (SLVERR)")
        return found

    def _read(self, reg: Register, index: int) -> int:
        name, risk = reg.name, self.top.risk
        if reg.access == "rw":
            return self._values[(name, index)]
        if name in ("id", "version", "map_hash"):
            return self.regmap.constants()[name]
        if name == "status":
            return Status.KILL if risk.kill else 0
        if name == "sym_position_now":
            s = self.value("sym_index")
            return risk.symbols[s].pos if s < self.params.n_symbols else 0
        if name == "gross_lo":
            self._gross_hi = risk.gross >> 32 & 0xFF
            return risk.gross & 0xFFFF_FFFF
        if name == "gross_hi":
            return self._gross_hi
        if name == "equity_peak":
            return risk.equity_peak
        if name == "market_clock":
            return risk.now
        if name in ("cycles_lo", "cycles_hi"):
            return 0
        if name in ("latency_last", "latency_min", "latency_max"):
            return self._latency[("latency_last", "latency_min", "latency_max").index(name)]
        return self._counts.get((name, index), 0)

    def _written(self, reg: Register, index: int, value: int) -> None:
        name, risk = reg.name, self.top.risk
        group = reg.group
        if group == "engine":
            self._engine_dirty = True
        elif group == "model":
            self._decision_dirty = True
        elif name == "restricted":
            self._sync_restricted()
        elif name == "max_notional_hi":
            self._max_notional = self.value("max_notional_lo") | value << 32
            self._limits_dirty = True
        elif name == "pnl_day":
            risk.write_pnl(value)
        elif name == "equity":
            risk.write_equity(value)
        elif group == "limits" and name in _LIMITS:
            self._limits_dirty = True
        elif name == "kill_set" and value & 1:
            risk.set_kill()
        elif name == "kill_clear" and value & 1:
            self._apply_limits()
            risk.clear_kill()
        elif name == "command":
            if value & Command.CLEAR_RISK:
                risk.clear_state()
            if value & Command.RESET_PEAK:
                risk.reset_peak()
            if value & Command.CLEAR_COUNTERS:
                self._counts.clear()
                self._latency = (0, 2**32 - 1, 0)
        elif name == "sym_command":
            s = self.value("sym_index")
            known = s < self.params.n_symbols
            if value & SymbolCommand.WRITE_TABLE and known:
                risk.set_symbol(s, base=self.value("sym_base") & 0xFFFF_FFFF,
                                pos_limit=self.value("sym_pos_limit"))
            if value & SymbolCommand.SET_POSITION and known:
                risk.set_position(s, self.value("sym_position"))
        if self._limits_dirty and group == "limits":
            self._apply_limits()        # a loss limit breached now sets the kill at once

    def _sync_restricted(self) -> None:
        words = self.regmap.register("restricted").count
        mask = 0
        for k in range(words):
            mask |= (self._values[("restricted", k)] & 0xFFFF_FFFF) << 32 * k
        for s in range(self.params.n_symbols):
            self.top.risk.set_restricted(s, bool(mask >> s & 1))

    def _apply_limits(self) -> None:
        if not self._limits_dirty:
            return
        values = {n: self._values[(n, 0)] for n in _LIMITS if n != "max_notional"}
        self.top.risk.set_limits(RiskLimits(max_notional=self._max_notional, **values))
        self._limits_dirty = False

    def _apply_config(self) -> None:
        if self._engine_dirty:
            config = EngineConfig(**{n: self.value(n) for n in CONFIG_LAYOUT.members})
            config.check(self.params)       # ValueError names the register
            self.top.engine.configure(config)
            self._engine_dirty = False
        if self._decision_dirty:
            n = self.regmap.register("decision_weights").count
            self.top.decision.configure(DecisionConfig(
                **{k: self.value(f"decision_{k}") for k in _DECISION_SCALARS
                   if k != "enable"},
                enable=bool(self.value("decision_enable")),
                weights=tuple(self.value("decision_weights", k) for k in range(n)),
                shifts=tuple(self.value("decision_shifts", k) for k in range(n))))
            self._decision_dirty = False
        self._apply_limits()

    def _count(self, name: str, index: int = 0, n: int = 1) -> None:
        if n:
            key = (name, index)
            self._counts[key] = (self._counts.get(key, 0) + n) & 0xFFFF_FFFF

    # ------------------------------------------------------------------ the streams
    def save_symbol(self, s: int) -> tuple[Any, ...]:
        """What a tick batch and an order batch of symbol ``s`` can change in the card
        (the configuration is applied first: it stays), for :meth:`restore_symbol`: the
        model's state of ``s`` and its shared state (:meth:`.TopModel.save_symbol`), the
        counters and latency probes."""
        if not 0 <= s < self.params.n_symbols:
            raise ValueError(f"symbol {s} is not one of the card's {self.params.n_symbols}")
        self._apply_config()
        return (self.top, self.top.save_symbol(s), dict(self._counts), self._latency)

    def restore_symbol(self, saved: tuple[Any, ...]) -> None:
        """Put back what :meth:`save_symbol` saved (unless the card was reset since)."""
        top, top_saved, counts, latency = saved
        if top is self.top:
            top.restore_symbol(top_saved)
            self._counts = counts
            self._latency = latency

    def transfer(self, port: Literal["tick", "order"], records: np.ndarray) -> np.ndarray:
        """One DMA batch in on ``port``; return its ``OUTPUT_DTYPE`` records, in order."""
        self._apply_config()
        if port == "tick":
            if records.dtype != TICK_DTYPE:
                raise TypeError(f"tick records must have TICK_DTYPE, not {records.dtype}")
            out = self.top.process_ticks(records)
            self._count("ticks_in", n=len(records))
            self._count("intents", n=self.top.intents)
            self._count("saturations", n=self.top.saturations)
            if len(out):
                self._latency = (self.latency, min(self._latency[1], self.latency),
                                 max(self._latency[2], self.latency))
        elif port == "order":
            if records.dtype != ORDER_DTYPE:
                raise TypeError(f"order records must have ORDER_DTYPE, not {records.dtype}")
            out = np.empty(len(records), OUTPUT_DTYPE)
            for i in range(len(records)):
                out[i] = self.top.pass_order(records[i])
            self._count("host_orders", n=len(records))
        else:
            raise ValueError(f"port must be 'tick' or 'order', not {port!r}")
        self._count("records_out", n=len(out))
        if port == "tick" and not self.top.intents:
            return out                      # most tick batches carry no order
        if len(out) == 1:                   # one order record: scalar counts
            reject = int(out["reject"][0])
            if not reject:
                self._count("accepted")
                return out
            self._count("rejected")
            for k in range(Reject.COUNT):
                if reject >> k & 1:
                    self._count("reject_count", k)
            return out
        rejects = out["reject"][(out["kind"] & OutputKind.ORDER) != 0]
        if len(rejects):
            refused = rejects[rejects != 0]
            self._count("accepted", n=len(rejects) - len(refused))
            self._count("rejected", n=len(refused))
            if len(refused):
                per_bit = ((refused[:, None] >> _REJECT_BITS) & 1).sum(axis=0)
                for k in np.flatnonzero(per_bit):
                    self._count("reject_count", int(k), int(per_bit[k]))
        return out
