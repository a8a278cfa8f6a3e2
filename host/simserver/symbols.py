"""The simulator's symbol catalogue: what each symbol is and how its price moves.

Families (tick interval in simulated seconds, annual volatility of the log price):

- volatility indices ``R_10 … R_100``: one tick every 2 s, constant volatility 10 … 100 %;
- 1-second volatility indices ``1HZ10V … 1HZ100V``: one tick every 1 s;
- forex majors ``frxEURUSD`` …: a 1 s grid where a tick is present with probability 0.6
  (irregular ticks), annual volatility 7–10 %;
- crypto ``cryBTCUSD``, ``cryETHUSD``: as forex, volatility 60–80 %.

``decimals`` is Deriv's ``pip_size`` (number of decimals in quotes); ``pip`` = 10**-decimals.
Every market is open around the clock in the simulator (no weekend close). Digit contracts and
tick durations are offered on the synthetic indices only, as on Deriv.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SymbolSpec:
    """One tradeable symbol."""

    symbol: str
    display_name: str
    market: str
    market_display_name: str
    submarket: str
    submarket_display_name: str
    subgroup: str
    subgroup_display_name: str
    symbol_type: str
    exchange_name: str
    decimals: int
    interval: int          # simulated seconds between grid points
    presence: float        # probability that a grid point carries a tick (1.0 = every one)
    volatility: float      # annual volatility of log price
    start_price: float
    spread_pips: int       # ask - bid, in pips
    multipliers: tuple[int, ...] = field(default=(40, 100, 200, 300, 400))
    synthetic: bool = True

    @property
    def pip(self) -> float:
        """The value of one pip (``10**-decimals``)."""
        return 10.0 ** -self.decimals


def _vol(symbol: str, name: str, decimals: int, interval: int, vol: float,
         price: float) -> SymbolSpec:
    return SymbolSpec(symbol, name, "synthetic_index", "Derived", "random_index",
                      "Continuous Indices", "synthetics", "Synthetics", "stockindex", "RANDOM",
                      decimals, interval, 1.0, vol, price, 2)


def _fx(symbol: str, name: str, decimals: int, vol: float, price: float) -> SymbolSpec:
    return SymbolSpec(symbol, name, "forex", "Forex", "major_pairs", "Major Pairs", "none",
                      "None", "forex", "FOREX", decimals, 1, 0.6, vol, price, 10,
                      (50, 100, 200, 300, 500), synthetic=False)


def _crypto(symbol: str, name: str, decimals: int, vol: float, price: float) -> SymbolSpec:
    return SymbolSpec(symbol, name, "cryptocurrency", "Cryptocurrencies", "non_stable_coin",
                      "Cryptocurrencies", "none", "None", "cryptocurrency", "CRYPTOCURRENCY",
                      decimals, 1, 0.6, vol, price, 500, (10, 20, 40, 60, 100), synthetic=False)


CATALOGUE: tuple[SymbolSpec, ...] = (
    _vol("R_10", "Volatility 10 Index", 3, 2, 0.10, 6321.456),
    _vol("R_25", "Volatility 25 Index", 3, 2, 0.25, 2543.123),
    _vol("R_50", "Volatility 50 Index", 4, 2, 0.50, 258.4101),
    _vol("R_75", "Volatility 75 Index", 4, 2, 0.75, 91234.5678),
    _vol("R_100", "Volatility 100 Index", 2, 2, 1.00, 1234.56),
    _vol("1HZ10V", "Volatility 10 (1s) Index", 2, 1, 0.10, 9012.34),
    _vol("1HZ25V", "Volatility 25 (1s) Index", 2, 1, 0.25, 456789.12),
    _vol("1HZ50V", "Volatility 50 (1s) Index", 2, 1, 0.50, 123456.78),
    _vol("1HZ75V", "Volatility 75 (1s) Index", 2, 1, 0.75, 4567.89),
    _vol("1HZ100V", "Volatility 100 (1s) Index", 2, 1, 1.00, 789.12),
    _fx("frxEURUSD", "EUR/USD", 5, 0.07, 1.08345),
    _fx("frxGBPUSD", "GBP/USD", 5, 0.08, 1.27012),
    _fx("frxUSDJPY", "USD/JPY", 3, 0.09, 151.234),
    _fx("frxAUDUSD", "AUD/USD", 5, 0.10, 0.65821),
    _crypto("cryBTCUSD", "BTC/USD", 3, 0.60, 67123.456),
    _crypto("cryETHUSD", "ETH/USD", 3, 0.80, 3456.789),
)

BY_SYMBOL: dict[str, SymbolSpec] = {s.symbol: s for s in CATALOGUE}
