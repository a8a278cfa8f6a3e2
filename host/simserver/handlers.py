"""One function per API call: ``handler(conn, request, env) -> [messages]``.

A handler returns the messages that answer the request, in order (most calls: one), and
registers any stream on the connection; ``ApiError`` becomes Deriv's error reply. Requests
reach a handler already validated against the call's ``send.json`` and authorised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

from tickgate.host.simserver.connection import Connection, Stream
from tickgate.host.simserver.envelope import ApiError, Envelope, new_id
from tickgate.host.simserver.prices import PricePath, Tick, candles
from tickgate.host.simserver.pricing import Offer, price_offer
from tickgate.host.simserver.symbols import SymbolSpec

Message = dict[str, Any]
Handler = Callable[[Connection, dict[str, Any], Envelope], list[Message]]
HISTORY_CAP = 5000
MULT_EXPIRY = 4872355200     # Deriv's "no expiry" date for multipliers


def _path(conn: Connection, symbol: str) -> PricePath:
    try:
        return conn.server.market.path(symbol)
    except KeyError:
        raise ApiError("InvalidSymbol", f"Symbol {symbol} is invalid.") from None


def _tick_payload(path: PricePath, tick: Tick, stream_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"ask": tick.ask, "bid": tick.bid, "epoch": tick.epoch,
                           "pip_size": path.spec.decimals, "quote": tick.quote,
                           "symbol": path.spec.symbol}
    if stream_id is not None:
        out["id"] = stream_id
    return out


# -- session -------------------------------------------------------------------------------
def authorize(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Log in with a token (plus ``tokens`` for more accounts)."""
    tokens = conn.server.tokens
    grant = tokens.lookup(req["authorize"])
    extra = [tokens.lookup(t) for t in req.get("tokens", [])]
    if grant is None or any(g is None for g in extra):
        raise ApiError("InvalidToken", "The token is invalid.")
    conn.logout_all()
    conn.login(grant, primary=True)
    for g in extra:
        assert g is not None
        conn.login(g, primary=False)
    acc = grant.account
    payload = {
        "account_list": [{
            "account_category": "trading", "account_type": "binary",
            "broker": "VRTC" if g.account.is_virtual else "CR", "created_at": 1700000000,
            "currency": g.account.currency, "currency_type": "fiat", "is_disabled": 0,
            "is_virtual": int(g.account.is_virtual),
            "landing_company_name": g.account.landing_company, "linked_to": [],
            "loginid": g.account.loginid} for g in conn.grants.values()],
        "balance": acc.balance, "country": "za", "currency": acc.currency,
        "email": "trader@sim.invalid", "fullname": "Sim Trader",
        "is_virtual": int(acc.is_virtual), "landing_company_name": acc.landing_company,
        "landing_company_fullname": "Deriv Limited" if acc.is_virtual else "Deriv (SVG) LLC",
        "linked_to": [], "local_currencies": {acc.currency: {"fractional_digits": 2}},
        "loginid": acc.loginid, "preferred_language": "EN", "scopes": list(grant.scopes),
        "upgradeable_landing_companies": ["svg"], "user_id": 9000001,
    }
    return [env.message("authorize", payload)]


def ping(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """``pong``."""
    return [env.message("ping", "pong")]


def time_(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """The simulated epoch (integer seconds)."""
    return [env.message("time", conn.server.clock.epoch())]


def website_status(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Site status, call limits, currencies; ``subscribe: 1`` streams status changes."""
    stream_id = None
    if req.get("subscribe") == 1:
        stream = Stream(new_id(), "website_status", env, key=("website_status",))
        conn.add_stream(stream)
        stream_id = stream.id
    return [env.message("website_status", website_status_payload(conn.server.site_status),
                        stream_id)]


def website_status_payload(site_status: str) -> dict[str, Any]:
    """``website_status`` with Deriv's published test limits and USD only."""
    return {
        "api_call_limits": {
            "max_proposal_subscription": {"applies_to": "subscribing to proposal concurrently",
                                          "max": 5},
            "max_requestes_general": {"applies_to": "rest of calls", "hourly": 14400,
                                      "minutely": 180},
            "max_requests_outcome": {"applies_to": "portfolio, statement and proposal",
                                     "hourly": 1500, "minutely": 25},
            "max_requests_pricing": {"applies_to": "proposal and proposal_open_contract",
                                     "hourly": 3600, "minutely": 80},
        },
        "currencies_config": {"USD": {
            "fractional_digits": 2, "is_deposit_suspended": 0, "is_suspended": 0,
            "is_withdrawal_suspended": 0, "name": "US Dollar", "stake_default": 10,
            "transfer_between_accounts": {"fees": {}, "limits": {"min": 1, "max": 5000}},
            "type": "fiat"}},
        "clients_country": "za", "site_status": site_status,
        "supported_languages": ["EN"], "terms_conditions_version": "Version 1 2024-01-01",
    }


# -- market data ---------------------------------------------------------------------------
def active_symbols(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """The symbol catalogue (``brief`` or ``full``)."""
    full = req["active_symbols"] == "full"
    wanted = set(req.get("contract_type", ()))
    market = conn.server.market
    out = []
    for order, spec in enumerate(market.specs.values()):
        if wanted and not wanted & set(_offered(spec)):
            continue
        item: dict[str, Any] = {
            "allow_forward_starting": 0, "display_name": spec.display_name,
            "display_order": order + 1, "exchange_is_open": 1, "is_trading_suspended": 0,
            "market": spec.market, "market_display_name": spec.market_display_name,
            "pip": spec.pip, "subgroup": spec.subgroup,
            "subgroup_display_name": spec.subgroup_display_name, "submarket": spec.submarket,
            "submarket_display_name": spec.submarket_display_name, "symbol": spec.symbol,
            "symbol_type": spec.symbol_type}
        if full:
            tick = market.last_tick(spec.symbol)
            prev = market.path(spec.symbol).last_tick(tick.epoch - 86400)
            item.update(
                exchange_name=spec.exchange_name, delay_amount=0, intraday_interval_minutes=1,
                quoted_currency_symbol="USD", spot=tick.quote, spot_time=str(tick.epoch),
                spot_age=str(max(0, conn.server.clock.epoch() - tick.epoch)),
                spot_percentage_change=f"{100 * (tick.quote / prev.quote - 1):.2f}")
        out.append(item)
    return [env.message("active_symbols", out)]


def _offered(spec: SymbolSpec) -> tuple[str, ...]:
    from tickgate.host.simserver.pricing import DIGITS, MULTIPLIERS, OPTIONS
    return OPTIONS + MULTIPLIERS + (DIGITS if spec.synthetic else ())


def _tick_stream(conn: Connection, path: PricePath, env: Envelope, key: Any) -> Stream:
    stream = Stream(new_id(), "ticks", env, key=key)
    conn.add_stream(stream)
    market = conn.server.market

    def on_tick(symbol: str, tick: Tick) -> None:
        conn.send(env.message("tick", _tick_payload(path, tick, stream.id), stream.id))

    market.add_listener(path.spec.symbol, on_tick)
    stream.stop = lambda: market.remove_listener(path.spec.symbol, on_tick)
    return stream


def ticks(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Subscribe to one or more symbols' ticks; the first message is the latest tick."""
    symbols = req["ticks"] if isinstance(req["ticks"], list) else [req["ticks"]]
    paths = [_path(conn, s) for s in symbols]
    out = []
    market = conn.server.market
    for path in paths:
        stream = _tick_stream(conn, path, env, ("ticks", path.spec.symbol))
        # the latest tick the stream will not send again (see Market.published_epoch)
        tick = path.last_tick(market.published_epoch(path.spec.symbol))
        out.append(env.message("tick", _tick_payload(path, tick, stream.id), stream.id))
    return out


def ticks_history(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Past ticks (``history``) or candles (``candles``), then ``tick``/``ohlc`` if subscribed."""
    path = _path(conn, req["ticks_history"])
    now = conn.server.clock.now()
    end = now if req["end"] == "latest" else min(float(req["end"]), now)
    style = req.get("style", "ticks")
    gran = int(req.get("granularity", 60))
    count = min(int(req.get("count", HISTORY_CAP)), HISTORY_CAP)
    if "start" in req:
        start = float(req["start"])
    elif style == "candles" and "count" in req:
        start = end - count * gran
    else:
        start = end - 86400
    if start > end:
        raise ApiError("InvalidStartEnd", f"Start time {int(start)} must be before end time "
                       f"{int(end)}")
    subscribe = req.get("subscribe") == 1
    pip = path.spec.decimals
    if style == "ticks":
        stream_id = None
        if subscribe:                   # the history ends where the stream starts
            stream_id = _tick_stream(conn, path, env, ("ticks", path.spec.symbol)).id
            end = min(end, conn.server.market.published_epoch(path.spec.symbol))
        hist = path.ticks_between(start, end, limit=count)
        payload = {"prices": [t.quote for t in hist], "times": [t.epoch for t in hist]}
        msg = env.message("history", payload, stream_id)
        msg["pip_size"] = pip
        return [msg]
    start = start - start % gran
    bars = candles(path.ticks_between(start, end), gran)[-count:]
    stream_id = None
    if subscribe:
        stream_id = _ohlc_stream(conn, path, env, gran, bars).id
    msg = env.message("candles", bars, stream_id)
    msg["pip_size"] = pip
    return [msg]


def _ohlc_stream(conn: Connection, path: PricePath, env: Envelope, gran: int,
                 bars: list[dict[str, Any]]) -> Stream:
    stream = Stream(new_id(), "candles", env, key=("candles", path.spec.symbol, gran))
    conn.add_stream(stream)
    bar = dict(bars[-1]) if bars else None
    market = conn.server.market
    fmt = path.format

    def on_tick(symbol: str, tick: Tick) -> None:
        nonlocal bar
        open_time = tick.epoch - tick.epoch % gran
        q = tick.quote
        if bar is None or bar["epoch"] != open_time:
            bar = {"epoch": open_time, "open": q, "high": q, "low": q, "close": q}
        else:
            bar.update(high=max(bar["high"], q), low=min(bar["low"], q), close=q)
        payload = {"id": stream.id, "symbol": symbol, "granularity": gran, "epoch": tick.epoch,
                   "open_time": open_time, "open": fmt(bar["open"]), "high": fmt(bar["high"]),
                   "low": fmt(bar["low"]), "close": fmt(bar["close"]),
                   "pip_size": path.spec.decimals}
        conn.send(env.message("ohlc", payload, stream.id))

    market.add_listener(path.spec.symbol, on_tick)
    stream.stop = lambda: market.remove_listener(path.spec.symbol, on_tick)
    return stream


# -- pricing and buying --------------------------------------------------------------------
def _offer(conn: Connection, params: dict[str, Any]) -> Offer:
    path = _path(conn, params["symbol"])
    currency = conn.account().currency if conn.grants else None
    tick = conn.server.market.last_tick(path.spec.symbol)
    return price_offer(params, path, tick, conn.server.clock.epoch(), currency)


def _proposal_payload(offer: Offer, path: PricePath, proposal_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ask_price": offer.ask_price, "date_start": offer.date_start,
        "display_value": f"{offer.ask_price:.2f}", "id": proposal_id,
        "longcode": offer.longcode, "payout": offer.payout, "spot": offer.spot.quote,
        "spot_time": offer.spot.epoch,
        "validation_params": {"stake": {"min": "0.35", "max": "50000.00"}},
    }
    if offer.date_expiry is not None:
        out["date_expiry"] = offer.date_expiry
    if offer.multiplier is not None:
        out["multiplier"] = offer.multiplier
        out["commission"] = 0.0
        out["date_expiry"] = MULT_EXPIRY
        stake, sign = offer.ask_price, 1 if offer.contract_type == "MULTUP" else -1

        def order(name: str, amount: float) -> dict[str, Any]:
            value = offer.spot.quote * (1 + sign * amount / (stake * offer.multiplier))
            return {"display_name": name, "display_order_amount": f"{amount:.2f}",
                    "order_amount": amount, "order_date": offer.date_start,
                    "value": path.format(value)}

        orders = {"stop_out": order("Stop out", -stake)}
        if offer.take_profit is not None:
            orders["take_profit"] = order("Take profit", offer.take_profit)
        if offer.stop_loss is not None:
            orders["stop_loss"] = order("Stop loss", -offer.stop_loss)
        out["limit_order"] = orders
    return out


def _params(req: dict[str, Any]) -> dict[str, Any]:
    skip = ("proposal", "req_id", "passthrough", "subscribe", "loginid")
    return {k: v for k, v in req.items() if k not in skip}


def proposal(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Price a contract; its id is what ``buy`` takes; ``subscribe: 1`` re-prices every tick."""
    params = _params(req)
    offer = _offer(conn, params)
    path = _path(conn, params["symbol"])
    proposal_id = new_id()
    stream_id = None
    if req.get("subscribe") == 1:
        key = ("proposal", orjson.dumps(params, option=orjson.OPT_SORT_KEYS))
        stream = Stream(proposal_id, "proposal", env, key=key)
        conn.add_stream(stream)
        stream_id = proposal_id
        market = conn.server.market

        def on_tick(symbol: str, tick: Tick) -> None:
            try:
                fresh = _offer(conn, params)
            except ApiError as err:
                conn.send(env.error("proposal", err, stream.id))
                return
            conn.send(env.message("proposal", _proposal_payload(fresh, path, stream.id),
                                  stream.id))

        market.add_listener(path.spec.symbol, on_tick)

        def stop() -> None:
            market.remove_listener(path.spec.symbol, on_tick)
            conn.proposals.pop(proposal_id, None)

        stream.stop = stop
    conn.proposals[proposal_id] = params
    return [env.message("proposal", _proposal_payload(offer, path, proposal_id), stream_id)]


def buy(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Buy a proposal by id, or with ``parameters``; ``subscribe: 1`` streams the contract."""
    if req["buy"] == "1":
        if "parameters" not in req:
            raise ApiError("InputValidationFailed", "Input validation failed: parameters",
                           {"parameters": "Missing property."})
        params = req["parameters"]
    else:
        params = conn.proposals.pop(req["buy"], None)
        if params is None:
            raise ApiError("InvalidContractProposal", "Unknown contract proposal")
        conn.forget(req["buy"])     # buying consumes the proposal (and its stream)
    offer = _offer(conn, params)
    if offer.ask_price > float(req["price"]) + 1e-9:
        raise ApiError("PriceMoved", "The underlying market has moved too much since you "
                       f"priced the contract. The contract price has changed from "
                       f"{float(req['price']):.2f} to {offer.ask_price:.2f}.")
    account = conn.account(req)
    contract, entry = conn.server.desk.buy(account, offer)
    payload = {"balance_after": entry.balance_after, "buy_price": contract.buy_price,
               "contract_id": contract.contract_id, "longcode": offer.longcode,
               "payout": offer.payout, "purchase_time": contract.purchase_time,
               "shortcode": contract.shortcode, "start_time": contract.purchase_time,
               "transaction_id": entry.transaction_id}
    if req.get("subscribe") != 1:
        return [env.message("buy", payload)]
    stream = _poc_stream(conn, env, account.loginid, contract.contract_id)
    poc = contract.poc(conn.server.clock.now())
    poc["id"] = stream.id
    return [env.message("buy", payload, stream.id),
            env.message("proposal_open_contract", poc, stream.id)]


def _poc_stream(conn: Connection, env: Envelope, loginid: str,
                contract_id: int | None) -> Stream:
    stream = Stream(new_id(), "proposal_open_contract", env,
                    key=("proposal_open_contract", loginid, contract_id),
                    data={"loginid": loginid, "contract_id": contract_id})
    conn.add_stream(stream)
    return stream


def proposal_open_contract(conn: Connection, req: dict[str, Any],
                           env: Envelope) -> list[Message]:
    """One contract (``contract_id``) or every open one; ``subscribe: 1`` streams updates."""
    account = conn.account(req)
    desk = conn.server.desk
    now = conn.server.clock.now()
    cid = req.get("contract_id")
    subscribe = req.get("subscribe") == 1
    if cid is not None:
        contract = desk.contract(account.loginid, cid)
        stream_id = None
        if subscribe and not contract.is_sold:
            stream_id = _poc_stream(conn, env, account.loginid, cid).id
        payload = contract.poc(now)
        if stream_id:
            payload["id"] = stream_id
        return [env.message("proposal_open_contract", payload, stream_id)]
    stream_id = _poc_stream(conn, env, account.loginid, None).id if subscribe else None
    out = []
    for contract in desk.open_contracts(account.loginid):
        payload = contract.poc(now)
        if stream_id:
            payload["id"] = stream_id
        out.append(env.message("proposal_open_contract", payload, stream_id))
    return out or [env.message("proposal_open_contract", {}, stream_id)]


def sell(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Sell an open contract at its bid (``price`` = the minimum accepted, 0 = any)."""
    account = conn.account(req)
    contract, entry = conn.server.desk.sell(account, req["sell"], float(req["price"]))
    payload = {"balance_after": entry.balance_after, "contract_id": contract.contract_id,
               "reference_id": contract.buy_transaction_id, "sold_for": contract.sell_price,
               "transaction_id": entry.transaction_id}
    return [env.message("sell", payload)]


# -- account -------------------------------------------------------------------------------
def portfolio(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """The account's open contracts."""
    account = conn.account(req)
    kinds = set(req.get("contract_type", ()))
    out = []
    for c in conn.server.desk.open_contracts(account.loginid):
        if kinds and c.kind not in kinds:
            continue
        out.append({"app_id": None, "buy_price": c.buy_price, "contract_id": c.contract_id,
                    "contract_type": c.kind, "currency": c.offer.currency,
                    "date_start": c.purchase_time,
                    "expiry_time": c.offer.date_expiry or MULT_EXPIRY,
                    "longcode": c.offer.longcode, "payout": c.offer.payout,
                    "purchase_time": c.purchase_time, "shortcode": c.shortcode,
                    "symbol": c.symbol, "transaction_id": c.buy_transaction_id})
    return [env.message("portfolio", {"contracts": out})]


def _date(text: str, end: bool) -> int:
    if text.isdigit():
        return int(text)
    day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    return int(day.timestamp()) + (86399 if end else 0)


def profit_table(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Closed contracts, newest first by default."""
    account = conn.account(req)
    rows = list(account.ledger.closed)
    kinds = set(req.get("contract_type", ()))
    if kinds:
        rows = [r for r in rows if r.contract_type in kinds]
    if "date_from" in req:
        lo = _date(req["date_from"], False)
        rows = [r for r in rows if r.sell_time >= lo]
    if "date_to" in req:
        hi = _date(req["date_to"], True)
        rows = [r for r in rows if r.sell_time <= hi]
    rows.sort(key=lambda r: (r.sell_time, r.contract_id), reverse=req.get("sort") != "ASC")
    offset = int(req.get("offset", 0))
    rows = rows[offset:offset + int(req.get("limit", 50))]
    described = req.get("description") == 1
    items = [r.as_profit_table(described) for r in rows]
    return [env.message("profit_table", {"count": len(items), "transactions": items})]


def statement(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Every transaction of the account, newest first."""
    account = conn.account(req)
    rows = list(reversed(account.ledger.entries))
    if "action_type" in req:
        rows = [r for r in rows if r.action_type == req["action_type"]]
    if "date_from" in req:
        rows = [r for r in rows if r.transaction_time >= req["date_from"]]
    if "date_to" in req:
        rows = [r for r in rows if r.transaction_time <= req["date_to"]]
    offset = int(req.get("offset", 0))
    rows = rows[offset:offset + int(req.get("limit", 100))]
    described = req.get("description") == 1
    items = [r.as_statement(described) for r in rows]
    return [env.message("statement", {"count": len(items), "transactions": items})]


def balance_payload(conn: Connection, stream: Stream | None,
                    which: str | None = None) -> dict[str, Any]:
    """``balance`` for one account (``loginid``) or every authorised one (``all``)."""
    which = which or (stream.data["loginid"] if stream else None) or conn.loginid or ""
    if which == "all":
        primary = conn.account()
        accounts = {g.account.loginid: {
            "balance": g.account.balance, "converted_amount": g.account.balance,
            "currency": g.account.currency, "demo_account": int(g.account.is_virtual),
            "status": 1, "type": "deriv"} for g in conn.grants.values()}
        real = sum(g.account.balance for g in conn.grants.values() if not g.account.is_virtual)
        demo = sum(g.account.balance for g in conn.grants.values() if g.account.is_virtual)
        out = {"balance": primary.balance, "currency": primary.currency,
               "loginid": primary.loginid, "accounts": accounts,
               "total": {"deriv": {"amount": round(real, 2), "currency": primary.currency},
                         "deriv_demo": {"amount": round(demo, 2),
                                        "currency": primary.currency}}}
    else:
        account = conn.grants[which].account
        out = {"balance": account.balance, "currency": account.currency,
               "loginid": account.loginid}
    if stream is not None:
        out["id"] = stream.id
    return out


def balance(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """The balance; ``subscribe: 1`` sends it again on every change."""
    which = req.get("account", "current")
    if which == "current":
        which = conn.account(req).loginid
    elif which != "all" and which not in conn.grants:
        raise ApiError("PermissionDenied", "You do not have access to this account.")
    stream = None
    if req.get("subscribe") == 1:
        stream = Stream(new_id(), "balance", env, key=("balance", which),
                        data={"loginid": which})
        conn.add_stream(stream)
    payload = balance_payload(conn, stream, which)
    return [env.message("balance", payload, stream.id if stream else None)]


def transaction(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Stream the account's transactions (first message: just the stream id)."""
    account = conn.account(req)
    stream = Stream(new_id(), "transaction", env, key=("transaction", account.loginid),
                    data={"loginid": account.loginid})
    conn.add_stream(stream)
    return [env.message("transaction", {"id": stream.id}, stream.id)]


# -- streams -------------------------------------------------------------------------------
def forget(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Stop one stream: 1 if it existed, else 0."""
    return [env.message("forget", int(conn.forget(req["forget"])))]


def forget_all(conn: Connection, req: dict[str, Any], env: Envelope) -> list[Message]:
    """Stop every stream of the given types; the ids stopped."""
    kinds = req["forget_all"] if isinstance(req["forget_all"], list) else [req["forget_all"]]
    ids = [s.id for s in list(conn.streams.values()) if s.kind in kinds]
    for stream_id in ids:
        conn.forget(stream_id)
    return [env.message("forget_all", ids)]


HANDLERS: dict[str, Handler] = {
    "authorize": authorize, "active_symbols": active_symbols, "ticks_history": ticks_history,
    "ticks": ticks, "proposal_open_contract": proposal_open_contract, "proposal": proposal,
    "buy": buy, "sell": sell, "portfolio": portfolio, "profit_table": profit_table,
    "statement": statement, "balance": balance, "transaction": transaction,
    "forget_all": forget_all, "forget": forget, "ping": ping, "time": time_,
    "website_status": website_status,
}
