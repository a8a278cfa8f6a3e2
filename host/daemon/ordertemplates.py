"""Pre-encoded ``buy`` requests and write-ahead lines for the synchronous order path.

A direct ``buy`` (:mod:`.execution`) differs from the last one of the same symbol, side and
lots only in its client id, its ``req_id`` and, in the journal, the time, the tick's epoch
and the intent's order id. :class:`OrderTemplates` encodes everything else once per
``(symbol, side, lots)``, from the very dicts the general path builds (:func:`buy_request`),
so the hot path fills in a few fields with ``bytes`` formatting instead of building dicts and
encoding them per order. The invariant, pinned by ``tests/daemon/test_daemon_templates.py``:
the bytes decode to exactly what the dict path would encode (the request, with its
``passthrough``, valid against Deriv's ``send.json``; the write-ahead line equal to
:meth:`.Journal.write_ahead`'s of the same events).

Client ids (:meth:`.Journal.new_client_id`) are ``[0-9a-z-]`` only, and the filled-in numbers
are ints: nothing filled in needs JSON escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tickgate.gateware.records import Side

__all__ = ["buy_request", "BuyTemplate", "OrderTemplates"]

#: The keys of an ``intent`` event's data that change per order (filled in last).
_VARYING = ("venue_epoch", "order_id")


def buy_request(ex: dict[str, Any], currency: str, symbol: str, side: int, lots: int,
                venue_epoch: int, order_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A direct ``buy`` of a multiplier for ``lots`` lots (``ex``: the ``[execution]``
    section; stake = lots × ``stake_per_lot``, rounded to cents) and its ``intent`` event's
    data; the caller adds the ``passthrough`` client id."""
    kind = "MULTUP" if side == Side.BUY else "MULTDOWN"
    stake = round(lots * ex["stake_per_lot"], 2)
    params: dict[str, Any] = {"amount": stake, "basis": "stake", "contract_type": kind,
                              "currency": currency, "symbol": symbol,
                              "multiplier": ex["multiplier"]}
    limit_order = {k: ex[k] for k in ("take_profit", "stop_loss") if ex[k] > 0}
    if limit_order:
        params["limit_order"] = limit_order
    data = {"action": "open", "symbol": symbol, "side": side, "lots": lots,
            "contract_type": kind, "stake": stake, "multiplier": ex["multiplier"],
            "take_profit": ex["take_profit"], "stop_loss": ex["stop_loss"],
            "venue_epoch": venue_epoch, "order_id": order_id}
    return {"buy": "1", "price": stake, "parameters": params}, data


@dataclass(frozen=True)
class BuyTemplate:
    """The fixed bytes of one ``(symbol, side, lots)``'s ``buy`` and its journal line."""

    data: dict[str, Any]        # the intent event's data without the varying keys
    request_open: bytes         # ``{"buy":"1",...,"passthrough":{"client_id":"``
    data_open: bytes            # the intent data's JSON, its closing brace a comma

    def request_head(self, client_id: str) -> bytes:
        """The request without its closing brace and ``req_id``
        (:meth:`~tickgate.host.venues.deriv.client.DerivClient.send_encoded_nowait`)."""
        return b'%b%b"}' % (self.request_open, client_id.encode())

    def ahead_line(self, ts_ns: int, client_id: str, venue_epoch: int, order_id: int) -> bytes:
        """The write-ahead line (no newline) of the order's ``intent`` and ``send`` events:
        ``[ts, [["intent", id, null, data], ["send", id, null, {"call": "buy"}]]]`` with
        ``ts`` in Unix seconds written from ``ts_ns`` (``time.time_ns()``) with integer
        formatting only (a float's ``repr`` cost ~12 µs p50 on the cold order path)."""
        cid = client_id.encode()
        s, ns = divmod(ts_ns, 1_000_000_000)
        return (b'[%d.%09d,[["intent","%b",null,%b"venue_epoch":%d,"order_id":%d}],'
                b'["send","%b",null,{"call":"buy"}]]]'
                % (s, ns, cid, self.data_open, venue_epoch, order_id, cid))

    def intent_data(self, venue_epoch: int, order_id: int) -> dict[str, Any]:
        """The ``intent`` event's data of one order (a new dict)."""
        return {**self.data, "venue_epoch": venue_epoch, "order_id": order_id}


class OrderTemplates:
    """:class:`BuyTemplate` per ``(symbol, side, lots)``, built on first use (see the module
    docstring)."""

    _MARK = "\x00client-id\x00"

    def __init__(self, ex: dict[str, Any], currency: str) -> None:
        self.ex = ex
        self.currency = currency
        self._cache: dict[tuple[str, int, int], BuyTemplate] = {}

    def buy(self, symbol: str, side: int, lots: int) -> BuyTemplate:
        """The template of a ``buy`` of ``lots`` lots of ``symbol`` on ``side``."""
        key = (symbol, side, lots)
        tpl = self._cache.get(key)
        if tpl is None:
            tpl = self._cache[key] = self._build(symbol, side, lots)
        return tpl

    def _build(self, symbol: str, side: int, lots: int) -> BuyTemplate:
        request, data = buy_request(self.ex, self.currency, symbol, side, lots, 0, 0)
        for key in _VARYING:
            del data[key]
        mark = orjson.dumps(self._MARK)[1:-1]
        encoded = orjson.dumps({**request, "passthrough": {"client_id": self._MARK}})
        request_open, _, rest = encoded.partition(mark)
        if rest != b'"}}':
            raise ValueError("the buy request's passthrough must be its last key")
        data_open = orjson.dumps(data)
        return BuyTemplate(data, request_open, data_open[:-1] + b",")
