"""The client's exceptions. Their texts never hold a token (``redact``) nor a request body.

- ``DerivError``: base class.
- ``ApiError``: the server answered with Deriv's error envelope: ``code`` (e.g.
  ``InvalidSymbol``), English ``message``, ``details`` (may be None), the ``msg_type`` and
  ``req_id`` of the reply. ``AuthError`` (a refused token: ``InvalidToken``,
  ``AuthorizationRequired``, a refused OTP request) and ``RateLimitError`` (``RateLimit``)
  are subclasses.
- ``ConnectionLost``: the connection dropped (or the client closed) before the reply came;
  ``maybe_executed`` is True for calls that change the account (``buy``, ``sell``…): the
  server may have acted before the drop, check ``portfolio``/``statement``.
- ``ConnectError``: no connection could be opened (network, handshake refused).
- ``RequestTimeout``: no reply within the request's timeout.
"""

from __future__ import annotations

from typing import Any

from tickgate.host.venues.deriv.redact import redact

AUTH_CODES = frozenset({"InvalidToken", "AuthorizationRequired", "InvalidAppID",
                        "AccessRestricted", "PermissionDenied", "InvalidOTP"})


class DerivError(Exception):
    """Base of the client's errors; the text is redacted."""

    def __init__(self, text: str) -> None:
        super().__init__(redact(text))


class ApiError(DerivError):
    """An error reply from the server."""

    def __init__(self, code: str, message: str, *, msg_type: str | None = None,
                 req_id: int | None = None, details: Any = None) -> None:
        self.code = code
        self.message = redact(message)
        self.msg_type = msg_type
        self.req_id = req_id
        self.details = details
        where = f" ({msg_type}, req_id {req_id})" if msg_type else ""
        super().__init__(f"{code}: {message}{where}")


class AuthError(ApiError):
    """The token (or app id, or OTP) was refused."""


class RateLimitError(ApiError):
    """Deriv's ``RateLimit``: too many calls of this group."""


class ConnectionLost(DerivError):
    """The connection dropped before a reply."""

    def __init__(self, text: str, *, call: str | None = None,
                 maybe_executed: bool = False) -> None:
        self.call = call
        self.maybe_executed = maybe_executed
        super().__init__(text)


class ConnectError(DerivError):
    """Could not open a connection."""


class RequestTimeout(DerivError):
    """No reply in time."""


def api_error(error: dict[str, Any], msg_type: str | None, req_id: int | None) -> ApiError:
    """The exception for an ``error`` object of a reply."""
    code = str(error.get("code", "UnknownError"))
    message = str(error.get("message", ""))
    cls = ApiError
    if code == "RateLimit":
        cls = RateLimitError
    elif code in AUTH_CODES or msg_type == "authorize":
        cls = AuthError
    return cls(code, message, msg_type=msg_type, req_id=req_id, details=error.get("details"))
