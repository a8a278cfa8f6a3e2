"""Fault-injection switches, read on every request (change them at run time).

- ``delay_s``: every reply to a request is sent this many real seconds late (streams are not
  delayed). A delay of ``rpc_timeout_s`` (15 s, Deriv's RPC timeout) or more is answered
  instead, after ``rpc_timeout_s``, by Deriv's ``Timeout`` error.
- ``rate_limit``: ``True`` answers every call except ping/time, or a set of call names answers
  those calls, with Deriv's ``RateLimit`` error ("You have reached the rate limit for <call>.").
- ``ping_flood_limit``: more than this many ``ping``/``time`` requests within one second on one
  connection get a ``RateLimit`` error and the connection is closed with 1008 "Policy
  Violation", as Deriv does (``None`` disables the rule).
- ``idle_timeout_s``: a connection with no frame in either direction for this long is closed
  (Deriv: 120 s; ``None`` disables).

One-shot faults are ``SimServer`` methods: ``drop_connections()`` (abort every TCP connection,
no close frame), ``send_malformed()`` (a text frame that is not JSON),
``announce_maintenance(drop_after_s)`` (``website_status`` with ``site_status: "updating"``,
then drop everyone).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    """Switches; see the module docstring."""

    delay_s: float = 0.0
    rate_limit: bool | frozenset[str] = False
    ping_flood_limit: int | None = 10
    idle_timeout_s: float | None = 120.0
    rpc_timeout_s: float = 15.0

    def rate_limited(self, call: str) -> bool:
        """Whether ``call`` must be answered with ``RateLimit`` now."""
        if self.rate_limit is True:
            return call not in ("ping", "time")
        return bool(self.rate_limit) and call in self.rate_limit
