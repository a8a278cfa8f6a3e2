"""The credit FIFO in the Amaranth simulator: a free-running producer never overruns it."""

from __future__ import annotations

import random
from collections import deque

import pytest
from amaranth.sim import Simulator

from tickgate.gateware.credit_fifo import CreditFifo

LATENCY = 5


def run(depth: int, offer: float, ready: float, drop: float, cycles: int = 3000,
        seed: int = 1) -> tuple[list[int], list[int], int]:
    """A producer of ``LATENCY`` cycles admits on credit; some items are dropped in it."""
    dut = CreditFifo(16, depth)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    rng = random.Random(seed)
    sent: list[int] = []
    got: list[int] = []
    worst = [0]

    async def bench(ctx):
        line: deque[tuple[int, bool] | None] = deque([None] * LATENCY)
        value = 0
        level = 0
        for _ in range(cycles):
            arriving = line.popleft()
            admit = rng.random() < offer and ctx.get(dut.o_credit)
            ctx.set(dut.i_admit, admit)
            ctx.set(dut.i_valid, arriving is not None and not arriving[1])
            ctx.set(dut.i_drop, arriving is not None and arriving[1])
            ctx.set(dut.i_data, arriving[0] if arriving else 0)
            ctx.set(dut.o_ready, rng.random() < ready)
            if ctx.get(dut.o_valid) and ctx.get(dut.o_ready):
                got.append(ctx.get(dut.o_data))
            if arriving is not None and not arriving[1]:
                sent.append(arriving[0])
            line.append((value, rng.random() < drop) if admit else None)
            value += admit
            level = len(sent) - len(got)
            worst[0] = max(worst[0], level)
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return sent, got, worst[0]


@pytest.mark.parametrize("ready", [1.0, 0.6, 0.1])
def test_every_item_comes_out_once_in_order_and_the_fifo_never_overfills(ready: float) -> None:
    sent, got, worst = run(8, offer=0.9, ready=ready, drop=0.1)
    assert got == sent[:len(got)] and len(sent) - len(got) <= 8
    assert worst <= 8 and len(got) > 250


def test_a_free_flowing_stream_moves_one_item_per_cycle_through_an_empty_fifo() -> None:
    sent, got, worst = run(8, offer=1.0, ready=1.0, drop=0.0, cycles=500)
    assert got == sent and len(got) >= 500 - LATENCY - 1
    assert worst <= 1                               # bypassed: nothing waits


def test_depth_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        CreditFifo(8, 6)
