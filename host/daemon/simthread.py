"""The market simulator on a thread of its own (its own uvloop event loop).

``tickgate run`` with ``[venue] kind = "sim"`` trades against it: the simulator's ticks,
pricing and settlement then never compete with the daemon's loop, yet it stays in the same
process and dies with it (its books are in memory: each run starts a fresh demo account).
Tests use it too, to keep a simulator alive across daemon processes they start and kill.

The demo token is generated here, handed to the daemon in memory as a ``Secret`` and never
printed or logged.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import uvloop

from tickgate.host.simserver.server import SimServer
from tickgate.host.venues.deriv.redact import Secret

__all__ = ["SimThread"]

T = TypeVar("T")


class SimThread:
    """``SimServer`` running on a background thread; ``url`` and ``token`` once started."""

    def __init__(self, *, seed: int = 0, speed: float = 1.0,
                 tokens: list[str] | None = None, start_epoch: float | None = None) -> None:
        self.generated = Secret("sim-" + secrets.token_hex(16))
        specs = list(tokens) if tokens else [f"{self.generated.reveal()}=demo:read,trade"]
        self.server = SimServer(port=0, tokens=specs, seed=seed, speed=speed,
                                start_epoch=start_epoch)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="tickgate-sim", daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> Secret:
        """The generated demo token (when no ``tokens`` were given)."""
        return self.generated

    def start(self, timeout: float = 10.0) -> SimThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the simulator did not start")
        if self._error is not None:
            raise RuntimeError(f"the simulator did not start: {self._error}")
        return self

    def _main(self) -> None:
        loop = uvloop.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:      # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Run ``fn(*args)`` on the simulator's loop (to read its books consistently)."""
        assert self.loop is not None

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10.0)

    def __enter__(self) -> SimThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
