"""Strategies computed on the host, beside the card's decision unit.

A :class:`HostStrategy` sees every tick the board sees (``on_tick``, on the event loop;
keep it short) and returns the orders it wants, as :class:`HostOrder` values. The daemon
sends them to the card's order stream (``Board.submit_orders``), so they pass the *same*
risk gate as the decision unit's intents, in the order of the calls: a refused order is
counted by reason (``host_rejected``) and never reaches the venue; an accepted one is
executed exactly like an accepted intent (:class:`~.execution.Executor`).

The example, :class:`Reversal` (``[host_strategy] name = "reversal"``): every ``every``
ticks of a symbol it orders ``qty`` lots against the last tick's move (down: buy, up: sell),
priced at that tick. It shows the path; it is not meant to make money. Strategies are off
by default (``[host_strategy] enable = false``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tickgate.gateware.records import ORDER_DTYPE, Side

__all__ = ["HostOrder", "HostStrategy", "Reversal", "make_strategy", "pack_orders",
           "HOST_STRATEGY_ID"]

#: The ``strategy`` byte of host orders (the decision unit's intents carry its own).
HOST_STRATEGY_ID = 200


@dataclass(frozen=True)
class HostOrder:
    """One order a host strategy wants: ``symbol`` index, side, lots, price in pips."""

    symbol: int
    side: int            # Side.BUY | Side.SELL
    qty: int
    pips: int            # absolute price, pips (the tick's ``round(quote * 10**pip)``)


class HostStrategy(ABC):
    """A strategy on the host: ticks in, orders out (see the module docstring)."""

    name: str = "?"

    @abstractmethod
    def on_tick(self, symbol: int, epoch: int, pips: int) -> Iterable[HostOrder]:
        """The orders this tick (symbol index, epoch, price in pips) calls for."""


class Reversal(HostStrategy):
    """Every ``every`` ticks of a symbol, ``qty`` lots against the last move."""

    name = "reversal"

    def __init__(self, every: int, qty: int) -> None:
        self.every = every
        self.qty = qty
        self._count: dict[int, int] = {}
        self._last: dict[int, int] = {}

    def on_tick(self, symbol: int, epoch: int, pips: int) -> list[HostOrder]:
        last = self._last.get(symbol)
        self._last[symbol] = pips
        n = self._count.get(symbol, 0) + 1
        self._count[symbol] = n
        if last is None or pips == last or n % self.every:
            return []
        side = Side.BUY if pips < last else Side.SELL
        return [HostOrder(symbol, side, self.qty, pips)]


def make_strategy(section: dict[str, Any]) -> HostStrategy | None:
    """The strategy ``[host_strategy]`` asks for; None when disabled."""
    if not section["enable"]:
        return None
    if section["name"] == "reversal":
        return Reversal(section["every"], section["qty"])
    raise ValueError(f"unknown host strategy {section['name']!r}")


def pack_orders(orders: list[HostOrder], bases: dict[int, int], first_id: int) -> np.ndarray:
    """``ORDER_DTYPE`` records: prices as offsets from each symbol's base (the tick
    packer's), order ids from ``first_id``."""
    rec = np.zeros(len(orders), ORDER_DTYPE)
    for i, o in enumerate(orders):
        rec[i] = ((first_id + i) % 2**32, o.qty, o.pips - bases.get(o.symbol, o.pips), o.symbol,
                  o.side, HOST_STRATEGY_ID, 0)
    return rec
