"""One tick through the engine and the decision unit in one compiled call.

The live feed hands the card one tick at a time (the daemon's hot path), where the
interpreted steps around the two compiled models cost more than the models: two dispatches,
a decision buffer, and a dozen structured-scalar reads and writes to copy the decision
into the output record. :func:`one_tick` runs the engine's and the decision unit's own
compiled batch functions (``model._run``, ``decision_model._run``: the same arithmetic, so
the same bits as :meth:`.TopModel.tick_records`) on a batch of one, writes the decision
into the record as ``tick_records`` does, and returns the few values the risk gate's step
needs as plain integers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .decision_model import DECISION_DTYPE
from .decision_model import _run as _decide
from .model import _run as _engine
from .records import OutputKind

__all__ = ["one_tick", "decision_scratch"]

_FEATURE = np.uint8(OutputKind.FEATURE)
_FEATURE_ORDER = np.uint8(OutputKind.FEATURE | OutputKind.ORDER)


def decision_scratch() -> np.ndarray:
    """The decision buffer :func:`one_tick` reuses (one ``DECISION_DTYPE`` record)."""
    return np.zeros(1, DECISION_DTYPE)


@njit(cache=True)
def one_tick(ticks, feats, out, dec, ecfg, words, hist, dcfg, weights, shifts, states,
             counter):  # pragma: no cover - compiled
    """Engine then decision unit on ``ticks`` (one ``TICK_DTYPE`` record) into ``feats``
    (one zeroed ``FEATURE_DTYPE`` record) and ``out`` (``feats`` viewed as
    ``OUTPUT_DTYPE``); ``dec`` is scratch. Returns ``(saturated, fired, symbol, price, ts,
    valid, side, qty, order_price)`` of the record."""
    _engine(ticks, feats, ecfg, words, hist)
    d = dec[0]
    d.fire = 0
    d.side = 0
    d.qty = 0
    d.price = 0
    d.strategy = 0
    d.order_id = 0
    d.symbol = 0
    d.score = 0
    d.saturated = 0
    _decide(feats, dec, dcfg, weights, shifts, states, counter)
    o = out[0]
    o.score = d.score
    fired = d.fire != 0
    if fired:
        o.kind = _FEATURE_ORDER
        o.order_id = d.order_id
        o.qty = d.qty
        o.order_price = d.price
        o.side = d.side
        o.strategy = d.strategy
    else:
        o.kind = _FEATURE
    return (np.int64(d.saturated != 0), np.int64(fired), np.int64(o.symbol),
            np.int64(o.price), np.int64(o.ts), np.int64(o.valid), np.int64(o.side),
            np.int64(o.qty), np.int64(o.order_price))
