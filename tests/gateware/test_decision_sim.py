"""The decision unit in the Amaranth simulator, every output word against the model.

A bench offers a record in some cycles, drops ``en`` in others (offering garbage then, which
must be ignored), and checks in every cycle that the outputs are those of the record offered
exactly ``LATENCY`` enabled cycles before (or nothing, ``o_valid`` low, after an empty
slot), so the latency, the stall behaviour and every word are checked at once.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.hdl import Value
from amaranth.sim import Simulator
from streams import tick_stream

from tickgate.gateware.decision import (
    INTENT_LAYOUT,
    DecisionConfig,
    DecisionUnit,
    decision_config_to_int,
)
from tickgate.gateware.decision_model import DecisionModel
from tickgate.gateware.layouts import records_to_ints
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.primitives import ECP5Target
from tickgate.gateware.records import FEATURE_DTYPE, FeatureValid

SMALL = EngineParams(n_symbols=8)
TREND = DecisionConfig(enable=True, warmup=5, enter=150, exit=100, qty=3, strategy=9,
                       weights=(8, 4, 16, 16, 2, 1, 1, -1),
                       shifts=(16, 16, 16, 16, 0, 16, 0, 0))


def run_unit(params: EngineParams, config: DecisionConfig, features: np.ndarray, *,
             stall: float = 0.0, gap: float = 0.0, seed: int = 0) -> int:
    """Simulate the unit on ``features`` and check every cycle against the model; return the
    number of intents fired.

    ``stall``: chance per cycle of ``en`` low; ``gap``: chance of an empty slot.
    """
    dut = DecisionUnit(params)
    expected = DecisionModel(params, config).process(features).tolist()
    words = records_to_ints(features)
    latency = DecisionUnit.LATENCY
    checked: set[int] = set()

    async def bench(ctx):
        rng = random.Random(seed)
        ctx.set(Value.cast(dut.config), decision_config_to_int(config))
        slots: list[int | None] = []     # per enabled cycle: the record taken, if any
        edges = 0                        # enabled clock edges so far
        i = 0
        last = len(words)       # slot of the last record, once taken; then 3 empty slots
        while i < len(words) or edges - latency <= last + 3:
            j = edges - latency
            slot = slots[j] if j >= 0 else None
            valid = ctx.get(dut.o_valid)
            intent = INTENT_LAYOUT.from_bits(ctx.get(Value.cast(dut.o_intent)))
            if slot is None:
                assert (valid, intent.fire) == (0, 0), (edges, j)
            else:
                got = (intent.fire, intent.side, intent.qty, intent.price, intent.strategy,
                       intent.order_id, intent.symbol, ctx.get(dut.o_score),
                       ctx.get(dut.o_saturated))
                assert valid == 1 and got == expected[slot], (slot, got, expected[slot])
                checked.add(slot)
            en = edges < 2 or rng.random() >= stall       # two settling cycles first
            offer = i < len(words) and edges >= 2 and rng.random() >= gap
            ctx.set(dut.en, en)
            if en:
                ctx.set(dut.i_valid, offer)
                ctx.set(Value.cast(dut.i_feature),
                        words[i] if offer else rng.getrandbits(1024))
                slots.append(i if offer else None)
                i += offer
                if offer and i == len(words):
                    last = len(slots) - 1
                edges += 1
            else:       # anything offered while en is low must be ignored
                ctx.set(dut.i_valid, rng.random() < 0.5)
                ctx.set(Value.cast(dut.i_feature), rng.getrandbits(1024))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked == set(range(len(features)))
    return sum(row[0] for row in expected)


def engine_records(params: EngineParams, n: int, *, seed: int, symbols: int | None = None,
                   runs: float = 0.0) -> np.ndarray:
    """Return the engine model's records for random walks (RESET flags, bad symbols)."""
    rng = np.random.default_rng(seed)
    ticks = tick_stream(rng, n, params.n_symbols, symbols=symbols, bad=0.02, reset=0.01,
                        runs=runs)
    config = EngineConfig.from_periods(ema_fast=4, ema_slow=9, macd_signal=3, rsi=5,
                                       sma=8, roc=3, minmax=6)
    return EngineModel(EngineParams(n_symbols=params.n_symbols, ring_depth=16,
                                    minmax_depth=8), config).process(ticks)


def extreme_records(n: int, *, seed: int) -> np.ndarray:
    """Return records with every word random over its full range or at an edge."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (n, FEATURE_DTYPE.itemsize), dtype=np.uint8)
    out = raw.view(FEATURE_DTYPE).reshape(n).copy()
    for name in ("ema_fast", "ema_slow", "macd", "macd_hist", "mom", "avg_gain", "avg_loss"):
        pick = rng.random(n)
        out[name] = np.where(pick < 0.3, out[name] >> rng.integers(0, 64, n), out[name])
        out[name][pick > 0.9] = rng.choice([-2**63, 2**63 - 1, 0, -1], (pick > 0.9).sum())
    for name in ("price", "min", "max"):
        edge = rng.random(n) < 0.2
        out[name][edge] = rng.choice([-2**31, 2**31 - 1], edge.sum())
    out["count"] = np.where(rng.random(n) < 0.7, rng.integers(0, 6, n), out["count"])
    out["symbol"] = np.where(rng.random(n) < 0.9, rng.integers(0, 4, n), out["symbol"])
    out["valid"] = np.where(rng.random(n) < 0.1, FeatureValid.BAD_SYMBOL, 0)
    return out


def test_unit_matches_model_on_engine_records_with_stalls_and_gaps():
    features = engine_records(SMALL, 1500, seed=1, runs=0.3)
    fired = run_unit(SMALL, TREND, features, stall=0.3, gap=0.2, seed=2)
    assert fired >= 40


def test_back_to_back_records_of_one_symbol_update_its_state_every_cycle():
    features = engine_records(SMALL, 800, seed=3, symbols=1)
    config = DecisionConfig(**{**TREND.as_dict(), "warmup": 0, "enter": 60, "exit": 40})
    fired = run_unit(SMALL, config, features, seed=4)
    assert fired >= 60


def test_back_to_back_records_alternating_two_symbols_with_stalls():
    features = engine_records(SMALL, 600, seed=5, symbols=2, runs=0.5)
    config = DecisionConfig(**{**TREND.as_dict(), "warmup": 0, "enter": 60, "exit": 40})
    fired = run_unit(SMALL, config, features, stall=0.2, seed=6)
    assert fired >= 40


@pytest.mark.parametrize("shifts", [(0,) * 8, (63,) * 8, (1, 47, 48, 16, 5, 62, 17, 33)])
def test_unit_matches_model_on_extreme_records(shifts):
    rng = random.Random(sum(shifts))
    config = DecisionConfig(
        enable=True, warmup=2, bias=rng.randint(-2**31, 2**31 - 1),
        enter=rng.choice([-5, 3, 2**31 - 1]), exit=rng.choice([-2**31, 0, 7]),
        qty=-2**31, strategy=255, shifts=shifts,
        weights=tuple(rng.choice([-2**15, 2**15 - 1, rng.randint(-9, 9)]) for _ in range(8)))
    features = extreme_records(400, seed=len(set(shifts)))
    run_unit(EngineParams(n_symbols=4), config, features, stall=0.2, gap=0.1, seed=7)


def scored_records(scores: list[int], rng: random.Random) -> np.ndarray:
    """Return records whose score is exactly ``scores[i]`` under :data:`SCORED` (symbols 0
    and 1, a fresh one now and then)."""
    out = np.zeros(len(scores), FEATURE_DTYPE)
    for i, score in enumerate(scores):
        macd = min(max(score // 2**14, -2**17), 2**17 - 1)
        out[i]["macd"], out[i]["macd_hist"] = macd, score - 2**14 * macd
        out[i]["symbol"] = rng.randrange(2)
        out[i]["count"] = 1 if rng.random() < 0.05 else 100
        out[i]["price"] = rng.randint(-2**31, 2**31 - 1)
    return out


#: score = 2**14 * macd + macd_hist: any score in -2**31 - 2**17 .. 2**31 + 2**17 exactly.
SCORED = dict(enable=True, qty=1, strategy=2, weights=(0, 0, 2**14, 1, 0, 0, 0, 0),
              shifts=(63, 63, 0, 0, 63, 63, 63, 63))


@pytest.mark.parametrize(("enter", "exit_"), [(100, 10), (2**31 - 1, -2**31), (-3, 2**31 - 1)])
def test_unit_fires_exactly_at_the_threshold_boundaries(enter, exit_):
    """Scores one either side of every threshold, back to back on two symbols."""
    rng = random.Random(enter)
    edges = [enter, -enter, exit_, -exit_]
    scores = [rng.choice(edges) + rng.choice([-1, 0, 1]) for _ in range(600)]
    config = DecisionConfig(**SCORED, enter=enter, exit=exit_)
    features = scored_records(scores, rng)
    assert DecisionModel(SMALL, config).process(features)["score"].tolist() == [
        min(max(v, -2**31), 2**31 - 1) for v in scores]
    fired = run_unit(SMALL, config, features, stall=0.1, seed=11)
    assert fired >= 50


def test_unit_with_256_symbols_matches_model():
    params = EngineParams(n_symbols=256)
    features = engine_records(params, 300, seed=8, symbols=3, runs=0.4)
    run_unit(params, DecisionConfig(**{**TREND.as_dict(), "enter": 60, "exit": 40}),
             features, stall=0.1, seed=9)


def test_disabled_unit_fires_nothing():
    features = engine_records(SMALL, 300, seed=10)
    fired = run_unit(SMALL, DecisionConfig(**{**TREND.as_dict(), "enable": False}), features)
    assert fired == 0


def test_unit_fits_the_card_budget_and_elaborates_for_ecp5():
    assert DecisionUnit.LATENCY <= 5
    text = rtlil.convert(DecisionUnit(SMALL), platform=ECP5Target())
    assert text.count("MULT18X18D") >= 8
