"""A test hook: SIGKILL the daemon itself at a named point of the order path.

``TICKGATE_CRASH_AT=POINT[:N]`` makes the N-th (default first) passage through ``POINT``
kill the process with SIGKILL (no cleanup, no flush: what a power cut or ``kill -9`` does).
Points on the buy path (see :mod:`.execution`):

- ``before_send``: the ``send`` event is committed, the ``buy`` has not left;
- ``after_send``: the ``buy`` left and the venue answered, the reply is not journaled;
- ``after_reply``: the reply is journaled, positions and the board not updated yet.

Unset (the normal case) every call is a no-op. The crash tests (``tests/daemon``) use it to
kill the daemon at each point in a loop and check that the journal and the venue's books
still agree after every restart.
"""

from __future__ import annotations

import os
import signal

__all__ = ["CrashHook", "POINTS"]

POINTS = ("before_send", "after_send", "after_reply")


class CrashHook:
    """Counts passages through each point; kills the process at the configured one."""

    def __init__(self, spec: str | None = None) -> None:
        spec = os.environ.get("TICKGATE_CRASH_AT", "") if spec is None else spec
        point, _, count = spec.partition(":")
        if point and point not in POINTS:
            raise ValueError(f"TICKGATE_CRASH_AT must name one of {', '.join(POINTS)}")
        self.point = point or None
        self.count = int(count) if count else 1
        self.seen = 0

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        self.seen += 1
        if self.seen >= self.count:
            os.kill(os.getpid(), signal.SIGKILL)
