"""Validation and normalisation of ticks, with a count per symbol and reason.

``TickCheck.check(symbol, epoch, quote, now)`` returns None for a good tick or the reason it
is rejected, counted in ``rejected[symbol][reason]``:

- ``nan``: quote (or epoch) missing, NaN or infinite;
- ``non_positive``: quote <= 0 (every Deriv price is positive);
- ``duplicate``: same epoch as the last accepted tick (Deriv sends at most one tick a second
  per symbol, so a second one is a repeat, e.g. the latest tick re-sent after a reconnect);
- ``out_of_order``: epoch before the last accepted tick's;
- ``stale``: older than ``stale_after_s`` at ``now`` (a live tick only; backfill is old by
  definition and is checked with ``now=None``).

``normalise(value, pip_size)`` rounds a price to its ``pip_size`` decimals (Deriv's
``pip_size`` is a count of decimals); bid/ask, when absent, are NaN. ``last_epoch`` is the
epoch of the last accepted tick per symbol, the reference for the next check (kept, with
the count of accepted ticks, in one ``Track`` per symbol).
"""

from __future__ import annotations

import math
from collections import Counter

REASONS = ("nan", "non_positive", "duplicate", "out_of_order", "stale")


#: ``10.0**pip`` for the pip sizes :func:`normalise` rounds to.
SCALES = {p: 10.0 ** p for p in range(13)}
#: ``v + HALF_EVEN - HALF_EVEN`` is ``float(round(v))`` (to an integer, half to even: the
#: addition's own rounding) for ``-EXACT < v < EXACT``: ``1.5 * 2**52`` and ``2**51``.
HALF_EVEN = 1.5 * 2.0**52
EXACT = 2.0**51


def normalise(value: object, pip_size: int | None) -> float:
    """``value`` as a float rounded to ``pip_size`` decimals; NaN when not a finite number.

    A float goes through ``round(value * 10**pip) / 10**pip`` (~5 times quicker than
    ``round(value, pip)``, and the same double for every price on its pip grid, as Deriv
    sends them; the two can differ by one pip only for a value within an ulp of a half
    pip), the rounding to an integer done by float addition (``HALF_EVEN``: the same double
    as ``round()``, without its int) when ``value * 10**pip`` is within ``EXACT``."""
    if value.__class__ is float:
        scale = SCALES.get(pip_size)  # type: ignore[arg-type]
        if scale is not None:
            v = value * scale  # type: ignore[operator]
            if -EXACT < v < EXACT:            # also: finite
                return (v + HALF_EVEN - HALF_EVEN) / scale
            if v - v == 0.0:
                return round(v) / scale
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    if not math.isfinite(x):
        return math.nan
    return round(x, pip_size) if pip_size is not None and 0 <= pip_size <= 12 else x


class Track:
    """What the check keeps of one symbol: the last accepted epoch (None before the first)
    and how many ticks it accepted. A feed holds its symbols' tracks to update them in its
    common case without a dictionary look-up (``TickCheck.track``)."""

    __slots__ = ("last_epoch", "accepted")

    def __init__(self) -> None:
        self.last_epoch: int | None = None
        self.accepted = 0


class TickCheck:
    """Per-symbol validation state and rejection counts.

    ``last_epoch`` (symbol → last accepted epoch) and ``accepted`` (symbol → count) are
    views built from the per-symbol ``Track`` records, holding the symbols with a value."""

    def __init__(self, stale_after_s: float = 30.0) -> None:
        self.stale_after_s = stale_after_s
        self.tracks: dict[str, Track] = {}
        self.rejected: dict[str, Counter[str]] = {}

    def track(self, symbol: str) -> Track:
        """The symbol's record, made on first use."""
        track = self.tracks.get(symbol)
        if track is None:
            track = self.tracks[symbol] = Track()
        return track

    @property
    def last_epoch(self) -> dict[str, int]:
        """The last accepted epoch of each symbol that has one (a copy)."""
        return {s: t.last_epoch for s, t in self.tracks.items() if t.last_epoch is not None}

    @property
    def accepted(self) -> Counter[str]:
        """Accepted ticks by symbol (a copy; symbols with none left out)."""
        return Counter({s: t.accepted for s, t in self.tracks.items() if t.accepted})

    def last(self, symbol: str) -> int | None:
        """The symbol's last accepted epoch (None: none yet)."""
        track = self.tracks.get(symbol)
        return None if track is None else track.last_epoch

    def check(self, symbol: str, epoch: object, quote: float, now: float | None) -> str | None:
        """None if the tick is good (and then it becomes the reference), else the reason."""
        track = self.track(symbol)
        last = track.last_epoch
        if (epoch.__class__ is int and quote.__class__ is float and quote > 0
                and quote - quote == 0.0 and (last is None or epoch > last)  # type: ignore
                and (now is None or epoch >= now - self.stale_after_s)):
            track.last_epoch = epoch             # the common case, without _reason's calls
            track.accepted += 1
            return None
        reason = self._reason(symbol, epoch, quote, now)
        if reason is None:
            track.last_epoch = int(epoch)  # type: ignore[call-overload]
            track.accepted += 1
        else:
            self.rejected.setdefault(symbol, Counter())[reason] += 1
        return reason

    def _reason(self, symbol: str, epoch: object, quote: float, now: float | None) -> str | None:
        if not isinstance(epoch, int) or isinstance(epoch, bool) or not math.isfinite(quote):
            return "nan"
        if quote <= 0:
            return "non_positive"
        last = self.last(symbol)
        if last is not None:
            if epoch == last:
                return "duplicate"
            if epoch < last:
                return "out_of_order"
        if now is not None and epoch < now - self.stale_after_s:
            return "stale"
        return None

    def counts(self, symbol: str | None = None) -> dict[str, int]:
        """Rejections by reason, for one symbol or all (every reason present, maybe 0)."""
        out = dict.fromkeys(REASONS, 0)
        for sym, counter in self.rejected.items():
            if symbol is None or sym == symbol:
                for reason, n in counter.items():
                    out[reason] += n
        return out
