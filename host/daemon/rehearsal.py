"""The rehearsal: the tick-to-order path run without effects while the feed is quiet.

Why. On the machines measured here (virtual CPUs whose physical cores run other work), code
and data the daemon does not touch for a few milliseconds leave the CPU's caches. Ticks
come in bursts (a venue second brings every symbol's tick at once), so the first tick of a
burst, and with it most orders (an order is rarely preceded by another in its burst), ran
its whole path cold: in ``bench/bench_tick_to_order.py``, buys whose frame came after more
than 10 ms without frames took p50 ~440 µs against ~180 µs within a burst. The first model
board call after a 50 ms pause took p99 270-460 µs, after a 1 ms pause 48-76 µs, back to
back ~20 µs (``bench/bench_cold_call.py``). Hence: every ``[daemon] rehearse_us`` without a
frame, go through the path once more, touching nothing that counts.

What one rehearsal runs, each step the real path's own code on data nobody else sees:

1. the last tick frame decoded by the client's typed decoder and its stream looked up
   (:meth:`~tickgate.host.venues.deriv.client.DerivClient.rehearse_tick_frame`);
2. the tick packed as :meth:`.TickPacker.pack_one` would and run through the board's
   understudy (:meth:`.BoardRunner.rehearse`, :meth:`~tickgate.drivers.board.Board.
   rehearse_tick`): a copy of the card model taken at the first rehearsal, whose engine,
   decision unit and risk gate the tick moves instead of the board's (a card cannot
   rehearse: its every tick is counted, so on a card this step is skipped);
3. the record read into an :class:`~.execution.OrderIntent` as the daemon reads a real one
   (an open of the record's side and size, or a one-lot buy when it did not fire);
4. the order path up to the socket: the executor's checks, the position, the rate
   limiter, the ``buy`` and its write-ahead line from the templates, the request's bytes
   (:meth:`.Executor.rehearse`, :meth:`.Journal.rehearse_ahead_line`,
   :meth:`~tickgate.host.venues.deriv.client.DerivClient.rehearse_encoded`).

Nothing is sent, journaled or counted but :attr:`Rehearsal.count`; no client id or
``req_id`` is used up; the board's state, counters and the packer's sequence are unchanged
(``tests/daemon/test_daemon_rehearsal.py`` checks each). A rehearsal costs ~30-60 µs, so
at the default 1 ms it takes 3-5 % of a core while the feed is quiet and nothing while
frames come faster than that. A tick arriving during one waits for its end.
A rehearsal that raises is logged once and rehearsals stop; trading goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter

from tickgate.host.venues.deriv.redact import get_logger

__all__ = ["Rehearsal"]

log = get_logger(__name__)


class Rehearsal:
    """Calls ``rehearse()`` whenever ``last_frame()`` (a ``perf_counter`` time) is at least
    ``period_us`` old, checking every ``period_us``."""

    def __init__(self, period_us: int, last_frame: Callable[[], float],
                 rehearse: Callable[[], bool]) -> None:
        if period_us <= 0:
            raise ValueError("a rehearsal period is a positive number of microseconds")
        self.period = period_us / 1e6
        self._last_frame = last_frame
        self._rehearse = rehearse
        self._timer: asyncio.TimerHandle | None = None
        #: Rehearsals that went through the path (the board's understudy or the order path).
        self.count = 0

    def start(self) -> None:
        """Start checking (on the running loop)."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.period, self._check)

    def stop(self) -> None:
        """Stop; no rehearsal runs after this returns."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def running(self) -> bool:
        """Whether rehearsals are scheduled."""
        return self._timer is not None

    def _check(self) -> None:
        if self._timer is None:
            return
        idle = perf_counter() - self._last_frame()
        if idle >= self.period:
            try:
                if self._rehearse():
                    self.count += 1
            except Exception:
                log.exception("rehearsal failed; rehearsals stopped (trading goes on)")
                self._timer = None
                return
        self._timer = asyncio.get_running_loop().call_later(self.period, self._check)
