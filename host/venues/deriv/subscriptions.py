"""Live streams: routing by subscription id, the consumer's queue, replay with id mapping.

A ``Subscription`` is what ``DerivClient.subscribe`` returns: an async iterator over the
stream's decoded messages (dicts, in arrival order; Deriv's ``transaction`` acknowledgement
``{"id": …}`` is not delivered). One request may open several server streams (``ticks`` with
a list of symbols: one id per symbol); ``ids`` maps each current server id to its *stream
key* (symbol for ticks, ``(symbol, granularity)`` for candles, contract id for contracts,
else the message type), the key that stays the same across connections.

After a reconnect the client sends each live subscription's ``replay_request`` again (a
``buy`` with ``subscribe`` is replayed as ``proposal_open_contract`` for its contract, never
as a ``buy``); ``Registry.bind`` then records ``old id → new id`` in ``id_map`` by stream key
(chains are collapsed, so any id ever given out maps to the current one), and the consumer's
iterator simply continues. A single-contract stream ends after the message with
``is_sold: 1``, as Deriv's does; ``forget()`` ends a stream; a permanent failure ends it with
that exception, raised by the iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
#: ``fn(symbol, epoch, quote, bid, ask, pip_size)``: one tick's raw values (see ``listen``).
TickListener = Callable[[Any, Any, Any, Any, Any, Any], None]
_END = object()


def stream_key(msg: Message) -> Any:
    """What identifies a server stream across connections (see the module docstring)."""
    mt = msg.get("msg_type")
    payload = msg.get(mt) if isinstance(mt, str) else None
    echo = msg.get("echo_req") or {}
    if mt == "tick" and isinstance(payload, dict):
        return payload.get("symbol")
    if mt == "ohlc" and isinstance(payload, dict):
        return (payload.get("symbol"), payload.get("granularity"))
    if mt == "candles":
        return (echo.get("ticks_history"), echo.get("granularity", 60))
    if mt == "history":
        return echo.get("ticks_history")
    if mt == "buy" and isinstance(payload, dict):
        return ("contract", payload.get("contract_id"))
    if mt == "proposal_open_contract":        # one contract, or all (None) as requested
        return ("contract", echo.get("contract_id"))
    return mt


class Subscription:
    """One subscribe request's streams; ``async for msg in sub`` reads them."""

    def __init__(self, request: Message, call: str,
                 forget: Callable[[Subscription], Awaitable[None]]) -> None:
        self.request = request
        self.call = call
        self.ids: dict[str, Any] = {}
        self.replays = 0
        self.done = False
        self._forget = forget
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._old: dict[Any, str] = {}
        self._listener: Callable[[Message], None] | None = None
        #: The client's fast path for ``tick`` frames (see ``listen``); None when closed.
        self.tick_listener: TickListener | None = None

    def listen(self, fn: Callable[[Message], None], *,
               ticks: TickListener | None = None) -> None:
        """Hand every message to ``fn`` at once, in the transport callback, instead of the
        queue (no task switch: the hot path of a tick feed). Messages already queued go to
        ``fn`` now; the iterator then only reports the stream's end (or its error).

        With ``ticks``, a well-formed ``tick`` frame of this stream is not built into a dict
        at all: the client decodes it with a typed decoder (``wire``) and calls
        ``ticks(symbol, epoch, quote, bid, ask, pip_size)`` with the ``tick`` object's raw
        values (None when absent), which must do what ``fn`` does with the whole message.
        Any other message, and any frame the typed decoder refuses, still goes to ``fn``."""
        self._listener = fn
        self.tick_listener = ticks if not self.done else None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is _END or isinstance(item, BaseException):
                self._queue.put_nowait(item)
                break
            fn(item)

    @property
    def replay_request(self) -> Message | None:
        """What to send after a reconnect (None: nothing to replay)."""
        if self.call == "buy":
            cid = next((k[1] for k in self.ids.values()
                        if isinstance(k, tuple) and k[0] == "contract"), None)
            if cid is None:
                cid = next((k[1] for k in self._old if isinstance(k, tuple)
                            and k[0] == "contract"), None)
            if cid is None:
                return None
            return {"proposal_open_contract": 1, "contract_id": int(cid), "subscribe": 1}
        return self.request

    @property
    def pending(self) -> int:
        """Messages waiting for the consumer."""
        return self._queue.qsize()

    def deliver(self, msg: Message) -> None:
        """Queue a message for the consumer (ends a sold single-contract stream)."""
        if self.done:
            return
        mt = msg.get("msg_type")
        payload = msg.get(mt) if isinstance(mt, str) else None
        if mt == "transaction" and isinstance(payload, dict) and payload.keys() <= {"id"}:
            return
        if self._listener is not None:
            self._listener(msg)
        else:
            self._queue.put_nowait(msg)
        if (mt == "proposal_open_contract" and isinstance(payload, dict)
                and payload.get("is_sold") and (self.call == "buy"
                                                or "contract_id" in self.request)):
            self.end()

    def end(self, exc: BaseException | None = None) -> None:
        """No more messages; the iterator raises ``exc`` (if given) after the queued ones."""
        if not self.done:
            self.done = True
            self.tick_listener = None
            self._queue.put_nowait(exc if exc is not None else _END)

    async def forget(self) -> None:
        """Stop the stream(s) on the server and end the iterator."""
        if not self.done:
            await self._forget(self)
            self.end()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)          # stays ended for any later reader
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)
            raise item
        return item

    def __repr__(self) -> str:
        return f"<Subscription {self.call} ids={list(self.ids)} done={self.done}>"


class Registry:
    """Every live subscription, by request id and by server stream id."""

    def __init__(self) -> None:
        self.live: list[Subscription] = []
        self.by_req: dict[int, Subscription] = {}
        self.by_id: dict[str, Subscription] = {}
        self.id_map: dict[str, str] = {}

    def add(self, sub: Subscription, req_id: int) -> None:
        """A subscribe request ``req_id`` is about to be sent for ``sub``."""
        if sub not in self.live:
            self.live.append(sub)
        self.by_req[req_id] = sub

    def remove(self, sub: Subscription) -> None:
        """Forget ``sub`` entirely."""
        if sub in self.live:
            self.live.remove(sub)
        for rid in [r for r, s in self.by_req.items() if s is sub]:
            del self.by_req[rid]
        for sid in list(sub.ids):
            self.by_id.pop(sid, None)

    def route(self, msg: Message, req_id: Any) -> Subscription | None:
        """Deliver a message carrying ``subscription.id`` to its subscription, if any."""
        sid = (msg.get("subscription") or {}).get("id")
        if not isinstance(sid, str):
            return None
        sub = self.by_id.get(sid)
        if sub is None:
            sub = self.by_req.get(req_id) if isinstance(req_id, int) else None
            if sub is None:
                return None
            self.bind(sub, sid, stream_key(msg))
        sub.deliver(msg)
        if sub.done:
            self.remove(sub)
        return sub

    def bind(self, sub: Subscription, sid: str, key: Any) -> None:
        """A new server id for ``sub``; map the id it replaces (same key) to it."""
        sub.ids[sid] = key
        self.by_id[sid] = sub
        old = sub._old.pop(key, None)
        if old is not None and old != sid:
            for prev, cur in self.id_map.items():
                if cur == old:
                    self.id_map[prev] = sid
            self.id_map[old] = sid

    def begin_replay(self) -> list[Subscription]:
        """The connection is new: drop every server id, keep them for mapping; what to replay."""
        self.by_req.clear()
        self.by_id.clear()
        for sub in self.live:
            sub._old.update({key: sid for sid, key in sub.ids.items()})
            sub.ids = {}
        return [s for s in self.live if not s.done]

    def current(self, sid: str) -> str | None:
        """The live id that ``sid`` (an id from any earlier connection) maps to now."""
        sid = self.id_map.get(sid, sid)
        return sid if sid in self.by_id else None
