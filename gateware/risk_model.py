"""Reference model of the pre-trade risk gate: the checks the gateware must match bit for bit.

This file is the specification of every verdict of :class:`~.risk.RiskGate`. The gate sees
one serialised stream of events: ticks (which move the market clock and the symbol's last
price), orders (the decision unit's intents and the host's orders, checked alike) and
position writes from the host. The model takes the same events in the same order.

Time
----
Every time check uses the *market clock* ``now``: the ``ts`` (ms, ``uint32``) of the latest
tick of a known symbol, the order's own tick included for an intent. Rate buckets, the stale
check and the duplicate window are therefore reproducible: a replay gets the verdicts a live
run got. Time differences are taken modulo 2**32 (``ts`` wraps after 49.7 days). A dead
feed is caught by the on-chip watchdog instead: no tick for ``feed_timeout`` clock cycles
makes every order ``STALE`` (``feed_timeout = 0`` disables it; the model takes its state as
an input, :attr:`RiskModel.feed_expired`).

Checks of an order (``qty``, ``price`` offset, ``symbol`` ``s``, ``side``, ``flags``)
------------------------------------------------------------------------------------------
``abs_price = base[s] + price`` (pips; ``base`` is the host's per-symbol table). If
``qty <= 0``, ``side`` is not BUY/SELL, ``s >= n_symbols``, ``flags != 0`` or
``abs_price <= 0``, the verdict is ``BAD_ORDER`` alone and nothing else happens. Otherwise
every failing check sets its bit (:class:`~.records.Reject`)::

    KILL          kill switch set, or a loss/drawdown breach (which also sets it)
    RESTRICTED    restricted[s]
    MAX_QTY       qty > max_qty
    MAX_NOTIONAL  qty * abs_price > max_notional                  (exact, 64-bit limit)
    STALE         no tick of s yet, or (now - last_ts[s]) % 2**32 > stale_ms, or watchdog
    COLLAR        tick seen and |price - last[s]| * 10000 > collar_bps * (base[s] + last[s])
    POSITION      |pos[s] + signed_qty| > pos_limit[s]           (signed_qty = ±qty by side)
    GROSS         gross - |pos[s]| + |pos[s] + signed_qty| > gross_limit   (gross = sum |pos|)
    DAILY_LOSS    pnl_day < -daily_loss_limit
    DRAWDOWN      equity_peak - equity > max_drawdown
    RATE_SYMBOL   bucket[s] started and int32(tat[s] - now) > rate_sym_tolerance
    RATE_GLOBAL   the same with the global bucket and rate_global_tolerance
    DUPLICATE     s has an accepted order with the same side, qty and price and
                  (now - its time) % 2**32 <= dup_window_ms

An order with no bit set is accepted: ``pos[s]`` and ``gross`` move by it; each bucket's
theoretical arrival time becomes ``(tat if started and int32(tat - now) > 0 else now) +
interval`` (modulo 2**32; the generic cell rate algorithm: ``interval`` ms per order,
``tolerance = (burst - 1) * interval`` lets ``burst`` orders through at once;
``interval = 0`` turns the bucket off); the duplicate memory of ``s`` holds the order.
A rejected order changes nothing. Every limit is a live register: it applies to every order
checked after it is written. Limits at their reset values (0, kill set) refuse everything.

Position writes (the host's confirmed fills) set ``pos[s]`` and move ``gross`` by the
difference of absolute values. Widths: ``pos`` is ``int32`` and ``|pos| <= pos_limit <
2**31`` after any accepted order; ``gross`` is ``uint40``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .records import Reject, Side

__all__ = ["RiskLimits", "RiskModel", "collar_fails", "gcra_registers"]

_U32 = 2**32
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


def _i32(x: int) -> int:
    """Return ``x`` modulo 2**32 read as a signed 32-bit integer."""
    x %= _U32
    return x - _U32 if x > _I32_MAX else x


def collar_fails(price: int, last: int, base: int, collar_bps: int) -> bool:
    """Return whether ``price`` is outside ``collar_bps`` basis points of ``base + last``."""
    return abs(price - last) * 10_000 > collar_bps * (base + last)


def gcra_registers(orders: int, per_ms: int) -> tuple[int, int]:
    """Return ``(interval, tolerance)`` (ms) letting ``orders`` orders through per ``per_ms``.

    The bucket then passes a burst of ``orders`` at once and one order every
    ``per_ms / orders`` ms (rounded up) after that.
    """
    if orders < 1 or per_ms < 1:
        raise ValueError(f"need orders >= 1 and per_ms >= 1, not {orders}, {per_ms}")
    interval = -(-per_ms // orders)
    return interval, (orders - 1) * interval


@dataclass(kw_only=True)
class RiskLimits:
    """The gate's limit registers (host-written, live). Units: lots, pips, ms, cents.

    The defaults are the registers' reset values: every limit zero, so every order is
    refused until the host loads real limits (and clears the kill switch).
    """

    max_qty: int = 0  #: u32, lots per order
    max_notional: int = 0  #: u64, lots * pips per order
    collar_bps: int = 0  #: u16, basis points around the last tick price
    stale_ms: int = 0  #: u32, oldest last tick an order may trade on
    gross_limit: int = 0  #: u32, lots: sum of |position| over symbols
    daily_loss_limit: int = 0  #: u32, cents: the day's P&L may go this far below zero
    max_drawdown: int = 0  #: u32, cents below the equity peak
    rate_sym_interval: int = 0  #: u32, ms per order per symbol (0: no limit)
    rate_sym_tolerance: int = 0  #: u31, ms: (burst - 1) * interval
    rate_global_interval: int = 0  #: u32, ms per order over all symbols (0: no limit)
    rate_global_tolerance: int = 0  #: u31, ms
    dup_window_ms: int = 0  #: u32, ms; a duplicate within it is refused

    _BITS = {"max_notional": 64, "collar_bps": 16, "rate_sym_tolerance": 31,
             "rate_global_tolerance": 31}

    def check(self) -> None:
        """Raise ``ValueError`` naming the first limit outside its register's range."""
        for f in fields(self):
            value = getattr(self, f.name)
            bits = self._BITS.get(f.name, 32)
            if not 0 <= value < 2**bits:
                raise ValueError(f"{f.name} must be 0 .. {2**bits - 1}, not {value}")

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Symbol:
    base: int = 0
    pos_limit: int = 0
    restricted: bool = False
    seen: bool = False
    last: int = 0
    last_ts: int = 0
    pos: int = 0
    tat: int | None = None
    dup: tuple[int, int, int, int] | None = None  # side, qty, price, ts


class RiskModel:
    """The risk gate's state and checks, event by event (see the module docstring)."""

    def __init__(self, n_symbols: int, limits: RiskLimits | None = None) -> None:
        self.n_symbols = n_symbols
        self.limits = limits or RiskLimits()
        self.limits.check()
        self.symbols = [_Symbol() for _ in range(n_symbols)]
        self.now = 0
        self.gross = 0
        self.global_tat: int | None = None
        #: Sticky kill switch: set at reset, by the host, or by a loss/drawdown breach.
        self.kill = True
        self.pnl_day = 0
        self.equity = 0
        self.equity_peak = 0
        #: The on-chip feed watchdog's output (cycle-timed, so an input of the model).
        self.feed_expired = False

    def clear_state(self) -> None:
        """Forget ticks, positions, buckets and duplicates (reset or the host's clear command).

        The symbol table, the restricted bitmap, the limits and the kill switch stay.
        """
        for sym in self.symbols:
            sym.seen, sym.last, sym.last_ts, sym.pos, sym.tat, sym.dup = (
                False, 0, 0, 0, None, None)
        self.now = 0
        self.gross = 0
        self.global_tat = None

    # ------------------------------------------------------------------ host registers
    def set_symbol(self, s: int, *, base: int, pos_limit: int) -> None:
        """Write symbol ``s``'s table entry (abs price base in pips, position limit)."""
        if not 0 <= base < _U32 or not 0 <= pos_limit <= _I32_MAX:
            raise ValueError(f"base must be u32 and pos_limit 0 .. 2**31-1: {base}, {pos_limit}")
        self.symbols[s].base = base
        self.symbols[s].pos_limit = pos_limit

    def set_restricted(self, s: int, restricted: bool) -> None:
        self.symbols[s].restricted = restricted

    def set_position(self, s: int, position: int) -> None:
        """The host's confirmed position of ``s`` (int32): ``gross`` follows."""
        if not _I32_MIN <= position <= _I32_MAX:
            raise ValueError(f"position must be int32, not {position}")
        sym = self.symbols[s]
        self.gross += abs(position) - abs(sym.pos)
        sym.pos = position

    def set_limits(self, limits: RiskLimits) -> None:
        limits.check()
        self.limits = limits
        self._latch_breach()

    def write_pnl(self, pnl_day: int) -> None:
        """The host's realised plus marked P&L of the day (cents, int32)."""
        self.pnl_day = pnl_day
        self._latch_breach()

    def write_equity(self, equity: int) -> None:
        """The host's current equity (cents, int32); the gate keeps its peak."""
        self.equity = equity
        self.equity_peak = max(self.equity_peak, equity)
        self._latch_breach()

    def reset_peak(self) -> None:
        self.equity_peak = self.equity
        self._latch_breach()

    def set_kill(self) -> None:
        self.kill = True

    def clear_kill(self) -> None:
        """Clear the kill switch; a standing loss/drawdown breach sets it again at once."""
        self.kill = self._breach()

    def _latch_breach(self) -> None:
        """A breach sets the kill switch at once, and it stays set when the breach ends."""
        if self._breach():
            self.kill = True

    def _loss_breach(self) -> bool:
        return self.pnl_day < -self.limits.daily_loss_limit

    def _drawdown_breach(self) -> bool:
        return self.equity_peak - self.equity > self.limits.max_drawdown

    def _breach(self) -> bool:
        return self._loss_breach() or self._drawdown_breach()

    # ------------------------------------------------------------------ the stream
    def tick(self, s: int, price: int, ts: int) -> None:
        """A tick of symbol ``s`` (ignored when ``s`` is unknown, like the engine)."""
        if not 0 <= s < self.n_symbols:
            return
        sym = self.symbols[s]
        sym.seen, sym.last, sym.last_ts = True, price, ts
        self.now = ts

    def order(self, *, symbol: int, side: int, qty: int, price: int, flags: int = 0) -> int:
        """Check one order at the current clock; return its ``Reject`` bits (0: accepted).

        An intent is checked with :meth:`order` right after :meth:`tick` of its own tick.
        """
        lim = self.limits
        if not (qty > 0 and side in (Side.BUY, Side.SELL) and 0 <= symbol < self.n_symbols
                and flags == 0):
            return Reject.BAD_ORDER
        sym = self.symbols[symbol]
        abs_price = sym.base + price
        if abs_price <= 0:
            return Reject.BAD_ORDER
        now = self.now
        r = 0
        if self.kill or self._breach():
            r |= Reject.KILL
        if sym.restricted:
            r |= Reject.RESTRICTED
        if qty > lim.max_qty:
            r |= Reject.MAX_QTY
        if qty * abs_price > lim.max_notional:
            r |= Reject.MAX_NOTIONAL
        if (not sym.seen or (now - sym.last_ts) % _U32 > lim.stale_ms
                or self.feed_expired):
            r |= Reject.STALE
        if sym.seen and collar_fails(price, sym.last, sym.base, lim.collar_bps):
            r |= Reject.COLLAR
        new_pos = sym.pos + (qty if side == Side.BUY else -qty)
        if abs(new_pos) > sym.pos_limit:
            r |= Reject.POSITION
        new_gross = self.gross - abs(sym.pos) + abs(new_pos)
        if new_gross > lim.gross_limit:
            r |= Reject.GROSS
        if self._loss_breach():
            r |= Reject.DAILY_LOSS
        if self._drawdown_breach():
            r |= Reject.DRAWDOWN
        if sym.tat is not None and _i32(sym.tat - now) > lim.rate_sym_tolerance:
            r |= Reject.RATE_SYMBOL
        if self.global_tat is not None and _i32(self.global_tat - now) > lim.rate_global_tolerance:
            r |= Reject.RATE_GLOBAL
        if (sym.dup is not None and sym.dup[:3] == (side, qty, price)
                and (now - sym.dup[3]) % _U32 <= lim.dup_window_ms):
            r |= Reject.DUPLICATE
        if r:
            return r
        sym.pos = new_pos
        self.gross = new_gross
        sym.tat = self._next_tat(sym.tat, now, lim.rate_sym_interval)
        self.global_tat = self._next_tat(self.global_tat, now, lim.rate_global_interval)
        sym.dup = (side, qty, price, now)
        return 0

    @staticmethod
    def _next_tat(tat: int | None, now: int, interval: int) -> int:
        start = tat if tat is not None and _i32(tat - now) > 0 else now
        return (start + interval) % _U32
