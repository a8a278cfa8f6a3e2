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


# Columns of the per-symbol state words (EngineState.words), all int64.
_W_COUNT = 0      # ticks since reset, saturating at 2**32-1
_W_PTR = 1        # next history slot, 0 .. depth-1
_W_PREV = 2       # previous price offset (RSI delta)
_W_EMA_F = 3      # Q.16
_W_EMA_S = 4      # Q.16
_W_SIG = 5        # Q.16
_W_GAIN = 6       # Q.16
_W_LOSS = 7       # Q.16
_W_SUM = 8        # exact sum of the SMA window
_W_SUMSQ = 9      # sum of squares, the bits of the uint64 word (wraps mod 2**64)
_N_WORDS = 10


@njit(cache=True)
def _run(ticks, out, cfg, words, hist):  # pragma: no cover - compiled
    """Process one batch of records, per-symbol state in ``words`` and ``hist``.

    ``hist`` holds each symbol's last ``depth`` prices twice (slot ``p`` and ``p + depth``)
    so that every window ending at the newest price is one contiguous slice.
    """
    a_fast, a_slow, a_sig, a_rsi, n_sma, n_roc, n_mm = cfg
    n_symbols = words.shape[0]
    depth = hist.shape[1] // 2
    mask = depth - 1
    for i in range(ticks.shape[0]):
        tick = ticks[i]
        rec = out[i]
        d = np.int64(tick.price)
        sym = np.int64(tick.symbol)
        f = tick.flags
        rec.seq = tick.seq
        rec.ts = tick.ts
        rec.price = tick.price
        rec.symbol = tick.symbol
        rec.flags = f
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
        st = words[sym]
        row = hist[sym]
        x = d << 16
        c = st[_W_COUNT]
        if c == 0 or (f & _RESET):
            c = np.int64(0)
            p = np.int64(0)
            e_f = x
            e_s = x
            sg = np.int64(0)
            ag = np.int64(0)
            al = np.int64(0)
            pv = d
            a1 = np.int64(0)
            a2 = np.int64(0)
        else:
            p = st[_W_PTR]
            e_f = st[_W_EMA_F]
            e_s = st[_W_EMA_S]
            sg = st[_W_SIG]
            ag = st[_W_GAIN]
            al = st[_W_LOSS]
            pv = st[_W_PREV]
            a1 = st[_W_SUM]
            a2 = st[_W_SUMSQ]
        e_f = e_f + mulshr(x - e_f, a_fast)
        e_s = e_s + mulshr(x - e_s, a_slow)
        macd = e_f - e_s
        sg = sg + mulshr(macd - sg, a_sig)
        delta = d - pv
        up = (delta << 16) if delta > 0 else np.int64(0)
        down = ((-delta) << 16) if delta < 0 else np.int64(0)
        ag = ag + mulshr(up - ag, a_rsi)
        al = al + mulshr(down - al, a_rsi)
        top = p + depth  # slot of this tick's second copy; top - k is k ticks back
        valid = 0
        if c + 1 >= n_sma:
            valid |= _V_SMA
        if c >= n_sma:
            old = np.int64(row[top - n_sma])
        else:
            old = np.int64(0)
        a1 = a1 + d - old
        a2 = a2 + d * d - old * old  # int64 wraps: the same bits as the uint64 sum
        if c >= n_roc:
            mom = d - np.int64(row[top - n_roc])
            valid |= _V_ROC
        else:
            mom = np.int64(0)
        row[p] = d
        row[top] = d
        c = c + 1 if c < _COUNT_MAX else c
        k = c if c < n_mm else n_mm
        if c >= n_mm:
            valid |= _V_MINMAX
        lo = np.int32(d)
        hi = np.int32(d)
        # the k-1 older prices of the window, contiguous; an unsigned index spares numba's
        # negative-index check, so LLVM vectorises the scan
        first = np.uint64(top + 1 - k)
        for j in range(np.uint64(0), np.uint64(k - 1)):
            v = row[first + j]
            lo = min(lo, v)
            hi = max(hi, v)
        st[_W_COUNT] = c
        st[_W_PTR] = (p + 1) & mask
        st[_W_PREV] = d
        st[_W_EMA_F] = e_f
        st[_W_EMA_S] = e_s
        st[_W_SIG] = sg
        st[_W_GAIN] = ag
        st[_W_LOSS] = al
        st[_W_SUM] = a1
        st[_W_SUMSQ] = a2
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
        rec.sumsq = np.uint64(a2)
        rec.avg_gain = ag
        rec.avg_loss = al
        rec.mom = mom


class EngineState:
    """Per-symbol state of the engine, as numpy arrays (one row per symbol).

    ``words`` is ``(n_symbols, 10)`` int64, one row per symbol (columns ``_W_*``: count,
    history pointer, previous price, the five Q.16 averages, window sum, and the bits of the
    uint64 sum of squares). ``history`` is ``(n_symbols, 2 * depth)`` int32 with
    ``depth = max(ring_depth, minmax_depth)``: the last ``depth`` prices, each stored twice
    so that any window ending at the newest price is contiguous.
    """

    def __init__(self, params: EngineParams) -> None:
        n = params.n_symbols
        depth = max(params.ring_depth, params.minmax_depth)
        self.words = np.zeros((n, _N_WORDS), np.int64)
        self.history = np.zeros((n, 2 * depth), np.int32)

    @property
    def count(self) -> np.ndarray:
        """Ticks of each symbol since its reset (a view)."""
        return self.words[:, _W_COUNT]

    @property
    def sumsq(self) -> np.ndarray:
        """Each symbol's sum of squares modulo 2**64, as uint64 (a copy)."""
        return self.words[:, _W_SUMSQ].view(np.uint64)


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
            if out.dtype != FEATURE_DTYPE:
                raise TypeError(f"out must have FEATURE_DTYPE, not {out.dtype}")
            if len(out) < len(ticks):
                raise ValueError(f"out holds {len(out)} records, fewer than the "
                                 f"{len(ticks)} ticks")
            out = out[: len(ticks)]
        if len(ticks) == 0:
            return out
        _run(ticks, out, self._cfg, self.state.words, self.state.history)
        return out
