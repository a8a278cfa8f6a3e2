"""Helpers for the Deriv client tests: a send-schema hook, fast clients, a flaky connector.

Every client made by ``make_client`` passes each outgoing request to a ``SendLog``, which
checks it against Deriv's ``send.json`` for its call (the simulator's vendored schemas, via
its loader) and records ``(monotonic time, request)``. ``async_test`` runs a coroutine test on
uvloop (the host daemon's loop) with a 30 s ceiling.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from tickgate.host.simserver import schemas
from tickgate.host.venues.deriv import Backoff, DerivClient, Endpoint, UrlConnector
from tickgate.host.venues.deriv.errors import ConnectError

DEMO = "deriv-demo-token-0001"
REAL = "deriv-real-token-0002"
TOKENS = [f"{DEMO}=demo:read,trade", f"{REAL}=real:read,trade"]
CALL = {"contract_type": "CALL", "currency": "USD", "symbol": "R_10", "amount": 10,
        "basis": "stake", "duration": 5, "duration_unit": "m"}


class SendLog:
    """An ``on_send`` hook: validate every request against ``send.json``; keep them."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, dict[str, Any]]] = []

    def __call__(self, request: dict[str, Any]) -> None:
        call = schemas.find_call(request)
        assert call is not None and call == next(iter(request)), request
        schemas.info(call).validator.validate(request)        # raises on any violation
        self.sent.append((time.monotonic(), dict(request)))

    def calls(self, name: str) -> list[dict[str, Any]]:
        """The requests of one call, in order."""
        return [r for _, r in self.sent if next(iter(r)) == name]

    def times(self, name: str) -> list[float]:
        """When each request of one call was sent."""
        return [t for t, r in self.sent if next(iter(r)) == name]


def make_client(url: str, token: str | None = DEMO, log: SendLog | None = None,
                **kw: Any) -> DerivClient:
    """A client with a ``SendLog`` (``client.send_log``), no keepalive, fast backoff."""
    log = log or SendLog()
    kw.setdefault("keepalive_s", None)
    kw.setdefault("backoff", Backoff(base=0.05, cap=0.2))
    client = DerivClient(UrlConnector(url, token), on_send=[log], **kw)
    client.send_log = log  # type: ignore[attr-defined]
    return client


class FlakyConnector:
    """A URL connector whose next ``fail`` calls raise ``ConnectError``; records call times."""

    def __init__(self, url: str, token: str | None = DEMO) -> None:
        self.inner = UrlConnector(url, token)
        self.fail = 0
        self.calls: list[float] = []

    async def endpoint(self) -> Endpoint:
        self.calls.append(time.monotonic())
        if self.fail > 0:
            self.fail -= 1
            raise ConnectError("simulated network failure")
        return await self.inner.endpoint()


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test on uvloop, 30 s at most."""
    import asyncio

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        uvloop.run(asyncio.wait_for(fn(*args, **kwargs), 30))
    return wrapper


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``pred`` every 10 ms until true; AssertionError after ``timeout``."""
    import asyncio

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
