"""Reference model of the whole card: engine, decision unit and risk gate, record for record.

:class:`TopModel` produces exactly the ``OUTPUT_DTYPE`` records of
:class:`~.top.TickgateTop`. The engine and the decision unit depend only on the order of
the ticks, so they run in batches (:meth:`TopModel.tick_records`); the risk gate depends on
how ticks and host orders were interleaved by the card's arbiter, so the model takes that
order as given: :meth:`TopModel.pass_tick` and :meth:`TopModel.pass_order` apply one record
to the gate's state in turn and return the finished record.

:meth:`TopModel.process_ticks` does a whole batch of ticks with no host order or position
write between them (what the card does during one DMA transfer of ticks): the gate's tick
updates between two fired intents are applied in bulk, so a batch costs a Python step per
intent, not per tick.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .decision import DecisionConfig
from .decision_model import DecisionModel
from .model import EngineModel
from .params import EngineConfig, EngineParams
from .records import (
    FEATURE_DTYPE,
    ORDER_DTYPE,
    OUTPUT_DTYPE,
    TICK_DTYPE,
    FeatureValid,
    OutputKind,
)
from .risk_model import RiskLimits, RiskModel
from .top_one import decision_scratch, one_tick

__all__ = ["TopModel"]

_BAD_SYMBOL = int(FeatureValid.BAD_SYMBOL)


class TopModel:
    """The card's model (see the module docstring). State persists across calls."""

    def __init__(self, params: EngineParams | None = None, *,
                 engine: EngineConfig | None = None, decision: DecisionConfig | None = None,
                 limits: RiskLimits | None = None) -> None:
        self.params = params or EngineParams()
        self.engine = EngineModel(self.params, engine or EngineConfig())
        self.decision = DecisionModel(self.params, decision or DecisionConfig())
        self.risk = RiskModel(self.params.n_symbols, limits)

        #: Records of the last :meth:`tick_records` whose decision inputs saturated.
        self.saturations = 0
        #: Intents fired by the last :meth:`process_ticks`.
        self.intents = 0
        self._scratch = decision_scratch()

    def save_symbol(self, s: int) -> tuple[Any, ...]:
        """Everything a tick of symbol ``s`` and an order of ``s`` can change: ``s``'s rows
        of the engine's and the decision unit's state, the decision unit's order counter,
        the risk gate's entry of ``s`` and its scalars, the last call's counts; for
        :meth:`restore_symbol` (the daemon's rehearsal: a tick run for real, then undone)."""
        engine, decision, risk = self.engine.state, self.decision.state, self.risk
        return (s, engine.words[s].copy(), engine.history[s].copy(), int(decision.states[s]),
                int(decision.counter[0]), dict(vars(risk.symbols[s])), dict(vars(risk)),
                self.saturations, self.intents)

    def restore_symbol(self, saved: tuple[Any, ...]) -> None:
        """Put back what :meth:`save_symbol` saved."""
        s, words, history, state, counter, entry, risk_vars, saturations, intents = saved
        engine, decision, risk = self.engine.state, self.decision.state, self.risk
        engine.words[s] = words
        engine.history[s] = history
        decision.states[s] = state
        decision.counter[0] = counter
        vars(risk).update(risk_vars)
        vars(risk.symbols[s]).update(entry)
        self.saturations, self.intents = saturations, intents

    def tick_records(self, ticks: np.ndarray) -> np.ndarray:
        """Run ticks through the engine and the decision unit; return unchecked records.

        Each record has the features, ``kind`` (FEATURE, plus ORDER when the decision fired),
        the score and the intent; its verdict is added by :meth:`pass_tick`.
        """
        features = self.engine.process(ticks)
        decisions = self.decision.process(features)
        # The output record is the feature record with its padding put to use: same bytes,
        # and the engine's fresh buffer has zero padding.
        out = features.view(OUTPUT_DTYPE)
        if len(out) == 1:                   # the live feed's case: scalar steps
            d, rec = decisions[0], out[0]   # (a structured scalar is a view of its array)
            self.saturations = 1 if d["saturated"] else 0
            rec["score"] = d["score"]
            if d["fire"]:
                rec["kind"] = OutputKind.FEATURE | OutputKind.ORDER
                rec["order_id"], rec["qty"] = d["order_id"], d["qty"]
                rec["order_price"], rec["side"] = d["price"], d["side"]
                rec["strategy"] = d["strategy"]
            else:
                rec["kind"] = OutputKind.FEATURE
            return out
        self.saturations = int(np.count_nonzero(decisions["saturated"]))
        fire = decisions["fire"].astype(bool)
        out["kind"] = np.where(fire, OutputKind.FEATURE | OutputKind.ORDER, OutputKind.FEATURE)
        out["score"] = decisions["score"]
        if fire.any():
            for name, src in (("order_id", "order_id"), ("qty", "qty"),
                              ("order_price", "price"), ("side", "side"),
                              ("strategy", "strategy")):
                out[name][fire] = decisions[src][fire]
        return out

    def process_ticks(self, ticks: np.ndarray) -> np.ndarray:
        """Run a batch of ticks through the whole card; return its finished records.

        The same as :meth:`tick_records` then :meth:`pass_tick` on each record, in bulk.
        """
        if len(ticks) == 1:                 # the live feed's case: one compiled call
            return self._one_tick(ticks)
        out = self.tick_records(ticks)
        fired = np.flatnonzero(out["kind"] & OutputKind.ORDER)
        #: Intents fired by the last batch.
        self.intents = len(fired)
        good = (out["valid"] & FeatureValid.BAD_SYMBOL) == 0
        start = 0
        for i in fired:
            self._bulk_ticks(out, good, start, i + 1)
            out["reject"][i] = self.risk.order(
                symbol=int(out["symbol"][i]), side=int(out["side"][i]), qty=int(out["qty"][i]),
                price=int(out["order_price"][i]))
            start = i + 1
        self._bulk_ticks(out, good, start, len(out))
        return out

    def _one_tick(self, ticks: np.ndarray) -> np.ndarray:
        """:meth:`process_ticks` of one tick (:func:`.top_one.one_tick`, then the gate)."""
        if ticks.dtype != TICK_DTYPE:
            raise TypeError(f"ticks must have TICK_DTYPE, not {ticks.dtype}")
        feats = np.zeros(1, FEATURE_DTYPE)
        out = feats.view(OUTPUT_DTYPE)
        engine, decision = self.engine, self.decision
        sat, fired, symbol, price, ts, valid, side, qty, order_price = one_tick(
            ticks, feats, out, self._scratch, engine._cfg, engine.state.words,
            engine.state.history, decision._cfg, decision._weights, decision._shifts,
            decision.state.states, decision.state.counter)
        self.saturations = sat
        if not valid & _BAD_SYMBOL:
            self.risk.tick(symbol, price, ts)
        self.intents = fired
        if fired:
            out["reject"][0] = self.check_intent(symbol, side, qty, order_price)
        return out

    def check_intent(self, symbol: int, side: int, qty: int, price: int) -> int:
        """The risk gate's verdict on a fired intent (0: accepted, else the reject bits);
        an accepted one moves the gate's state."""
        return self.risk.order(symbol=symbol, side=side, qty=qty, price=price)

    def _bulk_ticks(self, out: np.ndarray, good: np.ndarray, start: int, stop: int) -> None:
        """Apply the ticks of ``out[start:stop]`` to the gate (only the last of each symbol
        and of all matter)."""
        if stop - start == 1:               # the common case of a live feed: one tick
            if good[start]:
                self.risk.tick(int(out["symbol"][start]), int(out["price"][start]),
                               int(out["ts"][start]))
            return
        where = start + np.flatnonzero(good[start:stop])
        if not len(where):
            return
        symbols = out["symbol"][where]
        # The last tick of each symbol: unique over the reversed segment.
        _, first_rev = np.unique(symbols[::-1], return_index=True)
        for k in where[len(where) - 1 - first_rev]:
            self.risk.tick(int(out["symbol"][k]), int(out["price"][k]), int(out["ts"][k]))
        last = where[-1]
        self.risk.tick(int(out["symbol"][last]), int(out["price"][last]), int(out["ts"][last]))

    def pass_tick(self, record: np.void) -> np.void:
        """Apply one record of :meth:`tick_records` to the risk gate; return it finished."""
        record = record.copy()
        if not record["valid"] & FeatureValid.BAD_SYMBOL:
            self.risk.tick(int(record["symbol"]), int(record["price"]), int(record["ts"]))
        if record["kind"] & OutputKind.ORDER:
            record["reject"] = self.risk.order(
                symbol=int(record["symbol"]), side=int(record["side"]), qty=int(record["qty"]),
                price=int(record["order_price"]))
        return record

    def pass_order(self, order: np.void) -> np.void:
        """Check one host order (an ``ORDER_DTYPE`` record); return its output record."""
        if order.dtype != ORDER_DTYPE:
            raise TypeError(f"order must have ORDER_DTYPE, not {order.dtype}")
        out = np.zeros((), OUTPUT_DTYPE)
        out["kind"] = OutputKind.ORDER | OutputKind.HOST
        out["symbol"] = order["symbol"]
        out["order_id"] = order["order_id"]
        out["qty"] = order["qty"]
        out["order_price"] = order["price"]
        out["side"] = order["side"]
        out["strategy"] = order["strategy"]
        out["reject"] = self.risk.order(symbol=int(order["symbol"]), side=int(order["side"]),
                                        qty=int(order["qty"]), price=int(order["price"]),
                                        flags=int(order["flags"]))
        out["ts"] = self.risk.now
        return out[()]
