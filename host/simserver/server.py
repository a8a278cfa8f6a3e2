"""``SimServer``: the simulator's WebSocket server on loopback (picows), and its faults.

URL form as Deriv's: ``ws://127.0.0.1:PORT/websockets/v3?app_id=ID[&l=EN&brand=deriv]``. The
handshake refuses a missing or malformed ``app_id`` (``^[1-9][0-9]{0,18}$``) with HTTP 401 and
body ``{"error":"InvalidAppID"}``, an app id outside ``app_ids`` (when given) with HTTP 403
``{"error":"AccessRestricted"}``, and any other path with 404. With ``rest_port`` set, the new
Deriv API's OTP flow is served too (see ``rest``).

Why picows: it sends 2–3× more messages per second than websockets 17 on this machine (see
``bench/bench_ws_send.py``), lets the handshake answer any HTTP status with a body, and hands
the raw request path (with its query string) to the listener factory.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import urllib.parse
from types import TracebackType
from typing import Any

from picows import (
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from tickgate.host.simserver.accounts import TokenTable
from tickgate.host.simserver.clock import SimClock
from tickgate.host.simserver.connection import Connection
from tickgate.host.simserver.envelope import Envelope
from tickgate.host.simserver.faults import Faults
from tickgate.host.simserver.handlers import website_status_payload
from tickgate.host.simserver.market import Market
from tickgate.host.simserver.trading import Desk

log = logging.getLogger(__name__)
APP_ID_RE = re.compile(r"^[1-9][0-9]{0,18}$")
DERIV_PATH = "/websockets/v3"
OTP_WS_PREFIX = "/trading/v1/options/ws/"
JSON_HEADERS = {"Content-Type": "application/json"}


def _http_error(status: int, body: bytes) -> WSUpgradeResponseWithListener:
    return WSUpgradeResponseWithListener(
        WSUpgradeResponse.create_error_response(status, body, JSON_HEADERS), None)


class SimServer:
    """A Deriv-protocol market simulator; ``async with SimServer(port=0) as s: s.url``.

    ``tokens``: ``{token: "demo"|"real"[:scopes]}`` specs (see ``accounts``); with none, one
    demo token with read and trade scopes is generated (``generated_token``). ``seed`` fixes
    every price path, ``speed`` accelerates the clock, ``start_epoch`` fixes its origin.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 tokens: list[str] | None = None, seed: int = 0, speed: float = 1.0,
                 start_epoch: float | None = None, faults: Faults | None = None,
                 app_ids: set[int] | None = None, rest_port: int | None = None) -> None:
        self.host = host
        self.port = port
        self.clock = SimClock(speed, start_epoch)
        self.market = Market(self.clock, seed)
        self.desk = Desk(self.market, self.clock)
        self.tokens = TokenTable()
        for spec in tokens or ():
            self.tokens.add_spec(spec)
        self.generated_token: str | None = None
        if not len(self.tokens):
            self.generated_token = self.tokens.add_generated_demo()
        self.faults = faults or Faults()
        self.app_ids = app_ids
        self.site_status = "up"
        self.connections: set[Connection] = set()
        self.rest_port = rest_port
        self.rest: Any = None
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None   # set by start()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen; ``port`` becomes the bound port (useful with port 0)."""
        self.loop = asyncio.get_running_loop()
        self._server = await ws_create_server(self._route, self.host, self.port,
                                              websocket_handshake_timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks.append(self.loop.create_task(self._idle_sweep(), name="sim-idle"))
        if self.rest_port is not None:
            from tickgate.host.simserver.rest import OtpService
            self.rest = OtpService(self)
            await self.rest.start(self.host, self.rest_port)
            self.rest_port = self.rest.port

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.rest is not None:
            await self.rest.stop()
        for conn in list(self.connections):
            conn.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.market.close()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def url_for(self, app_id: int | str = 1089, lang: str = "EN", brand: str = "deriv") -> str:
        """The Deriv-form URL with a given ``app_id``."""
        return (f"ws://{self.host}:{self.port}{DERIV_PATH}?app_id={app_id}&l={lang}"
                f"&brand={brand}")

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/websockets/v3?app_id=1089&l=EN&brand=deriv``."""
        return self.url_for()

    # -- handshake -------------------------------------------------------------------------
    def _route(self, request: WSUpgradeRequest) -> Any:
        split = urllib.parse.urlsplit(request.path.decode("latin-1"))
        query = urllib.parse.parse_qs(split.query)
        if split.path == DERIV_PATH:
            app_id = query.get("app_id", [""])[0]
            if not APP_ID_RE.match(app_id):
                return _http_error(401, b'{"error":"InvalidAppID"}')
            if self.app_ids is not None and int(app_id) not in self.app_ids:
                return _http_error(403, b'{"error":"AccessRestricted"}')
            return Connection(self)
        if split.path.startswith(OTP_WS_PREFIX) and self.rest is not None:
            return self.rest.route_ws(split.path[len(OTP_WS_PREFIX):], query)
        return None

    # -- upkeep and faults -----------------------------------------------------------------
    async def _idle_sweep(self) -> None:
        while True:
            limit = self.faults.idle_timeout_s
            await asyncio.sleep(min(5.0, limit / 4) if limit else 5.0)
            if not limit:
                continue
            cutoff = time.monotonic() - limit
            for conn in list(self.connections):
                if conn.last_activity < cutoff:
                    conn.drop()

    def drop_connections(self) -> int:
        """Abort every connection (TCP reset, no close frame); how many were dropped."""
        conns = list(self.connections)
        for conn in conns:
            conn.drop()
        return len(conns)

    def send_malformed(self, data: bytes = b'{"msg_type": "tick", "tick": {"quote": 12') -> int:
        """Send every connection a text frame that is not valid JSON; how many got it."""
        conns = list(self.connections)
        for conn in conns:
            conn.send_raw(data)
        return len(conns)

    def set_site_status(self, status: str) -> None:
        """Change ``site_status`` and tell every connection (``website_status`` message).

        Subscribers get it on their stream; other connections get it unsolicited, with an
        empty ``echo_req``, as Deriv's maintenance notice.
        """
        self.site_status = status
        payload = website_status_payload(status)
        for conn in list(self.connections):
            streams = [s for s in conn.streams.values() if s.kind == "website_status"]
            if streams:
                for s in streams:
                    conn.send(s.env.message("website_status", payload, s.id))
            else:
                conn.send(Envelope({}).message("website_status", payload))

    async def announce_maintenance(self, drop_after_s: float = 1.0) -> int:
        """``site_status: "updating"`` to everyone, wait, drop everyone, back to ``up``."""
        self.set_site_status("updating")
        await asyncio.sleep(drop_after_s)
        dropped = self.drop_connections()
        self.site_status = "up"
        return dropped
