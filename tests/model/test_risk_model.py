"""The risk gate's reference model: each check at its boundary, bad input, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickgate.gateware.records import Reject, Side
from tickgate.gateware.risk_model import RiskLimits, RiskModel, gcra_registers

BASE = 10_000
OPEN = dict(max_qty=100, max_notional=10**12, collar_bps=10_000, stale_ms=1_000,
            gross_limit=10**6, daily_loss_limit=1_000, max_drawdown=1_000)


def gate(**limits: int) -> RiskModel:
    """A gate with one known symbol 0 (base 10000, ticked at price 0, ts 1000), kill off."""
    model = RiskModel(4, RiskLimits(**{**OPEN, **limits}))
    for s in range(4):
        model.set_symbol(s, base=BASE, pos_limit=1_000)
    model.clear_kill()
    model.tick(0, 0, 1_000)
    return model


def buy(model: RiskModel, qty: int = 1, price: int = 0, symbol: int = 0) -> int:
    return model.order(symbol=symbol, side=Side.BUY, qty=qty, price=price)


def test_max_qty_at_the_limit_passes_one_above_is_refused() -> None:
    assert buy(gate(max_qty=5), qty=5) == 0
    assert buy(gate(max_qty=5), qty=6) == Reject.MAX_QTY


def test_max_notional_at_the_limit_passes_one_above_is_refused() -> None:
    # qty 3 at offset 10 -> 3 * 10010 = 30030 lots*pips
    assert buy(gate(max_notional=30_030), qty=3, price=10) == 0
    assert buy(gate(max_notional=30_029), qty=3, price=10) == Reject.MAX_NOTIONAL


def test_collar_at_the_band_passes_one_pip_outside_is_refused() -> None:
    # 50 bps of 10000 pips is 50 pips
    assert buy(gate(collar_bps=50), price=50) == 0
    assert buy(gate(collar_bps=50), price=-50) == 0
    assert buy(gate(collar_bps=50), price=51) == Reject.COLLAR
    assert buy(gate(collar_bps=50), price=-51) == Reject.COLLAR


def test_stale_at_the_limit_passes_one_ms_older_is_refused() -> None:
    model = gate(stale_ms=100)
    model.tick(1, 0, 1_100)          # the clock moves to 1100; symbol 0's tick is 100 ms old
    assert buy(model) == 0
    model = gate(stale_ms=100)
    model.tick(1, 0, 1_101)
    assert buy(model) == Reject.STALE
    assert buy(gate(), symbol=2) == Reject.STALE        # never ticked


def test_feed_watchdog_makes_every_order_stale() -> None:
    model = gate()
    model.feed_expired = True
    assert buy(model) == Reject.STALE


def test_position_limit_at_the_limit_passes_one_above_is_refused() -> None:
    model = gate()
    model.set_symbol(0, base=BASE, pos_limit=4)
    model.set_position(0, 2)
    assert buy(model, qty=2) == 0
    assert buy(model, qty=1, price=1) == Reject.POSITION
    assert model.order(symbol=0, side=Side.SELL, qty=8, price=2) == 0     # to -4
    assert model.order(symbol=0, side=Side.SELL, qty=1, price=3) == Reject.POSITION


def test_gross_limit_counts_every_symbol() -> None:
    model = gate(gross_limit=10)
    model.tick(1, 0, 1_000)
    model.set_position(1, -6)
    assert buy(model, qty=4) == 0
    assert model.gross == 10
    assert buy(model, qty=1, price=1) == Reject.GROSS
    # Reducing a position lowers gross and always passes the gross check.
    assert model.order(symbol=1, side=Side.BUY, qty=1, price=0) == 0
    assert model.gross == 9


def test_daily_loss_at_the_limit_passes_one_cent_more_is_refused_and_kills() -> None:
    model = gate(daily_loss_limit=500)
    model.write_pnl(-500)
    assert buy(model) == 0
    model.write_pnl(-501)
    assert buy(model, price=1) == Reject.KILL | Reject.DAILY_LOSS
    model.write_pnl(0)                               # the breach ends, the kill stays
    assert buy(model, price=2) == Reject.KILL


def test_drawdown_at_the_limit_passes_one_cent_more_is_refused() -> None:
    model = gate(max_drawdown=300)
    model.write_equity(10_000)
    model.write_equity(9_700)
    assert buy(model) == 0
    model.write_equity(9_699)
    assert buy(model, price=1) == Reject.KILL | Reject.DRAWDOWN
    model.reset_peak()
    model.clear_kill()
    assert buy(model, price=2) == 0


def test_symbol_rate_bucket_passes_its_burst_then_one_order_per_interval() -> None:
    interval, tolerance = gcra_registers(orders=3, per_ms=30)
    assert (interval, tolerance) == (10, 20)
    model = gate(rate_sym_interval=interval, rate_sym_tolerance=tolerance)
    assert [buy(model, price=p) for p in range(4)] == [0, 0, 0, Reject.RATE_SYMBOL]
    model.tick(0, 0, 1_009)
    assert buy(model, price=10) == Reject.RATE_SYMBOL
    model.tick(0, 0, 1_010)
    assert buy(model, price=11) == 0
    assert buy(model, symbol=0, price=12) == Reject.RATE_SYMBOL


def test_global_rate_bucket_spans_symbols() -> None:
    model = gate(rate_global_interval=10, rate_global_tolerance=0)
    model.tick(1, 0, 1_000)
    assert buy(model) == 0
    assert buy(model, symbol=1) == Reject.RATE_GLOBAL


def test_duplicate_within_the_window_is_refused_and_after_it_passes() -> None:
    model = gate(dup_window_ms=50)
    assert buy(model, qty=2, price=3) == 0
    model.tick(0, 0, 1_050)
    assert buy(model, qty=2, price=3) == Reject.DUPLICATE
    assert buy(model, qty=2, price=4) == 0                 # a different price is no duplicate
    model.tick(0, 0, 1_101)
    assert buy(model, qty=2, price=4) == 0


def test_restricted_symbol_is_refused() -> None:
    model = gate()
    model.set_restricted(0, True)
    assert buy(model) == Reject.RESTRICTED


def test_kill_switch_refuses_until_cleared() -> None:
    model = gate()
    model.set_kill()
    assert buy(model) == Reject.KILL
    model.clear_kill()
    assert buy(model) == 0


def test_kill_set_refuses_the_next_order_and_clear_needs_no_breach() -> None:
    model = RiskModel(2, RiskLimits(max_qty=5, max_notional=10**9, collar_bps=10_000,
                                    stale_ms=10**6, gross_limit=100, daily_loss_limit=10,
                                    max_drawdown=10))
    model.set_symbol(0, base=100, pos_limit=50)
    model.write_pnl(0)
    model.clear_kill()
    model.tick(0, 0, 1)
    assert model.order(symbol=0, side=Side.BUY, qty=1, price=0) == 0
    model.set_kill()
    assert model.order(symbol=0, side=Side.BUY, qty=2, price=0) == Reject.KILL
    model.clear_kill()
    model.write_pnl(-11)        # breach: kill set, and it stays set after the breach ends
    model.write_pnl(0)
    assert model.order(symbol=0, side=Side.BUY, qty=3, price=0) == Reject.KILL
    model.clear_kill()
    assert model.order(symbol=0, side=Side.BUY, qty=3, price=0) == 0


def test_reset_values_refuse_every_order() -> None:
    model = RiskModel(2)
    model.set_symbol(0, base=BASE, pos_limit=0)
    model.tick(0, 0, 1)
    verdict = buy(model)
    assert verdict & Reject.KILL and verdict & Reject.MAX_QTY and verdict & Reject.POSITION


@pytest.mark.parametrize("qty, side, symbol, price, flags", [
    (0, Side.BUY, 0, 0, 0), (-1, Side.BUY, 0, 0, 0), (1, 0, 0, 0, 0), (1, 3, 0, 0, 0),
    (1, Side.SELL, 4, 0, 0), (1, Side.SELL, 255, 0, 0), (1, Side.BUY, 0, 0, 1),
    (1, Side.BUY, 0, -BASE, 0), (1, Side.BUY, 0, -BASE - 1, 0),
])
def test_bad_orders_get_bad_order_alone_and_change_nothing(qty: int, side: int, symbol: int,
                                                           price: int, flags: int) -> None:
    model = gate()
    model.set_kill()
    before = (model.gross, [s.pos for s in model.symbols], model.global_tat)
    assert model.order(symbol=symbol, side=side, qty=qty, price=price, flags=flags) == (
        Reject.BAD_ORDER)
    assert (model.gross, [s.pos for s in model.symbols], model.global_tat) == before


# ---------------------------------------------------------------- properties
limits_st = st.builds(
    RiskLimits, max_qty=st.integers(0, 20), max_notional=st.integers(0, 400_000),
    collar_bps=st.integers(0, 500), stale_ms=st.integers(0, 100),
    gross_limit=st.integers(0, 60), daily_loss_limit=st.integers(0, 100),
    max_drawdown=st.integers(0, 100), rate_sym_interval=st.integers(0, 20),
    rate_sym_tolerance=st.integers(0, 40), rate_global_interval=st.integers(0, 5),
    rate_global_tolerance=st.integers(0, 20), dup_window_ms=st.integers(0, 30))
event_st = st.one_of(
    st.tuples(st.just("tick"), st.integers(0, 3), st.integers(-50, 50), st.integers(0, 20)),
    st.tuples(st.just("order"), st.integers(0, 4), st.integers(-60, 60), st.integers(-1, 25),
              st.sampled_from([Side.BUY, Side.SELL, 0])),
    st.tuples(st.just("set_pos"), st.integers(0, 3), st.integers(-10, 10)),
    st.tuples(st.just("pnl"), st.integers(-150, 50)),
    st.tuples(st.just("equity"), st.integers(-150, 150)),
    st.tuples(st.just("kill"), st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(limits=limits_st, pos_limits=st.lists(st.integers(0, 30), min_size=4, max_size=4),
       events=st.lists(event_st, max_size=120))
def test_no_accepted_order_breaks_a_limit_and_kill_blocks_everything(
        limits: RiskLimits, pos_limits: list[int], events: list[tuple]) -> None:
    model = RiskModel(4, limits)
    for s in range(4):
        model.set_symbol(s, base=1_000, pos_limit=pos_limits[s])
    model.clear_kill()
    ts = 0
    last: dict[int, tuple[int, int]] = {}
    pos = [0] * 4
    killed = False
    checked = accepted = rejected = 0
    for event in events:
        kind = event[0]
        if kind == "tick":
            _, s, price, step = event
            ts += step
            model.tick(s, price, ts)
            last[s] = (price, ts)
        elif kind == "set_pos":
            model.set_position(event[1], event[2])
            pos[event[1]] = event[2]
        elif kind == "pnl":
            model.write_pnl(event[1])
            killed |= model.pnl_day < -limits.daily_loss_limit
        elif kind == "equity":
            model.write_equity(event[1])
            killed |= model.equity_peak - model.equity > limits.max_drawdown
        elif kind == "kill":
            if event[1]:
                model.set_kill()
                killed = True
            else:
                model.clear_kill()
                killed = model.kill
        else:
            _, s, price, qty, side = event
            verdict = model.order(symbol=s, side=side, qty=qty, price=price)
            checked += 1
            if verdict:
                rejected += 1
                assert not (killed and verdict != Reject.BAD_ORDER) or verdict & Reject.KILL
                continue
            accepted += 1
            assert not killed and not model.kill
            new = pos[s] + (qty if side == Side.BUY else -qty)
            assert 0 < qty <= limits.max_qty
            assert qty * (1_000 + price) <= limits.max_notional
            assert s in last and (ts - last[s][1]) <= limits.stale_ms
            assert abs(price - last[s][0]) * 10_000 <= limits.collar_bps * (1_000 + last[s][0])
            assert abs(new) <= pos_limits[s]
            pos[s] = new
            assert sum(abs(p) for p in pos) <= limits.gross_limit
            assert model.pnl_day >= -limits.daily_loss_limit
            assert model.equity_peak - model.equity <= limits.max_drawdown
    assert checked == accepted + rejected
    assert model.gross == sum(abs(p) for p in pos)
