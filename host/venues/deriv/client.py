"""``DerivClient``: one connection to Deriv, requests matched by ``req_id``, live streams.

Usage::

    async with DerivClient(LegacyConnector(app_id, token)) as client:
        reply = await client.request({"ticks_history": "R_100", "end": "latest", "count": 10})
        sub = await client.subscribe({"ticks": ["R_100", "R_50"]})
        async for msg in sub: ...

Requests are dicts whose *first key is the call*; the client adds ``req_id`` (a counter) and
returns the reply dict carrying it, or raises: ``ApiError`` (subclasses ``AuthError``,
``RateLimitError``) for Deriv's error envelope, ``ConnectionLost`` when the connection drops
before the reply (every pending request fails at once: none is left hanging),
``RequestTimeout``. Frames that are not JSON objects are logged, counted
(``stats["malformed"]``) and skipped: the connection survives. Frames are decoded with orjson
into dicts, except the ticks of a stream whose consumer listens with ``ticks=``
(``Subscription.listen``, as ``TickFeed(inline=True)`` does): those are decoded by a typed
msgspec decoder (``wire``) and handed over as values, with no dict built; any frame that
decoder refuses takes the general way, so the outcome is the same.

Session (each connection): ``connector.endpoint()`` → WebSocket → ``website_status`` (its
``api_call_limits`` configure the rate limiter; the published defaults otherwise) →
``authorize`` when the endpoint carries a token (refused → ``AuthError``, no retry) → replay
of every live subscription → keepalive pings every ``keepalive_s``. When the connection drops
the client reconnects: first retry at once, then ``Backoff`` (2 s × 1.5ⁿ up to 30 s, jitter);
a ``website_status`` saying ``site_status: updating`` (maintenance) is logged and the coming
drop is handled the same way. During an outage idempotent requests wait for the next session
(within their timeout); calls that move money (``NOT_IDEMPOTENT``: buy, sell…) fail at once
with ``ConnectionLost`` and are never sent twice, and a ``RateLimit`` reply makes the client
back off its group and retry idempotent calls only.

Every outgoing request goes through ``on_send`` hooks (tests validate them against Deriv's
``send.json``) and, with ``validate=True``, through that check here. Tokens never reach a log
line or an exception text (``redact``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from types import TracebackType
from typing import Any

import orjson
from msgspec import MsgspecError

from tickgate.host.venues.deriv import schema_check
from tickgate.host.venues.deriv.backoff import Backoff
from tickgate.host.venues.deriv.connectors import Connector
from tickgate.host.venues.deriv.errors import (
    ApiError,
    AuthError,
    ConnectError,
    ConnectionLost,
    DerivError,
    RateLimitError,
    RequestTimeout,
    api_error,
)
from tickgate.host.venues.deriv.keepalive import Keepalive
from tickgate.host.venues.deriv.ratelimit import RateLimiter, limits_from_website_status
from tickgate.host.venues.deriv.redact import get_logger
from tickgate.host.venues.deriv.subscriptions import Message, Registry, Subscription
from tickgate.host.venues.deriv.transport import Transport, open_transport
from tickgate.host.venues.deriv.wire import TickFrame, decode_tick

log = get_logger(__name__)
#: An encoded request (:meth:`DerivClient.send_encoded_nowait`): its head, then ``req_id``.
_WITH_REQ_ID = b"%b,\"req_id\":%d}"

#: Calls that change an account: never retried, never replayed, never queued in an outage.
NOT_IDEMPOTENT = frozenset({
    "buy", "sell", "cancel", "contract_update", "sell_expired", "topup_virtual",
    "buy_contract_for_multiple_accounts", "sell_contract_for_multiple_accounts",
    "transfer_between_accounts", "paymentagent_transfer", "paymentagent_withdraw",
    "cashier", "mt5_deposit", "mt5_withdrawal", "copy_start", "copy_stop", "api_token",
    "app_register", "app_update", "app_delete", "set_settings", "set_self_exclusion",
    "p2p_order_create", "p2p_order_confirm", "p2p_advert_create"})
TOKEN_RE = re.compile(r"^[\w\-]{1,128}$")      # authorize's pattern in send.json
#: Calls whose send schema has ``subscribe``.
SUBSCRIBABLE = frozenset({"ticks", "ticks_history", "proposal", "proposal_open_contract",
                          "balance", "transaction", "buy", "website_status", "ticks_batch",
                          "exchange_rates"})


@dataclass
class _Pending:
    future: asyncio.Future[Message]
    call: str


class DerivClient:
    """A Deriv WebSocket API client; see the module docstring."""

    def __init__(self, connector: Connector, *, reconnect: bool = True,
                 keepalive_s: float | None = 30.0, pong_timeout_s: float = 10.0,
                 request_timeout_s: float = 30.0, connect_timeout_s: float = 10.0,
                 backoff: Backoff | None = None, limiter: RateLimiter | None = None,
                 read_limits: bool = True, validate: bool = False,
                 rate_limit_retries: int = 3,
                 on_send: list[Callable[[Message], None]] | None = None) -> None:
        self.connector = connector
        self.reconnect = reconnect
        self.keepalive_s = keepalive_s
        self.pong_timeout_s = pong_timeout_s
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff = backoff or Backoff()
        self.limiter = limiter or RateLimiter()
        self.read_limits = read_limits
        self.validate = validate
        self.rate_limit_retries = rate_limit_retries
        self.on_send: list[Callable[[Message], None]] = list(on_send or ())
        self.on_session: list[Callable[[int], None]] = []   # called with the session number
        self.registry = Registry()
        #: ``registry.by_id`` (one dict for the client's life: the registry clears it, never
        #: replaces it), one attribute look-up less per tick
        self._streams = self.registry.by_id
        self.authorize_info: dict[str, Any] | None = None
        self.site_status: str | None = None
        self.sessions = 0
        self._stats = {"frames": 0, "malformed": 0, "unsolicited": 0, "reconnects": 0,
                       "connect_failures": 0}
        self._frames = 0                # frames in: an int attribute on the per-frame path
        #: ``perf_counter()`` when the frame being handled (the last one) reached the
        #: transport callback: what latency figures start from.
        self.frame_time = 0.0
        #: The last tick frame the fast path handed to its stream (what a rehearsal decodes).
        self.last_tick_frame = b""
        self._req_ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._transport: Transport | None = None
        self._keepalive: Keepalive | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._failed: DerivError | None = None
        self._closing = False
        #: Whether frames are tried with the typed tick decoder first: set once a tick
        #: stream with a typed listener (``Subscription.listen(..., ticks=)``) is seen.
        self._typed_ticks = False

    # -- lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the first session; ``AuthError``/``ConnectError`` if it cannot be opened."""
        await self._open_session()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="deriv-supervisor")

    async def close(self) -> None:
        """Close the connection; pending requests and streams end with ``ConnectionLost``."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        self._stop_keepalive()
        if self._transport is not None:
            self._transport.close()
        self._finish(ConnectionLost("the client was closed"))

    async def __aenter__(self) -> DerivClient:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @property
    def stats(self) -> dict[str, int]:
        """Counters: ``frames`` in, ``malformed`` ones, ``unsolicited`` messages,
        ``reconnects`` and ``connect_failures`` (one dict, kept up to date)."""
        self._stats["frames"] = self._frames
        return self._stats

    @property
    def is_connected(self) -> bool:
        """Whether a session is up (authorised, streams replayed)."""
        return self._up.is_set()

    @property
    def is_virtual(self) -> bool | None:
        """Whether the authorised account is a demo account (None before ``authorize``)."""
        if self.authorize_info is None:
            return None
        return bool(self.authorize_info.get("is_virtual"))

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for a session (after a drop: the reconnect)."""
        async with asyncio.timeout(timeout):
            while not self._up.is_set():
                if self._failed is not None:
                    raise self._failed
                await self._up.wait()

    # -- requests --------------------------------------------------------------------------
    async def request(self, request: Message, *, timeout: float | None = None) -> Message:
        """Send one call and return its reply (see the module docstring for errors)."""
        call = schema_check.call_of(request)
        timeout = self.request_timeout_s if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        attempt = 0
        while True:
            await self._ready(call, deadline)
            await self.limiter.acquire(call)
            try:
                reply = await self._call(request, max(0.001, deadline - loop.time()))
            except RateLimitError:
                self.limiter.penalise(call)
                if call in NOT_IDEMPOTENT or attempt >= self.rate_limit_retries:
                    raise
                attempt += 1
                continue
            self.limiter.succeeded(call)
            return reply

    def send_nowait(self, request: Message) -> asyncio.Future[Message]:
        """Send one call at once, awaiting nothing; return the future of its reply.

        For a hot path that must know the bytes left before it returns (the daemon's order
        path journals the request first, then calls this in the tick's own callback). The
        call is counted by the rate limiter and written before this returns, or nothing is
        written and it raises: ``ConnectionLost`` with no session up, ``RateLimitError``
        (code ``ClientRateLimit``) when the limiter would make it wait. Check
        ``is_connected`` and ``limiter.wait_time(call)`` first. The future gets the reply or
        the exception :meth:`request` would raise (``ApiError``, ``ConnectionLost``); there
        is no timeout here: cancel the future to give up on the reply (its ``req_id`` is
        then forgotten). Not retried: a ``RateLimit`` reply penalises the group, as for
        :meth:`request`.
        """
        call = schema_check.call_of(request)
        transport, req_id, future = self._admit_now(call)
        try:
            self._send(transport, {**request, "req_id": req_id})
        except BaseException:
            self._pending.pop(req_id, None)
            raise
        future.add_done_callback(lambda f: self._sent_done(f, req_id, call))
        return future

    def send_encoded_nowait(self, call: str, head: bytes) -> asyncio.Future[Message]:
        """:meth:`send_nowait` of a request already encoded: ``head`` is the request's JSON
        object without its closing brace and without ``req_id`` (its first key the
        ``call``); the client appends ``,"req_id":N}``. Same checks, counting, errors and
        future as :meth:`send_nowait`; ``on_send`` hooks and ``validate`` see the decoded
        request (decoded only when there is one of them), so the bytes are checked like any
        request's. The daemon's order path, whose requests are templates filled in
        (:mod:`tickgate.host.daemon.ordertemplates`): no dict built or encoded per order.
        """
        transport, req_id, future = self._admit_now(call)
        try:
            self._write(transport, call, _WITH_REQ_ID % (head, req_id), None)
        except BaseException:
            self._pending.pop(req_id, None)
            raise
        future.add_done_callback(lambda f: self._sent_done(f, req_id, call))
        return future

    def rehearse_encoded(self, call: str, head: bytes) -> bytes | None:
        """The bytes :meth:`send_encoded_nowait` would write for ``head`` (with ``req_id``
        0) after the same look-ups (connection, rate limiter), with nothing sent, counted or
        registered: the order path's rehearsal (``tickgate.host.daemon.rehearsal``); None
        where the request could not leave now."""
        transport = self._transport
        if (transport is None or not transport.is_open
                or self.limiter.wait_time(call) > 0):
            return None
        return _WITH_REQ_ID % (head, 0)

    def rehearse_tick_frame(self) -> TickFrame | None:
        """Decode the last tick frame the fast path took, as :meth:`_on_message` does, and
        look its stream up, with nothing routed or counted; the frame, or None before the
        first."""
        data = self.last_tick_frame
        if not data or not data.isascii():
            return None
        frame = decode_tick(data)
        self._streams.get(frame.subscription.id)
        return frame

    def _admit_now(self, call: str) -> tuple[Transport, int, asyncio.Future[Message]]:
        """The checks and counting of :meth:`send_nowait`: the transport, a new ``req_id``
        and its reply's future, registered as pending (the caller writes the request)."""
        transport = self._transport
        if (self._failed is not None or not self._up.is_set() or transport is None
                or not transport.is_open):
            raise ConnectionLost(f"not connected: {call} not sent", call=call)
        if not self.limiter.try_acquire(call):
            raise RateLimitError("ClientRateLimit", f"{call} would wait for the rate limiter; "
                                 "not sent", msg_type=call)
        req_id = next(self._req_ids)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = _Pending(future, call)
        return transport, req_id, future

    def _sent_done(self, future: asyncio.Future[Message], req_id: int, call: str) -> None:
        self._pending.pop(req_id, None)
        if future.cancelled():
            return
        if isinstance(future.exception(), RateLimitError):
            self.limiter.penalise(call)
        elif future.exception() is None:
            self.limiter.succeeded(call)

    async def subscribe(self, request: Message, *, timeout: float | None = None) -> Subscription:
        """Open a stream (adds ``subscribe: 1``); returns after the first reply.

        The first reply is also the stream's first message (except the ``history`` or
        ``candles`` of ``ticks_history``, which is in the returned subscription too).
        """
        call = schema_check.call_of(request)
        if call not in SUBSCRIBABLE:
            raise ValueError(f"{call} cannot be subscribed to")
        request = {**request, "subscribe": 1}
        sub = Subscription(request, call, self._forget)
        timeout = self.request_timeout_s if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._ready(call, deadline)
        await self.limiter.acquire(call)
        try:
            reply = await self._call(request, max(0.001, deadline - loop.time()), sub)
        except BaseException:
            self.registry.remove(sub)
            raise
        if not sub.ids:       # e.g. a contract already sold: one message, no stream
            sub.deliver(reply)
            sub.end()
            self.registry.remove(sub)
        return sub

    async def ping(self) -> None:
        """One ``ping`` (rate-limited: at most 10 ping/time a second)."""
        await self.request({"ping": 1}, timeout=self.pong_timeout_s)

    def current_id(self, stream_id: str) -> str | None:
        """The live stream id now standing for ``stream_id`` (from any earlier session)."""
        return self.registry.current(stream_id)

    # -- internals: one request ------------------------------------------------------------
    async def _ready(self, call: str, deadline: float) -> None:
        if self._failed is not None:
            raise self._failed
        if self._up.is_set():
            return
        if call in NOT_IDEMPOTENT:
            raise ConnectionLost(f"not connected: {call} not sent", call=call)
        loop = asyncio.get_running_loop()
        try:
            await self.wait_connected(max(0.001, deadline - loop.time()))
        except TimeoutError:
            raise RequestTimeout(f"{call}: no connection within the timeout") from None

    async def _call(self, request: Message, timeout: float,
                    sub: Subscription | None = None) -> Message:
        """Send on the current connection and await the reply with the same ``req_id``."""
        call = schema_check.call_of(request)
        transport = self._transport
        if transport is None or not transport.is_open:
            raise ConnectionLost(f"not connected: {call} not sent", call=call)
        req_id = next(self._req_ids)
        msg = {**request, "req_id": req_id}
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = _Pending(future, call)
        if sub is not None:
            self.registry.add(sub, req_id)
        try:
            self._send(transport, msg)
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise RequestTimeout(f"{call}: no reply within {timeout:.1f} s "
                                 f"(req_id {req_id})") from None
        finally:
            self._pending.pop(req_id, None)

    def _send(self, transport: Transport, msg: Message) -> None:
        self._write(transport, schema_check.call_of(msg), orjson.dumps(msg), msg)

    def _write(self, transport: Transport, call: str, data: bytes, msg: Message | None) -> None:
        """Every request's way out: ``on_send`` hooks and ``validate`` on ``msg`` (decoded
        from ``data`` when None and either is set), then ``data`` written to the socket."""
        if self.on_send or self.validate:
            if msg is None:
                msg = orjson.loads(data)
            for hook in self.on_send:
                hook(msg)
            if self.validate:
                problems = schema_check.errors(msg)
                if problems:
                    raise ValueError("request fails send.json: " + "; ".join(problems))
        transport.send(data)

    # -- internals: frames in --------------------------------------------------------------
    def _on_message(self, data: bytes) -> None:
        self.frame_time = perf_counter()
        self._frames += 1
        if self._typed_ticks and data.isascii():
            # The fast path (see ``wire`` for why each condition): a tick of a bound stream
            # whose consumer takes raw tick values, not a reply anyone waits for. Anything
            # else goes the general way below, which gives the same outcome.
            try:
                frame = decode_tick(data)
            except (MsgspecError, RecursionError):     # not a tick frame, or malformed
                pass
            else:
                sub = self._streams.get(frame.subscription.id)
                if (sub is not None and (listener := sub.tick_listener) is not None
                        and (not self._pending or frame.req_id not in self._pending)):
                    tick = frame.tick
                    self.last_tick_frame = data
                    listener(tick.symbol, tick.epoch, tick.quote, tick.bid, tick.ask,
                             tick.pip_size)
                    return
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError:
            msg = None
        if type(msg) is not dict:
            self.stats["malformed"] += 1
            log.warning("malformed frame skipped (%d bytes)", len(data))
            return
        req_id = msg.get("req_id")
        sub = self.registry.route(msg, req_id) if "subscription" in msg else None
        if sub is not None and sub.tick_listener is not None:
            self._typed_ticks = True
        pending = self._pending.pop(req_id, None) if req_id is not None else None
        if pending is not None:
            if not pending.future.done():
                if "error" in msg:
                    error = msg["error"] if isinstance(msg["error"], dict) else {}
                    pending.future.set_exception(api_error(error, msg.get("msg_type"), req_id))
                else:
                    pending.future.set_result(msg)
        elif sub is None:
            self._unsolicited(msg)
        if msg.get("msg_type") == "website_status" and sub is not None:
            self._note_site_status(msg)

    def _unsolicited(self, msg: Message) -> None:
        self.stats["unsolicited"] += 1
        if msg.get("msg_type") == "website_status":
            self._note_site_status(msg)
        else:
            log.debug("message without a waiting request: %s", msg.get("msg_type"))

    def _note_site_status(self, msg: Message) -> None:
        status = (msg.get("website_status") or {}).get("site_status")
        if status and status != self.site_status:
            self.site_status = status
            if status != "up":
                log.warning("Deriv site_status is %r: maintenance, expect a reconnect",
                            status)

    # -- internals: sessions ---------------------------------------------------------------
    async def _open_session(self) -> None:
        endpoint = await self.connector.endpoint()
        transport = await open_transport(endpoint.url, self._on_message,
                                         headers=endpoint.headers,
                                         timeout=self.connect_timeout_s)
        self._transport = transport
        transport.closed.add_done_callback(self._on_closed)
        try:
            timeout = self.request_timeout_s
            if self.read_limits:
                status = await self._call({"website_status": 1}, timeout)
                payload = status.get("website_status") or {}
                self.limiter.configure(limits_from_website_status(payload))
                self._note_site_status(status)
            if endpoint.token is not None:
                if not TOKEN_RE.match(endpoint.token.reveal()):
                    raise AuthError("InvalidToken", "the API token is malformed (Deriv tokens "
                                    "are 1-128 letters, digits, _ or -); not sent",
                                    msg_type="authorize")
                reply = await self._call({"authorize": endpoint.token.reveal()}, timeout)
                self.authorize_info = reply.get("authorize") or {}
            await self._replay()
        except BaseException:
            transport.abort("session setup failed")
            raise
        self.sessions += 1
        if self.keepalive_s:
            self._keepalive = Keepalive(self.ping, self.keepalive_s, self.pong_timeout_s,
                                        transport.abort)
            self._keepalive.start()
        self._up.set()
        for hook in self.on_session:
            try:
                hook(self.sessions)
            except Exception:
                log.exception("on_session hook failed")

    async def _replay(self) -> None:
        subs = self.registry.begin_replay()
        if not subs:
            return

        async def one(sub: Subscription) -> None:
            request = sub.replay_request
            if request is None:
                sub.end(ConnectionLost("stream lost with the connection", call=sub.call))
                self.registry.remove(sub)
                return
            await self.limiter.acquire(schema_check.call_of(request))
            try:
                reply = await self._call(request, self.request_timeout_s, sub)
            except ApiError as err:
                log.warning("replay of a %s stream failed: %s", sub.call, err)
                sub.end(err)
                self.registry.remove(sub)
                return
            sub.replays += 1
            if not sub.ids:
                sub.deliver(reply)
                sub.end()
                self.registry.remove(sub)

        await asyncio.gather(*(one(s) for s in subs))
        log.info("replayed %d subscription(s)", len(subs))

    def _on_closed(self, closed: asyncio.Future[str]) -> None:
        """The connection ended: fail every pending request now."""
        reason = closed.result() if not closed.cancelled() else "cancelled"
        self._up.clear()
        self._stop_keepalive()
        self._fail_pending(reason)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for req_id, p in pending.items():
            if not p.future.done():
                unsure = p.call in NOT_IDEMPOTENT
                extra = " (it may have been executed: check portfolio/statement)" if unsure \
                    else ""
                p.future.set_exception(ConnectionLost(
                    f"connection lost before the reply to {p.call} (req_id {req_id}): "
                    f"{reason}{extra}", call=p.call, maybe_executed=unsure))

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.stop()
            self._keepalive = None

    async def _supervise(self) -> None:
        while not self._closing:
            assert self._transport is not None
            reason = await asyncio.shield(self._transport.closed)
            if self._closing:
                return
            log.warning("connection lost: %s", reason)
            if not self.reconnect:
                self._finish(ConnectionLost(f"connection lost: {reason}"))
                return
            attempt = 0
            while not self._closing:
                delay = self.backoff.delay(attempt)
                attempt += 1
                if delay:
                    await asyncio.sleep(delay)
                try:
                    await self._open_session()
                except AuthError as err:
                    log.error("reconnect refused, giving up: %s", err)
                    self._finish(err)
                    return
                except (ConnectError, ConnectionLost, RequestTimeout, ApiError) as err:
                    self.stats["connect_failures"] += 1
                    log.warning("reconnect attempt %d failed: %s", attempt, err)
                    continue
                self.stats["reconnects"] += 1
                log.info("reconnected (attempt %d, session %d)", attempt, self.sessions)
                break

    def _finish(self, err: DerivError) -> None:
        """No more sessions: fail what waits, end every stream with ``err``."""
        self._failed = err
        self._up.clear()
        self._fail_pending(str(err))
        for sub in list(self.registry.live):
            sub.end(err)
            self.registry.remove(sub)
        self._up.set()     # wake waiters; they see _failed
        self._up.clear()

    async def _forget(self, sub: Subscription) -> None:
        ids = list(sub.ids)
        self.registry.remove(sub)
        for sid in ids:
            try:
                await self.request({"forget": sid})
            except DerivError as err:
                log.debug("forget %s: %s", sid, err)
