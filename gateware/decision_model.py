"""Reference model of the decision unit: the arithmetic :class:`~.decision.DecisionUnit` must
match bit for bit, compiled with numba (one call per batch, no interpreted loop per record).

Per feature record ``r`` (exact integers; ``>>`` is the arithmetic shift, i.e. floor)::

    w(v)  = the low WORD_BITS (51) bits of the 64-bit word v, signed: in [-2**50, 2**50)
    x = ((price << 16) - w(ema_fast), (price << 16) - w(ema_slow), w(macd), w(macd_hist),
         w(mom), w(avg_gain) - w(avg_loss), 2*price - max - min, max - min)  # DECISION_INPUTS
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

Input domain
------------
The seven 64-bit words are read modulo ``2**WORD_BITS`` (:func:`wrap_word`; the same
slice in the gateware). The card's engine never produces a word outside
``[-2**50, 2**50)`` (its smoothing state is 50 bits wide, ``macd_hist`` 51, ``mom`` 33), so
on the card this is the identity; records fed to the unit directly (benches) get the
wrapped reading. It keeps every ``x_k`` within 52 bits and the gateware's datapath within
64 (until this change the words were read whole and ``x_k`` needed 65 bits).

Exactness in int64: ``|x_k| < 2**51`` (a difference of two numbers in ``[-2**50, 2**50)``,
or ``price << 16`` and one), formed exactly; then
``|weight * q| <= 2**32`` and ``|score| <= 8 * 2**32 + 2**31 < 2**36``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .decision import FLAT, LONG, N_INPUTS, Q_BITS, SHORT, WORD_BITS, DecisionConfig
from .params import EngineParams
from .records import FEATURE_DTYPE, FeatureValid, Side

__all__ = ["DECISION_DTYPE", "wrap_word", "quantise", "DecisionState", "DecisionModel"]

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
_WORD_MASK = 2**WORD_BITS - 1
_WORD_HALF = 2**(WORD_BITS - 1)
_WORD_SPAN = 2**WORD_BITS
_BAD = FeatureValid.BAD_SYMBOL
_BUY = Side.BUY
_SELL = Side.SELL
_FLAT, _LONG, _SHORT = FLAT, LONG, SHORT


@njit(cache=True, inline="always")
def wrap_word(v: int) -> int:
    """Return the int64 ``v`` as the unit reads it: its low ``WORD_BITS`` bits, signed
    (``v`` modulo ``2**WORD_BITS`` in ``[-2**(WORD_BITS-1), 2**(WORD_BITS-1))``)."""
    w = np.int64(v) & _WORD_MASK
    return w - _WORD_SPAN if w >= _WORD_HALF else w


@njit(cache=True, inline="always")
def quantise(x: int, shift: int) -> tuple[int, bool]:
    """Return ``(clamp(x >> shift, Q_MIN, Q_MAX), clamped)``: ``x`` int64 (an input
    ``x_k``, ``|x| < 2**51``), ``0 <= shift <= 63``; ``>>`` is the floor."""
    d = x >> shift
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
    x = np.zeros(N_INPUTS, np.int64)
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
        x[0] = p16 - wrap_word(r.ema_fast)
        x[1] = p16 - wrap_word(r.ema_slow)
        x[2] = wrap_word(r.macd)
        x[3] = wrap_word(r.macd_hist)
        x[4] = wrap_word(r.mom)
        x[5] = wrap_word(r.avg_gain) - wrap_word(r.avg_loss)
        x[6] = 2 * price - hi - lo
        x[7] = hi - lo
        score = bias
        sat = False
        for k in range(N_INPUTS):
            q, clamped = quantise(x[k], shifts[k])
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
