"""Property tests of the model: window words against direct numpy over the window."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tickgate.gateware.model import EngineModel, mulshr
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import TICK_DTYPE, FeatureValid

from .streams import varied_ticks

PARAMS = EngineParams(n_symbols=4, ring_depth=32, minmax_depth=16)
CONFIG = EngineConfig(n_sma=20, n_roc=10, n_minmax=16)
int32s = st.integers(-2**31, 2**31 - 1)


@settings(deadline=None)
@given(st.integers(-2**62 + 1, 2**62 - 1), st.integers(0, 2**18 - 1))
def test_mulshr_is_the_exact_floor_of_the_product(x: int, a: int) -> None:
    assert mulshr(x, a) == (x * a) // 2**18


@settings(max_examples=60, deadline=None)
@given(prices=st.lists(int32s, min_size=1, max_size=120),
       n_sma=st.integers(1, 32), n_roc=st.integers(1, 32), n_minmax=st.integers(1, 16))
def test_window_words_equal_numpy_over_the_window(prices: list[int], n_sma: int, n_roc: int,
                                                  n_minmax: int) -> None:
    ticks = np.zeros(len(prices), TICK_DTYPE)
    ticks["price"] = prices
    ticks["symbol"] = 3
    model = EngineModel(PARAMS, EngineConfig(n_sma=n_sma, n_roc=n_roc, n_minmax=n_minmax))
    out = model.process(ticks)
    p = np.array(prices, dtype=np.int64)
    for t in range(len(p)):
        sma_window = p[max(0, t + 1 - n_sma): t + 1]
        mm_window = p[max(0, t + 1 - n_minmax): t + 1]
        assert out["sum"][t] == sma_window.sum()
        assert out["sumsq"][t] == int((sma_window.astype(object) ** 2).sum()) % 2**64
        assert (out["min"][t], out["max"][t]) == (mm_window.min(), mm_window.max())
        assert out["mom"][t] == (p[t] - p[t - n_roc] if t >= n_roc else 0)
        assert out["count"][t] == t + 1
        expected_valid = ((FeatureValid.SMA if t + 1 >= n_sma else 0)
                          | (FeatureValid.ROC if t >= n_roc else 0)
                          | (FeatureValid.MINMAX if t + 1 >= n_minmax else 0))
        assert out["valid"][t] == expected_valid


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 600), max_size=5))
def test_batch_boundaries_do_not_change_the_output(seed: int, cuts: list[int]) -> None:
    ticks = varied_ticks(600, seed=seed, n_symbols=4)
    whole = EngineModel(PARAMS, CONFIG).process(ticks)
    model = EngineModel(PARAMS, CONFIG)
    bounds = [0, *sorted(cuts), 600]
    parts = [model.process(ticks[a:b]) for a, b in pairwise(bounds)]
    assert np.concatenate(parts).tobytes() == whole.tobytes()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_each_symbol_is_computed_as_if_alone(seed: int) -> None:
    ticks = varied_ticks(400, seed=seed, n_symbols=4, bad_symbols=False)
    together = EngineModel(PARAMS, CONFIG).process(ticks)
    for sym in range(4):
        mine = ticks["symbol"] == sym
        alone = EngineModel(PARAMS, CONFIG).process(ticks[mine])
        assert alone.tobytes() == together[mine].tobytes()
