"""Reconciliation: the journal against the venue's books, before any trading.

Deriv's ``buy`` carries no client order id the books would show later (``passthrough`` is
echoed in the reply only), so an intent whose ``buy`` left but whose reply was lost is
matched by what the books do show. The rules (:func:`plan`, a pure function of the
journal's state and the venue's books):

1. The venue's contracts: ``portfolio`` (open) and ``profit_table`` (closed), cross-checked
   with ``statement``'s ``buy`` lines (a bought contract missing from both is reported).
2. An intent never marked ``send`` was never sent: resolved ``not_sent``.
3. An *open* intent that was sent (``sent``/``unknown``) is matched with the oldest venue
   contract the journal does not know with the same symbol, contract type and buy price
   (to the cent) bought no earlier than two seconds (venue time) before the intent's
   tick: resolved ``filled`` with it; with no such contract, ``not_executed``. At most one
   buy per symbol is in flight at a time (:mod:`.execution`), so the match is unique unless
   someone else buys the very same contract on the same account in that window.
4. A *close* intent that was sent is ``closed`` if its contract is no longer open at the
   venue, else ``not_executed``.
5. Every other venue contract the journal does not know is *adopted* (an ``adopt`` event;
   multipliers count in the positions, see :func:`~.journal.lots_of`).
6. A journal contract the venue has closed gets a ``closed`` event (its sell price from the
   profit table).
7. Nothing is ever re-sent: an intent resolved ``not_executed`` stays that way; the
   strategy will fire again if it still wants the position.

What cannot be explained (a journal contract the venue has never heard of, or that the
journal closed while the venue has it open) is reported in
:attr:`Report.disagreements`; the daemon refuses to trade then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tickgate.host.daemon.journal import Journal, JournalState, lots_of
from tickgate.host.venues.deriv.client import DerivClient

__all__ = ["VenueBooks", "Report", "fetch_books", "plan", "reconcile"]

#: Seconds of venue time a contract's purchase may precede its intent's tick.
PURCHASE_SLACK_S = 2


@dataclass
class VenueBooks:
    """What the venue says: contracts by id with ``symbol``, ``contract_type``,
    ``buy_price``, ``purchase_time``, ``open`` and (closed) ``sell_price``."""

    contracts: dict[int, dict[str, Any]] = field(default_factory=dict)
    bought: set[int] = field(default_factory=set)   # statement's buy lines
    balance: float | None = None


@dataclass
class Report:
    """What one reconciliation did."""

    resolved: dict[str, int] = field(default_factory=dict)   # outcome -> intents
    adopted: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    venue_contracts: int = 0

    def line(self) -> str:
        res = ", ".join(f"{k} {v}" for k, v in sorted(self.resolved.items())) or "none"
        return (f"reconciled with the venue: {self.venue_contracts} contracts; intents "
                f"resolved: {res}; adopted {len(self.adopted)}; closed {len(self.closed)}; "
                f"disagreements {len(self.disagreements)}")


def _shortcode_parts(shortcode: str | None) -> tuple[str, str]:
    """``(contract_type, symbol)`` from a shortcode like ``MULTUP_R_100_10.00_...``."""
    if not shortcode:
        return "", ""
    kind, _, rest = shortcode.partition("_")
    parts = rest.split("_")
    # a symbol is everything before the first purely numeric part (R_100 has one "_")
    symbol: list[str] = []
    for p in parts:
        if symbol and p.replace(".", "", 1).isdigit() and "." in p:
            break
        symbol.append(p)
    return kind, "_".join(symbol)


async def _pages(client: DerivClient, request: dict[str, Any], key: str,
                 limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        reply = await client.request({**request, "limit": limit, "offset": offset})
        rows = (reply.get(key) or {}).get("transactions") or []
        out.extend(rows)
        if len(rows) < limit:
            return out
        offset += limit


async def fetch_books(client: DerivClient, since: int | None = None) -> VenueBooks:
    """Read ``portfolio``, ``profit_table`` and ``statement`` (from venue epoch ``since``,
    a day earlier for safety; everything when None)."""
    books = VenueBooks()
    port = await client.request({"portfolio": 1})
    for c in (port.get("portfolio") or {}).get("contracts") or []:
        books.contracts[int(c["contract_id"])] = {
            "symbol": c.get("symbol", ""), "contract_type": c.get("contract_type", ""),
            "buy_price": float(c.get("buy_price", 0.0)),
            "purchase_time": int(c.get("purchase_time", 0)), "open": True, "sell_price": None}
    window: dict[str, Any] = {}
    if since is not None:
        window = {"date_from": str(max(0, since - 86400))}
    closed = await _pages(client, {"profit_table": 1, "description": 1, "sort": "ASC",
                                   **window}, "profit_table", 500)
    for c in closed:
        cid = int(c["contract_id"])
        books.contracts[cid] = {
            "symbol": c.get("underlying_symbol", ""), "contract_type": c.get("contract_type", ""),
            "buy_price": float(c.get("buy_price", 0.0)),
            "purchase_time": int(c.get("purchase_time", 0)), "open": False,
            "sell_price": float(c.get("sell_price", 0.0))}
    statement_window = {"date_from": max(0, since - 86400)} if since is not None else {}
    lines = await _pages(client, {"statement": 1, "description": 1, **statement_window},
                         "statement", 999)
    for line in lines:
        if line.get("action_type") == "buy" and line.get("contract_id") is not None:
            cid = int(line["contract_id"])
            books.bought.add(cid)
            if cid not in books.contracts:      # bought, neither open nor in the table yet
                kind, symbol = _shortcode_parts(line.get("shortcode"))
                books.contracts[cid] = {
                    "symbol": symbol, "contract_type": kind,
                    "buy_price": -float(line.get("amount", 0.0)),
                    "purchase_time": int(line.get("purchase_time") or 0), "open": True,
                    "sell_price": None}
    if lines:
        books.balance = float(lines[0].get("balance_after", 0.0))
    return books


def plan(state: JournalState, books: VenueBooks,
         stake_per_lot: float) -> tuple[list[tuple[str, dict[str, Any]]], Report]:
    """The events that reconcile ``state`` with ``books``, and the report (see the module
    docstring for the rules). Pure: nothing is written."""
    report = Report(venue_contracts=len(books.contracts))
    events: list[tuple[str, dict[str, Any]]] = []
    claimed = set(state.contracts)
    unknown = sorted((cid for cid in books.contracts if cid not in claimed),
                     key=lambda cid: (books.contracts[cid]["purchase_time"], cid))
    closed_now: dict[int, float | None] = {}

    def resolve(intent_id: str, outcome: str, **extra: Any) -> None:
        events.append(("resolve", {"client_id": intent_id, "outcome": outcome,
                                   "source": "reconcile", **extra}))
        report.resolved[outcome] = report.resolved.get(outcome, 0) + 1

    for intent in state.unresolved():
        if intent.state == "pending":
            resolve(intent.client_id, "not_sent")
        elif intent.action == "open":
            match = next((cid for cid in unknown
                          if books.contracts[cid]["symbol"] == intent.symbol
                          and books.contracts[cid]["contract_type"] == intent.contract_type
                          and abs(books.contracts[cid]["buy_price"] - intent.stake) < 0.005
                          and books.contracts[cid]["purchase_time"]
                          >= intent.venue_epoch - PURCHASE_SLACK_S), None)
            if match is None:
                resolve(intent.client_id, "not_executed")
                continue
            unknown.remove(match)
            venue = books.contracts[match]
            resolve(intent.client_id, "filled", contract_id=match, buy_price=venue["buy_price"])
            if not venue["open"]:
                closed_now[match] = venue["sell_price"]
        else:
            venue = books.contracts.get(intent.contract_id or -1)
            if venue is not None and not venue["open"]:
                resolve(intent.client_id, "closed", sell_price=venue["sell_price"])
                closed_now.pop(intent.contract_id or -1, None)
                state_rec = state.contracts.get(intent.contract_id or -1)
                if state_rec is not None and state_rec.open:
                    report.closed.append(state_rec.contract_id)
            else:
                resolve(intent.client_id, "not_executed")
    for cid in unknown:
        venue = books.contracts[cid]
        events.append(("adopt", {"contract_id": cid, "symbol": venue["symbol"],
                                 "contract_type": venue["contract_type"],
                                 "buy_price": venue["buy_price"],
                                 "lots": lots_of(venue["contract_type"], venue["buy_price"],
                                                 stake_per_lot),
                                 "open": venue["open"], "sell_price": venue["sell_price"]}))
        report.adopted.append(cid)
    closing_intents = {i.contract_id for i in state.unresolved() if i.action == "close"}
    for cid, rec in state.contracts.items():
        venue = books.contracts.get(cid)
        if venue is None:
            report.disagreements.append(f"contract {cid} is in the journal but the venue has "
                                        "no such contract")
        elif rec.open and not venue["open"] and cid not in closing_intents:
            closed_now[cid] = venue["sell_price"]
        elif not rec.open and venue["open"]:
            report.disagreements.append(f"contract {cid} is closed in the journal but open "
                                        "at the venue")
    for cid, price in closed_now.items():
        events.append(("closed", {"contract_id": cid, "sell_price": price,
                                  "source": "reconcile"}))
        report.closed.append(cid)
    missing = books.bought - set(books.contracts)
    for cid in sorted(missing):
        report.disagreements.append(f"the statement shows a buy of contract {cid} that neither "
                                    "the portfolio nor the profit table lists")
    return events, report


async def reconcile(client: DerivClient, journal: Journal, *, run_sync: Any,
                    stake_per_lot: float) -> Report:
    """Fetch the books, plan, append the events (through ``run_sync``, the journal's
    thread: ``await run_sync(fn, *args)``), append a ``reconciled`` event; the report."""
    state = await run_sync(journal.state)
    books = await fetch_books(client, state.first_venue_time)
    events, report = plan(state, books, stake_per_lot)

    def write() -> None:
        for kind, data in events:
            cid = data.pop("contract_id", None)
            client_id = data.pop("client_id", None)
            journal.append(kind, client_id, cid, **data)
        journal.append("reconciled", resolved=report.resolved, adopted=len(report.adopted),
                       closed=len(report.closed), disagreements=report.disagreements,
                       venue_contracts=report.venue_contracts)

    await run_sync(write)
    return report
