"""One contract's life: opened from an ``Offer``, fed ticks, sold or settled once.

``on_tick`` applies the rules of ``pricing`` (entry, tick count, expiry, take profit, stop
loss, stop out) and reports whether the contract must close now; ``close`` fixes its sell price
and time. ``poc`` renders Deriv's ``proposal_open_contract`` payload at any point.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tickgate.host.simserver import pricing
from tickgate.host.simserver.prices import PricePath, Tick
from tickgate.host.simserver.pricing import DIGITS, MULTIPLIERS, Offer

_contract_ids = itertools.count(260_000_000_001)


def next_contract_id() -> int:
    """A server-wide unique, increasing contract id."""
    return next(_contract_ids)


@dataclass
class Contract:
    """An open or closed contract of one account."""

    contract_id: int
    loginid: str
    offer: Offer
    path: PricePath
    buy_price: float
    purchase_time: int
    buy_transaction_id: int
    entry: Tick | None = None
    exit: Tick | None = None
    current: Tick | None = None
    ticks: list[Tick] = field(default_factory=list)   # entry and later, tick contracts
    is_sold: bool = False
    sell_price: float | None = None
    sell_time: int | None = None
    sell_transaction_id: int | None = None
    status: str = "open"                               # open | sold | won | lost

    @classmethod
    def open(cls, loginid: str, offer: Offer, path: PricePath, now: int,
             transaction_id: int) -> Contract:
        """A new contract bought at ``now`` for ``offer.ask_price``."""
        c = cls(next_contract_id(), loginid, offer, path, offer.ask_price, now, transaction_id)
        c.current = offer.spot
        if offer.contract_type in MULTIPLIERS:
            c.entry = offer.spot
        return c

    # -- identity --------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """Contract type, e.g. ``CALL``."""
        return self.offer.contract_type

    @property
    def symbol(self) -> str:
        """Underlying symbol."""
        return self.offer.symbol

    @property
    def shortcode(self) -> str:
        """Deriv-like shortcode, e.g. ``CALL_R_100_19.00_1718000000_5T_S0P_0``."""
        o = self.offer
        if self.kind in MULTIPLIERS:
            return (f"{self.kind}_{self.symbol}_{self.buy_price:.2f}_{o.multiplier:g}_"
                    f"{self.purchase_time}_4872355200_0_0.00_N1")
        end = f"{o.duration}T" if o.is_ticks else str(o.date_expiry)
        if self.kind in DIGITS:
            return f"{self.kind}_{self.symbol}_{o.payout:.2f}_{self.purchase_time}_{end}_" \
                   f"{o.digit if o.digit is not None else 0}_0"
        return f"{self.kind}_{self.symbol}_{o.payout:.2f}_{self.purchase_time}_{end}_S0P_0"

    # -- valuation -------------------------------------------------------------------------
    def barrier(self) -> float | None:
        """The CALL/PUT barrier (entry quote + offset) once the entry is known."""
        if self.entry is None or self.kind not in pricing.OPTIONS:
            return None
        return self.path.round(self.entry.quote + self.offer.barrier_offset)

    def profit_now(self) -> float:
        """Multiplier profit at the current tick."""
        assert self.entry is not None and self.current is not None
        return pricing.multiplier_profit(self.kind, self.buy_price, self.offer.multiplier or 0,
                                         self.entry.quote, self.current.quote)

    def valid_to_sell(self) -> bool:
        """Whether ``sell`` is offered now (multipliers; time-duration CALL/PUT after entry)."""
        if self.is_sold:
            return False
        if self.kind in MULTIPLIERS:
            return True
        return self.kind in pricing.OPTIONS and not self.offer.is_ticks and self.entry is not None

    def bid_price(self, now: float) -> float:
        """What the contract is worth now (cents): see ``pricing`` for the rules."""
        if self.is_sold:
            return self.sell_price or 0.0
        o = self.offer
        if self.kind in MULTIPLIERS:
            return max(0.0, round(self.buy_price + self.profit_now(), 2))
        if self.entry is None or self.current is None:
            return self.buy_price
        if self.kind in DIGITS or o.is_ticks:
            return 0.0
        barrier = self.barrier() or self.entry.quote
        remaining = max((o.date_expiry or 0) - now, 1.0)
        p = pricing.call_put_probability(self.kind, self.current.quote, barrier,
                                         self.path.spec.volatility, remaining)
        return round(o.payout * (1 - pricing.EDGE) * p, 2)

    # -- life ------------------------------------------------------------------------------
    def on_tick(self, tick: Tick) -> bool:
        """Feed a new tick of the underlying; True when the contract must close at this tick.

        On True, ``exit`` and ``status`` are set and ``settlement_price()`` tells the price.
        """
        if self.is_sold:
            return False
        o = self.offer
        previous = self.current
        self.current = tick
        if self.kind in MULTIPLIERS:
            profit = self.profit_now()
            stop = (profit <= -self.buy_price
                    or (o.take_profit is not None and profit >= o.take_profit)
                    or (o.stop_loss is not None and profit <= -o.stop_loss))
            if stop:
                self.exit = tick
            return stop
        if self.entry is None:
            if tick.epoch <= self.purchase_time:
                return False
            self.entry = tick
            self.ticks.append(tick)
            if o.is_ticks:
                return False
        elif o.is_ticks:
            self.ticks.append(tick)
        if o.is_ticks:
            if len(self.ticks) - 1 >= (o.duration or 0):
                self.exit = tick
                return True
            return False
        expiry = o.date_expiry or 0
        if tick.epoch >= expiry:
            self.exit = tick if tick.epoch == expiry or previous is None else previous
            if self.exit.epoch < self.entry.epoch:
                self.exit = self.entry
            return True
        return False

    def settlement_price(self) -> float:
        """The price at which the contract closes at ``exit`` (payout, 0, or multiplier bid)."""
        assert self.exit is not None
        o = self.offer
        if self.kind in MULTIPLIERS:
            return max(0.0, round(self.buy_price + self.profit_now(), 2))
        quote = self.exit.quote
        if self.kind in DIGITS:
            won = pricing.digit_wins(self.kind, o.digit, pricing.last_digit(self.path, quote))
        else:
            barrier = self.barrier() or quote
            won = quote > barrier if self.kind == "CALL" else quote < barrier
        return o.payout if won else 0.0

    def close(self, price: float, when: int, transaction_id: int) -> None:
        """Mark sold/settled for ``price`` at epoch ``when``."""
        self.is_sold = True
        self.sell_price = round(price, 2)
        self.sell_time = when
        self.sell_transaction_id = transaction_id
        if self.kind in MULTIPLIERS or self.exit is None:
            self.status = "sold"
        else:
            self.status = "won" if self.sell_price > 0 else "lost"

    # -- rendering -------------------------------------------------------------------------
    def poc(self, now: float) -> dict[str, Any]:
        """Deriv's ``proposal_open_contract`` payload for this contract."""
        o, path = self.offer, self.path
        bid = self.bid_price(now)
        profit = round(bid - self.buy_price, 2)
        cur = self.current or o.spot
        out: dict[str, Any] = {
            "contract_id": self.contract_id, "contract_type": self.kind,
            "underlying": self.symbol, "display_name": path.spec.display_name,
            "currency": o.currency, "buy_price": self.buy_price, "bid_price": bid,
            "payout": o.payout, "profit": profit,
            "profit_percentage": round(100 * profit / self.buy_price, 2),
            "status": self.status, "is_sold": int(self.is_sold),
            "is_expired": int(self.is_sold and self.kind not in MULTIPLIERS),
            "is_settleable": int(self.is_sold and self.kind not in MULTIPLIERS),
            "is_valid_to_sell": int(self.valid_to_sell()), "is_valid_to_cancel": 0,
            "is_intraday": 1, "is_path_dependent": int(self.kind in MULTIPLIERS),
            "is_forward_starting": 0, "date_start": self.purchase_time,
            "purchase_time": self.purchase_time, "current_spot": cur.quote,
            "current_spot_display_value": path.format(cur.quote),
            "current_spot_time": cur.epoch, "longcode": o.longcode,
            "shortcode": self.shortcode,
            "transaction_ids": {"buy": self.buy_transaction_id},
        }
        if self.kind in MULTIPLIERS:
            out["date_expiry"] = 4872355200
            out["multiplier"] = o.multiplier
            out["limit_order"] = self._limit_orders(path)
            out["is_valid_to_update"] = {"take_profit": int(not self.is_sold),
                                         "stop_loss": int(not self.is_sold), "stop_out": 0}
        else:
            if o.date_expiry is not None:
                out["date_expiry"] = o.date_expiry
                out["expiry_time"] = o.date_expiry
            if o.is_ticks:
                out["tick_count"] = o.duration
                out["tick_passed"] = max(0, len(self.ticks) - 1)
                out["tick_stream"] = [{"epoch": t.epoch, "tick": t.quote,
                                       "tick_display_value": path.format(t.quote)}
                                      for t in self.ticks]
            barrier = self.barrier()
            if barrier is not None:
                out["barrier"] = path.format(barrier)
            elif self.kind in DIGITS and o.digit is not None:
                out["barrier"] = str(o.digit)
        if self.entry is not None:
            out.update(entry_spot=self.entry.quote,
                       entry_spot_display_value=path.format(self.entry.quote),
                       entry_tick=self.entry.quote,
                       entry_tick_display_value=path.format(self.entry.quote),
                       entry_tick_time=self.entry.epoch)
        if self.is_sold:
            out.update(sell_price=self.sell_price, sell_time=self.sell_time,
                       date_settlement=self.sell_time)
            out["transaction_ids"]["sell"] = self.sell_transaction_id
            if self.exit is not None:
                out.update(exit_tick=self.exit.quote,
                           exit_tick_display_value=path.format(self.exit.quote),
                           exit_tick_time=self.exit.epoch, sell_spot=self.exit.quote,
                           sell_spot_display_value=path.format(self.exit.quote),
                           sell_spot_time=self.exit.epoch)
        return out

    def _limit_orders(self, path: PricePath) -> dict[str, Any]:
        o = self.offer
        entry = (self.entry or o.spot).quote
        sign = 1 if self.kind == "MULTUP" else -1
        mult = o.multiplier or 1.0

        def level(amount: float) -> str:
            # The quote at which profit reaches ``amount``.
            return path.format(entry * (1 + sign * amount / (self.buy_price * mult)))

        orders: dict[str, Any] = {"stop_out": {
            "display_name": "Stop out", "order_amount": -self.buy_price,
            "order_date": self.purchase_time, "value": level(-self.buy_price),
            "display_order_amount": f"{-self.buy_price:.2f}"}}
        if o.take_profit is not None:
            orders["take_profit"] = {
                "display_name": "Take profit", "order_amount": o.take_profit,
                "order_date": self.purchase_time, "value": level(o.take_profit),
                "display_order_amount": f"{o.take_profit:.2f}"}
        if o.stop_loss is not None:
            orders["stop_loss"] = {
                "display_name": "Stop loss", "order_amount": -o.stop_loss,
                "order_date": self.purchase_time, "value": level(-o.stop_loss),
                "display_order_amount": f"{-o.stop_loss:.2f}"}
        return orders
