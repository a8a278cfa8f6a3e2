"""One client connection: frames in, Deriv messages out, this connection's streams.

Request pipeline (first failure answers): JSON object (``BadRequest``) → key sanity
(``SanityCheckFailed``) → known call (``UnrecognisedRequest``) → ping-flood rule (``RateLimit``
then close 1008) → ``RateLimit`` fault → send schema (``InputValidationFailed``) → login
(``AuthorizationRequired``) → scopes (``PermissionDenied``) → the call's handler. Replies go
out at once or after the ``delay_s`` fault; streams are pushed from market/desk callbacks.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from tickgate.host.simserver import schemas
from tickgate.host.simserver.accounts import Account, TokenGrant
from tickgate.host.simserver.contracts import Contract
from tickgate.host.simserver.envelope import ApiError, Envelope, dumps, loads
from tickgate.host.simserver.ledger import Entry

if TYPE_CHECKING:
    from tickgate.host.simserver.server import SimServer

log = logging.getLogger(__name__)
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
#: The ``msg_type`` of a call's replies, where it differs from the call's name.
REPLY_TYPE = {"ticks": "tick", "ticks_history": "history"}


@dataclass
class Stream:
    """One subscription: its id, kind (a ``forget_all`` type), envelope and how to stop it."""

    id: str
    kind: str            # ticks | candles | proposal | proposal_open_contract | balance | ...
    env: Envelope
    stop: Callable[[], None] = lambda: None
    key: Any = None      # what makes a duplicate (AlreadySubscribed), e.g. ("ticks", "R_50")
    data: dict[str, Any] = field(default_factory=dict)


class Connection(WSListener):
    """A picows listener holding one connection's session state."""

    def __init__(self, server: SimServer, authorized: Account | None = None,
                 scopes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.server = server
        self.transport: WSTransport | None = None
        self.grants: dict[str, TokenGrant] = {}
        self.loginid: str | None = None
        self.streams: dict[str, Stream] = {}
        self.proposals: dict[str, dict[str, Any]] = {}
        self.closed = False
        self.last_activity = time.monotonic()
        self._pings: deque[float] = deque()
        self._parts: list[bytes] = []
        if authorized is not None:   # the new API's OTP socket: already logged in
            self.login(TokenGrant(authorized, scopes), primary=True)

    # -- picows callbacks ------------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.server.connections.discard(self)
        for stream in list(self.streams.values()):
            stream.stop()
        self.streams.clear()
        for loginid, grant in self.grants.items():
            self.server.desk.unwatch(loginid, self)
            if self._on_balance in grant.account.balance_listeners:
                grant.account.balance_listeners.remove(self._on_balance)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.last_activity = time.monotonic()
        mt = frame.msg_type
        if mt in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data = b"".join(self._parts)
                self._parts.clear()
                self.handle(data)
        elif mt == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    # -- sending ---------------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        """Send one message now (dropped if the connection is gone)."""
        if self.closed or self.transport is None:
            return
        self.last_activity = time.monotonic()
        self.transport.send(WSMsgType.TEXT, dumps(msg))

    def send_raw(self, data: bytes) -> None:
        """Send a text frame as is (fault injection)."""
        if not self.closed and self.transport is not None:
            self.transport.send(WSMsgType.TEXT, data)

    def close(self, code: WSCloseCode, reason: str) -> None:
        """Close with a close frame (``code``, ``reason``) and disconnect."""
        if self.transport is not None and not self.closed:
            self.transport.send_close(code, reason.encode())
            self.transport.disconnect()

    def drop(self) -> None:
        """Abort the TCP connection: no close frame (fault injection)."""
        if self.transport is not None and not self.closed:
            self.transport.underlying_transport.abort()

    def _reply(self, messages: list[dict[str, Any]], env: Envelope, reply_type: str) -> None:
        faults = self.server.faults
        if faults.delay_s <= 0:
            for m in messages:
                self.send(m)
            return
        loop = self.server.loop
        assert loop is not None
        if faults.delay_s >= faults.rpc_timeout_s:
            err = env.error(reply_type, ApiError("Timeout", "Timeout"))
            loop.call_later(faults.rpc_timeout_s, self.send, err)
            return
        loop.call_later(faults.delay_s, lambda: [self.send(m) for m in messages])

    # -- requests --------------------------------------------------------------------------
    def handle(self, data: bytes) -> None:
        """Answer one request frame."""
        try:
            request = loads(data)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self.send(Envelope({}).error("error", ApiError(
                "BadRequest", "The application sent an invalid request.")))
            return
        if not self._sane(request):
            self.send(Envelope(request).error("sanity_check", ApiError(
                "SanityCheckFailed", "Parameters sanity check failed.")))
            return
        call = schemas.find_call(request)
        if call is None:
            self.send(Envelope(request).error("error", ApiError(
                "UnrecognisedRequest", "Unrecognised request")))
            return
        info = schemas.info(call)
        env = Envelope(request, info.sensitive)
        reply_type = REPLY_TYPE.get(call, call)
        try:
            if call in ("ping", "time") and self._ping_flood():
                self.send(env.error(reply_type, ApiError(
                    "RateLimit", f"You have reached the rate limit for {call}.")))
                self.close(WSCloseCode.POLICY_VIOLATION, "Policy Violation")
                return
            if self.server.faults.rate_limited(call):
                raise ApiError("RateLimit", f"You have reached the rate limit for {call}.")
            schemas.validate_request(call, request)
            if info.auth_required:
                self._check_auth(request, info.scopes)
            from tickgate.host.simserver.handlers import HANDLERS
            messages = HANDLERS[call](self, request, env)
        except ApiError as err:
            messages = [env.error(reply_type, err)]
        except Exception:  # a simulator bug must answer like Deriv, not kill the socket
            log.exception("handler %s failed", call)
            messages = [env.error(reply_type, ApiError("InternalServerError",
                                                 "Sorry, an error occurred while processing "
                                                 "your request."))]
        self._reply(messages, env, reply_type)

    @staticmethod
    def _sane(request: dict[str, Any]) -> bool:
        for key, value in request.items():
            if not _KEY_RE.match(key):
                return False
            if isinstance(value, dict) and not all(_KEY_RE.match(k) for k in value):
                return False
        return True

    def _ping_flood(self) -> bool:
        limit = self.server.faults.ping_flood_limit
        if limit is None:
            return False
        now = time.monotonic()
        pings = self._pings
        pings.append(now)
        while pings and pings[0] < now - 1.0:
            pings.popleft()
        return len(pings) > limit

    def _check_auth(self, request: dict[str, Any], scopes: tuple[str, ...]) -> None:
        if not self.grants:
            raise ApiError("AuthorizationRequired", "Please log in.")
        grant = self.grant(request)
        if scopes and not set(scopes) & set(grant.scopes):
            raise ApiError("PermissionDenied",
                           f"Permission denied, requires {', '.join(scopes)} scope(s).")

    # -- session ---------------------------------------------------------------------------
    def grant(self, request: dict[str, Any] | None = None) -> TokenGrant:
        """The grant of the account a request addresses (``loginid``, else the primary)."""
        loginid = (request or {}).get("loginid") or self.loginid
        grant = self.grants.get(loginid or "")
        if grant is None:
            raise ApiError("InvalidLoginid" if self.grants else "AuthorizationRequired",
                           "Invalid loginid." if self.grants else "Please log in.")
        return grant

    def account(self, request: dict[str, Any] | None = None) -> Account:
        """The account a request addresses."""
        return self.grant(request).account

    def login(self, grant: TokenGrant, primary: bool) -> None:
        """Add an authorised account (``primary``: the one calls use by default)."""
        loginid = grant.account.loginid
        if loginid not in self.grants:
            self.server.desk.watch(loginid, self)
            grant.account.balance_listeners.append(self._on_balance)
        self.grants[loginid] = grant
        if primary:
            self.loginid = loginid

    def logout_all(self) -> None:
        """Forget every account and its account-bound streams (before a new authorize)."""
        for stream in list(self.streams.values()):
            if stream.kind in ("balance", "transaction", "proposal_open_contract"):
                self.forget(stream.id)
        for loginid, grant in self.grants.items():
            self.server.desk.unwatch(loginid, self)
            if self._on_balance in grant.account.balance_listeners:
                grant.account.balance_listeners.remove(self._on_balance)
        self.grants.clear()
        self.loginid = None

    # -- streams ---------------------------------------------------------------------------
    def add_stream(self, stream: Stream) -> None:
        """Register a stream; ``AlreadySubscribed`` if one with the same key exists."""
        if stream.key is not None:
            for other in self.streams.values():
                if other.key == stream.key:
                    raise ApiError("AlreadySubscribed", _already(stream.key))
        self.streams[stream.id] = stream

    def forget(self, stream_id: str) -> bool:
        """Stop a stream; whether it existed."""
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return False
        stream.stop()
        return True

    def _on_balance(self, account: Account) -> None:
        from tickgate.host.simserver.handlers import balance_payload
        for stream in list(self.streams.values()):
            if stream.kind == "balance" and stream.data.get("loginid") in (account.loginid,
                                                                          "all"):
                self.send(stream.env.message("balance", balance_payload(self, stream),
                                             stream.id))

    def on_contract(self, contract: Contract) -> None:
        """Desk callback: push POC updates to the matching streams."""
        now = self.server.clock.now()
        for stream in list(self.streams.values()):
            if stream.kind != "proposal_open_contract":
                continue
            wanted = stream.data.get("contract_id")
            if wanted is not None and wanted != contract.contract_id:
                continue
            if wanted is None and stream.data.get("loginid") != contract.loginid:
                continue
            payload = contract.poc(now)
            payload["id"] = stream.id
            self.send(stream.env.message("proposal_open_contract", payload, stream.id))
            if contract.is_sold and wanted is not None:
                self.streams.pop(stream.id, None)   # the last message of a single-contract POC

    def on_transaction(self, account: Account, entry: Entry, contract: Contract | None) -> None:
        """Desk callback: push to transaction streams of that account."""
        for stream in list(self.streams.values()):
            if stream.kind == "transaction" and stream.data.get("loginid") == account.loginid:
                payload: dict[str, Any] = {
                    "action": entry.action_type, "amount": entry.amount,
                    "balance": entry.balance_after, "contract_id": entry.contract_id,
                    "currency": account.currency, "transaction_id": entry.transaction_id,
                    "transaction_time": entry.transaction_time, "longcode": entry.longcode,
                    "id": stream.id}
                if contract is not None:
                    payload.update(symbol=contract.symbol,
                                   display_name=contract.path.spec.display_name,
                                   purchase_time=contract.purchase_time)
                    if contract.offer.date_expiry is not None:
                        payload["date_expiry"] = contract.offer.date_expiry
                self.send(stream.env.message("transaction", payload, stream.id))


def _already(key: Any) -> str:
    if isinstance(key, tuple) and len(key) >= 2 and isinstance(key[1], str):
        return f"You are already subscribed to {key[1]}."
    return "You are already subscribed to this stream."
