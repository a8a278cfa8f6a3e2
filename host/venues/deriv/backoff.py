"""The reconnect schedule: the first retry at once, then 2 s growing by 1.5× up to 30 s.

``Backoff.delay(n)`` is the wait in seconds before retry ``n`` (0-based): ``0`` for n = 0,
then ``min(cap, base * factor**(n-1))`` shortened by a random jitter of up to ``jitter`` of
itself (so a fleet of clients does not reconnect in lock-step, and no delay exceeds ``cap``).
``rng`` returns floats in [0, 1) and is injectable for tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays (seconds) before successive reconnect attempts."""

    base: float = 2.0
    factor: float = 1.5
    cap: float = 30.0
    jitter: float = 0.2
    rng: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0 = the first retry: no wait)."""
        if attempt <= 0:
            return 0.0
        nominal = min(self.cap, self.base * self.factor ** (attempt - 1))
        return nominal * (1.0 - self.jitter * self.rng())

    def schedule(self, attempts: int) -> list[float]:
        """The first ``attempts`` delays."""
        return [self.delay(n) for n in range(attempts)]
