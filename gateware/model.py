"""Reference model of the indicator engine: the arithmetic the gateware must match bit for bit.

This file is the specification of every output word of :class:`~.engine.IndicatorEngine`.
It runs as compiled code (numba) so that it is also the host's fallback compute path (the
model board): one call processes a whole batch, with no interpreted loop per tick.

Per tick ``t`` of symbol ``s`` with price offset ``d`` (``int32`` pips) the engine does,
on the symbol's state::

    fresh  = count == 0 or flags & RESET           # state is then taken as:
             ema_fast = ema_slow = d << 16; macd_signal = avg_gain = avg_loss = 0;
             prev = d; sum = sumsq = 0; count = 0; ring pointer = 0
    X      = d << 16                                # Q.16
    ema_f  = ema_f + mulshr(X - ema_f, alpha_fast)
    ema_s  = ema_s + mulshr(X - ema_s, alpha_slow)
    macd   = ema_f - ema_s
    signal = signal + mulshr(macd - signal, alpha_signal)
    hist   = macd - signal
    delta  = d - prev;  prev = d
    gain   = max(delta, 0) << 16;  loss = max(-delta, 0) << 16
    avg_gain = avg_gain + mulshr(gain - avg_gain, alpha_rsi)   # same for avg_loss
    old    = ring[ptr - n_sma] if count >= n_sma else 0          # count before this tick
    sum    = sum + d - old;  sumsq = (sumsq + d*d - old*old) mod 2**64
    mom    = d - ring[ptr - n_roc] if count >= n_roc else 0
    ring[ptr] = d;  ptr = (ptr + 1) mod ring_depth;  count = min(count + 1, 2**32 - 1)
    min, max = extremes of the last min(count, n_minmax) prices, this one included

where ``mulshr(x, a) = floor(x * a / 2**18)`` (arithmetic shift; ``a`` is Q0.18).

Error bound of the float conversions (:mod:`tickgate.drivers.features`): each recurrence
step truncates by less than one LSB (2**-16 pip), so an EMA with factor alpha is within
``2**-16 / alpha`` pip of the same EMA computed in exact arithmetic with the quantised alpha;
alpha itself is within 2**-19 of ``2/(n+1)`` (or ``1/n``). Window sums and extremes are exact;
the variance ``(n*sumsq - sum**2) mod 2**64`` is exact while ``n * std < 2**32`` pips.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .params import ALPHA_BITS, EngineConfig, EngineParams
from .records import FEATURE_DTYPE, TICK_DTYPE, FeatureValid, TickFlag

__all__ = ["mulshr", "EngineState", "EngineModel"]

_ALPHA_MASK = (1 << ALPHA_BITS) - 1
_COUNT_MAX = 2**32 - 1
# numba reads module constants, not class attributes
_RESET = TickFlag.RESET
_V_SMA = FeatureValid.SMA
_V_ROC = FeatureValid.ROC
_V_MINMAX = FeatureValid.MINMAX
_V_BAD_SYMBOL = FeatureValid.BAD_SYMBOL


@njit(cache=True, inline="always")
def mulshr(x: int, a: int) -> int:
    """Return ``floor(x * a / 2**18)`` exactly for ``|x| < 2**62``, ``0 <= a < 2**18``.

    The product may need 80 bits; splitting ``x`` into ``hi * 2**18 + lo`` keeps every
    partial product inside ``int64``.
    """
    return (x >> ALPHA_BITS) * a + (((x & _ALPHA_MASK) * a) >> ALPHA_BITS)


@njit(cache=True)
def _run(ticks, out, cfg, count, ptr, prev, ema_f, ema_s, sig, gain_avg, loss_avg,
         s1, s2, ring):  # pragma: no cover - compiled
    a_fast, a_slow, a_sig, a_rsi, n_sma, n_roc, n_mm = cfg
    n_symbols = count.shape[0]
    ring_mask = ring.shape[1] - 1
    for i in range(ticks.shape[0]):
        tick = ticks[i]
        rec = out[i]
        d = np.int64(tick.price)
        sym = np.int64(tick.symbol)
        rec.seq = tick.seq
        rec.ts = tick.ts
        rec.price = tick.price
        rec.symbol = tick.symbol
        rec.flags = tick.flags
        if sym >= n_symbols:
            rec.valid = _V_BAD_SYMBOL
            rec.count = 0
            rec.min = 0
            rec.max = 0
            rec.ema_fast = 0
            rec.ema_slow = 0
            rec.macd = 0
            rec.macd_signal = 0
            rec.macd_hist = 0
            rec.sum = 0
            rec.sumsq = 0
            rec.avg_gain = 0
            rec.avg_loss = 0
            rec.mom = 0
            continue
        x = d << 16
        c = count[sym]
        if c == 0 or (tick.flags & _RESET):
            c = 0
            p = 0
            e_f = x
            e_s = x
            sg = np.int64(0)
            ag = np.int64(0)
            al = np.int64(0)
            pv = d
            a1 = np.int64(0)
            a2 = np.uint64(0)
        else:
            p = ptr[sym]
            e_f = ema_f[sym]
            e_s = ema_s[sym]
            sg = sig[sym]
            ag = gain_avg[sym]
            al = loss_avg[sym]
            pv = prev[sym]
            a1 = s1[sym]
            a2 = s2[sym]
        e_f = e_f + mulshr(x - e_f, a_fast)
        e_s = e_s + mulshr(x - e_s, a_slow)
        macd = e_f - e_s
        sg = sg + mulshr(macd - sg, a_sig)
        delta = d - pv
        up = (delta << 16) if delta > 0 else np.int64(0)
        down = ((-delta) << 16) if delta < 0 else np.int64(0)
        ag = ag + mulshr(up - ag, a_rsi)
        al = al + mulshr(down - al, a_rsi)
        row = ring[sym]
        valid = 0
        if c >= n_sma:
            old = np.int64(row[(p - n_sma) & ring_mask])
            valid |= _V_SMA
        else:
            old = np.int64(0)
        a1 = a1 + d - old
        a2 = a2 + np.uint64(d * d) - np.uint64(old * old)
        if c >= n_roc:
            mom = d - np.int64(row[(p - n_roc) & ring_mask])
            valid |= _V_ROC
        else:
            mom = np.int64(0)
        row[p] = d
        p = (p + 1) & ring_mask
        c = c + 1 if c < _COUNT_MAX else c
        k = c if c < n_mm else n_mm
        if c >= n_mm:
            valid |= _V_MINMAX
        lo = d
        hi = d
        for j in range(1, k):
            v = np.int64(row[(p - 1 - j) & ring_mask])
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        count[sym] = c
        ptr[sym] = p
        prev[sym] = d
        ema_f[sym] = e_f
        ema_s[sym] = e_s
        sig[sym] = sg
        gain_avg[sym] = ag
        loss_avg[sym] = al
        s1[sym] = a1
        s2[sym] = a2
        rec.valid = valid
        rec.count = c
        rec.min = lo
        rec.max = hi
        rec.ema_fast = e_f
        rec.ema_slow = e_s
        rec.macd = macd
        rec.macd_signal = sg
        rec.macd_hist = macd - sg
        rec.sum = a1
        rec.sumsq = a2
        rec.avg_gain = ag
        rec.avg_loss = al
        rec.mom = mom


class EngineState:
    """Per-symbol state of the engine, as numpy arrays (one row per symbol)."""

    def __init__(self, params: EngineParams) -> None:
        n = params.n_symbols
        self.count = np.zeros(n, np.int64)
        self.ptr = np.zeros(n, np.int64)
        self.prev = np.zeros(n, np.int64)
        self.ema_fast = np.zeros(n, np.int64)
        self.ema_slow = np.zeros(n, np.int64)
        self.macd_signal = np.zeros(n, np.int64)
        self.avg_gain = np.zeros(n, np.int64)
        self.avg_loss = np.zeros(n, np.int64)
        self.sum = np.zeros(n, np.int64)
        self.sumsq = np.zeros(n, np.uint64)
        self.ring = np.zeros((n, params.ring_depth), np.int32)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.count, self.ptr, self.prev, self.ema_fast, self.ema_slow,
                self.macd_signal, self.avg_gain, self.avg_loss, self.sum, self.sumsq,
                self.ring)


class EngineModel:
    """The engine's reference model: feed batches of tick records, get feature records.

    State persists across calls, exactly as the card's block RAM does across DMA batches.
    """

    def __init__(self, params: EngineParams | None = None,
                 config: EngineConfig | None = None) -> None:
        self.params = params or EngineParams()
        self.state = EngineState(self.params)
        self.configure(config or EngineConfig())

    def configure(self, config: EngineConfig) -> None:
        """Set the run-time registers (checked against the build parameters)."""
        config.check(self.params)
        self.config = config
        c = config
        self._cfg = (np.int64(c.alpha_fast), np.int64(c.alpha_slow), np.int64(c.alpha_signal),
                     np.int64(c.alpha_rsi), np.int64(c.n_sma), np.int64(c.n_roc),
                     np.int64(c.n_minmax))

    def reset(self) -> None:
        """Forget every symbol's state (as after configuring the FPGA)."""
        self.state = EngineState(self.params)

    def process(self, ticks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Run a batch of ``TICK_DTYPE`` records; return one ``FEATURE_DTYPE`` record each.

        ``out`` may be given to reuse a buffer (at least ``len(ticks)`` records).
        """
        if ticks.dtype != TICK_DTYPE:
            raise TypeError(f"ticks must have TICK_DTYPE, not {ticks.dtype}")
        if out is None:
            out = np.zeros(len(ticks), FEATURE_DTYPE)
        else:
            out = out[: len(ticks)]
        _run(ticks, out, self._cfg, *self.state.arrays())
        return out
