"""The risk gate in the Amaranth simulator: every verdict against :mod:`risk_model`."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator
from risk_events import Event, Scenario, apply, prepared_model, random_scenario

from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import Reject, Side
from tickgate.gateware.risk import ITEM_LAYOUT, LIMITS_LAYOUT, RiskGate
from tickgate.gateware.risk_model import RiskLimits

PARAMS = EngineParams(n_symbols=8, ring_depth=16, minmax_depth=8)


def _wrap32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def item_value(event: Event) -> int:
    fields = {
        "tick": int(event.kind in ("tick", "intent")),
        "order": int(event.kind in ("order", "intent")),
        "set_pos": int(event.kind == "set_pos"),
        "symbol": event.symbol, "ts": event.ts, "tick_price": event.tick_price,
        "qty": event.qty, "price": event.price, "side": event.side, "flags": event.flags,
        # What the card's arbiter sends with it: the signed quantity (-qty unless BUY).
        "sqty": _wrap32(event.qty if event.side == Side.BUY else -event.qty),
    }
    return ITEM_LAYOUT.const(fields).as_value().value


def limits_value(limits: RiskLimits, **extra: int) -> int:
    return LIMITS_LAYOUT.const({**limits.as_dict(), "feed_timeout": 0, "pnl_day": 0,
                                "equity": 0, **extra}).as_value().value


def run_gate(scenario: Scenario, *, gap: float, stall: float, seed: int,
             pulses: dict[int, str] | None = None) -> tuple[list[int], list[int], RiskGate]:
    """Simulate the gate on a scenario; return (verdicts of the orders, output cycles)."""
    dut = RiskGate(PARAMS, 16)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    rng = random.Random(seed)
    verdicts: list[int] = []
    cycles: list[int] = []
    pending = list(enumerate(scenario.events))
    orders = {i for i, e in enumerate(scenario.events) if e.kind in ("order", "intent")}
    done = {"in": False}

    async def driver(ctx):
        ctx.set(Value.cast(dut.limits), limits_value(scenario.limits))
        ctx.set(dut.restricted, scenario.restricted)
        for s in range(PARAMS.n_symbols):
            ctx.set(dut.i_table_we, 1)
            ctx.set(dut.i_table_symbol, s)
            ctx.set(dut.i_table_base, scenario.bases[s])
            ctx.set(dut.i_table_pos_limit, scenario.pos_limits[s])
            await ctx.tick()
        ctx.set(dut.i_table_we, 0)
        ctx.set(dut.i_kill_clear, 1)
        await ctx.tick()
        ctx.set(dut.i_kill_clear, 0)
        await ctx.tick().until(~dut.o_clearing)
        for index, event in pending:
            while rng.random() < gap:
                ctx.set(dut.i_valid, 0)
                await ctx.tick()
            ctx.set(dut.i_valid, 1)
            ctx.set(Value.cast(dut.i_item), item_value(event))
            ctx.set(dut.i_pass, index)
            await ctx.tick().until(dut.en & dut.o_ready)
        ctx.set(dut.i_valid, 0)
        done["in"] = True

    async def enable(ctx):
        while True:
            ctx.set(dut.en, int(rng.random() >= stall))
            await ctx.tick()

    async def monitor(ctx):
        cycle = 0
        got = 0
        while got < len(scenario.events):
            _, _, valid, en, reject, tag = await ctx.tick().sample(
                dut.o_valid, dut.en, dut.o_reject, dut.o_pass)
            cycle += 1
            if valid and en:
                if tag in orders:
                    verdicts.append(reject)
                else:
                    assert reject == 0
                cycles.append(cycle)
                got += 1

    sim.add_testbench(driver)
    sim.add_process(enable)
    sim.add_testbench(monitor)
    sim.run_until(1e-8 * (400 + 40 * len(scenario.events)))
    assert done["in"], "the gate stopped taking items"
    return verdicts, cycles, dut


def model_verdicts(scenario: Scenario) -> list[int]:
    model = prepared_model(scenario, PARAMS.n_symbols)
    return [v for v in (apply(model, e) for e in scenario.events) if v is not None]


@pytest.mark.parametrize("seed", range(4))
def test_gate_verdicts_equal_the_model_on_random_streams(seed: int) -> None:
    scenario = random_scenario(np.random.default_rng(seed), PARAMS.n_symbols, 400)
    got, _, _ = run_gate(scenario, gap=0.3, stall=0.2, seed=seed)
    want = model_verdicts(scenario)
    assert len(got) == len(want)
    pairs = enumerate(zip(got, want, strict=True))
    mismatches = [(i, hex(g), hex(w)) for i, (g, w) in pairs if g != w]
    assert not mismatches, mismatches[:10]
    seen = Counter(name for v in want for name in Reject.names() if v & getattr(Reject, name))
    assert seen["POSITION"] and seen["COLLAR"] and seen["STALE"] and seen["MAX_QTY"]
    assert sum(v == 0 for v in want) > 10


def test_back_to_back_orders_of_one_symbol_are_checked_in_order_without_gaps() -> None:
    limits = RiskLimits(max_qty=10, max_notional=10**9, collar_bps=10_000, stale_ms=10**6,
                        gross_limit=10, daily_loss_limit=1, max_drawdown=1, dup_window_ms=0)
    events = [Event("tick", 0, ts=5, tick_price=100)] + [
        Event("order", 0, qty=3, price=100 + i, side=Side.BUY) for i in range(6)]
    scenario = Scenario(limits, [1000] * 8, [8] * 8, 0, events)
    got, cycles, _ = run_gate(scenario, gap=0.0, stall=0.0, seed=1)
    assert got == model_verdicts(scenario) == [0, 0, Reject.POSITION, Reject.POSITION,
                                                Reject.POSITION, Reject.POSITION]
    gaps = [b - a for a, b in zip(cycles[1:], cycles[2:], strict=False)]
    assert max(gaps) <= 1 + RiskGate.HAZARD_WAIT


def test_verdict_comes_latency_cycles_after_the_item() -> None:
    dut = RiskGate(PARAMS, 16)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    edges: list[int] = []

    async def bench(ctx):
        ctx.set(dut.en, 1)
        await ctx.tick().until(~dut.o_clearing)
        ctx.set(dut.i_valid, 1)
        ctx.set(Value.cast(dut.i_item), item_value(Event("tick", 3, ts=1, tick_price=5)))
        ctx.set(dut.i_pass, 9)
        await ctx.tick()                      # the input's handshake edge
        ctx.set(dut.i_valid, 0)
        for k in range(1, 8):
            if ctx.get(dut.o_valid):
                edges.append(k)
                assert ctx.get(dut.o_pass) == 9
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert edges == [RiskGate.LATENCY]


def boundary_scenario() -> tuple[Scenario, list[int]]:
    """Each check at its limit (accepted) and one step past it (refused), in one stream.

    Returns the scenario and the verdicts the risk model's boundary tests pin.
    """
    limits = RiskLimits(max_qty=5, max_notional=5 * 10_010, collar_bps=50, stale_ms=100,
                        gross_limit=12, daily_loss_limit=1, max_drawdown=1,
                        rate_sym_interval=0, rate_global_interval=0, dup_window_ms=50)
    b = Side.BUY
    e = [Event("tick", 0, ts=1_000, tick_price=0), Event("tick", 1, ts=1_000, tick_price=0)]
    want: list[int] = []

    def order(qty: int, price: int, symbol: int = 0, side: int = b, verdict: int = 0) -> None:
        e.append(Event("order", symbol, qty=qty, price=price, side=side))
        want.append(verdict)

    order(5, 1)                                   # max_qty at the limit
    order(6, 2, verdict=Reject.MAX_QTY | Reject.MAX_NOTIONAL | Reject.POSITION)
    order(5, 10, side=Side.SELL)                  # notional 5 * 10010 at the limit (pos 0)
    order(5, 11, side=Side.SELL, verdict=Reject.MAX_NOTIONAL)
    order(1, 50)                                  # collar: 50 bps of 10000 = 50 pips
    order(1, -50, side=Side.SELL)
    order(1, 51, verdict=Reject.COLLAR)
    order(1, -51, side=Side.SELL, verdict=Reject.COLLAR)
    order(1, 3)                                   # a duplicate of this within 50 ms ...
    order(1, 3, verdict=Reject.DUPLICATE)
    e.append(Event("set_pos", 0, price=7))        # position limit 8 on symbol 0
    order(1, 4)                                   # -> 8: at the limit
    order(1, 5, verdict=Reject.POSITION)
    e.append(Event("set_pos", 1, price=-4))       # gross 8 + 4 = 12: at the limit
    order(1, 6, symbol=1, side=Side.SELL, verdict=Reject.GROSS)   # 8 + 5 > 12
    order(1, 7, symbol=1)                         # a buy shortens the short: gross 11
    order(1, 8, symbol=1, side=Side.SELL)         # gross 12: at the limit
    order(1, 9, symbol=1, side=Side.SELL, verdict=Reject.GROSS)
    e.append(Event("tick", 1, ts=1_051, tick_price=0))   # clock 1051: duplicate window over
    order(1, 3, side=Side.SELL)                            # not a duplicate any more (-> 7)
    e.append(Event("tick", 1, ts=1_100, tick_price=0))   # symbol 0's tick is 100 ms old
    order(1, 9, side=Side.SELL)
    e.append(Event("tick", 1, ts=1_101, tick_price=0))   # ... and now 101 ms
    order(1, 10, side=Side.SELL, verdict=Reject.STALE)
    order(1, 0, symbol=2, verdict=Reject.RESTRICTED | Reject.STALE)
    order(0, 0, verdict=Reject.BAD_ORDER)
    order(1, -10_000, verdict=Reject.BAD_ORDER)            # absolute price 0
    order(1, 0, symbol=9, verdict=Reject.BAD_ORDER)        # unknown symbol
    bases = [10_000] * 8
    pos_limits = [8, 100, 100, 100, 100, 100, 100, 100]
    return Scenario(limits, bases, pos_limits, 0b100, e), want


def test_gate_refuses_one_step_past_each_limit_and_accepts_at_it() -> None:
    scenario, want = boundary_scenario()
    assert model_verdicts(scenario) == want
    got, _, _ = run_gate(scenario, gap=0.0, stall=0.0, seed=0)
    assert got == want


def test_gate_rate_buckets_pass_their_burst_and_refuse_the_next_order() -> None:
    limits = RiskLimits(max_qty=5, max_notional=10**9, collar_bps=10_000, stale_ms=10**6,
                        gross_limit=1_000, daily_loss_limit=1, max_drawdown=1,
                        rate_sym_interval=10, rate_sym_tolerance=20, rate_global_interval=4,
                        rate_global_tolerance=12)
    e = [Event("tick", s, ts=1_000, tick_price=0) for s in range(2)]
    e += [Event("order", 0, qty=1, price=p, side=Side.BUY) for p in range(4)]
    e += [Event("tick", 0, ts=1_009, tick_price=0), Event("order", 0, qty=1, price=9,
                                                           side=Side.BUY)]
    e += [Event("tick", 0, ts=1_010, tick_price=0), Event("order", 0, qty=1, price=10,
                                                           side=Side.BUY)]
    e += [Event("order", 1, qty=1, price=p, side=Side.BUY) for p in range(3)]
    scenario = Scenario(limits, [10_000] * 8, [100] * 8, 0, e)
    # global: tat 1012 after three orders at 1000, then 1016, 1020, 1024 - 1010 > 12
    want = [0, 0, 0, Reject.RATE_SYMBOL, Reject.RATE_SYMBOL, 0, 0, 0, Reject.RATE_GLOBAL]
    assert model_verdicts(scenario) == want
    got, _, _ = run_gate(scenario, gap=0.0, stall=0.0, seed=0)
    assert got == want
