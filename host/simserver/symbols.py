"""The simulator's symbol catalogue: what each symbol is and how its price moves.

102 symbols under Deriv's own names, markets and submarkets (from Deriv's underlying
definitions, ``binary-com/perl-Finance-Underlying`` ``share/underlyings.yml``, and
``../shared/deriv-protocol.md`` §3.2 for the newer synthetics). Families (tick interval in
simulated seconds, annual volatility of the log price; the moves themselves are
:mod:`.motion`'s):

- volatility indices ``R_10 … R_100``: one tick every 2 s, constant volatility 10 … 100 %,
  a plain random walk;
- 1-second volatility indices ``1HZ10V … 1HZ100V``, ``1HZ150V``, ``1HZ250V``: one tick
  every 1 s, likewise;
- jump indices ``JD10 … JD100``: one tick every 1 s, volatility 10 … 100 % plus jumps
  (either side) about 3 times an hour, each about 30 times a tick's usual move;
- boom/crash ``BOOM300N``, ``BOOM500``, ``BOOM1000``, ``CRASH300N``, ``CRASH500``,
  ``CRASH1000``: one tick every 1 s, a quiet walk (volatility 20 %) with a spike up (boom)
  or down (crash) once every 300/500/1000 ticks on average (mean 0.3 % of the price) and a
  steady drift the other way between spikes;
- step index ``stpRNG``: one tick every 1 s, the price moves by exactly 0.1 up or down with
  equal probability;
- daily reset indices ``RDBULL``/``RDBEAR``: one tick every 2 s, volatility 30 % with an
  annual drift of +/-30 % of the log price; Deriv resets them every day, the simulator does
  not (a plain drifting walk);
- forex majors and minors ``frxEURUSD`` …: a 1 s grid where a tick is present with
  probability 0.6 (irregular ticks), annual volatility 1–18 % (pegged USD/HKD the least,
  the lira and the rand the most);
- metals and energy ``frxXAUUSD``, ``frxXAGUSD``, ``frxXPDUSD``, ``frxXPTUSD``,
  ``frxXAUEUR``, ``frxXAGEUR``, ``frxBROUSD`` (oil): as forex with presence 0.5,
  volatility 15–35 %;
- crypto ``cryBTCUSD``, ``cryETHUSD``, ``cryLTCUSD`` …: as forex, volatility 60–90 %;
- OTC stock indices ``OTC_DJI``, ``OTC_SPC``, ``OTC_GDAXI`` …: a 1 s grid, presence 0.8,
  volatility 14–25 %, a plain random walk.

``decimals`` is Deriv's ``pip_size`` (number of decimals in quotes); ``pip`` = 10**-decimals.
Every price in pips (``start_price * 10**decimals``) stays well below 2**32, the card's
per-symbol base register. Every market is open around the clock in the simulator (no weekend
close, no exchange hours). Digit contracts and tick durations are offered on the synthetic
indices only, as on Deriv. Option prices use ``volatility`` (the diffusion's, without the
jumps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tickgate.host.simserver.motion import YEAR_S, Motion

#: The plain random walk (no drift, jumps or steps).
_PLAIN = Motion()


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
    motion: Motion = field(default=_PLAIN)

    @property
    def pip(self) -> float:
        """The value of one pip (``10**-decimals``)."""
        return 10.0 ** -self.decimals


def _synthetic(symbol: str, name: str, submarket: tuple[str, str], decimals: int,
               interval: int, vol: float, price: float, motion: Motion = _PLAIN
               ) -> SymbolSpec:
    return SymbolSpec(symbol, name, "synthetic_index", "Derived", *submarket, "synthetics",
                      "Synthetics", "stockindex", "RANDOM", decimals, interval, 1.0, vol,
                      price, 2, motion=motion)


_CONTINUOUS = ("random_index", "Continuous Indices")


def _vol(symbol: str, name: str, decimals: int, interval: int, vol: float,
         price: float) -> SymbolSpec:
    return _synthetic(symbol, name, _CONTINUOUS, decimals, interval, vol, price)


def _jump(level: int, price: float) -> SymbolSpec:
    vol = level / 100
    tick_sigma = vol * math.sqrt(1 / YEAR_S)
    return _synthetic(f"JD{level}", f"Jump {level} Index", ("jump_index", "Jump Indices"), 2,
                      1, vol, price, Motion(jump_rate=3 / 3600, jump_size=30 * tick_sigma))


def _boom_crash(symbol: str, name: str, every: int, sign: int, price: float) -> SymbolSpec:
    return _synthetic(symbol, name, ("crash_index", "Crash/Boom Indices"), 3, 1, 0.20, price,
                      Motion(jump_rate=1 / every, jump_size=0.003, jump_sign=sign))


def _step(price: float) -> SymbolSpec:
    step = 0.1
    vol = step / price * math.sqrt(YEAR_S)       # the walk's volatility near its start
    return _synthetic("stpRNG", "Step Index", ("step_index", "Step Indices"), 1, 1, vol,
                      price, Motion(step=step))


def _daily(symbol: str, name: str, drift: float, price: float) -> SymbolSpec:
    return _synthetic(symbol, name, ("random_daily", "Daily Reset Indices"), 4, 2, 0.30,
                      price, Motion(drift=drift))


def _fx(symbol: str, name: str, decimals: int, vol: float, price: float,
        minor: bool = False) -> SymbolSpec:
    sub = ("minor_pairs", "Minor Pairs") if minor else ("major_pairs", "Major Pairs")
    return SymbolSpec(symbol, name, "forex", "Forex", *sub, "none", "None", "forex", "FOREX",
                      decimals, 1, 0.6, vol, price, 20 if minor else 10,
                      (50, 100, 200, 300, 500), synthetic=False)


def _commodity(symbol: str, name: str, decimals: int, vol: float, price: float,
               energy: bool = False) -> SymbolSpec:
    sub = ("energy", "Energy") if energy else ("metals", "Metals")
    return SymbolSpec(symbol, name, "commodities", "Commodities", *sub, "none", "None",
                      "commodities", "ODLS" if energy else "METAL", decimals, 1, 0.5, vol,
                      price, 30, (50, 100, 200, 300, 500), synthetic=False)


def _crypto(symbol: str, name: str, decimals: int, vol: float, price: float) -> SymbolSpec:
    return SymbolSpec(symbol, name, "cryptocurrency", "Cryptocurrencies", "non_stable_coin",
                      "Cryptocurrencies", "none", "None", "cryptocurrency", "CRYPTOCURRENCY",
                      decimals, 1, 0.6, vol, price, 500, (10, 20, 40, 60, 100), synthetic=False)


_OTC = {"americas": ("americas_OTC", "American indices"),
        "europe": ("europe_OTC", "European indices"),
        "asia": ("asia_oceania_OTC", "Asian indices")}


def _index(symbol: str, name: str, region: str, exchange: str, vol: float,
           price: float) -> SymbolSpec:
    return SymbolSpec(symbol, name, "indices", "Stock Indices", *_OTC[region], "none", "None",
                      "stockindex", exchange, 2, 1, 0.8, vol, price, 100,
                      (50, 100, 200, 300, 500), synthetic=False)


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
    _vol("1HZ150V", "Volatility 150 (1s) Index", 2, 1, 1.50, 2345.67),
    _vol("1HZ250V", "Volatility 250 (1s) Index", 2, 1, 2.50, 4321.09),
    _jump(10, 7654.32),
    _jump(25, 3210.98),
    _jump(50, 5432.10),
    _jump(75, 8765.43),
    _jump(100, 6543.21),
    _boom_crash("BOOM300N", "Boom 300 Index", 300, +1, 3012.345),
    _boom_crash("BOOM500", "Boom 500 Index", 500, +1, 5123.456),
    _boom_crash("BOOM1000", "Boom 1000 Index", 1000, +1, 12345.678),
    _boom_crash("CRASH300N", "Crash 300 Index", 300, -1, 2543.210),
    _boom_crash("CRASH500", "Crash 500 Index", 500, -1, 4012.345),
    _boom_crash("CRASH1000", "Crash 1000 Index", 1000, -1, 6234.567),
    _step(8123.4),
    _daily("RDBULL", "Bull Market Index", +0.30, 1123.4567),
    _daily("RDBEAR", "Bear Market Index", -0.30, 987.6543),
    # forex: major pairs
    _fx("frxEURUSD", "EUR/USD", 5, 0.07, 1.08345),
    _fx("frxGBPUSD", "GBP/USD", 5, 0.08, 1.27012),
    _fx("frxUSDJPY", "USD/JPY", 3, 0.09, 151.234),
    _fx("frxAUDUSD", "AUD/USD", 5, 0.10, 0.65821),
    _fx("frxUSDCAD", "USD/CAD", 5, 0.06, 1.36123),
    _fx("frxUSDCHF", "USD/CHF", 5, 0.07, 0.89876),
    _fx("frxEURGBP", "EUR/GBP", 5, 0.05, 0.85321),
    _fx("frxEURJPY", "EUR/JPY", 3, 0.09, 163.456),
    _fx("frxGBPJPY", "GBP/JPY", 3, 0.10, 192.123),
    _fx("frxAUDJPY", "AUD/JPY", 3, 0.11, 99.543),
    _fx("frxEURCHF", "EUR/CHF", 5, 0.06, 0.97345),
    _fx("frxEURAUD", "EUR/AUD", 5, 0.08, 1.64567),
    _fx("frxEURCAD", "EUR/CAD", 5, 0.07, 1.47456),
    _fx("frxGBPAUD", "GBP/AUD", 5, 0.09, 1.92987),
    # forex: minor pairs
    _fx("frxAUDCAD", "AUD/CAD", 5, 0.08, 0.89654, minor=True),
    _fx("frxAUDCHF", "AUD/CHF", 5, 0.09, 0.59123, minor=True),
    _fx("frxAUDNZD", "AUD/NZD", 5, 0.06, 1.08765, minor=True),
    _fx("frxAUDSGD", "AUD/SGD", 4, 0.08, 0.8876, minor=True),
    _fx("frxCADCHF", "CAD/CHF", 5, 0.08, 0.66012, minor=True),
    _fx("frxCADJPY", "CAD/JPY", 4, 0.10, 111.0123, minor=True),
    _fx("frxCHFJPY", "CHF/JPY", 2, 0.09, 168.34, minor=True),
    _fx("frxEURNZD", "EUR/NZD", 5, 0.08, 1.78901, minor=True),
    _fx("frxEURNOK", "EUR/NOK", 4, 0.08, 11.5432, minor=True),
    _fx("frxEURPLN", "EUR/PLN", 4, 0.07, 4.3210, minor=True),
    _fx("frxEURSEK", "EUR/SEK", 4, 0.07, 11.3456, minor=True),
    _fx("frxEURTRY", "EUR/TRY", 4, 0.15, 35.1234, minor=True),
    _fx("frxEURZAR", "EUR/ZAR", 4, 0.16, 20.1234, minor=True),
    _fx("frxGBPCAD", "GBP/CAD", 5, 0.08, 1.72345, minor=True),
    _fx("frxGBPCHF", "GBP/CHF", 5, 0.08, 1.14123, minor=True),
    _fx("frxGBPNOK", "GBP/NOK", 4, 0.09, 13.5432, minor=True),
    _fx("frxGBPNZD", "GBP/NZD", 5, 0.09, 2.09876, minor=True),
    _fx("frxGBPSEK", "GBP/SEK", 4, 0.09, 13.2345, minor=True),
    _fx("frxGBPZAR", "GBP/ZAR", 4, 0.17, 23.4567, minor=True),
    _fx("frxNZDCHF", "NZD/CHF", 5, 0.09, 0.54321, minor=True),
    _fx("frxNZDJPY", "NZD/JPY", 3, 0.11, 91.234, minor=True),
    _fx("frxNZDUSD", "NZD/USD", 5, 0.10, 0.60543, minor=True),
    _fx("frxUSDHKD", "USD/HKD", 4, 0.01, 7.8123, minor=True),
    _fx("frxUSDMXN", "USD/MXN", 4, 0.14, 17.1234, minor=True),
    _fx("frxUSDNOK", "USD/NOK", 5, 0.10, 10.65432, minor=True),
    _fx("frxUSDPLN", "USD/PLN", 4, 0.09, 3.9876, minor=True),
    _fx("frxUSDSEK", "USD/SEK", 5, 0.09, 10.45678, minor=True),
    _fx("frxUSDSGD", "USD/SGD", 4, 0.05, 1.3456, minor=True),
    _fx("frxUSDTRY", "USD/TRY", 4, 0.18, 32.4567, minor=True),
    _fx("frxUSDZAR", "USD/ZAR", 4, 0.16, 18.5432, minor=True),
    # commodities
    _commodity("frxXAUUSD", "Gold/USD", 2, 0.15, 2345.67),
    _commodity("frxXAGUSD", "Silver/USD", 4, 0.25, 28.1234),
    _commodity("frxXPDUSD", "Palladium/USD", 2, 0.35, 1012.34),
    _commodity("frxXPTUSD", "Platinum/USD", 2, 0.25, 945.67),
    _commodity("frxXAUEUR", "Gold/EUR", 2, 0.15, 2165.43),
    _commodity("frxXAGEUR", "XAG/EUR", 4, 0.25, 25.9876),
    _commodity("frxBROUSD", "Oil/USD", 2, 0.35, 82.34, energy=True),
    # cryptocurrencies
    _crypto("cryBTCUSD", "BTC/USD", 3, 0.60, 67123.456),
    _crypto("cryETHUSD", "ETH/USD", 3, 0.80, 3456.789),
    _crypto("cryLTCUSD", "LTC/USD", 4, 0.80, 85.1234),
    _crypto("cryBCHUSD", "BCH/USD", 4, 0.85, 380.1234),
    _crypto("cryETCUSD", "ETC/USD", 4, 0.90, 26.1234),
    _crypto("cryBTCEUR", "BTC/EUR", 4, 0.60, 61987.6543),
    _crypto("cryETHEUR", "ETH/EUR", 4, 0.80, 3187.6543),
    _crypto("cryLTCEUR", "LTC/EUR", 4, 0.80, 78.5432),
    _crypto("cryBTCGBP", "BTC/GBP", 4, 0.60, 52876.5432),
    _crypto("cryETHGBP", "ETH/GBP", 4, 0.80, 2719.8765),
    _crypto("cryBTCAUD", "BTC/AUD", 4, 0.60, 101234.5678),
    _crypto("cryBCHEUR", "BCH/EUR", 4, 0.85, 350.9876),
    # OTC stock indices
    _index("OTC_DJI", "Wall Street Index", "americas", "NYSE_OTC", 0.15, 38912.34),
    _index("OTC_SPC", "US Index", "americas", "NYSE_SPC_OTC", 0.16, 5234.56),
    _index("OTC_NDX", "US Tech Index", "americas", "NASDAQ_OTC", 0.22, 18345.67),
    _index("OTC_AEX", "Dutch Index", "europe", "EURONEXT_OTC", 0.16, 876.54),
    _index("OTC_FCHI", "French Index", "europe", "EURONEXT_OTC", 0.17, 8012.34),
    _index("OTC_FTSE", "UK Index", "europe", "LSE_OTC", 0.14, 8123.45),
    _index("OTC_GDAXI", "German Index", "europe", "FSE_OTC", 0.18, 18234.56),
    _index("OTC_IBEX35", "Spanish Index", "europe", "BM_OTC", 0.18, 10987.65),
    _index("OTC_SSMI", "Swiss Index", "europe", "SWX_OTC", 0.14, 11654.32),
    _index("OTC_SX5E", "Euro 50 Index", "europe", "STOXX_OTC", 0.18, 4987.65),
    _index("OTC_AS51", "Australian Index", "asia", "ASX_OTC", 0.15, 7765.43),
    _index("OTC_HSI", "Hong Kong Index", "asia", "HKSE_OTC", 0.25, 17654.32),
    _index("OTC_N225", "Japanese Index", "asia", "TSE_OTC", 0.20, 38765.43),
)

BY_SYMBOL: dict[str, SymbolSpec] = {s.symbol: s for s in CATALOGUE}
