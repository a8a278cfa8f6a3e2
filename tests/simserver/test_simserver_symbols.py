"""The symbol catalogue and each family's price motion (jumps, spikes, steps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tickgate.host.simserver.motion import Motion, increments
from tickgate.host.simserver.prices import PricePath
from tickgate.host.simserver.symbols import BY_SYMBOL, CATALOGUE

START = 1_700_000_000
#: (market, submarket) of every family the catalogue must have.
FAMILIES = {("synthetic_index", "random_index"), ("synthetic_index", "jump_index"),
            ("synthetic_index", "crash_index"), ("synthetic_index", "step_index"),
            ("synthetic_index", "random_daily"), ("forex", "major_pairs"),
            ("forex", "minor_pairs"), ("commodities", "metals"), ("commodities", "energy"),
            ("cryptocurrency", "non_stable_coin"), ("indices", "americas_OTC"),
            ("indices", "europe_OTC"), ("indices", "asia_oceania_OTC")}


def _log_moves(symbol: str, n: int) -> np.ndarray:
    path = PricePath(BY_SYMBOL[symbol], seed=5, start_epoch=START)
    return np.diff(np.log([path.price(k) for k in range(n + 1)]))


def test_the_catalogue_has_over_a_hundred_symbols_in_every_family() -> None:
    assert len(CATALOGUE) >= 100 and len(BY_SYMBOL) == len(CATALOGUE)   # names unique
    assert {(s.market, s.submarket) for s in CATALOGUE} == FAMILIES
    names = set(BY_SYMBOL)
    assert {"1HZ150V", "1HZ250V", "JD10", "JD100", "BOOM300N", "CRASH1000", "stpRNG",
            "RDBULL", "RDBEAR", "frxUSDCHF", "frxXAUUSD", "cryLTCUSD", "OTC_DJI",
            "OTC_N225"} <= names
    assert all(s.synthetic == (s.market == "synthetic_index") for s in CATALOGUE)
    assert all(100 in s.multipliers for s in CATALOGUE)       # the daemon's default


def test_every_price_in_pips_fits_the_cards_base_register_with_room() -> None:
    for spec in CATALOGUE:
        pips = spec.start_price * 10**spec.decimals
        assert 1_000 <= pips < 2**31, spec.symbol            # u32 base, 2x headroom
        assert round(spec.start_price, spec.decimals) == spec.start_price, spec.symbol


def test_the_step_index_moves_by_exactly_one_step_every_tick() -> None:
    path = PricePath(BY_SYMBOL["stpRNG"], seed=1, start_epoch=START)
    quotes = [path.tick(k).quote for k in range(-2000, 2000)]
    steps = np.round(np.diff(quotes), 6)
    assert set(steps.tolist()) == {-0.1, 0.1}
    assert 0.45 < float(np.mean(steps > 0)) < 0.55              # a fair coin


@pytest.mark.parametrize("symbol,every,sign", [("BOOM300N", 300, 1), ("BOOM1000", 1000, 1),
                                               ("CRASH500", 500, -1)])
def test_boom_spikes_up_and_crash_spikes_down_at_their_rate(symbol: str, every: int,
                                                            sign: int) -> None:
    n = 60_000
    moves = _log_moves(symbol, n)
    spikes = moves * sign > 0.0005                  # ~14 quiet moves: only spikes pass
    assert 0.6 * n / every < spikes.sum() < 1.4 * n / every
    assert not np.any(moves * sign < -0.0005)       # never a spike the other way
    quiet = moves[~spikes]
    assert np.mean(quiet) * sign < 0                # the drift between spikes goes against
    assert abs(np.mean(moves)) < 2e-5               # and compensates them on average


def test_jump_indices_jump_where_volatility_indices_do_not() -> None:
    jumps = _log_moves("JD50", 40_000)
    plain = _log_moves("1HZ50V", 40_000)
    sigma = 0.5 * math.sqrt(1 / (365 * 86400))
    assert np.sum(np.abs(jumps) > 8 * sigma) >= 10               # ~3 an hour of 11 hours
    assert np.sum(np.abs(plain) > 8 * sigma) == 0
    assert np.any(jumps > 8 * sigma) and np.any(jumps < -8 * sigma)   # either side


def test_the_bull_index_drifts_up_and_the_bear_index_down() -> None:
    rng = np.random.default_rng(3)
    z = rng.standard_normal(100_000)
    dt = 2 / (365 * 86400)
    up = increments(BY_SYMBOL["RDBULL"].motion, z, rng, 0.3, dt)
    down = increments(BY_SYMBOL["RDBEAR"].motion, z, rng, 0.3, dt)
    assert np.allclose(up - down, 0.6 * dt, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("kw,needle", [({"jump_rate": 1.5}, "jump_rate must be a probability"),
                                       ({"step": -0.1}, "must not be negative"),
                                       ({"jump_sign": 2}, "jump_sign must be -1, 0 or 1")])
def test_a_motion_with_an_impossible_parameter_is_refused(kw: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        Motion(**kw)
