"""The day's P&L: equity now minus the equity at the start of the UTC day.

The risk gate's ``DAILY_LOSS`` check refuses every order while ``pnl_day < -daily_loss_limit``
(cents, :mod:`tickgate.gateware.risk_model`); the daemon writes ``pnl_day`` every status
period with what :class:`DayPnl` computes:

- **The day** is the UTC calendar day (``YYYY-MM-DD``) of the daemon's clock: the venue's
  market time, i.e. the latest tick epoch the feed accepted (the simulator's accelerated
  clock included), or the venue's ``time`` before the first tick; the daemon takes another
  clock when given one (tests).
- **The baseline** of a day is the first equity (balance plus the marks of open contracts,
  account currency) the daemon saw that day. It is journaled at once (event ``day``), so a
  restart on the same day takes it back from the journal: losses made before the restart
  still count against the limit. A baseline journaled for a day is never replaced.
- **Midnight**: when the clock enters a new day, that day's baseline is the equity at that
  moment (journaled likewise) and ``pnl_day`` restarts from 0. The clock only moves forward
  (a tick of an earlier day does not bring that day back).
- **A breach** (``pnl_day`` in cents below ``-daily_loss_limit``, the gate's own rule) is
  journaled once per day (``day_breach``). The gate sets its kill switch at once and keeps
  it set after the breach ends, midnight included; the daemon also sets its own kill switch
  and writes the ``KILL`` file, so a restart (which clears the board's switch unless that
  file exists) keeps it set too. Only the operator clears it (``tickgate kill --clear``), and
  the gate refuses to clear while the day's loss is still beyond the limit: in practice a
  daily-loss kill is cleared by the operator on a later day, or after the loss recovered.

The run's own P&L (equity now minus at the start of the run) stays in the summary as ``pnl``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["DayPnl", "utc_day"]


def utc_day(epoch: float) -> str:
    """The UTC calendar day of ``epoch`` (Unix seconds) as ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


@dataclass
class DayPnl:
    """The current UTC day, its baseline and the day's P&L (see the module docstring).

    ``baselines`` and ``breaches`` start as the journal has them
    (:attr:`~.journal.JournalState.day_baselines`, ``day_breaches``); the caller journals
    what :meth:`observe` and :meth:`breached` report as new.
    """

    baselines: dict[str, float] = field(default_factory=dict)
    breaches: set[str] = field(default_factory=set)
    day: str | None = None
    baseline: float | None = None

    def observe(self, epoch: float, equity: float) -> bool:
        """Make the UTC day of ``epoch`` current (never an earlier day than the current
        one); whether its baseline was set now, from ``equity`` (then journal it)."""
        day = utc_day(epoch)
        if self.day is not None and day <= self.day:
            return False
        self.day = day
        known = self.baselines.get(day)
        if known is not None:
            self.baseline = known
            return False
        self.baseline = round(equity, 2)
        self.baselines[day] = self.baseline
        return True

    def pnl(self, equity: float) -> float:
        """The day's P&L at ``equity`` (account currency, cents rounded); 0 before any day."""
        if self.baseline is None:
            return 0.0
        return round(equity - self.baseline, 2)

    def breached(self, pnl_cents: int, limit_cents: int) -> bool:
        """Whether ``pnl_cents`` is beyond ``limit_cents`` for the first time today (then
        journal it); the gate's rule, ``pnl_day < -daily_loss_limit``."""
        if self.day is None or pnl_cents >= -limit_cents or self.day in self.breaches:
            return False
        self.breaches.add(self.day)
        return True
