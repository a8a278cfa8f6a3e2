"""Float columns of the model board against TA-Lib, on real quotes and a random walk.

Tolerances come from the error bound in :mod:`tickgate.gateware.model`'s docstring, evaluated
per series (all in pips, then divided by ``10**pip_size``):

* an EMA with quantised factor ``a`` (Q0.18) is within ``2**-16 / a`` pip of the exact EMA
  with factor ``a`` (truncation, < 1 LSB per step), which is within ``|a - a_ta| / a * D`` of
  TA-Lib's EMA with ``a_ta = 2/(n+1)`` (or ``1/n``), ``D = max |x_t - ema_{t-1}|``; the
  seeds differ (first price vs. TA-Lib's mean of the first ``n``) by at most the price
  range ``R``, which decays as ``(1 - a)**t``: ``R * (1 - a)**(W - n)`` after a warm-up
  ``W``. Plus float rounding of the comparison itself, ``4 eps |p| / a``;
* MACD adds the bounds of its two EMAs; the signal line adds its own EMA bound to MACD's;
  RSI ``100 G / (G + L)`` moves by at most ``100 (eG + eL) / (G + L)``;
* sums, extremes and momentum are exact: SMA, MIN, MAX and ROC differ only by float
  rounding (TA-Lib's running float sum: ``N eps max|p|`` over ``N`` ticks);
* STDDEV and Bollinger are compared on the pip offsets: TA-Lib's one-pass variance
  ``sumsq/n - mean**2`` cancels catastrophically at price level (EUR/USD 1.12 with a std of
  1e-5 loses ~10 of 16 digits), while on integer offsets its error stays within
  ``8 eps max x**2`` pip^2 (measured: up to 2.5 eps times the largest square seen so far);
  ours is exact up to the final float conversion.

Comparisons start after a warm-up of ten periods (ten times slow+signal for MACD).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import talib

from tickgate.drivers.features import IndicatorPeriods, feature_columns, price_levels
from tickgate.drivers.packer import Packer, mid_quote
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import ALPHA_BITS

MARKET_DATA = Path(__file__).resolve().parents[3] / "shared" / "market-data"
EPS = np.finfo(np.float64).eps
PERIODS = IndicatorPeriods()
CONFIG = PERIODS.engine_config()


def _eurusd_mid() -> list[Decimal]:
    with open(MARKET_DATA / "eurusd-quotes-2020-01-01.csv", newline="") as f:
        return [mid_quote(Decimal(r[1]), Decimal(r[2])) for r in csv.reader(f)]


def _usdjpy_close() -> list[Decimal]:
    with open(MARKET_DATA / "usdjpy-m1-bid-2013.csv", newline="") as f:
        return [Decimal(r["close"]) for r in csv.DictReader(f)]


def _random_walk() -> list[Decimal]:
    rng = np.random.default_rng(11)
    cents = 100_000 + np.cumsum(rng.integers(-40, 41, 20_000))
    return [Decimal(int(c)).scaleb(-2) for c in cents]


class Replayed:
    """One series' prices and feature columns, after a multi-symbol model replay."""

    def __init__(self, name: str, columns: dict[str, np.ndarray], price: np.ndarray,
                 records: np.ndarray, pip_size: int) -> None:
        self.name, self.columns, self.price, self.records = name, columns, price, records
        self.pip = 10.0 ** -pip_size  # one pip in quote units
        self.offset = records["price"].astype(np.float64)  # pips from the base


@pytest.fixture(scope="module")
def replayed() -> dict[str, Replayed]:
    """Replay the three series as three symbols of one interleaved stream."""
    series = {"walk": _random_walk()}
    if MARKET_DATA.is_dir():
        series |= {"eurusd": _eurusd_mid(), "usdjpy": _usdjpy_close()}
    names = list(series)
    # a random merge that keeps each series in order
    owner = np.concatenate([np.full(len(series[n]), i) for i, n in enumerate(names)])
    owner = np.random.default_rng(5).permutation(owner)
    position = {n: 0 for n in names}
    symbols, quotes = [], []
    for i in owner:
        symbols.append(names[i])
        quotes.append(series[names[i]][position[names[i]]])
        position[names[i]] += 1
    lines = list(range(2, len(quotes) + 2))
    packer = Packer()
    packer.observe(lines, symbols, quotes)
    ticks = packer.pack(lines, [Decimal(i) for i in lines], symbols, quotes)
    records = EngineModel(config=CONFIG).process(ticks)
    bases, pips = packer.base_array(), packer.pip_size_array()
    columns = feature_columns(records, PERIODS, bases, pips)
    prices = price_levels(records, bases, pips)
    out = {}
    for i, name in enumerate(packer.table.names):
        mine = records["symbol"] == i
        out[name] = Replayed(name, {k: v[mine] for k, v in columns.items()}, prices[mine],
                             records[mine], int(pips[i]))
    return out


SERIES = ["walk", "eurusd", "usdjpy"]


@pytest.fixture(params=SERIES)
def run(request: pytest.FixtureRequest, replayed: dict[str, Replayed]) -> Replayed:
    if request.param != "walk":
        request.getfixturevalue("market_data")  # skips, or fails under CI, without the data
    return replayed[request.param]


def _alpha(q018: int) -> float:
    return q018 / 2**ALPHA_BITS


def ema_bound(x: np.ndarray, ref: np.ndarray, q018: int, exact: float, period: int,
              warm: int) -> float:
    """Return the bound (pips) between the model's EMA and TA-Lib's ``ref`` from ``warm``."""
    a = _alpha(q018)
    ok = ~np.isnan(ref[:-1])
    drift = np.max(np.abs(x[1:][ok] - ref[:-1][ok]))
    spread = np.ptp(x)
    return (2**-16 / a + abs(a - exact) / a * drift + spread * (1 - a) ** (warm - period)
            + 4 * EPS * np.max(np.abs(x)) / a)


def assert_close(got: np.ndarray, want: np.ndarray, tol: np.ndarray | float, warm: int) -> None:
    got, want = got[warm:], want[warm:]
    err = np.abs(got - want)
    tol = np.broadcast_to(tol, err.shape) if np.ndim(tol) == 0 else np.asarray(tol)[warm:]
    assert not np.isnan(got).any() and not np.isnan(want).any()
    worst = int(np.argmax(err - tol))
    assert (err <= tol).all(), (f"tick {warm + worst}: model {got[worst]!r}, TA-Lib "
                                f"{want[worst]!r}, error {err[worst]:.3g} > bound "
                                f"{tol[worst]:.3g}")


def test_ema_agrees_with_talib_within_the_quantisation_bound(run: Replayed) -> None:
    for period, q018 in ((PERIODS.ema_fast, CONFIG.alpha_fast),
                         (PERIODS.ema_slow, CONFIG.alpha_slow)):
        ref_pips = talib.EMA(run.offset, period)
        warm = 10 * period
        bound = ema_bound(run.offset, ref_pips, q018, 2 / (period + 1), period, warm)
        assert_close(run.columns[f"ema_{period}"], talib.EMA(run.price, period),
                     bound * run.pip, warm)


def test_macd_agrees_with_talib_after_warm_up(run: Replayed) -> None:
    p = PERIODS
    macd_ref, signal_ref, hist_ref = talib.MACD(run.offset, p.ema_fast, p.ema_slow,
                                                p.macd_signal)
    warm = 10 * (p.ema_slow + p.macd_signal)
    fast = ema_bound(run.offset, talib.EMA(run.offset, p.ema_fast), CONFIG.alpha_fast,
                     2 / (p.ema_fast + 1), p.ema_fast, warm)
    slow = ema_bound(run.offset, talib.EMA(run.offset, p.ema_slow), CONFIG.alpha_slow,
                     2 / (p.ema_slow + 1), p.ema_slow, warm)
    signal = fast + slow + ema_bound(np.nan_to_num(macd_ref), signal_ref, CONFIG.alpha_signal,
                                     2 / (p.macd_signal + 1), p.macd_signal, warm)
    price_macd, price_signal, price_hist = talib.MACD(run.price, p.ema_fast, p.ema_slow,
                                                      p.macd_signal)
    assert_close(run.columns["macd"], price_macd, (fast + slow) * run.pip, warm)
    assert_close(run.columns["macd_signal"], price_signal, signal * run.pip, warm)
    assert_close(run.columns["macd_hist"], price_hist, (fast + slow + signal) * run.pip, warm)


def test_rsi_agrees_with_talib_within_the_wilder_bound(run: Replayed) -> None:
    n = PERIODS.rsi
    a = _alpha(CONFIG.alpha_rsi)
    moves = np.abs(np.diff(run.offset))
    warm = 10 * n
    # per average: truncation + alpha quantisation (|gain - G| <= max move) + seed transient
    per_average = (2**-16 / a + abs(a - 1 / n) / a * moves.max()
                   + moves.max() * (1 - a) ** (warm - n) + 4 * EPS * moves.max() / a)
    total = (run.records["avg_gain"] + run.records["avg_loss"]) / 2**16
    with np.errstate(divide="ignore"):
        bound = np.where(total > 0, 100 * 2 * per_average / total, 100.0)
    assert_close(run.columns[f"rsi_{n}"], talib.RSI(run.price, n), bound, warm)


def test_sma_min_max_roc_agree_with_talib_to_float_rounding(run: Replayed) -> None:
    p = PERIODS
    level = np.max(np.abs(run.price))
    warm = 10 * p.sma
    assert_close(run.columns[f"sma_{p.sma}"], talib.SMA(run.price, p.sma),
                 len(run.price) * EPS * level, warm)
    np.testing.assert_array_equal(run.columns[f"min_{p.minmax}"], talib.MIN(run.price, p.minmax))
    np.testing.assert_array_equal(run.columns[f"max_{p.minmax}"], talib.MAX(run.price, p.minmax))
    roc_ref = talib.ROC(run.price, p.roc)
    ratio = 1 + np.nan_to_num(roc_ref) / 100
    assert_close(run.columns[f"roc_{p.roc}"], roc_ref, 400 * EPS * ratio, 10 * p.roc)


def test_std_and_bollinger_z_agree_with_talib_on_pip_offsets(run: Replayed) -> None:
    n = PERIODS.sma
    warm = 10 * n
    std_pips = run.columns[f"std_{n}"] / run.pip
    std_ref = talib.STDDEV(run.offset, n, 1.0)
    # TA-Lib's rounding, not ours (its error grows with the largest square its running sums
    # have held: measured up to 2.5 eps max x**2 on these series)
    var_bound = 8 * EPS * np.maximum.accumulate(run.offset**2) + 8 * EPS * std_ref**2
    # ours is rescaled from quote units: relative rounding of a few eps
    assert_close(std_pips**2, std_ref**2, var_bound + 8 * EPS * std_pips**2, warm)
    upper, middle, _ = talib.BBANDS(run.offset, n, 1.0, 1.0, 0)
    width = upper - middle
    with np.errstate(divide="ignore", invalid="ignore"):
        z_ref = (run.offset - middle) / width
        d_std = var_bound / (2 * std_ref) + 4 * EPS * np.abs(middle)
        z_bound = (4 * EPS * np.abs(run.offset) + np.abs(z_ref) * d_std) / width
    flat = std_ref == 0
    z = run.columns[f"zscore_{n}"]
    assert np.isnan(z[warm:][flat[warm:]]).all()
    keep = ~flat
    assert_close(z[keep], z_ref[keep], z_bound[keep], warm)


def test_warm_up_nans_stop_where_talib_outputs_start(run: Replayed) -> None:
    p = PERIODS
    first = {
        f"ema_{p.ema_fast}": talib.EMA(run.price, p.ema_fast),
        f"ema_{p.ema_slow}": talib.EMA(run.price, p.ema_slow),
        "macd_signal": talib.MACD(run.price, p.ema_fast, p.ema_slow, p.macd_signal)[1],
        "macd_hist": talib.MACD(run.price, p.ema_fast, p.ema_slow, p.macd_signal)[2],
        f"rsi_{p.rsi}": talib.RSI(run.price, p.rsi),
        f"sma_{p.sma}": talib.SMA(run.price, p.sma),
        f"std_{p.sma}": talib.STDDEV(run.price, p.sma),
        f"roc_{p.roc}": talib.ROC(run.price, p.roc),
        f"min_{p.minmax}": talib.MIN(run.price, p.minmax),
        f"max_{p.minmax}": talib.MAX(run.price, p.minmax),
    }
    for name, ref in first.items():
        start = int(np.argmax(~np.isnan(ref)))
        got = run.columns[name]
        assert np.isnan(got[:start]).all() and not np.isnan(got[start]), name
