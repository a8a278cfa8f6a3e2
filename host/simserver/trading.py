"""The dealing desk: buys, sells and settles contracts against accounts.

Every balance change goes through here, so the books stay consistent: a buy debits the buy
price and writes a ``buy`` statement line; a sell or a settlement credits the sell price (0 for
a lost contract), writes a ``sell`` line and one profit-table line, exactly once per contract.
Watchers (the connections of an account) hear every transaction and every contract update
(each tick of an open contract's underlying, and its close).
"""

from __future__ import annotations

from typing import Protocol

from tickgate.host.simserver.accounts import Account
from tickgate.host.simserver.clock import SimClock
from tickgate.host.simserver.contracts import Contract
from tickgate.host.simserver.envelope import ApiError
from tickgate.host.simserver.ledger import Closed, Entry, next_transaction_id
from tickgate.host.simserver.market import Market
from tickgate.host.simserver.prices import Tick
from tickgate.host.simserver.pricing import Offer


class Watcher(Protocol):
    """What the desk tells an account's connections."""

    def on_contract(self, contract: Contract) -> None:
        """A contract of the account changed (new tick, sold, settled)."""

    def on_transaction(self, account: Account, entry: Entry, contract: Contract | None) -> None:
        """A transaction was booked on the account."""


class Desk:
    """Contracts of every account, and their settlement on the market's ticks."""

    def __init__(self, market: Market, clock: SimClock) -> None:
        self.market = market
        self.clock = clock
        self.contracts: dict[int, Contract] = {}
        self._accounts: dict[str, Account] = {}
        self._open: dict[str, dict[int, Contract]] = {}
        self._watchers: dict[str, list[Watcher]] = {}

    # -- watchers --------------------------------------------------------------------------
    def watch(self, loginid: str, watcher: Watcher) -> None:
        """Tell ``watcher`` about ``loginid``'s transactions and contracts."""
        self._watchers.setdefault(loginid, []).append(watcher)

    def unwatch(self, loginid: str, watcher: Watcher) -> None:
        """Stop telling ``watcher``."""
        watchers = self._watchers.get(loginid, [])
        if watcher in watchers:
            watchers.remove(watcher)

    # -- queries ---------------------------------------------------------------------------
    def open_contracts(self, loginid: str) -> list[Contract]:
        """The account's open contracts, oldest first."""
        return [c for c in self.contracts.values() if c.loginid == loginid and not c.is_sold]

    def contract(self, loginid: str, contract_id: int) -> Contract:
        """One of the account's contracts (``ContractNotFound`` otherwise)."""
        c = self.contracts.get(contract_id)
        if c is None or c.loginid != loginid:
            raise ApiError("ContractNotFound",
                           "This contract was not found among your open positions.")
        return c

    # -- dealing ---------------------------------------------------------------------------
    def buy(self, account: Account, offer: Offer) -> tuple[Contract, Entry]:
        """Open a contract for ``offer`` at ``offer.ask_price``; debit the account."""
        price = offer.ask_price
        if price > account.balance + 1e-9:
            raise ApiError("InsufficientBalance",
                           f"Your account balance ({account.balance:.2f} {account.currency}) "
                           f"is insufficient to buy this contract ({price:.2f}).")
        now = self.clock.epoch()
        txid = next_transaction_id()
        contract = Contract.open(account.loginid, offer, self.market.path(offer.symbol), now,
                                 txid)
        self._accounts[account.loginid] = account
        self.contracts[contract.contract_id] = contract
        balance = account.change_balance(-price)
        entry = Entry(txid, "buy", -price, balance, now, contract.contract_id,
                      contract.contract_id, offer.payout, now, contract.shortcode,
                      offer.longcode)
        account.ledger.entries.append(entry)
        self._add_open(contract)
        self._tell_transaction(account, entry, contract)
        return contract, entry

    def sell(self, account: Account, contract_id: int, min_price: float) -> tuple[Contract, Entry]:
        """Sell an open contract at its bid if the bid is at least ``min_price`` (0 = any)."""
        contract = self.contract(account.loginid, contract_id)
        if contract.is_sold:
            raise ApiError("ContractIsSold", "This contract has been sold.")
        if not contract.valid_to_sell():
            raise ApiError("InvalidSellContractProposal", "Resale of this contract is not "
                           "offered.")
        bid = contract.bid_price(self.clock.now())
        if min_price and bid < min_price:
            raise ApiError("PriceMoved", f"The contract's bid ({bid:.2f}) is below your "
                           f"minimum price ({min_price:.2f}).")
        entry = self._close(account, contract, bid)
        return contract, entry

    # -- settlement ------------------------------------------------------------------------
    def _add_open(self, contract: Contract) -> None:
        symbol_open = self._open.setdefault(contract.symbol, {})
        if not symbol_open:
            self.market.add_listener(contract.symbol, self._on_tick)
        symbol_open[contract.contract_id] = contract

    def _remove_open(self, contract: Contract) -> None:
        symbol_open = self._open.get(contract.symbol, {})
        symbol_open.pop(contract.contract_id, None)
        if not symbol_open and contract.symbol in self._open:
            del self._open[contract.symbol]
            self.market.remove_listener(contract.symbol, self._on_tick)

    def _on_tick(self, symbol: str, tick: Tick) -> None:
        for contract in list(self._open.get(symbol, {}).values()):
            if contract.on_tick(tick):
                self._close(self._accounts[contract.loginid], contract,
                            contract.settlement_price(), when=tick.epoch)
            else:
                self._tell_contract(contract)

    def _close(self, account: Account, contract: Contract, price: float,
               when: int | None = None) -> Entry:
        now = self.clock.epoch() if when is None else max(when, contract.purchase_time)
        txid = next_transaction_id()
        contract.close(price, now, txid)
        self._remove_open(contract)
        balance = account.change_balance(contract.sell_price or 0.0)
        o = contract.offer
        entry = Entry(txid, "sell", contract.sell_price or 0.0, balance, now,
                      contract.contract_id, contract.contract_id, o.payout,
                      contract.purchase_time, contract.shortcode, o.longcode)
        account.ledger.entries.append(entry)
        account.ledger.closed.append(Closed(
            contract.contract_id, contract.kind, contract.symbol, contract.buy_price,
            contract.sell_price or 0.0, o.payout, contract.purchase_time, now,
            contract.buy_transaction_id, contract.shortcode, o.longcode,
            None if o.duration_unit is None else ("ticks" if o.is_ticks else "seconds"),
            o.multiplier))
        self._tell_transaction(account, entry, contract)
        self._tell_contract(contract)
        return entry

    def _tell_contract(self, contract: Contract) -> None:
        for watcher in list(self._watchers.get(contract.loginid, ())):
            watcher.on_contract(contract)

    def _tell_transaction(self, account: Account, entry: Entry, contract: Contract) -> None:
        for watcher in list(self._watchers.get(account.loginid, ())):
            watcher.on_transaction(account, entry, contract)
