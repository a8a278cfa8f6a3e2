"""Deriv's envelope: ``echo_req`` (sensitive fields masked), ``req_id``, ``passthrough``,
``msg_type``, the payload under the ``msg_type`` key, ``error{code,message,details}`` and
``subscription{id}``.

Messages are built as dicts and serialised with orjson (UTF-8 bytes, sent as text frames).
Errors are raised as ``ApiError`` by handlers and turned into Deriv's error shape here.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

NOT_SHOWN = "<not shown>"
SENSITIVE_DEFAULT = frozenset({"authorize", "tokens"})


class ApiError(Exception):
    """A Deriv API error: ``code`` (e.g. ``InvalidToken``), English ``message``, ``details``."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The ``error`` object of a response."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


def new_id() -> str:
    """A subscription/proposal id: a UUID string, as Deriv uses."""
    return str(uuid.uuid4())


def echo(request: dict[str, Any], sensitive: frozenset[str] = SENSITIVE_DEFAULT) -> dict[str, Any]:
    """``request`` with each sensitive top-level field replaced by ``"<not shown>"``."""
    if not sensitive.intersection(request):
        return request
    return {k: (NOT_SHOWN if k in sensitive else v) for k, v in request.items()}


class Envelope:
    """What every reply to one request shares: echo_req, req_id, passthrough."""

    __slots__ = ("echo_req", "req_id", "passthrough")

    def __init__(self, request: dict[str, Any],
                 sensitive: frozenset[str] = SENSITIVE_DEFAULT) -> None:
        self.echo_req = echo(request, sensitive)
        req_id = request.get("req_id")
        self.req_id = req_id if isinstance(req_id, int) and not isinstance(req_id, bool) else None
        self.passthrough = request.get("passthrough")

    def message(self, msg_type: str, payload: Any, subscription_id: str | None = None,
                payload_key: str | None = None) -> dict[str, Any]:
        """A successful message; the payload sits under ``payload_key`` (default msg_type)."""
        msg: dict[str, Any] = {"echo_req": self.echo_req, "msg_type": msg_type,
                               payload_key or msg_type: payload}
        self._common(msg, subscription_id)
        return msg

    def error(self, msg_type: str, err: ApiError,
              subscription_id: str | None = None) -> dict[str, Any]:
        """An error message of type ``msg_type``."""
        msg: dict[str, Any] = {"echo_req": self.echo_req, "error": err.as_dict(),
                               "msg_type": msg_type}
        self._common(msg, subscription_id)
        return msg

    def _common(self, msg: dict[str, Any], subscription_id: str | None) -> None:
        if self.req_id is not None:
            msg["req_id"] = self.req_id
        if self.passthrough is not None:
            msg["passthrough"] = self.passthrough
        if subscription_id is not None:
            msg["subscription"] = {"id": subscription_id}


def dumps(msg: dict[str, Any]) -> bytes:
    """Serialise a message (orjson, UTF-8)."""
    return orjson.dumps(msg)


def loads(data: bytes | str) -> Any:
    """Parse a frame's JSON (raises ``orjson.JSONDecodeError``)."""
    return orjson.loads(data)
