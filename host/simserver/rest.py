"""The new Deriv API's OTP flow, for connectors that use it instead of ``authorize``.

``POST /trading/v1/options/accounts/{accountId}/otp`` with headers ``Deriv-App-ID: <id>`` and
``Authorization: Bearer <token>`` answers 200 ``{"data": {"url": "ws://HOST:WSPORT/trading/
v1/options/ws/demo?otp=…"}}`` (``/ws/real`` for a real account). The URL is good for one
connection within ``OTP_TTL_S`` real seconds; that socket is already logged in to the account
(no ``authorize``). ``/trading/v1/options/ws/public`` needs no OTP (market data only).
Failures: 401 ``InvalidAppID`` / ``InvalidToken``, 403 ``PermissionDenied`` (the token is not
for that account), 404 otherwise; bodies ``{"error": {"code", "message"}}``. The exact JSON
of Deriv's REST replies is not published in detail; this is a faithful-in-spirit stand-in.

A small HTTP/1.1 server on its own port (picows serves only WebSocket upgrades).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from tickgate.host.simserver.connection import Connection

if TYPE_CHECKING:
    from tickgate.host.simserver.accounts import TokenGrant
    from tickgate.host.simserver.server import SimServer

OTP_TTL_S = 60.0
_OTP_PATH = re.compile(r"^/trading/v1/options/accounts/([A-Za-z0-9]+)/otp$")
_APP_ID = re.compile(r"^[1-9][0-9]{0,18}$")


class OtpService:
    """Issues one-time WebSocket URLs and admits their connections."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.port = 0
        self._otps: dict[str, tuple[TokenGrant, float]] = {}
        self._http: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen for HTTP on ``port`` (0 = any)."""
        self._http = await asyncio.start_server(self._serve, host, port)
        self.port = self._http.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed()

    def issue(self, account_id: str, app_id: str, authorization: str) -> tuple[int, dict]:
        """(HTTP status, JSON body) for an OTP request."""
        if not _APP_ID.match(app_id):
            return 401, _err("InvalidAppID", "Invalid Deriv-App-ID.")
        scheme, _, token = authorization.partition(" ")
        grant = self.server.tokens.lookup(token) if scheme.lower() == "bearer" else None
        if grant is None:
            return 401, _err("InvalidToken", "The token is invalid.")
        if grant.account.loginid != account_id:
            return 403, _err("PermissionDenied", "The token does not give access to this "
                             "account.")
        otp = secrets.token_urlsafe(24)
        self._otps[otp] = (grant, time.monotonic() + OTP_TTL_S)
        kind = "demo" if grant.account.is_virtual else "real"
        url = (f"ws://{self.server.host}:{self.server.port}/trading/v1/options/ws/{kind}"
               f"?otp={otp}")
        return 200, {"data": {"url": url}}

    def route_ws(self, kind: str, query: dict[str, list[str]]) -> Any:
        """The listener for a ``/trading/v1/options/ws/<kind>`` upgrade, or an HTTP error."""
        from tickgate.host.simserver.server import _http_error
        if kind == "public":
            return Connection(self.server)
        if kind not in ("demo", "real"):
            return None
        entry = self._otps.pop(query.get("otp", [""])[0], None)
        if entry is None or entry[1] < time.monotonic():
            return _http_error(401, b'{"error":"InvalidOTP"}')
        grant, _ = entry
        if (kind == "demo") != grant.account.is_virtual:
            return _http_error(401, b'{"error":"InvalidOTP"}')
        return Connection(self.server, grant.account, grant.scopes)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(min(length, 65536))
            match = _OTP_PATH.match(path.split("?")[0])
            if method != "POST" or match is None:
                status, body = 404, _err("NotFound", "Not found.")
            else:
                status, body = self.issue(match.group(1), headers.get("deriv-app-id", ""),
                                          headers.get("authorization", ""))
            data = json.dumps(body).encode()
            writer.write(f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + data)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def _err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
