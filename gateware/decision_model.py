"""Reference model of the decision unit: the arithmetic :class:`~.decision.DecisionUnit` must
match bit for bit, compiled with numba (one call per batch, no interpreted loop per record).

Per feature record ``r`` (exact integers; ``>>`` is the arithmetic shift, i.e. floor)::

    x = ((price << 16) - ema_fast, (price << 16) - ema_slow, macd, macd_hist, mom,
         avg_gain - avg_loss, 2*price - max - min, max - min)        # DECISION_INPUTS
    q_k   = clamp(x_k >> shift_k, -2**17, 2**17 - 1);  saturated = any q_k clamped
    score = bias + sum_k weight_k * q_k                              # |score| < 2**37
    bad   = valid & BAD_SYMBOL or symbol >= n_symbols  ->  all outputs 0, state untouched
    st    = FLAT if count == 1 else state[symbol]
    if enable and count >= warmup:
        FLAT:  score >= enter -> BUY, LONG;  elif score <= -enter -> SELL, SHORT
        LONG:  score < exit   -> SELL, FLAT
        SHORT: score > -exit  -> BUY, FLAT
    state[symbol] = st
    out: score = clamp(score, int32), saturated; if fired: fire = 1, side, qty, price,
         strategy, order_id = intents fired before (mod 2**32), symbol; else those are 0.

Exactness in int64
------------------
Each ``x_k`` is ``a - b`` with ``a``, ``b`` int64 (``b = 0`` for macd, macd_hist, mom;
``a = 2*price - max``, ``b = min`` for the channel position, ``|a| < 2**33``), but
``a - b`` may need 65 bits, so :func:`quantise` never forms it:

* ``shift >= 1``: write ``a = 2a' + a0``, ``b = 2b' + b0`` (``a' = a >> 1``, ``a0 = a & 1``).
  Then ``floor((a - b) / 2) = a' - b' + floor((a0 - b0) / 2) = a' - b' + ((a0 - b0) >> 1)``
  since ``a0 - b0`` is -1, 0 or 1. ``a'`` and ``b'`` lie in ``[-2**62, 2**62)``, so
  ``a' - b'`` lies in ``(-2**63, 2**63)`` and adding -1 or 0 stays in int64; shifting that
  by ``shift - 1`` gives ``floor((a - b) / 2**shift)`` (floors compose).
* ``shift == 0``: ``a - b`` overflows only when the signs differ. If ``b < 0`` and
  ``a > Q_MAX + b`` (no overflow: ``b < 0``) the true difference exceeds ``Q_MAX``; if
  ``b > 0`` and ``a < Q_MIN + b`` it is below ``Q_MIN``; otherwise ``a - b`` lies between
  ``min(a, Q_MIN)`` and ``max(a, Q_MAX)`` and is formed exactly.

Then ``|weight * q| <= 2**32`` and ``|score| <= 8 * 2**32 + 2**31 < 2**36``: int64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .decision import FLAT, LONG, N_INPUTS, Q_BITS, SHORT, DecisionConfig
from .params import EngineParams
from .records import FEATURE_DTYPE, FeatureValid, Side

__all__ = ["DECISION_DTYPE", "quantise", "DecisionState", "DecisionModel"]

#: One output per feature record: the intent (zero unless ``fire``), score and flag.
DECISION_DTYPE = np.dtype([
    ("fire", "u1"), ("side", "u1"), ("qty", "<i4"), ("price", "<i4"), ("strategy", "u1"),
    ("order_id", "<u4"), ("symbol", "u1"), ("score", "<i4"), ("saturated", "u1"),
])

Q_MAX = 2**(Q_BITS - 1) - 1
Q_MIN = -2**(Q_BITS - 1)
_I32_MAX = 2**31 - 1
_I32_MIN = -2**31
_U32_MASK = 2**32 - 1
_BAD = FeatureValid.BAD_SYMBOL
_BUY = Side.BUY
_SELL = Side.SELL
_FLAT, _LONG, _SHORT = FLAT, LONG, SHORT


@njit(cache=True, inline="always")
def quantise(a: int, b: int, shift: int) -> tuple[int, bool]:
    """Return ``(clamp((a - b) >> shift, Q_MIN, Q_MAX), clamped)`` exactly (module doc).

    ``a``, ``b`` int64, ``0 <= shift <= 63``.
    """
    if shift == 0:
        if b < 0 and a > Q_MAX + b:
            return np.int64(Q_MAX), True
        if b > 0 and a < Q_MIN + b:
            return np.int64(Q_MIN), True
        d = a - b
    else:
        d = ((a >> 1) - (b >> 1) + (((a & 1) - (b & 1)) >> 1)) >> (shift - 1)
    if d > Q_MAX:
        return np.int64(Q_MAX), True
    if d < Q_MIN:
        return np.int64(Q_MIN), True
    return d, False


@njit(cache=True)
def _run(feats, out, cfg, weights, shifts, states, counter):  # pragma: no cover - compiled
    """Decide one batch; ``states`` (per symbol) and ``counter[0]`` (next id) persist."""
    enable, warmup, bias, enter, exit_, qty, strategy = cfg
    n_symbols = states.shape[0]
    a = np.zeros(N_INPUTS, np.int64)
    b = np.zeros(N_INPUTS, np.int64)
    for i in range(feats.shape[0]):
        r = feats[i]
        o = out[i]
        sym = np.int64(r.symbol)
        if (r.valid & _BAD) or sym >= n_symbols:
            continue                        # out[i] is all zero
        price = np.int64(r.price)
        p16 = price << 16
        lo = np.int64(r.min)
        hi = np.int64(r.max)
        a[0] = p16
        b[0] = r.ema_fast
        a[1] = p16
        b[1] = r.ema_slow
        a[2] = r.macd
        a[3] = r.macd_hist
        a[4] = r.mom
        a[5] = r.avg_gain
        b[5] = r.avg_loss
        a[6] = 2 * price - hi
        b[6] = lo
        a[7] = hi
        b[7] = lo
        score = bias
        sat = False
        for k in range(N_INPUTS):
            q, clamped = quantise(a[k], b[k], shifts[k])
            score += weights[k] * q
            sat |= clamped
        count = np.int64(r.count)
        st = _FLAT if count == 1 else np.int64(states[sym])
        side = 0
        if enable and count >= warmup:
            if st == _FLAT:
                if score >= enter:
                    side = _BUY
                    st = _LONG
                elif score <= -enter:
                    side = _SELL
                    st = _SHORT
            elif st == _LONG:
                if score < exit_:
                    side = _SELL
                    st = _FLAT
            elif st == _SHORT:
                if score > -exit_:
                    side = _BUY
                    st = _FLAT
        states[sym] = st
        o.score = min(max(score, _I32_MIN), _I32_MAX)
        o.saturated = sat
        if side:
            o.fire = 1
            o.side = side
            o.qty = qty
            o.price = r.price
            o.strategy = strategy
            o.order_id = counter[0]
            o.symbol = r.symbol
            counter[0] = (counter[0] + 1) & _U32_MASK


class DecisionState:
    """The unit's state: each symbol's FLAT/LONG/SHORT and the next intent's order id."""

    def __init__(self, params: EngineParams) -> None:
        #: ``(n_symbols,)`` uint8, FLAT/LONG/SHORT.
        self.states = np.zeros(params.n_symbols, np.uint8)
        #: ``[next order id]`` as int64 (0 .. 2**32-1).
        self.counter = np.zeros(1, np.int64)

    @property
    def next_order_id(self) -> int:
        return int(self.counter[0])


class DecisionModel:
    """The decision unit's reference model: feed batches of feature records, get decisions.

    State persists across calls, exactly as the card's registers do across DMA batches.
    """

    def __init__(self, params: EngineParams | None = None,
                 config: DecisionConfig | None = None) -> None:
        self.params = params or EngineParams()
        self.state = DecisionState(self.params)
        self.configure(config or DecisionConfig())

    def configure(self, config: DecisionConfig) -> None:
        """Set the run-time registers (checked)."""
        config.check()
        self.config = config
        c = config
        self._cfg = tuple(np.int64(v) for v in (int(c.enable), c.warmup, c.bias, c.enter,
                                                 c.exit, c.qty, c.strategy))
        self._weights = np.array(c.weights, np.int64)
        self._shifts = np.array(c.shifts, np.int64)

    def reset(self) -> None:
        """Forget every symbol's state and restart the order ids at 0 (as after reset)."""
        self.state = DecisionState(self.params)

    def process(self, features: np.ndarray) -> np.ndarray:
        """Decide a batch of ``FEATURE_DTYPE`` records; return one ``DECISION_DTYPE`` each."""
        if features.dtype != FEATURE_DTYPE:
            raise TypeError(f"features must have FEATURE_DTYPE, not {features.dtype}")
        out = np.zeros(len(features), DECISION_DTYPE)
        if len(features):
            _run(features, out, self._cfg, self._weights, self._shifts, self.state.states,
                 self.state.counter)
        return out
