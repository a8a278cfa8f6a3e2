"""Execution: an accepted intent becomes venue orders, journal first.

Mapping (netting per symbol; a contract of ``lots`` lots has stake ``lots ×
stake_per_lot``):

- a BUY when the symbol is short sells (closes) its MULTDOWN contracts, oldest first, for up
  to the intent's lots; a SELL when long sells its MULTUP contracts likewise;
- otherwise (flat, or adding to the same side) it opens a multiplier: MULTUP for a BUY,
  MULTDOWN for a SELL, ``multiplier`` and the ``take_profit``/``stop_loss`` amounts of
  ``[execution]``: with ``order_mode = "direct"`` (the default) one ``buy`` request with
  the contract's ``parameters`` and ``price`` = the stake (the most it may cost: a
  multiplier's ask is its stake); with ``"proposal"``, ``proposal`` then ``buy`` of that
  proposal at its ask price (a venue round trip more before the money-moving request).

Journal order of one open (see :mod:`.journal`): direct: ``intent`` + ``send`` (one
commit) → buy request → ``reply`` (or ``error``); proposal: ``intent`` → proposal →
``proposal`` → ``send`` → buy request → ``reply``/``error``; a close: ``intent`` + ``send``
(one commit) → sell request → ``reply``/``error``. An error that leaves the outcome
unknown (the connection dropped after the request left, or no reply in time) is journaled
``unknown`` and blocks the symbol until a live reconciliation (:mod:`.reconcile`) has
settled it.

The synchronous path (``inline=True``: the daemon's ``journal_sync = "normal"`` with
``order_mode = "direct"``): :meth:`Executor.submit` itself, called in the tick's own frame
callback, journals the intent and its ``send`` (one line of the journal's write-ahead file
when it has one, else one commit, on the event loop), counts the request with the client's
rate limiter and writes the ``buy`` (or the first ``sell`` of a close) with
:meth:`DerivClient.send_nowait`, with no task created and nothing awaited before the bytes
leave (an open with the write-ahead file: its ``buy`` and its line are templates filled in,
:mod:`.ordertemplates`, sent by :meth:`DerivClient.send_encoded_nowait`, and the events'
dicts are built only after the request left); a task is started to wait for the reply,
and the written-ahead events are committed to the log in a callback that runs before it
(after the other frames of the same socket read, which need not wait for that commit). An
intent that cannot leave at once (no session, the rate limiter would wait) takes the task
path as before.

Concurrency: one order per symbol at a time (an intent for a busy or blocked symbol is
*dropped*, counted, never queued behind: by the time the venue is free the signal is old),
at most ``max_queue`` in flight overall. Each finished action calls ``on_change(symbol)``
so the daemon writes the confirmed position to the board. After the kill switch nothing new
is sent (an order already past its ``send`` event completes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tickgate.gateware.records import Side
from tickgate.host.daemon.config import Config
from tickgate.host.daemon.crash import CrashHook
from tickgate.host.daemon.journal import ContractRec, Journal, JournalState
from tickgate.host.daemon.ordertemplates import BuyTemplate, OrderTemplates, buy_request
from tickgate.host.daemon.status import Stats
from tickgate.host.venues.deriv.client import DerivClient
from tickgate.host.venues.deriv.errors import (
    ApiError,
    ConnectionLost,
    DerivError,
    RequestTimeout,
)
from tickgate.host.venues.deriv.redact import get_logger

__all__ = ["OrderIntent", "Executor"]

log = get_logger(__name__)
#: The client id a rehearsal (:meth:`Executor.rehearse`) formats into its lines: never
#: journaled, never sent.
REHEARSAL_ID = "tg00000000000-rehearsal"


class OrderIntent(NamedTuple):
    """An intent the risk gate accepted (immutable; a tuple: built on the order path, where
    a frozen dataclass's ``__init__`` cost a few µs more)."""

    symbol: str
    side: int            # Side.BUY | Side.SELL
    lots: int
    venue_epoch: int     # the epoch of the tick that fired it (venue time)
    order_id: int        # the decision unit's intent counter
    arrived: float       # perf_counter when its tick reached the host


@dataclass
class _Sent:
    """A money-moving request the synchronous path wrote: its reply is awaited later."""

    client_id: str
    call: str                          # buy | sell
    future: asyncio.Future[Any]
    sent: float                        # perf_counter once written
    contract: ContractRec | None       # sell: the contract sold


class Executor:
    """Turns intents into journaled venue orders (see the module docstring)."""

    def __init__(self, client: DerivClient, journal: Journal, state: JournalState,
                 config: Config, stats: Stats, *,
                 run_sync: Callable[..., Awaitable[Any]],
                 on_change: Callable[[str], Awaitable[None]],
                 currency: str = "USD", crash: CrashHook | None = None,
                 inline: bool = False) -> None:
        self.client = client
        self.journal = journal
        self.state = state
        self.ex = config["execution"]
        self.stats = stats
        self.run_sync = run_sync
        self.on_change = on_change
        self.currency = currency
        self.crash = crash or CrashHook("")
        self.killed = False
        self.paused = False
        self.stopping = False
        self.busy: set[str] = set()
        self.blocked: set[str] = set()
        self.need_reconcile = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending: set[asyncio.Task[Any]] = set()   # past their ``send`` event
        self._current: dict[asyncio.Task[Any], str] = {}  # task -> client id in progress
        self._sold_early: dict[int, float | None] = {}
        #: Journal and send in :meth:`submit` itself (see the module docstring); only with a
        #: journal whose commit is cheap enough for the event loop, and direct buys.
        self.inline = inline and self.ex["order_mode"] == "direct"
        self._templates = OrderTemplates(self.ex, currency)

    # -- intake ----------------------------------------------------------------------------
    def submit(self, intent: OrderIntent) -> bool:
        """Start executing ``intent`` unless killed, paused, the symbol busy or blocked, or
        too much in flight; whether it was started."""
        if self.killed:
            self.stats.refused_killed += 1
            return False
        if self._must_drop(intent.symbol):
            self.stats.dropped += 1
            return False
        self.busy.add(intent.symbol)
        first = self._send_now(intent) if self.inline else None
        task = asyncio.get_running_loop().create_task(self._run(intent, first),
                                                      name=f"order-{intent.symbol}")
        self._tasks.add(task)
        if first is not None:
            self._sending.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _must_drop(self, symbol: str) -> bool:
        """Whether an intent of ``symbol`` is dropped now (stopping, paused, the symbol busy
        or blocked, too much in flight): :meth:`submit`'s rule, which :meth:`rehearse`
        follows."""
        return (self.stopping or self.paused or symbol in self.busy or symbol in self.blocked
                or len(self._tasks) >= self.ex["max_queue"])

    def _send_now(self, intent: OrderIntent) -> _Sent | None:
        """The synchronous path: journal and write the intent's first money-moving request
        now; None if it cannot leave at once (the task path then takes the intent)."""
        symbol = intent.symbol
        pos = self.state.position(symbol)
        rec: ContractRec | None = None
        if (intent.side == Side.BUY and pos < 0) or (intent.side == Side.SELL and pos > 0):
            rec = next(iter(self._closable(symbol, pos)), None)
            if rec is None:
                return None
            call = "sell"
            request: dict[str, Any] = {"sell": rec.contract_id, "price": 0}
            data: dict[str, Any] = {
                "action": "close", "symbol": rec.symbol, "side": intent.side,
                "lots": abs(rec.lots), "contract_type": rec.contract_type,
                "stake": rec.buy_price, "contract_id": rec.contract_id,
                "venue_epoch": intent.venue_epoch, "order_id": intent.order_id}
        elif self.journal.has_ahead:
            return self._send_buy_now(intent)
        else:
            call = "buy"
            request, data = self._buy_request(intent, intent.lots)
        client = self.client
        if not client.is_connected or client.limiter.wait_time(call) > 0:
            return None
        cid = self.journal.new_client_id()
        if rec is None:
            request["passthrough"] = {"client_id": cid}
        events: list[tuple[str, str | None, int | None, dict[str, Any]]] = [
            ("intent", cid, None, data), ("send", cid, None, {"call": call})]
        journal = self.journal
        ahead = journal.has_ahead
        seqs: list[int] = []
        if ahead:                          # one write now, the log's commit after the send
            journal.write_ahead(events)
        else:
            seqs = journal.append_many(events)
        if rec is None:
            self.crash("before_send")
        try:
            future = client.send_nowait(request)
        except DerivError as err:          # not sent: the task journals why
            future = asyncio.get_running_loop().create_future()
            future.set_exception(ConnectionLost(f"not sent: {err}", call=call))
        t0 = time.perf_counter()
        self.stats.orders += 1
        self.stats.latency["tick_to_order"].append((t0 - intent.arrived) * 1e6)
        if ahead:
            # The bytes have left; the written-ahead events reach the log and the live state
            # in a callback scheduled now, after the other frames of this socket read: every
            # later journal write (this order's reply, a close) comes from a task step or
            # a callback scheduled after it, so the log keeps the events' order.
            asyncio.get_running_loop().call_soon(self._commit_sent, events, cid, call, data)
        else:
            self._apply_sent(seqs, cid, call, data)
        return _Sent(cid, call, future, t0, rec)

    def _send_buy_now(self, intent: OrderIntent) -> _Sent | None:
        """:meth:`_send_now` of an open with the write-ahead journal: the ``buy`` and its
        journal line are templates filled in (:mod:`.ordertemplates`), the line is written
        before the request, the dicts are built only after it left."""
        client = self.client
        if not client.is_connected or client.limiter.wait_time("buy") > 0:
            return None
        tpl = self._templates.buy(intent.symbol, intent.side, intent.lots)
        cid = self.journal.new_client_id()
        self.journal.write_ahead_line(
            tpl.ahead_line(time.time_ns(), cid, intent.venue_epoch, intent.order_id))
        self.crash("before_send")
        try:
            future = client.send_encoded_nowait("buy", tpl.request_head(cid))
        except DerivError as err:          # not sent: the task journals why
            future = asyncio.get_running_loop().create_future()
            future.set_exception(ConnectionLost(f"not sent: {err}", call="buy"))
        t0 = time.perf_counter()
        self.stats.orders += 1
        self.stats.latency["tick_to_order"].append((t0 - intent.arrived) * 1e6)
        asyncio.get_running_loop().call_soon(self._commit_sent_buy, tpl, cid, intent)
        return _Sent(cid, "buy", future, t0, None)

    def rehearse(self, intent: OrderIntent) -> bytes | None:
        """The synchronous order path's work for ``intent`` (an open: the checks of
        :meth:`submit`, the position, the rate limiter, the ``buy`` and its write-ahead line
        from the templates, the request's bytes) with none of its effects: nothing is
        journaled, sent, counted or marked busy, and no client id or ``req_id`` is used up.
        The request's bytes, or None where the path stops first (killed, paused, stopping,
        no write-ahead journal, the symbol busy, the client not connected or the rate
        limiter holding ``buy``). The daemon's rehearsal keeps this path in the CPU's caches
        between bursts (:mod:`.rehearsal`)."""
        symbol = intent.symbol
        if (self.killed or self._must_drop(symbol) or not self.inline
                or not self.journal.has_ahead):
            return None
        self.state.position(symbol)
        client = self.client
        if not client.is_connected or client.limiter.wait_time("buy") > 0:
            return None
        tpl = self._templates.buy(symbol, intent.side, intent.lots)
        self.journal.rehearse_ahead_line(
            tpl.ahead_line(time.time_ns(), REHEARSAL_ID, intent.venue_epoch, intent.order_id))
        return client.rehearse_encoded("buy", tpl.request_head(REHEARSAL_ID))

    def _commit_sent_buy(self, tpl: BuyTemplate, client_id: str, intent: OrderIntent) -> None:
        """:meth:`_commit_sent` of a templated ``buy``: its events built now."""
        data = tpl.intent_data(intent.venue_epoch, intent.order_id)
        self._commit_sent([("intent", client_id, None, data),
                           ("send", client_id, None, {"call": "buy"})], client_id, "buy", data)

    def _commit_sent(self, events: list[tuple[str, str | None, int | None, dict[str, Any]]],
                     client_id: str, call: str, data: dict[str, Any]) -> None:
        """Append written-ahead events to the log and apply them to the live state."""
        seqs = self.journal.append_many(events, merged_ahead=True)
        self._apply_sent(seqs, client_id, call, data)

    def _buy_request(self, intent: OrderIntent, lots: int
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A direct ``buy`` of a multiplier for ``lots`` lots and its ``intent`` event's
        data (the client id is added by the caller; :func:`.ordertemplates.buy_request`)."""
        return buy_request(self.ex, self.currency, intent.symbol, intent.side, lots,
                           intent.venue_epoch, intent.order_id)

    def _closable(self, symbol: str, pos: int) -> list[ContractRec]:
        """Open contracts of ``symbol`` on the side of ``pos`` (what a close sells), oldest
        first."""
        return [rec for rec in self.state.open_contracts(symbol)
                if rec.lots and (rec.lots > 0) == (pos > 0)]

    def _apply_sent(self, seqs: list[int], client_id: str, call: str,
                    intent: dict[str, Any]) -> None:
        spl = self.ex["stake_per_lot"]
        self.state.apply(seqs[0], "intent", client_id, None, {**intent, "client_id": client_id},
                         spl)
        self.state.apply(seqs[1], "send", client_id, None, {"call": call, "client_id": client_id},
                         spl)

    async def _reply(self, sent: _Sent, symbol: str) -> dict[str, Any] | None:
        """The reply to a request of the synchronous path; None (journaled) if it failed."""
        timeout = self.ex["order_timeout_s"]
        try:
            async with asyncio.timeout(timeout):
                return await sent.future
        except TimeoutError:
            error: DerivError = RequestTimeout(f"{sent.call}: no reply within {timeout:.1f} s")
        except DerivError as err:
            error = err
        await self._failed(sent.client_id, sent.call, symbol, error)
        return None

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every order in flight (at most ``timeout`` seconds)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def stop(self, timeout: float) -> None:
        """Take no more intents, send nothing new, give those in flight ``timeout``
        seconds, then cancel the rest (a cancelled order that had not left is resolved
        by the next start's reconciliation)."""
        self.stopping = True
        for task in list(self._tasks - self._sending):
            task.cancel()
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def pause(self) -> None:
        """Stop taking intents and wait for those in flight (before a live reconcile)."""
        self.paused = True
        await self.drain()

    def resume(self) -> None:
        self.paused = False
        self.blocked.clear()

    # -- journal ---------------------------------------------------------------------------
    async def _log_sent(self, client_id: str, call: str, **intent: Any) -> None:
        """Journal an order's ``intent`` and its ``send`` in one commit (durable when this
        returns); the request may leave right after."""
        seqs = await self.run_sync(self.journal.append_many, [
            ("intent", client_id, None, intent), ("send", client_id, None, {"call": call})])
        self._apply_sent(seqs, client_id, call, intent)

    async def _log(self, kind: str, client_id: str | None, contract_id: int | None = None,
                   **data: Any) -> None:
        """Append one event (durable when this returns) and apply it to the live state."""
        seq = await self.run_sync(self.journal.append, kind, client_id, contract_id,
                                  **dict(data))
        if client_id is not None:
            data["client_id"] = client_id
        if contract_id is not None:
            data["contract_id"] = contract_id
        self.state.apply(seq, kind, client_id, contract_id, data, self.ex["stake_per_lot"])

    # -- one intent ------------------------------------------------------------------------
    async def _run(self, intent: OrderIntent, first: _Sent | None = None) -> None:
        """Execute ``intent``; ``first``: its first request, already sent by the synchronous
        path (a ``buy``: the whole open; a ``sell``: the first contract of the close)."""
        try:
            if first is not None and first.call == "buy":
                reply = await self._reply(first, intent.symbol)
                if reply is not None:
                    await self._bought(first.client_id, reply, first.sent)
                return
            pos = self.state.position(intent.symbol)
            closing = (intent.side == Side.BUY and pos < 0) or (intent.side == Side.SELL
                                                                and pos > 0)
            remaining = intent.lots
            if first is not None:            # a close whose first sell has left
                assert first.contract is not None
                pos = first.contract.lots
                closing = True
                reply = await self._reply(first, intent.symbol)
                if reply is None:
                    return
                await self._sold(first.client_id, first.contract, reply, first.sent)
                remaining -= abs(first.contract.lots)
            if closing:
                for rec in self._closable(intent.symbol, pos):
                    if remaining <= 0:
                        break
                    if not await self._close(intent, rec):
                        break
                    remaining -= abs(rec.lots)
                remaining = 0      # a close never turns into an open of the other side
            if remaining > 0:
                await self._open(intent, remaining)
        except asyncio.CancelledError:
            await self._abandon_current("the daemon stopped before sending it")
            raise
        except DerivError as err:
            log.warning("order for %s failed: %s", intent.symbol, err)
        except Exception:
            log.exception("order for %s failed", intent.symbol)
        finally:
            self._current.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self._sending.discard(asyncio.current_task())  # type: ignore[arg-type]
            self.busy.discard(intent.symbol)
            try:
                await self.on_change(intent.symbol)
            except Exception:
                log.exception("position update of %s failed", intent.symbol)

    async def _abandon_current(self, reason: str) -> None:
        """Journal ``abandon`` for the cancelled task's intent if nothing of it was sent."""
        task = asyncio.current_task()
        cid = self._current.get(task) if task is not None else None
        if cid is not None and task not in self._sending:
            intent = self.state.intents.get(cid)
            if intent is not None and intent.state == "pending":
                await self._log("abandon", cid, reason=reason)

    def _unknown(self, err: DerivError) -> bool:
        """Whether the request may have been executed (the reply was lost)."""
        if isinstance(err, ConnectionLost):
            return bool(getattr(err, "maybe_executed", False))
        return not isinstance(err, ApiError)          # RequestTimeout and the like

    async def _open(self, intent: OrderIntent, lots: int) -> None:
        ex = self.ex
        cid = self.journal.new_client_id()
        buy, data = self._buy_request(intent, lots)
        if ex["order_mode"] == "direct":
            await self._open_direct(intent, cid, buy, data)
            return
        params = buy["parameters"]
        await self._log("intent", cid, **data)
        self._current[asyncio.current_task()] = cid  # type: ignore[index]
        timeout = ex["order_timeout_s"]
        try:
            reply = await self.client.request({"proposal": 1, **params}, timeout=timeout)
        except DerivError as err:
            await self._log("abandon", cid, reason=f"proposal failed: {err}")
            self.stats.venue_rejects += 1
            return
        prop = reply["proposal"]
        await self._log("proposal", cid, proposal_id=prop["id"], ask_price=prop["ask_price"])
        if self.killed or self.stopping:
            await self._log("abandon", cid, reason="kill switch set" if self.killed
                            else "the daemon is stopping")
            self.stats.refused_killed += self.killed
            return
        self._sending.add(asyncio.current_task())  # type: ignore[arg-type]
        await self._log("send", cid, call="buy")
        self.crash("before_send")
        self.stats.orders += 1
        t0 = time.perf_counter()
        self.stats.latency["tick_to_order"].append((t0 - intent.arrived) * 1e6)
        try:
            reply = await self.client.request(
                {"buy": prop["id"], "price": prop["ask_price"],
                 "passthrough": {"client_id": cid}}, timeout=timeout)
        except DerivError as err:
            await self._failed(cid, "buy", intent.symbol, err)
            return
        await self._bought(cid, reply, t0)

    async def _open_direct(self, intent: OrderIntent, cid: str, buy: dict[str, Any],
                           data: dict[str, Any]) -> None:
        """``buy`` with ``parameters``: one request, journaled (intent + send) before it."""
        if self.killed or self.stopping:
            self.stats.refused_killed += self.killed
            return
        self._current[asyncio.current_task()] = cid  # type: ignore[index]
        self._sending.add(asyncio.current_task())  # type: ignore[arg-type]
        await self._log_sent(cid, "buy", **data)
        self.crash("before_send")
        self.stats.orders += 1
        t0 = time.perf_counter()
        self.stats.latency["tick_to_order"].append((t0 - intent.arrived) * 1e6)
        try:
            reply = await self.client.request(
                {**buy, "passthrough": {"client_id": cid}}, timeout=self.ex["order_timeout_s"])
        except DerivError as err:
            await self._failed(cid, "buy", intent.symbol, err)
            return
        await self._bought(cid, reply, t0)

    async def _bought(self, cid: str, reply: dict[str, Any], t0: float) -> None:
        self.crash("after_send")
        buy = reply["buy"]
        contract_id = int(buy["contract_id"])
        await self._log("reply", cid, contract_id, call="buy", buy_price=buy["buy_price"],
                        transaction_id=buy.get("transaction_id"),
                        balance_after=buy.get("balance_after"))
        self.stats.fills += 1
        self.stats.latency["order_rtt"].append((time.perf_counter() - t0) * 1e6)
        self.crash("after_reply")
        if contract_id in self._sold_early:
            await self.closed_by_venue(contract_id, self._sold_early.pop(contract_id))

    async def _close(self, intent: OrderIntent, rec: ContractRec) -> bool:
        """Sell ``rec``; whether it is closed now."""
        cid = self.journal.new_client_id()
        if self.killed or self.stopping:
            self.stats.refused_killed += self.killed
            return False
        self._current[asyncio.current_task()] = cid  # type: ignore[index]
        self._sending.add(asyncio.current_task())  # type: ignore[arg-type]
        await self._log_sent(cid, "sell", action="close", symbol=rec.symbol, side=intent.side,
                             lots=abs(rec.lots), contract_type=rec.contract_type,
                             stake=rec.buy_price, contract_id=rec.contract_id,
                             venue_epoch=intent.venue_epoch, order_id=intent.order_id)
        self.stats.orders += 1
        t0 = time.perf_counter()
        self.stats.latency["tick_to_order"].append((t0 - intent.arrived) * 1e6)
        try:
            reply = await self.client.request({"sell": rec.contract_id, "price": 0},
                                              timeout=self.ex["order_timeout_s"])
        except DerivError as err:
            await self._failed(cid, "sell", intent.symbol, err)
            return False
        await self._sold(cid, rec, reply, t0)
        return True

    async def _sold(self, cid: str, rec: ContractRec, reply: dict[str, Any], t0: float) -> None:
        sold = reply["sell"]
        await self._log("reply", cid, rec.contract_id, call="sell", sold_for=sold["sold_for"],
                        transaction_id=sold.get("transaction_id"),
                        balance_after=sold.get("balance_after"))
        self.stats.fills += 1
        self.stats.latency["order_rtt"].append((time.perf_counter() - t0) * 1e6)

    async def _failed(self, cid: str, call: str, symbol: str, err: DerivError) -> None:
        if isinstance(err, ConnectionLost) and not getattr(err, "maybe_executed", False):
            await self._log("abandon", cid, reason=f"not sent: {err}")
            return
        unknown = self._unknown(err)
        code = err.code if isinstance(err, ApiError) else type(err).__name__
        await self._log("error", cid, call=call, code=code, message=str(err), unknown=unknown)
        if unknown:
            self.stats.unknown += 1
            self.blocked.add(symbol)
            self.need_reconcile.set()
            log.warning("%s of %s: outcome unknown (%s); the symbol waits for reconciliation",
                        call, symbol, err)
        else:
            self.stats.venue_rejects += 1
            log.info("%s of %s refused by the venue: %s", call, symbol, err)
            if call == "sell":            # e.g. ContractIsSold: the venue closed it first
                self.need_reconcile.set()

    # -- the venue closed a contract (take profit, stop loss, stop out) --------------------
    async def closed_by_venue(self, contract_id: int, sell_price: float | None) -> None:
        """Journal a close the venue made on its own (POC stream ``is_sold``)."""
        rec = self.state.contracts.get(contract_id)
        if rec is None:
            if len(self._sold_early) > 1000:             # not ours after all: forget
                self._sold_early.clear()
            self._sold_early[contract_id] = sell_price   # its buy reply is still on the way
            return
        if not rec.open:
            return
        await self._log("closed", None, contract_id, sell_price=sell_price, source="stream")
        await self.on_change(rec.symbol)
