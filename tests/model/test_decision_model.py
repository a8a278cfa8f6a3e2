"""The decision unit's reference model: hand-written hysteresis scenarios and its boundaries,
and the numba model against a literal per-record reading of the specification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickgate.gateware.decision import (
    DECISION_LAYOUT,
    FLAT,
    LONG,
    SHORT,
    WORD_BITS,
    DecisionConfig,
    decision_config_to_int,
)
from tickgate.gateware.decision_model import DECISION_DTYPE, DecisionModel, quantise, wrap_word
from tickgate.gateware.engine import SMOOTH_BITS
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE, FeatureValid, Side

PARAMS = EngineParams(n_symbols=4)
#: score = bias + 2**14 * macd + macd_hist (shift 0), exact while |macd| < 2**17; the price
#: inputs shifted back to pips so that a small price does not saturate.
SCORE_WEIGHTS = (0, 0, 2**14, 1, 0, 0, 0, 0)
SCORE_SHIFTS = (16, 16, 0, 0, 0, 0, 0, 0)
I32_MIN, I32_MAX = -2**31, 2**31 - 1


def scoring(**kw) -> DecisionConfig:
    """Return an enabled config whose score is set per record by :func:`records`."""
    base = dict(enable=True, enter=100, exit=10, qty=5, strategy=7, weights=SCORE_WEIGHTS,
                shifts=SCORE_SHIFTS)
    return DecisionConfig(**{**base, **kw})


def records(*rows: dict, bias: int = 0) -> np.ndarray:
    """Return feature records; a row's ``score`` key becomes its macd/macd_hist under
    :func:`scoring` with ``bias``; count defaults to 100, price to the row's index."""
    out = np.zeros(len(rows), FEATURE_DTYPE)
    for i, row in enumerate(rows):
        row = dict(row)
        out[i]["count"] = 100
        out[i]["price"] = i + 1
        if "score" in row:
            out[i]["macd"], out[i]["macd_hist"] = divmod(row.pop("score") - bias, 2**14)
        for name, value in row.items():
            out[i][name] = value
    return out


def decide(config: DecisionConfig, *rows: dict, model: DecisionModel | None = None,
           bias: int = 0) -> np.ndarray:
    model = model or DecisionModel(PARAMS, config)
    return model.process(records(*rows, bias=bias))


# --- the hysteresis and its boundaries ------------------------------------------------------

def test_flat_buys_when_score_reaches_enter_and_not_one_below():
    out = decide(scoring(), {"score": 99, "symbol": 0}, {"score": 100, "symbol": 1})
    assert out["fire"].tolist() == [0, 1]
    assert out[1]["side"] == Side.BUY


def test_flat_sells_when_score_reaches_minus_enter_and_not_one_above():
    out = decide(scoring(), {"score": -99, "symbol": 0}, {"score": -100, "symbol": 1})
    assert out["fire"].tolist() == [0, 1]
    assert out[1]["side"] == Side.SELL


def test_long_holds_at_exit_and_sells_one_below():
    model = DecisionModel(PARAMS, scoring())
    out = decide(scoring(), {"score": 100}, {"score": 10}, {"score": 500}, {"score": 9},
                 model=model)
    assert out["fire"].tolist() == [1, 0, 0, 1]
    assert out["side"].tolist() == [Side.BUY, 0, 0, Side.SELL]
    assert model.state.states[0] == FLAT


def test_short_holds_at_minus_exit_and_buys_one_above():
    model = DecisionModel(PARAMS, scoring())
    out = decide(scoring(), {"score": -100}, {"score": -10}, {"score": -500}, {"score": -9},
                 model=model)
    assert out["fire"].tolist() == [1, 0, 0, 1]
    assert out["side"].tolist() == [Side.SELL, 0, 0, Side.BUY]
    assert model.state.states[0] == FLAT


def test_closing_does_not_reopen_on_the_same_record():
    model = DecisionModel(PARAMS, scoring())
    out = decide(scoring(), {"score": 100}, {"score": -1000}, {"score": -1000}, model=model)
    assert out["side"].tolist() == [Side.BUY, Side.SELL, Side.SELL]
    assert model.state.states[0] == SHORT


def test_each_symbol_keeps_its_own_state():
    model = DecisionModel(PARAMS, scoring())
    out = decide(scoring(), {"score": 100, "symbol": 0}, {"score": 100, "symbol": 1},
                 {"score": 100, "symbol": 0}, {"score": -100, "symbol": 2}, model=model)
    assert out["fire"].tolist() == [1, 1, 0, 1]
    assert model.state.states.tolist() == [LONG, LONG, SHORT, FLAT]


def test_warmup_makes_count_equal_to_warmup_eligible_and_one_below_not():
    out = decide(scoring(warmup=50), {"score": 100, "count": 49, "symbol": 0},
                 {"score": 100, "count": 50, "symbol": 1})
    assert out["fire"].tolist() == [0, 1]


def test_fresh_record_forces_flat_before_deciding():
    model = DecisionModel(PARAMS, scoring())
    decide(scoring(), {"score": 100}, model=model)
    assert model.state.states[0] == LONG
    # count == 1: LONG is forgotten; a score that would close a LONG does nothing from FLAT
    out = decide(scoring(), {"score": 0, "count": 1}, model=model)
    assert out["fire"].tolist() == [0]
    assert model.state.states[0] == FLAT
    out = decide(scoring(), {"score": 0, "count": 1}, {"score": -100, "count": 1},
                 model=model)
    assert out["side"].tolist() == [0, Side.SELL]


def test_fresh_record_resets_state_even_when_disabled_or_warming_up():
    for config in (scoring(enable=False), scoring(warmup=10)):
        model = DecisionModel(PARAMS, scoring())
        decide(scoring(), {"score": 100}, model=model)
        model.configure(config)
        out = decide(config, {"score": 100, "count": 1}, model=model)
        assert not out["fire"].any()
        assert model.state.states[0] == FLAT


def test_disabled_unit_never_fires_but_still_scores():
    rng = np.random.default_rng(1)
    rows = [{"score": int(s), "symbol": int(y)}
            for s, y in zip(rng.integers(-10**6, 10**6, 200), rng.integers(0, 4, 200),
                            strict=True)]
    out = decide(scoring(enable=False, enter=0, exit=0), *rows)
    assert not out["fire"].any() and not out["side"].any() and not out["order_id"].any()
    assert out["score"].tolist() == [r["score"] for r in rows]


def test_intent_carries_config_qty_and_strategy_and_record_price_and_symbol():
    out = decide(scoring(qty=-3, strategy=255), {"score": 100, "symbol": 3, "price": -77})
    assert out.tolist() == [(1, Side.BUY, -3, -77, 255, 0, 3, 100, 0)]


def test_no_intent_fields_are_zero():
    out = decide(scoring(), {"score": 50, "symbol": 3, "price": 9})
    assert out.tolist() == [(0, 0, 0, 0, 0, 0, 0, 50, 0)]


# --- saturation and clamping ----------------------------------------------------------------

@pytest.mark.parametrize(("macd", "q", "saturated"), [
    (2**17 - 1, 2**17 - 1, 0), (2**17, 2**17 - 1, 1), (2**50 - 1, 2**17 - 1, 1),
    (-2**17, -2**17, 0), (-2**17 - 1, -2**17, 1), (-2**50, -2**17, 1),
])
def test_input_clamps_to_18_bits_and_flags_saturation(macd, q, saturated):
    config = scoring(weights=(0, 0, 1, 0, 0, 0, 0, 0))
    out = decide(config, {"macd": macd})
    assert (out[0]["score"], out[0]["saturated"]) == (q, saturated)


def test_shift_is_a_floor_and_clamps_after_shifting():
    config = scoring(weights=(0, 0, 1, 0, 0, 0, 0, 0), shifts=(16, 16, 5, 0, 0, 0, 0, 0))
    out = decide(config, {"macd": -1}, {"macd": 2**22 - 1}, {"macd": 2**22},
                 {"macd": -2**22}, {"macd": -2**22 - 1})
    assert out["score"].tolist() == [-1, 2**17 - 1, 2**17 - 1, -2**17, -2**17]
    assert out["saturated"].tolist() == [0, 0, 1, 0, 1]


def test_widest_difference_is_exact():
    """(price << 16) - ema_fast at both ends of the input domain: 52 bits, shifted back."""
    config = scoring(weights=(1, 0, 0, 0, 0, 0, 0, 0), shifts=(35, 0, 0, 0, 0, 0, 0, 0))
    rows = [{"price": p, "max": p, "min": p, "ema_slow": p << 16, "ema_fast": ema}
            for p, ema in ((2**31 - 1, -2**50), (-2**31, 2**50 - 1))]
    out = decide(config, *rows)
    assert out["score"].tolist() == [(((2**31 - 1) << 16) + 2**50) >> 35,
                                     ((-2**31 << 16) - 2**50 + 1) >> 35]
    assert out["score"].tolist() == [2**15 + 2**12 - 1, -2**15 - 2**12]
    assert out["saturated"].tolist() == [0, 0]


@pytest.mark.parametrize(("word", "read"), [
    (2**50 - 1, 2**50 - 1), (2**50, -2**50), (-2**50, -2**50), (-2**50 - 1, 2**50 - 1),
    (2**51 + 5, 5), (2**63 - 1, -1), (-2**63, 0), (-1, -1),
])
def test_feature_words_are_read_modulo_2_to_the_51(word, read):
    assert WORD_BITS == 51
    assert wrap_word(np.int64(word)) == read
    config = scoring(weights=(0, 0, 1, 0, 0, 0, 0, 0), shifts=(16, 16, 0, 0, 0, 0, 0, 0))
    out = decide(config, {"macd": word})
    assert out[0]["score"] == min(max(read, -2**17), 2**17 - 1)


def test_engine_words_fit_the_units_word_width():
    """The wrap never changes a record of the card's engine: its smoothing state is
    SMOOTH_BITS wide (macd_hist one more), and on the wildest walks (prices jumping between
    the int32 ends, every tick or in runs; fast and slow factors) every word stays within
    WORD_BITS signed bits, while macd and macd_hist do reach past 2**47."""
    assert SMOOTH_BITS + 1 <= WORD_BITS
    rng = np.random.default_rng(3)
    walks = []
    for run in (1, 3, 50, 300):
        ticks = np.zeros(6000, TICK_DTYPE)
        ticks["symbol"] = np.arange(6000) % 2
        ticks["price"] = np.where((np.arange(6000) // 2 // run) % 2 == 0, 2**31 - 1, -2**31)
        walks.append(ticks)
    ticks = np.zeros(4000, TICK_DTYPE)
    ticks["symbol"] = rng.integers(0, 4, 4000)
    ticks["price"] = rng.integers(-2**31, 2**31, 4000)
    walks.append(ticks)
    reach = 0
    for config in (EngineConfig.from_periods(ema_fast=2, ema_slow=3, macd_signal=2, rsi=2,
                                             roc=1),
                   EngineConfig.from_periods(ema_fast=2, ema_slow=500, macd_signal=200,
                                             rsi=300, roc=1)):
        for ticks in walks:
            features = EngineModel(PARAMS, config).process(ticks)
            for name in _WIDE:
                words = features[name]
                assert words.min() >= -2**(WORD_BITS - 1)
                assert words.max() < 2**(WORD_BITS - 1)
            reach = max(reach, int(np.abs(features["macd_hist"]).max()))
    assert reach > 2**47


def test_score_is_clamped_to_int32_at_both_ends():
    config = scoring(weights=(2**15 - 1,) * 8, bias=I32_MAX)
    up = {n: 2**40 for n in ("macd", "macd_hist", "mom", "avg_gain")}
    down = {n: -2**40 for n in ("ema_fast", "ema_slow", "avg_loss")}
    out = decide(config, {**up, **down, "price": 0, "max": 2**31 - 1, "min": -2**31},
                 {**{n: -v for n, v in {**up, **down}.items()}, "price": 0})
    assert out["score"].tolist() == [I32_MAX, I32_MIN]
    assert out["saturated"].tolist() == [1, 1]


def test_thresholds_compare_the_full_precision_score():
    """SHORT closes on score > -exit = 2**31: above the int32 range of o_score."""
    config = scoring(enter=1000, exit=I32_MIN, bias=2**24)
    out = decide(config, {"score": -1000}, {"score": 2**31}, {"score": 2**31 + 1},
                 bias=2**24)
    assert out["side"].tolist() == [Side.SELL, 0, Side.BUY]
    assert out["score"].tolist() == [-1000, I32_MAX, I32_MAX]


# --- bad symbols and order ids --------------------------------------------------------------

def test_bad_symbol_gives_zeros_and_leaves_state_and_ids_alone():
    model = DecisionModel(PARAMS, scoring())
    decide(scoring(), {"score": 100, "symbol": 2}, model=model)
    out = decide(scoring(), {"score": -1000, "symbol": 2, "valid": FeatureValid.BAD_SYMBOL},
                 {"score": -1000, "symbol": 200, "count": 1},
                 {"score": 1000, "symbol": 1}, model=model)
    assert out[:2].tolist() == [(0,) * 9, (0,) * 9]
    assert model.state.states.tolist() == [FLAT, LONG, LONG, FLAT]
    assert out[2]["order_id"] == 1


def test_order_id_counts_fired_intents_only_and_wraps():
    model = DecisionModel(PARAMS, scoring())
    out = decide(scoring(), {"score": 100}, {"score": 50}, {"score": 0},
                 {"score": -20, "symbol": 1}, {"score": -200, "symbol": 1}, model=model)
    assert out["fire"].tolist() == [1, 0, 1, 0, 1]
    assert out["order_id"].tolist() == [0, 0, 1, 0, 2]
    assert model.state.next_order_id == 3
    model.state.counter[0] = 2**32 - 1
    out = decide(scoring(), {"score": 100, "symbol": 2}, {"score": 100, "symbol": 3},
                 model=model)
    assert out["order_id"].tolist() == [2**32 - 1, 0]


def test_reset_forgets_states_and_restarts_ids():
    model = DecisionModel(PARAMS, scoring())
    decide(scoring(), {"score": 100}, model=model)
    model.reset()
    assert model.state.states.tolist() == [FLAT] * 4 and model.state.next_order_id == 0


# --- config ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"warmup": -1}, "warmup"), ({"warmup": 2**32}, "warmup"), ({"bias": 2**31}, "bias"),
    ({"enter": -2**31 - 1}, "enter"), ({"exit": 2**31}, "exit"), ({"qty": 2**31}, "qty"),
    ({"strategy": 256}, "strategy"), ({"weights": (0,) * 7}, "weights"),
    ({"weights": (0,) * 7 + (2**15,)}, r"weights\[7\]"), ({"shifts": (64,) * 8}, r"shifts\[0\]"),
    ({"enable": 2}, "enable"),
])
def test_config_check_names_the_out_of_range_field(change, field):
    with pytest.raises(ValueError, match=field):
        DecisionConfig(**change).check()


def test_config_layout_holds_every_register():
    config = DecisionConfig(enable=True, warmup=2**32 - 1, bias=-2**31, enter=-1,
                            exit=2**31 - 1, qty=-7, strategy=255,
                            weights=(-2**15, 2**15 - 1, 0, 1, -1, 2, 3, 4),
                            shifts=(0, 63, 1, 2, 3, 4, 5, 6))
    view = DECISION_LAYOUT.from_bits(decision_config_to_int(config))
    assert view.enable == 1 and view.warmup == 2**32 - 1 and view.bias == -2**31
    assert (view.enter, view.exit, view.qty, view.strategy) == (-1, 2**31 - 1, -7, 255)
    assert [view.weights[k] for k in range(8)] == list(config.weights)
    assert [view.shifts[k] for k in range(8)] == list(config.shifts)
    assert DecisionConfig().enable is False


# --- the numba model against a literal reading of the specification -------------------------

def spec_decide(features: np.ndarray, config: DecisionConfig, n_symbols: int,
                states: list[int], next_id: list[int]) -> list[tuple]:
    """Follow the specification record by record in Python integers."""
    out = []
    for rec in features:
        r = {name: int(rec[name]) for name in FEATURE_DTYPE.names}
        if r["valid"] & FeatureValid.BAD_SYMBOL or r["symbol"] >= n_symbols:
            out.append((0,) * 9)
            continue
        price = r["price"]
        w = {n: (r[n] + 2**50) % 2**51 - 2**50 for n in _WIDE}      # low 51 bits, signed
        x = [(price << 16) - w["ema_fast"], (price << 16) - w["ema_slow"], w["macd"],
             w["macd_hist"], w["mom"], w["avg_gain"] - w["avg_loss"],
             2 * price - r["max"] - r["min"], r["max"] - r["min"]]
        shifted = [xk >> sk for xk, sk in zip(x, config.shifts, strict=True)]
        q = [min(max(v, -2**17), 2**17 - 1) for v in shifted]
        saturated = int(q != shifted)
        score = config.bias + sum(w * qk for w, qk in zip(config.weights, q, strict=True))
        sym = r["symbol"]
        state = FLAT if r["count"] == 1 else states[sym]
        side = 0
        if config.enable and r["count"] >= config.warmup:
            if state == FLAT:
                if score >= config.enter:
                    side, state = Side.BUY, LONG
                elif score <= -config.enter:
                    side, state = Side.SELL, SHORT
            elif state == LONG:
                if score < config.exit:
                    side, state = Side.SELL, FLAT
            elif state == SHORT:
                if score > -config.exit:
                    side, state = Side.BUY, FLAT
        states[sym] = state
        clamped = min(max(score, I32_MIN), I32_MAX)
        if side:
            out.append((1, side, config.qty, price, config.strategy, next_id[0], sym,
                        clamped, saturated))
            next_id[0] = (next_id[0] + 1) % 2**32
        else:
            out.append((0, 0, 0, 0, 0, 0, 0, clamped, saturated))
    return out


def _int64s():
    return st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-2**40, 2**40),
                     st.integers(-2**20, 2**20), st.integers(-2**51, 2**51),
                     st.sampled_from([-2**63, 2**63 - 1, 0, -1, 2**47, -2**47, 2**50 - 1,
                                      -2**50, 2**50, -2**50 - 1]))


def _int32s():
    return st.one_of(st.integers(-2**31, 2**31 - 1), st.integers(-1000, 1000),
                     st.sampled_from([-2**31, 2**31 - 1]))


_WIDE = ("ema_fast", "ema_slow", "macd", "macd_hist", "avg_gain", "avg_loss", "mom")
feature_rows = st.fixed_dictionaries({
    "price": _int32s(), "min": _int32s(), "max": _int32s(),
    "count": st.one_of(st.integers(0, 12), st.integers(0, 2**32 - 1)),
    "symbol": st.one_of(st.integers(0, 3), st.integers(0, 255)),
    "valid": st.sampled_from([0, 7, FeatureValid.BAD_SYMBOL, 0x87]),
    **{name: _int64s() for name in _WIDE},
})
configs = st.builds(
    DecisionConfig, enable=st.booleans(), warmup=st.integers(0, 12),
    bias=_int32s(), enter=_int32s(), exit=_int32s(), qty=_int32s(),
    strategy=st.integers(0, 255),
    weights=st.tuples(*[st.integers(-2**15, 2**15 - 1)] * 8),
    shifts=st.tuples(*[st.one_of(st.integers(0, 63), st.sampled_from([0, 16, 47, 48, 63]))]
                     * 8),
)


def _array(rows: list[dict]) -> np.ndarray:
    out = np.zeros(len(rows), FEATURE_DTYPE)
    for i, row in enumerate(rows):
        for name, value in row.items():
            out[i][name] = value
    return out


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(feature_rows, min_size=1, max_size=40), config=configs,
       split=st.integers(0, 40))
def test_model_equals_the_spec_on_random_records(rows, config, split):
    features = _array(rows)
    model = DecisionModel(PARAMS, config)
    got = np.concatenate([model.process(features[:split]), model.process(features[split:])])
    assert got.dtype == DECISION_DTYPE
    states, next_id = [FLAT] * 4, [0]
    assert got.tolist() == spec_decide(features, config, 4, states, next_id)
    assert model.state.states.tolist() == states
    assert model.state.next_order_id == next_id[0]


@settings(max_examples=500, deadline=None)
@given(x=st.one_of(st.integers(-2**51, 2**51), st.integers(-2**20, 2**20)),
       shift=st.integers(0, 63))
def test_quantise_is_the_clamped_floor(x, shift):
    d = x >> shift
    q = min(max(d, -2**17), 2**17 - 1)
    assert quantise(np.int64(x), np.int64(shift)) == (q, q != d)


def test_model_equals_the_spec_on_a_long_random_walk():
    """Realistic records (engine model on random walks) where intents fire often."""
    rng = np.random.default_rng(5)
    n = 20000
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = rng.integers(0, 4, n)
    ticks["price"] = np.cumsum(rng.integers(-40, 41, n))
    features = EngineModel(PARAMS, EngineConfig.from_periods(ema_fast=5, ema_slow=13)
                           ).process(ticks)
    config = DecisionConfig(enable=True, warmup=5, enter=300, exit=50, qty=1, strategy=3,
                            weights=(8, 4, 16, 16, 2, 1, 1, 0),
                            shifts=(16, 16, 16, 16, 0, 16, 0, 0))
    got = DecisionModel(PARAMS, config).process(features)
    assert got.tolist() == spec_decide(features, config, 4, [FLAT] * 4, [0])
    assert got["fire"].sum() > 500
