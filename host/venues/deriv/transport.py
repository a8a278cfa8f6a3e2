"""One WebSocket connection over picows: whole text messages in, bytes out, one close reason.

Why picows and not websockets 17: on loopback, under uvloop, a picows listener decodes and
routes 179k Deriv tick messages a second against 87k for websockets' ``async for`` loop
(2.1×), and the whole client on picows (routing, queue, consumer) ingests 114k/s
(``.venv/bin/python bench/bench_deriv_client.py --repeat 3``: AMD EPYC, 2 cores shared with
other jobs, load ~3; figures in BENCHMARKS.md). Its callbacks need no task per connection.

``open_transport(url, on_message)`` connects (TLS for ``wss://``) and returns a
``Transport``; ``on_message(data)`` is called in the event loop with each complete text or
binary message (fragments joined) as ``bytes``; an exception it raises is logged and the
connection survives. ``Transport.closed`` is a future resolved with a short reason when the
connection ends for any cause (close frame, TCP reset, ``close()``/``abort()``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)

from tickgate.host.venues.deriv.errors import AuthError, ConnectError
from tickgate.host.venues.deriv.redact import RedactingAdapter, get_logger, redact

log = get_logger(__name__)
_PICOWS_LOG = RedactingAdapter(get_logger("tickgate.host.venues.deriv.picows"))
MAX_FRAME = 8 * 1024 * 1024          # Deriv caps a response at 600 kB; leave room
#: The largest payload of a control frame (PING, PONG, CLOSE): RFC 6455 section 5.5, and
#: picows refuses a larger one (protocol error), so a longer frame is a data frame.
MAX_CONTROL_PAYLOAD = 125
# Frame types compared by identity with module constants: ``frame.msg_type`` is an enum
# member, and each ``WSMsgType.X`` look-up costs ~100 ns (a tuple of three, per frame).
_TEXT, _BINARY, _CONTINUATION, _CLOSE = (WSMsgType.TEXT, WSMsgType.BINARY,
                                         WSMsgType.CONTINUATION, WSMsgType.CLOSE)


class _Listener(WSListener):
    def __init__(self, on_message: Callable[[bytes], None],
                 closed: asyncio.Future[str]) -> None:
        super().__init__()
        self._on_message = on_message
        self._closed = closed
        self._parts: list[bytes] = []
        self._reason = "connection dropped"

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Hand each whole text or binary message to ``on_message``; handle a close.

        A frame longer than any control frame that is a whole message (``fin``, nothing
        pending) is a data message: it goes out without reading ``frame.msg_type``, which
        picows builds as an enum member per read (~0.9 k instructions, a tick's 3%)."""
        if (frame.payload_size > MAX_CONTROL_PAYLOAD and frame.fin and not self._parts):
            try:
                self._on_message(frame.get_payload_as_bytes())
            except Exception:
                log.exception("message handler failed; message skipped")
            return
        mt = frame.msg_type
        if mt is _TEXT or mt is _BINARY or mt is _CONTINUATION:
            if frame.fin and not self._parts:
                data = frame.get_payload_as_bytes()
            else:
                self._parts.append(frame.get_payload_as_bytes())
                if not frame.fin:
                    return
                data = b"".join(self._parts)
                self._parts.clear()
            try:
                self._on_message(data)
            except Exception:
                log.exception("message handler failed; message skipped")
        elif mt is _CLOSE:
            code = frame.get_close_code()
            reason = frame.get_close_message().decode("utf-8", "replace")
            self._reason = f"closed by server ({int(code)} {reason})".strip()
            transport.send_close(code)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self._closed.done():
            self._closed.set_result(self._reason)


class Transport:
    """An open connection: ``send``, ``close``, ``abort`` and the ``closed`` future."""

    def __init__(self, ws: WSTransport, listener: _Listener, closed: asyncio.Future[str]) -> None:
        self._ws = ws
        self._listener = listener
        self.closed = closed

    @property
    def is_open(self) -> bool:
        """Whether frames can still be sent."""
        return not self.closed.done() and not self._ws.is_disconnected

    def send(self, data: bytes) -> None:
        """Send one text frame (UTF-8 JSON); dropped silently once closed."""
        if self.is_open:
            self._ws.send(WSMsgType.TEXT, data)

    def close(self, reason: str = "closed by client") -> None:
        """Close politely (close frame 1000) and disconnect."""
        if self.is_open:
            self._listener._reason = reason
            self._ws.send_close(WSCloseCode.OK)
            self._ws.disconnect()

    def abort(self, reason: str) -> None:
        """Drop the TCP connection at once (a dead peer: no close handshake)."""
        if not self.closed.done():
            self._listener._reason = reason
            self._ws.underlying_transport.abort()


async def open_transport(url: str, on_message: Callable[[bytes], None], *,
                         headers: Mapping[str, str] | None = None,
                         timeout: float = 10.0) -> Transport:
    """Connect to ``url``; ``ConnectError`` (``AuthError`` for HTTP 401/403) on failure."""
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[str] = loop.create_future()
    try:
        ws, listener = await asyncio.wait_for(ws_connect(
            lambda: _Listener(on_message, closed), url, websocket_handshake_timeout=timeout,
            max_frame_size=MAX_FRAME, extra_headers=dict(headers or {}), enable_auto_pong=True,
            logger_name=_PICOWS_LOG), timeout + 1.0)
    except WSError as err:
        body = (getattr(err, "raw_body", None) or b"")[:200].decode("utf-8", "replace")
        text = redact(f"WebSocket handshake with {url} refused: {err} {body}".rstrip())
        status = getattr(getattr(err, "response", None), "status", None)
        if int(status or 0) in (401, 403) or re.search(r"\b40[13]\b", str(err)):
            raise AuthError("HandshakeRefused", text) from None
        raise ConnectError(text) from None
    except (OSError, TimeoutError) as err:
        raise ConnectError(redact(f"cannot connect to {url}: {err!r}")) from None
    return Transport(ws, listener, closed)
