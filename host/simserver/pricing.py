"""Contract pricing: simple, consistent, documented (a simulator, not a pricing model).

Options (CALL/PUT, DIGIT*) pay a fixed share of fair odds: with ``p`` the fair probability of
winning, ``payout = stake * (1 - EDGE) / p`` (``basis: stake``) or ``stake = payout * p /
(1 - EDGE)`` (``basis: payout``), ``EDGE`` = 5 %, amounts rounded to cents.

- CALL/PUT at the money (no barrier): ``p = 0.5`` so payout = 1.9 × stake. CALL wins when the
  exit quote is strictly above the barrier, PUT strictly below; a tie loses. The barrier is the
  entry quote plus the optional relative offset (``barrier: "+0.5"``); with an offset,
  ``p = Phi(±ln(S / B) / (sigma * sqrt(T)))`` (driftless, T in years), kept within [0.05, 0.95].
- Digits, on the last decimal digit of the exit quote written with the symbol's decimals:
  MATCH ``d == b`` (p = 0.1), DIFF ``d != b`` (0.9), OVER ``d > b`` ((9 - b)/10), UNDER
  ``d < b`` (b/10), EVEN/ODD (0.5).
- Resale (``sell``) is offered for CALL/PUT with a time duration only; the bid is
  ``payout * (1 - EDGE) * p_now`` with ``p_now`` as above at the remaining time.

Multipliers (MULTUP/MULTDOWN): the stake is the ask price (no commission); profit is
``stake * multiplier * (S / S_entry - 1)`` (sign reversed for MULTDOWN), rounded to cents; the
bid is ``stake + profit``. The contract closes at the first tick where profit >= take_profit,
profit <= -stop_loss, or profit <= -stake (stop out: sold for 0). No expiry.

Entry: options start at the first tick after the purchase second; multipliers at the spot
quoted at purchase. Tick contracts (``duration_unit: t``) exit on the N-th tick after entry;
time contracts exit on the last tick at or before ``date_expiry`` (settled when the first tick
at or after expiry arrives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tickgate.host.simserver.envelope import ApiError
from tickgate.host.simserver.prices import PricePath, Tick

EDGE = 0.05
MIN_STAKE = 0.35
MAX_STAKE = 50_000.0
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
UNIT_WORDS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "t": "ticks"}
OPTIONS = ("CALL", "PUT")
DIGITS = ("DIGITMATCH", "DIGITDIFF", "DIGITOVER", "DIGITUNDER", "DIGITEVEN", "DIGITODD")
MULTIPLIERS = ("MULTUP", "MULTDOWN")
OFFERED = OPTIONS + DIGITS + MULTIPLIERS


@dataclass
class Offer:
    """A priced contract, as a proposal shows it and as buy opens it."""

    contract_type: str
    symbol: str
    currency: str
    ask_price: float
    payout: float
    spot: Tick
    date_start: int
    duration: int | None = None
    duration_unit: str | None = None
    date_expiry: int | None = None          # time contracts
    barrier_offset: float = 0.0             # CALL/PUT
    digit: int | None = None                # DIGITMATCH/DIFF/OVER/UNDER
    multiplier: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None
    longcode: str = ""

    @property
    def is_ticks(self) -> bool:
        """Whether the duration counts ticks."""
        return self.duration_unit == "t"


def phi(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def call_put_probability(kind: str, spot: float, barrier: float, sigma: float,
                         seconds: float) -> float:
    """Fair probability that CALL (exit > barrier) or PUT (exit < barrier) wins."""
    if spot == barrier:
        return 0.5
    tau = max(seconds, 1.0) / (365.0 * 86400.0)
    z = math.log(spot / barrier) / (sigma * math.sqrt(tau))
    p = phi(z) if kind == "CALL" else phi(-z)
    return min(0.95, max(0.05, p))


def digit_probability(kind: str, digit: int | None) -> float:
    """Fair probability of a digit contract (``digit`` is the barrier, 0-9)."""
    b = digit if digit is not None else 0
    return {"DIGITMATCH": 0.1, "DIGITDIFF": 0.9, "DIGITOVER": (9 - b) / 10,
            "DIGITUNDER": b / 10, "DIGITEVEN": 0.5, "DIGITODD": 0.5}[kind]


def digit_wins(kind: str, digit: int | None, last: int) -> bool:
    """Whether a digit contract with barrier ``digit`` wins on last digit ``last``."""
    return {"DIGITMATCH": last == digit, "DIGITDIFF": last != digit,
            "DIGITOVER": digit is not None and last > digit,
            "DIGITUNDER": digit is not None and last < digit,
            "DIGITEVEN": last % 2 == 0, "DIGITODD": last % 2 == 1}[kind]


def last_digit(path: PricePath, quote: float) -> int:
    """The last decimal digit of ``quote`` written with the symbol's decimals."""
    return int(path.format(quote)[-1])


def multiplier_profit(kind: str, stake: float, multiplier: float, entry: float,
                      spot: float) -> float:
    """Profit (cents) of a multiplier: stake × multiplier × relative move (MULTDOWN: reversed)."""
    move = spot / entry - 1.0
    if kind == "MULTDOWN":
        move = -move
    return round(stake * multiplier * move, 2)


def _fail(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(code, message, {"field": field} if field else None)


def _amount(params: dict[str, Any]) -> float:
    if "amount" not in params:
        raise _fail("ContractCreationFailure", "Please specify the amount.", "amount")
    return float(params["amount"])


def price_offer(params: dict[str, Any], path: PricePath, spot: Tick, now: int,
                currency: str | None = None) -> Offer:
    """Validate contract ``params`` (a proposal request or buy ``parameters``) and price them.

    ``spot`` is the current tick, ``now`` the simulated epoch; ``currency`` the account's if
    authorised. Raises ``ApiError`` with Deriv's codes on invalid parameters.
    """
    spec = path.spec
    kind = params["contract_type"]
    if kind not in OFFERED:
        raise _fail("OfferingsValidationError", "Trading is not offered for this contract type.",
                    "contract_type")
    if kind in DIGITS and not spec.synthetic:
        raise _fail("OfferingsValidationError", "Trading is not offered for this asset.",
                    "symbol")
    cur = params["currency"]
    if cur != (currency or "USD"):
        raise _fail("ContractCreationFailure", f"Invalid currency {cur}.", "currency")
    offer = Offer(kind, spec.symbol, cur, 0.0, 0.0, spot, now)
    if kind in MULTIPLIERS:
        return _price_multiplier(params, offer, path)
    return _price_option(params, offer, path)


def _price_multiplier(params: dict[str, Any], offer: Offer, path: PricePath) -> Offer:
    spec = path.spec
    if params.get("basis", "stake") != "stake":
        raise _fail("ContractCreationFailure", "Basis must be stake for this contract.", "basis")
    for bad in ("duration", "date_expiry", "barrier", "barrier2"):
        if bad in params:
            raise _fail("ContractCreationFailure",
                        f"{bad.replace('_', ' ').capitalize()} is not allowed for this contract.",
                        bad)
    if "multiplier" not in params:
        raise _fail("ContractCreationFailure", "Missing required contract parameters (multiplier).",
                    "multiplier")
    mult = float(params["multiplier"])
    if mult not in spec.multipliers:
        allowed = ",".join(str(m) for m in spec.multipliers)
        raise _fail("ContractBuyValidationError",
                    f"Multiplier is not in acceptable range. Accepts {allowed}.", "multiplier")
    stake = _stake(_amount(params))
    limits = params.get("limit_order") or {}
    tp, sl = limits.get("take_profit"), limits.get("stop_loss")
    if tp is not None and tp <= 0:
        raise _fail("ContractBuyValidationError", "Please enter a take profit amount that's "
                    "higher than 0.", "take_profit")
    if sl is not None and not 0 < sl <= stake:
        raise _fail("ContractBuyValidationError", f"Invalid stop loss. Stop loss must be "
                    f"between 0 and {stake:.2f}.", "stop_loss")
    offer.ask_price = stake
    offer.multiplier = mult
    offer.take_profit = None if tp is None else round(float(tp), 2)
    offer.stop_loss = None if sl is None else round(float(sl), 2)
    direction = "increase" if offer.contract_type == "MULTUP" else "decrease"
    offer.longcode = (f"If you select \"{'Up' if direction == 'increase' else 'Down'}\", your "
                      f"total profit/loss will be the percentage {direction} in "
                      f"{spec.display_name}, multiplied by {mult:g}.")
    return offer


def _stake(stake: float) -> float:
    if stake < MIN_STAKE:
        raise _fail("ContractBuyValidationError",
                    f"Please enter a stake amount that's at least {MIN_STAKE:.2f}.", "amount")
    if stake > MAX_STAKE:
        raise _fail("ContractBuyValidationError",
                    f"Maximum stake allowed is {MAX_STAKE:.2f}.", "amount")
    return round(stake, 2)


def _price_option(params: dict[str, Any], offer: Offer, path: PricePath) -> Offer:
    spec = path.spec
    kind = offer.contract_type
    unit = params.get("duration_unit", "s")
    if "multiplier" in params or "limit_order" in params:
        raise _fail("ContractCreationFailure", "Multiplier and limit orders are not allowed "
                    "for this contract.", "multiplier")
    if "duration" in params:
        duration = int(params["duration"])
    elif "date_expiry" in params:
        duration, unit = int(params["date_expiry"]) - offer.date_start, "s"
    else:
        raise _fail("ContractCreationFailure", "Please specify either duration or date_expiry.",
                    "duration")
    if unit == "t":
        if not spec.synthetic:
            raise _fail("OfferingsValidationError", "Trading is not offered for this duration.",
                        "duration")
        if not 1 <= duration <= 10:
            raise _fail("ContractBuyValidationError", "Number of ticks must be between 1 and 10.",
                        "duration")
        seconds = duration * spec.interval
    else:
        if kind in DIGITS:
            raise _fail("OfferingsValidationError", "Trading is not offered for this duration.",
                        "duration")
        seconds = duration * UNIT_S[unit]
        minimum = 15 if spec.synthetic else 60
        if not minimum <= seconds <= 365 * 86400:
            raise _fail("ContractBuyValidationError", "Trading is not offered for this duration.",
                        "duration")
        offer.date_expiry = offer.date_start + seconds
    offer.duration, offer.duration_unit = duration, unit
    barrier = params.get("barrier")
    name = spec.display_name
    when = (f"after {duration} ticks" if unit == "t"
            else f"at {duration} {UNIT_WORDS[unit]} after contract start time")
    if kind in DIGITS:
        p = _digit_setup(kind, barrier, offer)
        digit_text = {"DIGITMATCH": f"is {offer.digit}", "DIGITDIFF": f"is not {offer.digit}",
                      "DIGITOVER": f"is strictly higher than {offer.digit}",
                      "DIGITUNDER": f"is strictly lower than {offer.digit}",
                      "DIGITEVEN": "is even", "DIGITODD": "is odd"}[kind]
        offer.longcode = f"Win payout if the last digit of {name} {digit_text} {when}."
    else:
        if barrier is not None:
            if barrier[0] not in "+-":
                raise _fail("ContractCreationFailure", "Barrier must be relative to the entry "
                            "spot (e.g. \"+0.5\").", "barrier")
            offer.barrier_offset = float(barrier)
        spot = offer.spot.quote
        p = call_put_probability(kind, spot, spot + offer.barrier_offset, spec.volatility,
                                 seconds)
        side = "higher" if kind == "CALL" else "lower"
        offset = ""
        if offer.barrier_offset:
            offset = (f" {'plus' if offer.barrier_offset > 0 else 'minus'} "
                      f"{path.format(abs(offer.barrier_offset))}")
        offer.longcode = f"Win payout if {name} is strictly {side} than entry spot{offset} {when}."
    amount = _amount(params)
    if params.get("basis", "stake") == "stake":
        offer.ask_price = _stake(amount)
        offer.payout = round(offer.ask_price * (1 - EDGE) / p, 2)
    else:
        offer.payout = round(amount, 2)
        offer.ask_price = _stake(round(amount * p / (1 - EDGE), 2))
    return offer


def _digit_setup(kind: str, barrier: str | None, offer: Offer) -> float:
    if kind in ("DIGITEVEN", "DIGITODD"):
        if barrier is not None:
            raise _fail("ContractCreationFailure", "Barrier is not allowed for this contract.",
                        "barrier")
        return 0.5
    if barrier is None or not barrier.isdigit() or not 0 <= int(barrier) <= 9:
        raise _fail("ContractCreationFailure", "Barrier must be a digit between 0 and 9.",
                    "barrier")
    digit = int(barrier)
    if (kind == "DIGITOVER" and digit == 9) or (kind == "DIGITUNDER" and digit == 0):
        raise _fail("ContractBuyValidationError", "Barrier is out of range.", "barrier")
    offer.digit = digit
    return digit_probability(kind, digit)
