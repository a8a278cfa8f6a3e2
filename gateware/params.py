"""Build parameters and run-time configuration of the indicator engine.

Build parameters (:class:`EngineParams`) fix RAM sizes; the run-time configuration
(:class:`EngineConfig`) holds the values the host writes to registers: smoothing factors as
unsigned ``Q0.18`` and window lengths as plain integers. :func:`EngineConfig.from_periods`
is the one place that turns indicator periods into register values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["ALPHA_BITS", "EngineParams", "EngineConfig", "alpha_ema", "alpha_wilder"]

#: Fraction bits of a smoothing factor; alpha is unsigned Q0.18 (fits a DSP48's B port).
ALPHA_BITS = 18


def alpha_ema(period: int) -> int:
    """Return ``round(2 / (period + 1) * 2**18)``, TA-Lib's EMA factor, as Q0.18."""
    if not 2 <= period < 2 * 2**ALPHA_BITS:
        raise ValueError(f"EMA period must be 2 .. {2 * 2**ALPHA_BITS - 1}, not {period}")
    return (2 * 2**ALPHA_BITS + (period + 1) // 2) // (period + 1)


def alpha_wilder(period: int) -> int:
    """Return ``round(1 / period * 2**18)``, Wilder's smoothing factor, as Q0.18."""
    if not 2 <= period <= 2**ALPHA_BITS:
        raise ValueError(f"Wilder period must be 2 .. {2**ALPHA_BITS}, not {period}")
    return (2**ALPHA_BITS + period // 2) // period


@dataclass(frozen=True, kw_only=True)
class EngineParams:
    """Build-time sizes of the engine.

    n_symbols: symbols with their own state (64 by default, up to 256).
    ring_depth: price history per symbol, the longest SMA/variance window and ROC period.
    minmax_depth: the longest min/max window (leaves of the per-symbol min/max tree).
    """

    n_symbols: int = 64
    ring_depth: int = 256
    minmax_depth: int = 64

    def __post_init__(self) -> None:
        for name in ("n_symbols", "ring_depth", "minmax_depth"):
            value = getattr(self, name)
            if value < 2 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two >= 2, not {value}")
        if self.n_symbols > 256:
            raise ValueError(f"n_symbols must be at most 256, not {self.n_symbols}")

    @property
    def symbol_bits(self) -> int:
        return (self.n_symbols - 1).bit_length()

    @property
    def ring_bits(self) -> int:
        return (self.ring_depth - 1).bit_length()

    @property
    def minmax_bits(self) -> int:
        return (self.minmax_depth - 1).bit_length()


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Run-time register values. Alphas are Q0.18 in 1 .. 2**18-1; windows are counts.

    n_sma: SMA/variance window, 1 .. ring_depth.
    n_roc: momentum/ROC period, 1 .. ring_depth.
    n_minmax: min/max window, 1 .. minmax_depth.
    A change takes effect on the next tick; a change of a window length leaves the running
    sums of symbols already in flight inconsistent, so the host resets every symbol (a tick
    with the RESET flag) after changing one.
    """

    alpha_fast: int = alpha_ema(12)
    alpha_slow: int = alpha_ema(26)
    alpha_signal: int = alpha_ema(9)
    alpha_rsi: int = alpha_wilder(14)
    n_sma: int = 20
    n_roc: int = 10
    n_minmax: int = 20

    def check(self, params: EngineParams) -> None:
        """Raise ``ValueError`` if a value does not fit its register or the build."""
        for name in ("alpha_fast", "alpha_slow", "alpha_signal", "alpha_rsi"):
            value = getattr(self, name)
            if not 1 <= value < 2**ALPHA_BITS:
                raise ValueError(f"{name} must be 1 .. {2**ALPHA_BITS - 1} (Q0.18), "
                                 f"not {value}")
        for name, top in (("n_sma", params.ring_depth), ("n_roc", params.ring_depth),
                          ("n_minmax", params.minmax_depth)):
            value = getattr(self, name)
            if not 1 <= value <= top:
                raise ValueError(f"{name} must be 1 .. {top} for this build, not {value}")

    @classmethod
    def from_periods(cls, *, ema_fast: int = 12, ema_slow: int = 26, macd_signal: int = 9,
                     rsi: int = 14, sma: int = 20, roc: int = 10,
                     minmax: int = 20) -> EngineConfig:
        """Return the register values for indicator periods (TA-Lib conventions)."""
        return cls(alpha_fast=alpha_ema(ema_fast), alpha_slow=alpha_ema(ema_slow),
                   alpha_signal=alpha_ema(macd_signal), alpha_rsi=alpha_wilder(rsi),
                   n_sma=sma, n_roc=roc, n_minmax=minmax)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
