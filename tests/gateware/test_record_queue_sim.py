"""The record queue in the Amaranth simulator: entries come out at the head in push order,
one push and one pop a cycle, while its user keeps it within ``depth`` entries."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tickgate.gateware.record_queue import RecordQueue


def test_record_queue_returns_each_entry_once_in_push_order_under_random_push_and_pop() -> None:
    dut = RecordQueue(70, 8)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    rng = random.Random(5)
    model: list[int] = []
    got: list[int] = []
    sent: list[int] = []

    async def bench(ctx):
        for _ in range(3000):
            push = len(model) < 8 and rng.random() < 0.6
            pop = bool(model) and rng.random() < 0.6
            value = rng.getrandbits(70)
            ctx.set(dut.i_push, push)
            ctx.set(dut.i_data, value)
            ctx.set(dut.i_pop, pop)
            if model:
                assert ctx.get(dut.o_data) == model[0]
            if pop:
                got.append(model.pop(0))
            if push:
                model.append(value)
                sent.append(value)
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert got == sent[:len(got)] and len(got) > 1000


def test_record_queue_pushes_and_pops_in_the_same_cycle_at_full_rate() -> None:
    dut = RecordQueue(16, 2)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        ctx.set(dut.i_push, 1)
        ctx.set(dut.i_data, 100)
        await ctx.tick()
        for k in range(1, 20):
            assert ctx.get(dut.o_data) == 100 + k - 1
            ctx.set(dut.i_data, 100 + k)
            ctx.set(dut.i_pop, 1)
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()


def test_record_queue_rejects_a_depth_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValueError):
        RecordQueue(8, 6)
