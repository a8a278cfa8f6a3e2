"""Test helpers: a websockets client that validates every frame the simulator sends.

``Client.recv`` parses each frame and checks it against Deriv's ``receive.json`` for its
``msg_type`` (Draft 4), and checks the envelope (``echo_req`` object, error shape). Requests
sent with ``call``/``send`` are checked against ``send.json`` too, unless ``raw=True`` (the
tests of invalid input). ``async_test`` runs a coroutine test in its own event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from jsonschema import Draft4Validator

from tickgate.host.simserver import schemas

# The schema that describes each msg_type (streams are described by their call's schema).
SCHEMA_OF = {"tick": "ticks", "history": "ticks_history", "candles": "ticks_history",
             "ohlc": "ticks_history"}
ERROR_SCHEMA = {
    "type": "object", "required": ["echo_req", "error", "msg_type"],
    "properties": {
        "echo_req": {"type": "object"}, "msg_type": {"type": "string"},
        "req_id": {"type": "integer"},
        "error": {"type": "object", "required": ["code", "message"],
                  "additionalProperties": False,
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                 "details": {"type": "object"}}}}}
_validators: dict[tuple[str, str], Draft4Validator] = {}
VALIDATED: list[str] = []     # msg_types validated during the session (for a coverage check)


def validator(call: str, direction: str) -> Draft4Validator:
    """Cached Draft4 validator of ``<call>/<direction>.json``."""
    key = (call, direction)
    if key not in _validators:
        _validators[key] = Draft4Validator(schemas.load(call, direction))
    return _validators[key]


def validate_message(msg: dict[str, Any]) -> None:
    """Assert ``msg`` is a valid Deriv message for its ``msg_type``."""
    assert isinstance(msg, dict), msg
    assert isinstance(msg.get("echo_req"), dict), msg
    msg_type = msg["msg_type"]
    if "error" in msg:
        Draft4Validator(ERROR_SCHEMA).validate(msg)
    call = SCHEMA_OF.get(msg_type, msg_type)
    if call in schemas.CALLS:
        validator(call, "receive").validate(msg)
    else:
        assert "error" in msg and msg_type in ("error", "sanity_check"), msg
    if "subscription" in msg:
        assert isinstance(msg["subscription"]["id"], str)
    VALIDATED.append(msg_type)


class Client:
    """A Deriv API client over ``websockets`` for the tests."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.next_id = 1
        self.backlog: list[dict[str, Any]] = []

    async def send(self, request: dict[str, Any] | str, raw: bool = False) -> int | None:
        """Send a request (dict gets a ``req_id``); return the req_id."""
        if isinstance(request, str):
            await self.ws.send(request)
            return None
        request = dict(request)
        if "req_id" not in request:
            request["req_id"] = self.next_id
            self.next_id += 1
        if not raw:
            call = schemas.find_call(request)
            assert call is not None, request
            validator(call, "send").validate(request)
        await self.ws.send(json.dumps(request))
        return request["req_id"]

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame from the socket, validated."""
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        msg = json.loads(raw)
        validate_message(msg)
        return msg

    async def next(self, pred: Callable[[dict[str, Any]], bool],
                   timeout: float = 5.0) -> dict[str, Any]:
        """The first message (backlog first) matching ``pred``; others stay in the backlog."""
        for i, msg in enumerate(self.backlog):
            if pred(msg):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            if pred(msg):
                return msg
            self.backlog.append(msg)

    async def call(self, request: dict[str, Any] | str, raw: bool = False,
                   timeout: float = 5.0) -> dict[str, Any]:
        """Send and return the reply carrying the same ``req_id`` (any first reply if none)."""
        req_id = await self.send(request, raw)
        if req_id is None:
            return await self.next(lambda m: True, timeout)
        return await self.next(lambda m: m.get("req_id") == req_id, timeout)

    async def ok(self, request: dict[str, Any]) -> dict[str, Any]:
        """``call`` and assert the reply is not an error."""
        msg = await self.call(request)
        assert "error" not in msg, msg
        return msg

    async def error(self, request: dict[str, Any] | str, code: str,
                    raw: bool = False) -> dict[str, Any]:
        """``call`` and assert the reply is the error ``code``."""
        msg = await self.call(request, raw)
        assert msg.get("error", {}).get("code") == code, msg
        return msg


def connect(url: str) -> Any:
    """``websockets.connect`` with the options the tests use."""
    return websockets.connect(url, open_timeout=5, close_timeout=1, max_queue=None)


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test in a fresh event loop, 30 s at most."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 30))
    return wrapper


DEMO = "demo-token-1"
REAL = "real-token-1"
READONLY = "read-only-token"
TOKENS = [f"{DEMO}=demo:read,trade", f"{REAL}=real:read,trade,trading_information",
          f"{READONLY}=demo:read"]
