"""Host strategies' orders through the card's risk gate, then to execution.

:class:`HostOrderPath` takes the orders a :class:`~.hoststrategy.HostStrategy` returned,
packs them as ``ORDER_DTYPE`` records (prices as offsets from the symbols' bases, the tick
packer's), sends them with ``Board.submit_orders`` (in the board thread, after the batch of
the ticks that called for them, so the gate has seen those ticks) and reads one verdict
each: a refused order is counted by reason in :class:`~.status.Stats` (``host_rejected``)
and goes no further; an accepted one becomes an :class:`~.execution.OrderIntent` handed to
``submit`` (the executor), exactly as an accepted intent of the decision unit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tickgate.host.daemon.boardloop import BoardRunner
from tickgate.host.daemon.execution import OrderIntent
from tickgate.host.daemon.hoststrategy import HostOrder, pack_orders
from tickgate.host.daemon.status import REJECT_NAMES, Stats

__all__ = ["HostOrderPath"]


class HostOrderPath:
    """Host orders → risk gate → executor (see the module docstring)."""

    def __init__(self, board: BoardRunner, stats: Stats, symbols: list[str],
                 submit: Callable[[OrderIntent], bool]) -> None:
        self.board = board
        self.stats = stats
        self.symbols = symbols
        self.submit = submit
        self._next_id = 1

    async def send(self, orders: list[tuple[HostOrder, int, float]]) -> np.ndarray:
        """Gate ``(order, tick epoch, tick arrival)`` triples; execute the accepted ones;
        return the verdict records."""
        if not orders:
            return np.zeros(0)
        first = self._next_id
        self._next_id = (first + len(orders)) % 2**32 or 1
        records = pack_orders([o for o, _, _ in orders], dict(self.board.packer.base), first)
        verdicts = await self.board.submit_orders(records)
        stats = self.stats
        for (order, epoch, arrived), rec in zip(orders, verdicts, strict=True):
            stats.host_orders += 1
            reject = int(rec["reject"])
            if reject:
                stats.host_rejected_orders += 1
                for bit, name in enumerate(REJECT_NAMES):
                    if reject >> bit & 1:
                        stats.host_rejected[name] += 1
                continue
            stats.host_accepted += 1
            self.submit(OrderIntent(self.symbols[order.symbol], order.side, order.qty, epoch,
                                    int(rec["order_id"]), arrived))
        return verdicts
