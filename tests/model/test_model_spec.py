"""The compiled model against the per-tick Python spec (tests/model/spec.py), word for word."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE

from .spec import SymbolState, spec_run
from .streams import as_dicts, varied_ticks

SMALL = EngineParams(n_symbols=8, ring_depth=16, minmax_depth=8)
SMALL_CONFIG = EngineConfig(n_sma=12, n_roc=5, n_minmax=6)


def assert_matches_spec(out: np.ndarray, expected: list[dict[str, int]]) -> None:
    """Fail on the first tick and field where the model's record differs from the spec."""
    assert len(out) == len(expected)
    for name in expected[0]:
        want = np.array([rec[name] for rec in expected], dtype=object)
        got = out[name].astype(object)
        diff = np.flatnonzero(got != want)
        assert diff.size == 0, (f"field {name} differs at tick {diff[0]}: "
                                f"model {got[diff[0]]}, spec {want[diff[0]]}")


def run_both(params: EngineParams, config: EngineConfig, ticks: np.ndarray,
             splits: tuple[int, ...] = ()) -> None:
    model = EngineModel(params, config)
    bounds = (0, *splits, len(ticks))
    out = np.concatenate([model.process(ticks[a:b]) for a, b in pairwise(bounds)])
    assert_matches_spec(out, spec_run(as_dicts(ticks), config, params.n_symbols))


def test_default_build_matches_spec_on_varied_multi_symbol_stream() -> None:
    ticks = varied_ticks(4000, seed=1, n_symbols=64)
    run_both(EngineParams(), EngineConfig(), ticks, splits=(1, 1500, 1500, 2999))


def test_small_build_matches_spec_with_full_ring_windows() -> None:
    config = EngineConfig(n_sma=16, n_roc=16, n_minmax=8)
    run_both(SMALL, config, varied_ticks(3000, seed=2, n_symbols=8))


def test_small_build_matches_spec_with_extreme_alphas_and_unit_windows() -> None:
    config = EngineConfig(alpha_fast=1, alpha_slow=2**18 - 1, alpha_signal=2**17,
                          alpha_rsi=3, n_sma=1, n_roc=1, n_minmax=1)
    run_both(SMALL, config, varied_ticks(3000, seed=3, n_symbols=8))


def test_min_max_cover_windows_longer_than_the_price_ring() -> None:
    params = EngineParams(n_symbols=8, ring_depth=16, minmax_depth=64)
    run_both(params, EngineConfig(n_sma=16, n_minmax=64),
             varied_ticks(3000, seed=4, n_symbols=8, jumps=False))


def test_reconfiguring_windows_mid_stream_matches_spec() -> None:
    ticks = varied_ticks(3000, seed=5, n_symbols=8, bad_symbols=False, jumps=False)
    first = EngineConfig(n_sma=16, n_minmax=4, n_roc=2)
    second = EngineConfig(n_sma=16, n_minmax=8, n_roc=12, alpha_fast=77)
    model = EngineModel(SMALL, first)
    states: dict[int, SymbolState] = {}
    out_a = model.process(ticks[:1500])
    model.configure(second)
    out_b = model.process(ticks[1500:])
    expected = (spec_run(as_dicts(ticks[:1500]), first, 8, states)
                + spec_run(as_dicts(ticks[1500:]), second, 8, states))
    assert_matches_spec(np.concatenate([out_a, out_b]), expected)


def test_reset_forgets_every_symbol() -> None:
    ticks = varied_ticks(500, seed=6, n_symbols=8)
    model = EngineModel(SMALL, SMALL_CONFIG)
    first = model.process(ticks)
    model.reset()
    assert model.process(ticks).tobytes() == first.tobytes()


def test_process_reuses_a_longer_output_buffer() -> None:
    ticks = varied_ticks(100, seed=7, n_symbols=64)
    buffer = np.zeros(300, FEATURE_DTYPE)
    out = EngineModel().process(ticks, buffer)
    assert np.shares_memory(out, buffer) and len(out) == 100
    assert out.tobytes() == EngineModel().process(ticks).tobytes()


def test_process_refuses_a_short_output_buffer() -> None:
    with pytest.raises(ValueError, match="fewer than"):
        EngineModel().process(np.zeros(10, TICK_DTYPE), np.zeros(9, FEATURE_DTYPE))


def test_process_refuses_records_of_another_dtype() -> None:
    with pytest.raises(TypeError, match="TICK_DTYPE"):
        EngineModel().process(np.zeros(10, FEATURE_DTYPE))


def test_empty_batch_gives_empty_output() -> None:
    assert len(EngineModel().process(np.zeros(0, TICK_DTYPE))) == 0
