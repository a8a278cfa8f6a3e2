"""Engine blocks on their own: layouts against numpy records, the smoothing unit's arithmetic
over its full operand range, with ``en`` stalls."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator

from tickgate.gateware.layouts import (
    CONFIG_LAYOUT,
    FEATURE_LAYOUT,
    TICK_LAYOUT,
    config_to_int,
    int_to_record,
    record_to_int,
)
from tickgate.gateware.params import EngineConfig
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE
from tickgate.gateware.smooth import Smooth


def test_layout_bits_are_the_numpy_record_bytes():
    tick = np.zeros(1, TICK_DTYPE)[0]
    tick["price"], tick["seq"], tick["ts"], tick["symbol"], tick["flags"] = -2, 7, 9, 200, 1
    value = record_to_int(tick)
    const = TICK_LAYOUT.const({"price": -2, "seq": 7, "ts": 9, "symbol": 200, "flags": 1})
    assert const.as_value().value == value
    assert int_to_record(value, TICK_DTYPE) == tick
    feature = np.zeros(1, FEATURE_DTYPE)[0]
    feature["mom"], feature["sumsq"], feature["min"] = -5, 2**64 - 1, -2**31
    value = record_to_int(feature)
    const = FEATURE_LAYOUT.const({"mom": -5, "sumsq": 2**64 - 1, "min": -2**31})
    assert const.as_value().value == value
    assert int_to_record(value, FEATURE_DTYPE) == feature


def test_config_layout_holds_every_register():
    config = EngineConfig(alpha_fast=2**18 - 1, n_sma=256, n_roc=1, n_minmax=64)
    view = CONFIG_LAYOUT.const(config.as_dict())
    assert view.alpha_fast == 2**18 - 1 and view.n_sma == 256 and view.n_minmax == 64
    assert config_to_int(config) == view.as_value().value


@pytest.mark.parametrize(("deep", "registered"), [(False, False), (True, False), (True, True)],
                         ids=["default", "deep", "deep-registered"])
@pytest.mark.parametrize(("fresh_cycle", "fresh_target"), [(2, False), (1, False), (2, True)],
                         ids=["init", "zero", "target"])
def test_smooth_is_exact_over_the_full_range_with_stalls(fresh_cycle, fresh_target, deep,
                                                         registered):
    """Random x/target over the whole signed(50) range; four symbols, stalls on ``en``.
    ``fresh_cycle=1``: ``fresh`` a cycle earlier and the initial value zero.
    ``fresh_target``: a fresh tick starts at its target (``i_init`` random and unused).
    ``deep``: the deep build's block, a cycle longer (latency 6, window 7);
    ``registered``: its operands and state registered first (``fresh_cycle=1`` only), a
    cycle longer again (latency 7, window 8)."""
    if registered and fresh_cycle != 1:
        with pytest.raises(ValueError, match="registered_operands needs"):
            Smooth(4, 50, fresh_cycle=fresh_cycle, fresh_target=fresh_target, deep=deep,
                   registered_operands=True)
        return
    width = 50
    dut = Smooth(4, width, fresh_cycle=fresh_cycle, fresh_target=fresh_target, deep=deep,
                 registered_operands=registered)
    assert (dut.LATENCY, dut.WINDOW) == ((5, 6), (6, 7), (7, 8))[deep + registered]
    rng = random.Random(11)
    lo, hi = -2**(width - 1), 2**(width - 1) - 1
    values = [lo, hi, 0, -1, 1, lo + 1, hi - 1]

    def pick() -> int:
        return rng.choice(values) if rng.random() < 0.3 else rng.randint(lo, hi)

    state = [0] * 4
    checked = [0]

    async def bench(ctx):
        # A slot per cycle: (valid, addr, fresh, init, target, alpha); a symbol recurs only
        # after the block's WINDOW cycles. Expected outputs are computed at issue time.
        slots = []
        last_use = [-100] * 4
        cycle = 0
        while checked[0] < 400:
            en = rng.random() < 0.8
            ctx.set(dut.en, en)
            if en:
                free = [s for s in range(4) if cycle - last_use[s] >= dut.WINDOW]
                if free and rng.random() < 0.9:
                    addr = rng.choice(free)
                    last_use[addr] = cycle
                    fresh = rng.random() < 0.1
                    init, target, alpha = pick(), pick(), rng.choice(
                        [1, 2**18 - 1, 2**17, rng.randint(1, 2**18 - 1)])
                    if fresh_cycle == 1:
                        init = 0
                    x = (target if fresh_target else init) if fresh else state[addr]
                    x_new = x + (((target - x) * alpha) >> 18)
                    state[addr] = x_new
                    slots.append((1, addr, fresh, init, target, alpha, x_new, target - x_new))
                else:
                    slots.append((0, 0, 0, 0, 0, 0, 0, 0))
                ctx.set(dut.i_valid, slots[-1][0])
                ctx.set(dut.i_addr, slots[-1][1])
                if len(slots) >= fresh_cycle + 1:
                    ctx.set(dut.i_fresh, slots[-1 - fresh_cycle][2])
                if len(slots) >= 3:
                    _, _, _, init, target, alpha, _, _ = slots[-3]
                    ctx.set(dut.i_init, init if fresh_cycle == 2 and not fresh_target
                            else pick())
                    ctx.set(dut.i_target, target)
                    ctx.set(dut.i_alpha, alpha)
                if len(slots) >= dut.LATENCY + 1:
                    valid, *_, x_new, gap = slots[-1 - dut.LATENCY]
                    got = (ctx.get(dut.o_x), ctx.get(dut.o_gap))
                    assert got == ((x_new, gap) if valid else (0, 0)), (len(slots), got)
                    checked[0] += valid
                cycle += 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked[0] >= 400
    assert Value.cast(dut.o_x).shape().signed
