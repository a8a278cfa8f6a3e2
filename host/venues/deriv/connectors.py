"""Where and how to connect: one ``Connector`` per Deriv API generation (and one for a URL).

A connector's ``endpoint()`` returns an ``Endpoint``: the WebSocket URL, extra handshake
headers and the token to ``authorize`` with (None when the socket is logged in already). It is
called before *every* connection, so one-time URLs are fetched afresh on each reconnect.

- ``LegacyConnector``: ``wss://ws.derivws.com/websockets/v3?app_id=…&l=EN&brand=deriv``,
  then ``authorize`` with the API token.
- ``OtpConnector``: the new Deriv API. ``POST {rest}/trading/v1/options/accounts/{account}/otp``
  with ``Deriv-App-ID`` and ``Authorization: Bearer <token>`` answers
  ``{"data": {"url": "wss://…/ws/demo?otp=…"}}``; that URL needs no ``authorize``. The HTTP
  call runs in a worker thread (urllib), never on the event loop. 401/403 → ``AuthError``.
- ``UrlConnector``: a given URL (the local simulator), ``authorize`` when a token is given.

Tokens are held as ``Secret``; URLs carrying an ``otp=`` are redacted wherever printed.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

from tickgate.host.venues.deriv.errors import AuthError, ConnectError
from tickgate.host.venues.deriv.redact import Secret, as_secret, redact

LEGACY_URL = "wss://ws.derivws.com/websockets/v3"
NEW_API_REST = "https://api.derivws.com"


@dataclass(frozen=True)
class Endpoint:
    """One connection's URL, handshake headers, and the token to authorize with (or None)."""

    url: str
    token: Secret | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Endpoint(url={redact(self.url)!r}, token={self.token!r})"


class Connector(Protocol):
    """Gives the endpoint of the next connection."""

    async def endpoint(self) -> Endpoint:
        """The endpoint to connect to now."""
        ...


class UrlConnector:
    """A fixed URL, with ``authorize`` when ``token`` is given."""

    def __init__(self, url: str, token: str | Secret | None = None) -> None:
        self.url = url
        self.token = as_secret(token)

    async def endpoint(self) -> Endpoint:
        return Endpoint(self.url, self.token)


class LegacyConnector:
    """Deriv's v3 endpoint with an ``app_id``; ``authorize`` with ``token`` (if any)."""

    def __init__(self, app_id: int, token: str | Secret | None = None, *,
                 server: str = LEGACY_URL, lang: str = "EN", brand: str = "deriv") -> None:
        if not 0 < int(app_id) < 10 ** 19:
            raise ValueError("app_id must be a positive integer")
        query = urllib.parse.urlencode({"app_id": int(app_id), "l": lang, "brand": brand})
        self.url = f"{server}?{query}"
        self.token = as_secret(token)

    async def endpoint(self) -> Endpoint:
        return Endpoint(self.url, self.token)


class OtpConnector:
    """The new Deriv API: a REST call gives a one-time WebSocket URL (no ``authorize``)."""

    def __init__(self, app_id: int, token: str | Secret, account_id: str, *,
                 rest: str = NEW_API_REST, timeout: float = 10.0) -> None:
        self.app_id = int(app_id)
        token = as_secret(token)
        assert token is not None
        self.token = token
        self.account_id = account_id
        self.rest = rest.rstrip("/")
        self.timeout = timeout

    @property
    def otp_url(self) -> str:
        """The REST endpoint that issues one-time URLs."""
        account = urllib.parse.quote(self.account_id, safe="")
        return f"{self.rest}/trading/v1/options/accounts/{account}/otp"

    async def endpoint(self) -> Endpoint:
        return Endpoint(await asyncio.to_thread(self._fetch))

    def _fetch(self) -> str:
        request = urllib.request.Request(self.otp_url, data=b"", method="POST", headers={
            "Deriv-App-ID": str(self.app_id), "Authorization": f"Bearer {self.token.reveal()}",
            "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                body = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            code, message = _error_of(err)
            if err.code in (401, 403):
                raise AuthError(code, f"OTP request refused (HTTP {err.code}): {message}",
                                msg_type="otp") from None
            raise ConnectError(f"OTP request failed (HTTP {err.code}): {code} {message}") \
                from None
        except (OSError, ValueError) as err:
            raise ConnectError(f"OTP request to {self.otp_url} failed: {err!r}") from None
        url = (body.get("data") or {}).get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise ConnectError("OTP reply carries no WebSocket URL")
        return url


def _error_of(err: urllib.error.HTTPError) -> tuple[str, str]:
    try:
        body = json.loads(err.read() or b"{}")
    except ValueError:
        return "HTTPError", ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "HTTPError")), str(error.get("message", ""))
    return (str(error), "") if error else ("HTTPError", "")
