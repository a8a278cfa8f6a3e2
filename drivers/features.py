"""Feature records to floats: indicator values in price units, named by indicator and period.

The card's words are integers (see :mod:`tickgate.gateware.records`); this module adds each
symbol's base back to price-level words and divides by ``10**pip_size``, giving prices in
the quote's own units. Columns (``n`` = the period of :class:`IndicatorPeriods`):

=================  =========================================================  ============
column             value                                                      NaN while
=================  =========================================================  ============
``ema_<fast>``     EMA of the price, factor ``2/(fast+1)``                    count < fast
``ema_<slow>``     EMA of the price, factor ``2/(slow+1)``                    count < slow
``macd``           ``ema_fast - ema_slow`` (a price difference)               count < slow
``macd_signal``    EMA of ``macd``, factor ``2/(signal+1)``                   count < slow+signal-1
``macd_hist``      ``macd - macd_signal``                                     as signal
``rsi_<n>``        ``100 * G / (G + L)`` of Wilder averages; 0 if both are    count <= n
                   0 (TA-Lib's convention)
``sma_<n>``        mean of the last ``n`` prices                              window not full
``std_<n>``        population std of the window (TA-Lib ``STDDEV``,           window not full
                   Bollinger): ``sqrt((n*sumsq - sum**2) mod 2**64) / n``
``zscore_<n>``     ``(price - sma) / std``; NaN also when ``std == 0``        window not full
``roc_<n>``        ``100 * (price / price_n - 1)`` (TA-Lib ``ROC``), with     count <= n
                   ``price_n = price - mom``, computed as ``100*mom/price_n``
``min_<n>``        lowest price of the last ``n`` ticks                       window not full
``max_<n>``        highest price of the last ``n`` ticks                      window not full
=================  =========================================================  ============

"NaN while" follows TA-Lib's first output (its lookback); the model's EMAs start from the
first price, TA-Lib's from a mean of the first ``period`` prices, so the two agree only
after a few periods (see the error bound in :mod:`tickgate.gateware.model`). A record with
the ``BAD_SYMBOL`` valid bit, or a symbol without a base, has every column NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from tickgate.gateware.params import EngineConfig
from tickgate.gateware.records import FRAC_BITS, FeatureValid

__all__ = ["IndicatorPeriods", "price_levels", "feature_columns"]

_ONE = float(1 << FRAC_BITS)


@dataclass(frozen=True, kw_only=True)
class IndicatorPeriods:
    """Indicator periods in ticks (TA-Lib conventions); the defaults are TA-Lib's.

    ema_fast, ema_slow, macd_signal: MACD's EMAs (12, 26, 9); ``ema_fast < ema_slow``.
    rsi: Wilder RSI period (14). sma: SMA, std and z-score window (20).
    roc: rate-of-change period (10). minmax: min/max window (20).
    """

    ema_fast: int = 12
    ema_slow: int = 26
    macd_signal: int = 9
    rsi: int = 14
    sma: int = 20
    roc: int = 10
    minmax: int = 20

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"period {f.name} must be a positive integer, not {value!r}")
        if self.ema_fast >= self.ema_slow:
            raise ValueError(f"ema_fast ({self.ema_fast}) must be shorter than ema_slow "
                             f"({self.ema_slow})")
        self.engine_config()  # raises for a period the registers cannot hold

    @classmethod
    def from_mapping(cls, table: Mapping[str, object],
                     where: str = "[indicators]") -> IndicatorPeriods:
        """Return the periods of a config table; unknown keys are refused."""
        known = [f.name for f in fields(cls)]
        for key in table:
            if key not in known:
                raise ValueError(f"unknown key {key!r} in {where}; the keys are "
                                 f"{', '.join(known)}")
        return cls(**table)  # type: ignore[arg-type]

    def engine_config(self) -> EngineConfig:
        """Return the engine's register values for these periods."""
        return EngineConfig.from_periods(
            ema_fast=self.ema_fast, ema_slow=self.ema_slow, macd_signal=self.macd_signal,
            rsi=self.rsi, sma=self.sma, roc=self.roc, minmax=self.minmax)

    def column_names(self) -> list[str]:
        """Return the names of the float columns, in output order."""
        return [f"ema_{self.ema_fast}", f"ema_{self.ema_slow}", "macd", "macd_signal",
                "macd_hist", f"rsi_{self.rsi}", f"sma_{self.sma}", f"std_{self.sma}",
                f"zscore_{self.sma}", f"roc_{self.roc}", f"min_{self.minmax}",
                f"max_{self.minmax}"]


def _symbol_scaling(records: np.ndarray, bases: np.ndarray,
                    pip_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (base as float, 10**pip_size as float, usable) per record."""
    sym = records["symbol"].astype(np.int64)
    known = sym < len(bases)
    idx = np.where(known, sym, 0)
    usable = (known & ((records["valid"] & FeatureValid.BAD_SYMBOL) == 0)
              & (np.asarray(pip_sizes)[idx] >= 0))
    base = np.asarray(bases, np.int64)[idx].astype(np.float64)
    scale = 10.0 ** np.maximum(np.asarray(pip_sizes)[idx], 0)
    return base, scale, usable


def price_levels(records: np.ndarray, bases: np.ndarray, pip_sizes: np.ndarray) -> np.ndarray:
    """Return each record's price in quote units, ``(price + base) / 10**pip_size``.

    ``bases`` (pips, int64) and ``pip_sizes`` (decimals; negative = unknown) are indexed by
    symbol, as :class:`tickgate.drivers.packer.Packer` gives them.
    """
    base, scale, usable = _symbol_scaling(records, bases, pip_sizes)
    return np.where(usable, (records["price"] + base) / scale, np.nan)


def feature_columns(records: np.ndarray, periods: IndicatorPeriods, bases: np.ndarray,
                    pip_sizes: np.ndarray) -> dict[str, np.ndarray]:
    """Return the float columns of ``FEATURE_DTYPE`` records, by :meth:`column_names` name.

    Parameters
    ----------
    records
        The card's output records.
    periods
        The periods the engine was configured with (names the columns, sets warm-up).
    bases, pip_sizes
        Per symbol index: base in pips (int64) and decimals (negative = unknown symbol).

    Returns
    -------
    dict of str to numpy.ndarray
        float64 arrays in quote units (``rsi`` and ``roc`` in percent, ``zscore`` in
        standard deviations); NaN during warm-up (see the module table).
    """
    p = periods
    base, scale, usable = _symbol_scaling(records, bases, pip_sizes)
    count = records["count"].astype(np.int64)
    valid = records["valid"]
    price = records["price"].astype(np.int64)

    def gate(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.where(usable & ok, values, np.nan)

    def level(q16_name: str) -> np.ndarray:
        return (records[q16_name] / _ONE + base) / scale

    def diff(q16_name: str) -> np.ndarray:
        return records[q16_name] / _ONE / scale

    n = p.sma
    full_sma = (records["valid"] & FeatureValid.SMA) != 0
    total = records["sum"].astype(np.int64)
    # n**2 * variance, exact modulo 2**64 (uint64 arithmetic wraps)
    spread = (np.uint64(n) * records["sumsq"] - total.view(np.uint64) * total.view(np.uint64))
    root = np.sqrt(spread.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        zscore = (n * price - total) / root
        gains = records["avg_gain"].astype(np.float64)
        moves = gains + records["avg_loss"]
        rsi = np.where(moves > 0, 100.0 * gains / moves, 0.0)
        mom = records["mom"].astype(np.float64)
        before = price + base - mom  # pips, exact below 2**53
        roc = 100.0 * mom / before
    signal_ok = count >= p.ema_slow + p.macd_signal - 1
    full_mm = (valid & FeatureValid.MINMAX) != 0
    columns = [
        gate(level("ema_fast"), count >= p.ema_fast),
        gate(level("ema_slow"), count >= p.ema_slow),
        gate(diff("macd"), count >= p.ema_slow),
        gate(diff("macd_signal"), signal_ok),
        gate(diff("macd_hist"), signal_ok),
        gate(rsi, count > p.rsi),
        gate((total / n + base) / scale, full_sma),
        gate(root / n / scale, full_sma),
        gate(zscore, full_sma & (spread != 0)),
        gate(roc, ((valid & FeatureValid.ROC) != 0) & (before != 0)),
        gate((records["min"] + base) / scale, full_mm),
        gate((records["max"] + base) / scale, full_mm),
    ]
    return dict(zip(p.column_names(), columns, strict=True))
