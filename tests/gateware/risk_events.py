"""Random event streams for the risk gate: ticks, orders and position writes near every limit.

The same generator feeds the Amaranth-simulator bench, the hypothesis properties and the
top-level benches, so each sees orders that land on both sides of each check's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickgate.gateware.records import Side
from tickgate.gateware.risk_model import RiskLimits, RiskModel

__all__ = ["Event", "Scenario", "random_scenario", "apply", "prepared_model"]


@dataclass(frozen=True)
class Event:
    """``kind`` is "tick", "order", "intent" (a tick and its order) or "set_pos"."""

    kind: str
    symbol: int
    ts: int = 0
    tick_price: int = 0
    qty: int = 0
    price: int = 0
    side: int = 0
    flags: int = 0


@dataclass
class Scenario:
    """Limits, symbol table and restricted bits set before the events, then the events."""

    limits: RiskLimits
    bases: list[int]
    pos_limits: list[int]
    restricted: int
    events: list[Event]


def random_scenario(rng: np.random.Generator, n_symbols: int, n_events: int) -> Scenario:
    """Return a scenario whose limits are tight enough that every check fires sometimes."""
    known = max(2, n_symbols - 1)   # the last symbol never ticks, so its orders are STALE
    limits = RiskLimits(
        max_qty=int(rng.integers(3, 12)), max_notional=int(rng.integers(20_000, 200_000)),
        collar_bps=int(rng.integers(0, 300)), stale_ms=int(rng.integers(50, 600)),
        gross_limit=int(rng.integers(20, 120)), daily_loss_limit=1_000, max_drawdown=1_000,
        rate_sym_interval=int(rng.integers(0, 50)), rate_sym_tolerance=int(rng.integers(0, 100)),
        rate_global_interval=int(rng.integers(0, 10)),
        rate_global_tolerance=int(rng.integers(0, 40)), dup_window_ms=int(rng.integers(0, 200)),
    )
    bases = [int(b) for b in rng.integers(1_000, 20_000, n_symbols)]
    pos_limits = [int(x) for x in rng.integers(0, 30, n_symbols)]
    restricted = int(rng.integers(0, 2**n_symbols)) & int(rng.integers(0, 2**n_symbols)) & int(
        rng.integers(0, 2**n_symbols))
    last = [0] * n_symbols
    ts = int(rng.integers(0, 2**32))
    events: list[Event] = []
    previous: Event | None = None
    for _ in range(n_events):
        ts = (ts + int(rng.integers(0, 30))) % 2**32
        roll = rng.random()
        s = int(rng.integers(0, n_symbols))
        if roll < 0.35 and s < known:
            last[s] += int(rng.integers(-30, 31))
            events.append(Event("tick", s, ts=ts, tick_price=last[s]))
            continue
        if roll < 0.05 + 0.35:
            events.append(Event("set_pos", s, price=int(rng.integers(-6, 7))))
            continue
        if previous is not None and rng.random() < 0.15:     # a duplicate, maybe too soon
            events.append(previous)
            continue
        qty = int(rng.choice([rng.integers(1, 8), 0, -3, limits.max_qty,
                              limits.max_qty + 1], p=[0.8, 0.03, 0.02, 0.1, 0.05]))
        side = int(rng.choice([Side.BUY, Side.SELL, 0, 7], p=[0.48, 0.48, 0.02, 0.02]))
        price = last[s] + int(rng.integers(-3 * bases[s] // 100 - 5, 3 * bases[s] // 100 + 6))
        flags = int(rng.random() < 0.02)
        sym = s if rng.random() > 0.02 else n_symbols + int(rng.integers(0, 4))
        if rng.random() < 0.3 and s < known:
            last[s] += int(rng.integers(-30, 31))
            event = Event("intent", s, ts=ts, tick_price=last[s], qty=qty, price=last[s],
                          side=side)
        else:
            event = Event("order", sym, qty=qty, price=price, side=side, flags=flags)
        events.append(event)
        previous = event
    return Scenario(limits, bases, pos_limits, restricted, events)


def apply(model: RiskModel, event: Event) -> int | None:
    """Run one event on the model; return the verdict of an order (``None`` otherwise)."""
    if event.kind == "set_pos":
        if event.symbol < model.n_symbols:
            model.set_position(event.symbol, event.price)
        return None
    if event.kind in ("tick", "intent"):
        model.tick(event.symbol, event.tick_price, event.ts)
    if event.kind == "tick":
        return None
    return model.order(symbol=event.symbol, side=event.side, qty=event.qty, price=event.price,
                       flags=event.flags)


def prepared_model(scenario: Scenario, n_symbols: int) -> RiskModel:
    """Return a model with the scenario's limits and table loaded and the kill switch off."""
    model = RiskModel(n_symbols, scenario.limits)
    for s in range(n_symbols):
        model.set_symbol(s, base=scenario.bases[s], pos_limit=scenario.pos_limits[s])
        model.set_restricted(s, bool(scenario.restricted >> s & 1))
    model.write_pnl(0)
    model.write_equity(0)
    model.clear_kill()
    return model
