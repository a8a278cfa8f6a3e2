"""The Deriv venue adapter: a WebSocket API client for both API generations.

One module per job:

- ``connectors``: where to connect and how to log in (legacy ``authorize``, new OTP URL);
- ``transport``: one picows WebSocket connection (why picows: measured there);
- ``client``: ``DerivClient``, req_id matching, pending futures, sessions and reconnects;
- ``wire``: the typed decoder (msgspec) of tick frames, the client's fast path;
- ``subscriptions``: live streams, their replay after a reconnect and old→new id mapping;
- ``ratelimit``: per-call-group limits from ``website_status``, back-off after ``RateLimit``;
- ``backoff``: the reconnect schedule; ``keepalive``: periodic pings;
- ``messages``: typed replies (tick, ohlc, proposal, buy, contract, balance, transaction,
  error); ``errors``: the exceptions; ``redact``: tokens kept out of logs and errors;
- ``schema_check``: requests against Deriv's ``send.json``;
- ``tickcheck``, ``ring``, ``feed``: the tick feed (validation, ring buffers, gap backfill).
"""

from __future__ import annotations

from tickgate.host.venues.deriv.backoff import Backoff
from tickgate.host.venues.deriv.client import DerivClient
from tickgate.host.venues.deriv.connectors import (
    Endpoint,
    LegacyConnector,
    OtpConnector,
    UrlConnector,
)
from tickgate.host.venues.deriv.errors import (
    ApiError,
    AuthError,
    ConnectError,
    ConnectionLost,
    DerivError,
    RateLimitError,
    RequestTimeout,
)
from tickgate.host.venues.deriv.ratelimit import RateLimiter, Window
from tickgate.host.venues.deriv.redact import Secret
from tickgate.host.venues.deriv.subscriptions import Subscription

__all__ = ["ApiError", "AuthError", "Backoff", "ConnectError", "ConnectionLost", "DerivClient",
           "DerivError", "Endpoint", "LegacyConnector", "OtpConnector", "RateLimitError",
           "RateLimiter", "RequestTimeout", "Secret", "Subscription", "UrlConnector", "Window"]
