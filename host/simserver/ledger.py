"""An account's books: every transaction (``statement``) and every closed contract
(``profit_table``).

Invariants: a contract bought appears once in the statement as ``buy`` (amount = -buy price);
when it is sold or settled it appears once more as ``sell`` (amount = sell price, 0 for a loss)
and once in the profit table. ``balance_after`` of the latest entry equals the balance.
Amounts are in the account currency, rounded to cents.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

_transaction_ids = itertools.count(540_000_000_001, 2)


def next_transaction_id() -> int:
    """A server-wide unique, increasing transaction id."""
    return next(_transaction_ids)


@dataclass
class Entry:
    """One statement line."""

    transaction_id: int
    action_type: str            # buy | sell | deposit | ...
    amount: float
    balance_after: float
    transaction_time: int
    contract_id: int | None = None
    reference_id: int | None = None
    payout: float | None = None
    purchase_time: int | None = None
    shortcode: str | None = None
    longcode: str = ""

    def as_statement(self, description: bool) -> dict[str, Any]:
        """The entry as a ``statement.transactions[]`` item."""
        out: dict[str, Any] = {
            "action_type": self.action_type, "amount": self.amount,
            "balance_after": self.balance_after, "contract_id": self.contract_id,
            "transaction_id": self.transaction_id, "transaction_time": self.transaction_time,
            "reference_id": self.reference_id, "payout": self.payout, "app_id": None,
        }
        if self.purchase_time is not None:
            out["purchase_time"] = self.purchase_time
        if description:
            out["shortcode"] = self.shortcode
            out["longcode"] = self.longcode
        return out


@dataclass
class Closed:
    """One profit-table line: a contract that was sold or settled."""

    contract_id: int
    contract_type: str
    symbol: str
    buy_price: float
    sell_price: float
    payout: float
    purchase_time: int
    sell_time: int
    transaction_id: int          # the buy transaction, as Deriv reports it
    shortcode: str
    longcode: str
    duration_type: str | None
    multiplier: float | None

    def as_profit_table(self, description: bool) -> dict[str, Any]:
        """The line as a ``profit_table.transactions[]`` item."""
        out: dict[str, Any] = {
            "app_id": None, "buy_price": self.buy_price, "contract_id": self.contract_id,
            "payout": self.payout, "purchase_time": self.purchase_time,
            "sell_price": self.sell_price, "sell_time": self.sell_time,
            "transaction_id": self.transaction_id,
        }
        if description:
            out.update(contract_type=self.contract_type, longcode=self.longcode,
                       shortcode=self.shortcode, underlying_symbol=self.symbol,
                       duration_type=self.duration_type)
            if self.multiplier is not None:
                out["multiplier"] = f"{self.multiplier:g}"
        return out


@dataclass
class Ledger:
    """Statement entries and closed contracts, oldest first."""

    entries: list[Entry] = field(default_factory=list)
    closed: list[Closed] = field(default_factory=list)
