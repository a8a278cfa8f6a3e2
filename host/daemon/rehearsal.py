"""The rehearsal: the tick-to-order path run without effects while the feed is quiet.

Why. On the machines measured here (virtual CPUs whose physical cores run other work), code
and data the daemon does not touch for a few milliseconds leave the CPU's caches. Ticks
come in bursts (a venue second brings every symbol's tick at once), so the first tick of a
burst ran its whole path cold, and the p99 of tick to order was made of those ticks' orders:
buys whose frame came after more than 10 ms without frames took p50 420-460 µs against
~135 µs inside a burst (``bench/bench_t2o_stages.py``, which shows the two apart; 11-15 %
of the buys). The first model board call after a 50 ms pause took p99 270-460 µs, after a
1 ms pause 48-76 µs, back to back ~20 µs (``bench/bench_cold_call.py``). Hence: every
``[daemon] rehearse_us`` without a frame, go through the path once more, touching nothing
that counts.

What one rehearsal runs, each step the real path's own code on the real objects. The data
matter as much as the code: the first model board call after 50 ms took p50 182 µs / p99
360 µs, 172 / 393 µs woken every millisecond for nothing, 21 / 57 µs with a board rehearsal
every millisecond (``taskset -c 1 .venv/bin/python bench/bench_cold_call.py [--slice 1 |
--rehearse]``, 2026-12-07, another job on the other core); a first version ran the tick
through a private copy of the card model instead of the model itself, and that copy kept
the first call at ~34 µs p50 against ~15 µs for the model itself (a throwaway probe of the
same shape).

1. the last tick frame decoded by the client's typed decoder and its stream looked up
   (:meth:`~tickgate.host.venues.deriv.client.DerivClient.rehearse_tick_frame`), and its
   values through the feed's common case on a twin of the symbol's lane
   (:meth:`~tickgate.host.venues.deriv.feed.TickFeed.rehearse_tick`: the feed's lanes,
   checks, rings and hooks untouched);
2. the tick packed as :meth:`.TickPacker.pack_one` would and run through the board the
   way :meth:`~tickgate.drivers.board.Board.process_ticks` runs it, then one order of the
   symbol through the risk gate, then all of it undone (:meth:`.BoardRunner.rehearse`,
   :meth:`~tickgate.drivers.model_board.ModelBoard.rehearse_tick`); a card cannot
   rehearse (its state cannot be put back), so on a card this step is skipped;
3. the record read into an :class:`~.execution.OrderIntent` as the daemon reads a real one
   (an open of the record's side and size, or a one-lot buy when it did not fire);
4. the order path up to the socket: the executor's checks, the position, the rate
   limiter, the ``buy`` and its write-ahead line from the templates, the request's bytes
   (:meth:`.Executor.rehearse`, :meth:`.Journal.rehearse_ahead_line`,
   :meth:`~tickgate.host.venues.deriv.client.DerivClient.rehearse_encoded`);
5. the kernel's TCP send and receive paths: the request's bytes written to a private
   loopback connection of the daemon's own and read back (:class:`LoopbackWarmer`; no
   byte reaches the venue). Buys after a quiet spell spent p50 ~64-68 µs in the socket's
   ``send`` without it and ~38-54 µs with it (two pairs of 20 s runs, one other job on the
   machine), against ~40 µs within a burst.

Nothing is sent to the venue, journaled or counted but the daemon's ``rehearsals``; no client
id or ``req_id`` is used up; the board's state, counters and records and the packer's
sequence are as without rehearsals (``tests/daemon/test_daemon_rehearsal.py`` checks each).
A rehearsal costs tens of µs (the summary's ``latency.rehearsal``), so at the default 1 ms
it takes a few % of a core while the feed is quiet and nothing while frames come faster
than that. A tick arriving during one waits for its end.
A rehearsal that raises is logged once and rehearsals stop; trading goes on.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from time import perf_counter

from tickgate.host.venues.deriv.redact import get_logger

__all__ = ["Rehearsal", "LoopbackWarmer"]

log = get_logger(__name__)


class Rehearsal:
    """Calls ``rehearse()`` whenever ``last_frame()`` (a ``perf_counter`` time) is at least
    ``period_us`` old, checking every ``period_us`` (``rehearse`` counts its own)."""

    def __init__(self, period_us: int, last_frame: Callable[[], float],
                 rehearse: Callable[[], object]) -> None:
        if period_us < 1000:
            raise ValueError("a rehearsal period is at least 1000 µs (the event loop's timers "
                             "count milliseconds: a shorter one would spin it)")
        self.period = period_us / 1e6
        self._last_frame = last_frame
        self._rehearse = rehearse
        self._timer: asyncio.TimerHandle | None = None

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
                self._rehearse()
            except Exception:
                log.exception("rehearsal failed; rehearsals stopped (trading goes on)")
                self._timer = None
                return
        self._timer = asyncio.get_running_loop().call_later(self.period, self._check)


class LoopbackWarmer:
    """A TCP connection of the process to itself on 127.0.0.1 (both ends non-blocking,
    ``TCP_NODELAY``, as the venue's): :meth:`warm` writes bytes on one end and reads them on
    the other, so the kernel's send and receive paths stay in the CPU's caches.
    :meth:`close` closes both ends. ``OSError`` from the constructor when loopback TCP is
    not available."""

    def __init__(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            self._out = socket.create_connection(listener.getsockname(), timeout=2.0)
            self._in, _ = listener.accept()
        finally:
            listener.close()
        for end in (self._out, self._in):
            end.setblocking(False)
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        #: Bytes written and read back.
        self.bytes = 0

    def warm(self, data: bytes) -> None:
        """Write ``data`` (at most a few kB) and read what arrived; a full or empty buffer is
        no error (the next call reads the rest)."""
        try:
            self._out.send(data)
        except BlockingIOError:
            pass
        try:
            while got := self._in.recv(65536):
                self.bytes += len(got)
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Close both ends."""
        self._out.close()
        self._in.close()
