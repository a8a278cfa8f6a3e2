"""Typed views of the Deriv replies the host uses, built from decoded JSON (orjson) dicts.

Each class is a frozen, slotted dataclass with a ``from_payload(payload)`` constructor taking
the object under the message's ``msg_type`` key; ``parse(msg)`` picks the class by
``msg_type`` and returns None for other types. Units: epochs are Unix seconds (int), prices
and amounts floats in the account or quote currency, ``pip_size`` the number of decimals.
``Ohlc`` prices arrive as strings on the wire and are floats here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Payload = dict[str, Any]


def _f(value: Any, default: float = float("nan")) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _i(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True, slots=True)
class Tick:
    """One price of a symbol: ``quote`` (mid), ``bid``/``ask`` (NaN when absent)."""

    symbol: str
    epoch: int
    quote: float
    bid: float
    ask: float
    pip_size: int
    id: str | None = None

    @classmethod
    def from_payload(cls, p: Payload) -> Tick:
        return cls(str(p.get("symbol", "")), _i(p.get("epoch")), _f(p.get("quote")),
                   _f(p.get("bid")), _f(p.get("ask")), _i(p.get("pip_size")), p.get("id"))


@dataclass(frozen=True, slots=True)
class Ohlc:
    """The current candle of an ``ohlc`` stream (``open_time`` = its start)."""

    symbol: str
    granularity: int
    epoch: int
    open_time: int
    open: float
    high: float
    low: float
    close: float
    pip_size: int
    id: str | None = None

    @classmethod
    def from_payload(cls, p: Payload) -> Ohlc:
        return cls(str(p.get("symbol", "")), _i(p.get("granularity")), _i(p.get("epoch")),
                   _i(p.get("open_time")), _f(p.get("open")), _f(p.get("high")),
                   _f(p.get("low")), _f(p.get("close")), _i(p.get("pip_size")), p.get("id"))


@dataclass(frozen=True, slots=True)
class Proposal:
    """A priced contract; ``id`` is what ``buy`` takes, ``ask_price`` its maximum price."""

    id: str
    ask_price: float
    payout: float
    spot: float
    spot_time: int
    date_start: int
    date_expiry: int | None
    longcode: str

    @classmethod
    def from_payload(cls, p: Payload) -> Proposal:
        expiry = p.get("date_expiry")
        return cls(str(p.get("id", "")), _f(p.get("ask_price")), _f(p.get("payout")),
                   _f(p.get("spot")), _i(p.get("spot_time")), _i(p.get("date_start")),
                   None if expiry is None else _i(expiry), str(p.get("longcode", "")))


@dataclass(frozen=True, slots=True)
class Buy:
    """A bought contract."""

    contract_id: int
    transaction_id: int
    buy_price: float
    balance_after: float
    payout: float
    purchase_time: int
    start_time: int
    longcode: str
    shortcode: str

    @classmethod
    def from_payload(cls, p: Payload) -> Buy:
        return cls(_i(p.get("contract_id")), _i(p.get("transaction_id")),
                   _f(p.get("buy_price")), _f(p.get("balance_after")), _f(p.get("payout")),
                   _i(p.get("purchase_time")), _i(p.get("start_time")),
                   str(p.get("longcode", "")), str(p.get("shortcode", "")))


@dataclass(frozen=True, slots=True)
class Contract:
    """A ``proposal_open_contract`` update: the state of one contract."""

    contract_id: int
    contract_type: str
    underlying: str
    currency: str
    status: str | None
    buy_price: float
    bid_price: float
    payout: float
    profit: float
    is_sold: bool
    is_expired: bool
    entry_spot: float
    current_spot: float
    sell_price: float
    date_expiry: int | None

    @classmethod
    def from_payload(cls, p: Payload) -> Contract:
        expiry = p.get("date_expiry")
        return cls(_i(p.get("contract_id")), str(p.get("contract_type", "")),
                   str(p.get("underlying", "")), str(p.get("currency", "")), p.get("status"),
                   _f(p.get("buy_price")), _f(p.get("bid_price")), _f(p.get("payout")),
                   _f(p.get("profit")), bool(p.get("is_sold")), bool(p.get("is_expired")),
                   _f(p.get("entry_spot")), _f(p.get("current_spot")), _f(p.get("sell_price")),
                   None if expiry is None else _i(expiry))


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance."""

    balance: float
    currency: str
    loginid: str

    @classmethod
    def from_payload(cls, p: Payload) -> Balance:
        return cls(_f(p.get("balance")), str(p.get("currency", "")), str(p.get("loginid", "")))


@dataclass(frozen=True, slots=True)
class Transaction:
    """One account transaction (``action``: buy, sell, deposit…); ``amount`` signed."""

    action: str | None
    amount: float
    balance: float
    contract_id: int | None
    transaction_id: int | None
    transaction_time: int | None
    symbol: str | None

    @classmethod
    def from_payload(cls, p: Payload) -> Transaction:
        def opt(key: str) -> int | None:
            return None if p.get(key) is None else _i(p[key])
        return cls(p.get("action"), _f(p.get("amount")), _f(p.get("balance")),
                   opt("contract_id"), opt("transaction_id"), opt("transaction_time"),
                   p.get("symbol"))


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Deriv's ``error`` object with the reply's ``msg_type``."""

    code: str
    message: str
    msg_type: str | None
    details: Any = None

    @classmethod
    def from_message(cls, msg: Payload) -> ErrorInfo:
        err = msg.get("error") or {}
        return cls(str(err.get("code", "")), str(err.get("message", "")), msg.get("msg_type"),
                   err.get("details"))


_TYPES: dict[str, Any] = {"tick": Tick, "ohlc": Ohlc, "proposal": Proposal, "buy": Buy,
                          "proposal_open_contract": Contract, "balance": Balance,
                          "transaction": Transaction}


def parse(msg: Payload) -> Any:
    """The typed view of a message: ``ErrorInfo`` for errors, None for untyped kinds."""
    if "error" in msg:
        return ErrorInfo.from_message(msg)
    cls = _TYPES.get(msg.get("msg_type", ""))
    payload = msg.get(msg.get("msg_type", ""))
    if cls is None or not isinstance(payload, dict):
        return None
    return cls.from_payload(payload)
