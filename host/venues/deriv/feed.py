"""The tick feed: many symbols on one subscription, validated ticks into ring buffers, gaps
backfilled from ``ticks_history``.

``TickFeed(client, symbols)``; ``await feed.start()`` subscribes every symbol in *one*
``ticks`` request (Deriv accepts a list) and consumes the stream in a task; ``ingest(msg)``
(also usable directly) handles one ``tick`` message:

1. normalise (quote/bid/ask rounded to ``pip_size`` decimals) and validate (``TickCheck``:
   NaN, non-positive, duplicate, out-of-order, stale; counted per symbol and reason);
2. gap check: a symbol with a known tick interval (``R_*`` 2 s, ``1HZ*`` 1 s, or
   ``intervals``) has a gap when the new tick is more than 1.5 intervals after the last one;
   after a reconnect (``on_session``) every symbol is checked once whatever its interval;
3. on a gap the tick is held (with any later ones of that symbol), ``ticks_history`` from the
   last epoch + 1 to the new epoch - 1 is requested, the missing ticks are appended in order,
   then the held ones (``backfilled`` counts what was recovered; a failed backfill is logged
   and counted in ``backfill_failed``, and the held ticks go on);
4. append to the symbol's ``TickRing`` and call each ``on_tick(symbol, epoch, quote)``.

With ``inline=True`` the messages are ingested in the client's transport callback
(:meth:`Subscription.listen`) rather than by a consumer task reading the stream's queue:
one task switch less between a tick's bytes and ``on_tick`` (the daemon's hot path); and a
well-formed tick frame is not built into a dict at all: the client decodes it with its typed
decoder (``wire``) and calls ``ingest_tick`` with the ``tick`` object's values, the same
function ``ingest`` ends in, so both give the same result for the same frame.

``now()`` for the stale rule is the wall clock plus the server's offset from a ``time`` call
at start (Deriv's clock decides what is stale), or an injected clock.
"""

from __future__ import annotations

import asyncio
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tickgate.host.venues.deriv.client import DerivClient
from tickgate.host.venues.deriv.errors import DerivError
from tickgate.host.venues.deriv.redact import get_logger
from tickgate.host.venues.deriv.ring import TickRing
from tickgate.host.venues.deriv.subscriptions import Subscription
from tickgate.host.venues.deriv.tickcheck import SCALES, TickCheck, Track, normalise

log = get_logger(__name__)
GAP_FACTOR = 1.5
_ONE_SECOND = re.compile(r"^1HZ\d+V$")
#: ``10.0**pip`` for a pip size, or None. Not only for ints: a float or bool that equals an
#: int in 0..12 finds the same scale as the ``int()`` of it, as ``_ingest_tick_general``
#: makes it; an unhashable value raises TypeError.
_scale_of = SCALES.get
#: Seconds between two ticks of a symbol that never make a gap (no interval, no backfill).
_NEVER = sys.maxsize


def _general_off(*_: Any) -> None:
    """The general tick path while a tick is rehearsed: nothing (``rehearse_tick``)."""


def tick_interval(symbol: str) -> float | None:
    """Deriv's tick interval for a symbol in seconds (None: irregular, e.g. forex)."""
    if _ONE_SECOND.match(symbol):
        return 1.0
    if symbol.startswith("R_"):
        return 2.0
    return None


def _gap_after(interval: float | None, backfill: bool) -> int:
    """The most seconds after a symbol's last tick that make no gap: ``GAP_FACTOR``
    intervals, at least 1, as an int (for int seconds, ``seconds > x`` is ``seconds >
    floor(x)``); ``_NEVER`` without backfill or a finite interval."""
    if not backfill or interval is None or not GAP_FACTOR * interval < _NEVER:
        return _NEVER
    return max(1, math.floor(GAP_FACTOR * interval))


class _Lane:
    """What the common case of ``TickFeed.ingest_tick`` needs of one symbol, in one look-up:
    its ring, its ``TickCheck`` track (last accepted epoch, count) and the most seconds
    after its last tick that are no gap (``_NEVER`` when it has no interval or backfill is
    off)."""

    __slots__ = ("ring", "track", "gap_after")

    def __init__(self, ring: TickRing, track: Track, gap_after: int) -> None:
        self.ring = ring
        self.track = track
        self.gap_after = gap_after


class TickFeed:
    """Validated ticks of many symbols in per-symbol ring buffers."""

    def __init__(self, client: DerivClient, symbols: Iterable[str], *, capacity: int = 4096,
                 stale_after_s: float = 30.0, intervals: dict[str, float] | None = None,
                 clock: Callable[[], float] | None = None, backfill: bool = True,
                 inline: bool = False) -> None:
        self.client = client
        self.symbols = list(dict.fromkeys(symbols))
        self.rings = {s: TickRing(capacity) for s in self.symbols}
        self.check = TickCheck(stale_after_s)
        self.intervals = {s: intervals[s] if intervals and s in intervals else tick_interval(s)
                          for s in self.symbols}
        self.backfill = backfill
        self.inline = inline
        self.on_tick: list[Callable[[str, int, float], None]] = []
        self.stats: Counter[str] = Counter()
        self.gaps: Counter[str] = Counter()
        self.backfilled: Counter[str] = Counter()
        self.subscription: Subscription | None = None
        self._clock = clock
        #: ``now()`` is ``_wall() + _offset``: the injected clock and 0, or the wall clock and
        #: the server's offset from it (set by ``start``)
        self._wall: Callable[[], float] = clock if clock is not None else time.time
        self._offset = 0.0
        self._held: dict[str, list[tuple[int, float, float, float]]] = {}
        self._resync: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consumer: asyncio.Task[None] | None = None
        # the gap rule of ``backfill`` and ``intervals`` as they are now, per symbol
        self._lanes = {s: _Lane(self.rings[s], self.check.track(s), _gap_after(i, backfill))
                       for s, i in self.intervals.items()}
        self._twins: dict[str, _Lane] = {}         # rehearse_tick's lanes

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Sync the clock, subscribe every symbol at once, start consuming."""
        if self._clock is None:
            t0 = time.time()
            server = (await self.client.request({"time": 1}))["time"]
            self._offset = float(server) - (t0 + time.time()) / 2
        self.client.on_session.append(self._on_session)
        self.subscription = await self.client.subscribe({"ticks": self.symbols})
        if self.inline:
            self.subscription.listen(self.ingest, ticks=self.ingest_tick)
        self._consumer = asyncio.get_running_loop().create_task(self._consume(),
                                                                name="deriv-tick-feed")

    async def stop(self) -> None:
        """Stop consuming and forget the subscription."""
        if self._on_session in self.client.on_session:
            self.client.on_session.remove(self._on_session)
        for task in [self._consumer, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in [self._consumer, *self._tasks] if t),
                             return_exceptions=True)
        if self.subscription is not None and self.client.is_connected:
            await self.subscription.forget()

    def now(self) -> float:
        """Deriv's time now, Unix seconds."""
        return self._wall() + self._offset

    async def _consume(self) -> None:
        assert self.subscription is not None
        try:
            async for msg in self.subscription:
                self.ingest(msg)
        except DerivError as err:
            log.error("tick feed ended: %s", err)

    def _on_session(self, session: int) -> None:
        if session > 1:
            self._resync.update(self.symbols)

    # -- one message -----------------------------------------------------------------------
    def ingest(self, msg: dict[str, Any]) -> None:
        """Handle one ``tick`` message (others are counted and ignored)."""
        tick = msg.get("tick")
        if tick.__class__ is not dict or msg.get("msg_type") != "tick" or "error" in msg:
            self.stats["not_tick"] += 1
            return
        symbol = tick.get("symbol")  # type: ignore[union-attr]
        self.ingest_tick(symbol if symbol.__class__ is str else None,  # hashable for the dict
                         tick.get("epoch"), tick.get("quote"), tick.get("bid"),  # type: ignore
                         tick.get("ask"), tick.get("pip_size"))  # type: ignore[union-attr]

    def ingest_tick(self, symbol: Any, epoch: Any, quote: Any, bid: Any, ask: Any,
                    pip_size: Any) -> None:
        """Handle one tick given by its ``tick`` object's values as they came (None: absent;
        ``symbol`` a str or None): what ``ingest`` does with the whole message, and the
        client's typed fast path.

        This is the common case, decided before anything changes: a known symbol, an int
        epoch, no backfill running and no resync pending, a pip size with a scale, three
        prices whose scaled values are in (0, 2**51) (so rounding by float addition gives
        the double ``normalise`` gives; an int or bool price too: its product is exact), the
        quote at least one pip once rounded, the epoch after the symbol's last and no gap,
        not stale. Anything else
        goes to ``_ingest_tick_general``, which handles every case and gives the same result
        for these (``tests/venues/test_deriv_fastpath.py`` runs both side by side)."""
        lane = self._lanes.get(symbol)
        wall = self._wall                       # an attribute, not a method: no LOAD_METHOD
        now = wall() + self._offset
        if lane is None or epoch.__class__ is not int or self._held or self._resync:
            return self._ingest_tick_general(symbol, epoch, quote, bid, ask, pip_size, now)
        try:
            scale = _scale_of(pip_size)
            vq, vb, va = quote * scale, bid * scale, ask * scale
        except (TypeError, OverflowError):              # absent, None, not a number, huge
            return self._ingest_tick_general(symbol, epoch, quote, bid, ask, pip_size, now)
        track = lane.track
        last = track.last_epoch
        # all three below 2**51 and positive (NaN and inf are not), so v + HALF_EVEN -
        # HALF_EVEN is round(v) (the constants as literals, folded); the quote above half a
        # pip, so rounded it is at least one pip (round(0.5) is 0): a positive quote
        if 0.5 < vq < 2.0**51 and 0.0 < vb < 2.0**51 and 0.0 < va < 2.0**51:
            # the stale test with the float on the left: float's compare takes an int at
            # once, where the int's would first decline
            if ((last is None or 0 < epoch - last <= lane.gap_after)
                    and now - self.check.stale_after_s <= epoch):
                rounded = (vq + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
                track.last_epoch = epoch
                track.accepted += 1
                ring = lane.ring                       # TickRing.append, inline
                n = ring.total
                i = n % ring.capacity
                epochs, quotes, bids, asks = ring._store
                epochs[i] = epoch
                quotes[i] = rounded
                bids[i] = (vb + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
                asks[i] = (va + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
                ring.total = n + 1
                for hook in self.on_tick:
                    hook(symbol, epoch, rounded)
                return None
        return self._ingest_tick_general(symbol, epoch, quote, bid, ask, pip_size, now)

    def rehearse_tick(self, symbol: Any, epoch: Any, quote: Any, bid: Any, ask: Any,
                      pip_size: Any, hook: Callable[[str, int, float], None]) -> bool:
        """:meth:`ingest_tick` of these values with nothing of the feed changed, ``hook``
        called in place of ``on_tick`` (the daemon's rehearsal, which keeps the path in the
        CPU's caches between bursts). The values go through the same function on a lane of
        their own (a twin of the symbol's: its own track, one epoch behind, and a ring of
        one), and only its common case runs: what would take the general way (a bad value,
        a stale tick, a backfill running) does nothing. Whether the common case ran."""
        lane = self._lanes.get(symbol)
        if lane is None or epoch.__class__ is not int:
            return False
        twin = self._twins.get(symbol)
        if twin is None:
            twin = self._twins[symbol] = _Lane(TickRing(1), Track(), lane.gap_after)
        twin.track.last_epoch = epoch - 1
        twin.track.accepted = 0
        lanes, hooks = self._lanes, self.on_tick
        self._lanes, self.on_tick = {symbol: twin}, [hook]
        self._ingest_tick_general = _general_off        # type: ignore[method-assign]
        try:
            self.ingest_tick(symbol, epoch, quote, bid, ask, pip_size)
        finally:
            del self._ingest_tick_general
            self._lanes, self.on_tick = lanes, hooks
        return twin.track.accepted == 1

    def _ingest_tick_general(self, symbol: Any, epoch: Any, quote: Any, bid: Any, ask: Any,
                             pip_size: Any, now: float) -> None:
        """``ingest_tick`` for any values: normalise, hold behind a running backfill, detect
        a gap, check (``TickCheck``), store and call ``on_tick``; ``now`` is Deriv's time."""
        ring = self.rings.get(symbol)
        if ring is None:
            self.stats["unknown_symbol"] += 1
            return
        if pip_size.__class__ is not int:
            pip_size = int(pip_size) if isinstance(pip_size, int | float) and \
                math.isfinite(pip_size) else None
        scale = SCALES.get(pip_size)
        # normalise()'s common case inline; its constants as literals (folded by the
        # compiler): -2.0**51 < v < 2.0**51 is -EXACT < v < EXACT, 1.5 * 2.0**52 HALF_EVEN
        if (scale is not None and quote.__class__ is float and bid.__class__ is float
                and ask.__class__ is float and -2.0**51 < (vq := quote * scale) < 2.0**51
                and -2.0**51 < (vb := bid * scale) < 2.0**51
                and -2.0**51 < (va := ask * scale) < 2.0**51):
            quote = (vq + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
            bid = (vb + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
            ask = (va + 1.5 * 2.0**52 - 1.5 * 2.0**52) / scale
        else:
            quote = normalise(quote, pip_size)
            bid = normalise(bid, pip_size)
            ask = normalise(ask, pip_size)
        if self._held:
            held = self._held.get(symbol)
            if held is not None:                # a backfill is running: keep the order
                held.append((epoch, quote, bid, ask))
                return
        check = self.check
        last = check.last(symbol)
        if (self.backfill and last is not None and epoch.__class__ is int
                and epoch > last + 1 and self._is_gap(symbol, epoch - last)):
            self.gaps[symbol] += 1
            self._held[symbol] = [(epoch, quote, bid, ask)]
            task = asyncio.get_running_loop().create_task(
                self._backfill(symbol, last, epoch), name=f"deriv-backfill-{symbol}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if self._resync:
            self._resync.discard(symbol)
        self._accept(symbol, (epoch, quote, bid, ask), now)

    def _is_gap(self, symbol: str, seconds: int) -> bool:
        if symbol in self._resync:
            self._resync.discard(symbol)
            return True
        interval = self.intervals.get(symbol)
        return interval is not None and seconds > GAP_FACTOR * interval

    def _accept(self, symbol: str, row: tuple[Any, float, float, float],
                now: float | None) -> bool:
        epoch, quote, bid, ask = row
        if self.check.check(symbol, epoch, quote, now) is not None:
            return False
        self.rings[symbol].append(epoch, quote, bid, ask)
        for hook in self.on_tick:
            hook(symbol, epoch, quote)
        return True

    async def _backfill(self, symbol: str, last: int, first_new: int) -> None:
        try:
            reply = await self.client.request({
                "ticks_history": symbol, "start": last + 1, "end": str(first_new - 1),
                "style": "ticks", "count": 5000})
            hist = reply.get("history") or {}
            pip = reply.get("pip_size")
            pip = int(pip) if isinstance(pip, int | float) else None
            for t, p in zip(hist.get("times", []), hist.get("prices", []), strict=False):
                if isinstance(t, int) and last < t < first_new:
                    if self._accept(symbol, (t, normalise(p, pip), math.nan, math.nan), None):
                        self.backfilled[symbol] += 1
        except DerivError as err:
            self.stats["backfill_failed"] += 1
            log.warning("backfill of %s (%d..%d) failed: %s", symbol, last + 1, first_new - 1,
                        err)
        finally:
            held = self._held.pop(symbol, [])
            now = self.now()
            for row in held:
                self._accept(symbol, row, now)
