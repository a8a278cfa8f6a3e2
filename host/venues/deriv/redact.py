"""Keeping API tokens out of logs, errors and exceptions.

A token is wrapped in ``Secret`` the moment it enters the client: its ``str``/``repr`` is
``***`` and only ``reveal()`` gives the value (used once, to write the ``authorize`` frame or
the OTP request's header). Every ``Secret`` registers its value, and ``redact(text)`` replaces
any registered value, and any ``otp=``/``token=`` query value (the new API's one-time URLs are
credentials too), by ``***``. The package's loggers (``get_logger``) carry ``RedactFilter``,
which redacts each record's final message; ``DerivError`` redacts its own text.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_QUERY_SECRET = re.compile(r"(?i)\b(otp|token|authorize)=([^&\s'\"]+)")
_known: set[str] = set()


class Secret:
    """A credential whose printed forms are masked; ``reveal()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value
        if len(value) >= 4:         # shorter strings would mask ordinary words
            _known.add(value)

    def reveal(self) -> str:
        """The credential itself: only for the frame or header that carries it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple:        # never pickled in clear by accident
        raise TypeError("a Secret cannot be pickled")


def as_secret(token: str | Secret | None) -> Secret | None:
    """``token`` as a ``Secret`` (None stays None)."""
    if token is None or isinstance(token, Secret):
        return token
    return Secret(token)


def redact(text: str) -> str:
    """``text`` with every registered secret and ``otp=``/``token=`` value masked."""
    for value in _known:
        if value in text:
            text = text.replace(value, MASK)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


class RedactFilter(logging.Filter):
    """Formats a record's message once, redacted, so no handler sees a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging's own error path
            return True
        clean = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                clean += f" [{type(exc).__name__}: {redact(str(exc))}]"
                record.exc_info = None
                record.exc_text = None
        record.msg, record.args = clean, None
        return True


_FILTER = RedactFilter()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with ``RedactFilter`` attached (filters do not inherit)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class RedactingAdapter(logging.LoggerAdapter):
    """A logger-like object that formats and redacts every message (for third-party code
    that takes a logger, e.g. picows, whose debug output includes the handshake URL)."""

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = f"{msg} {args}"
        kwargs.pop("extra", None)
        self.logger.log(level, redact(text), **kwargs)  # type: ignore[arg-type]
