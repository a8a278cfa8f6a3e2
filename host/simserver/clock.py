"""Simulated time: real time, optionally accelerated, from a chosen start.

``SimClock.now()`` is a Unix epoch in seconds (float). With ``speed`` S, one real second is S
simulated seconds: ticks, contract expiries and ``time`` all run S times faster, while network
timeouts (idle close, RPC timeout) stay in real seconds. The clock never goes backwards.
"""

from __future__ import annotations

import time


class SimClock:
    """Epoch seconds that advance ``speed`` times faster than the wall clock."""

    def __init__(self, speed: float = 1.0, start_epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self.start_epoch = float(time.time() if start_epoch is None else start_epoch)
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Simulated Unix time in seconds."""
        return self.start_epoch + (time.monotonic() - self._t0) * self.speed

    def epoch(self) -> int:
        """Simulated Unix time, whole seconds (what Deriv's ``time`` call returns)."""
        return int(self.now())

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds until ``sim_seconds`` of simulated time have passed (never negative)."""
        return max(0.0, sim_seconds / self.speed)
