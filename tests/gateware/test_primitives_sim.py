"""The primitives' behavioural twins in the Amaranth simulator (the ECP5 flavours are
checked word for word by tests/cocotb/test_engine_ecp5_cocotb.py)."""

from __future__ import annotations

import gc
import random
import warnings

import pytest
from amaranth.hdl import UnusedElaboratable, signed
from amaranth.sim import Simulator

from tickgate.gateware.primitives import RegisteredMemory, RegisteredMultiplier


def test_read_tap_behind_the_pointer_wraps_within_the_low_bits():
    """rd_sub (a cycle ahead) comes off the read address's low bits, modulo 2**k; the high
    bits (the symbol) are untouched; data arrives two cycles after the address."""
    ring_bits, sym_bits = 3, 2
    mem = RegisteredMemory(signed(16), 2 ** (ring_bits + sym_bits), rd_sub_bits=ring_bits,
                           name="ring")
    rng = random.Random(5)
    contents = {a: rng.randrange(-2**15, 2**15) for a in range(2 ** (ring_bits + sym_bits))}
    reads = [(rng.randrange(8), rng.randrange(4), rng.randrange(8)) for _ in range(60)]

    async def bench(ctx):
        ctx.set(mem.en, 1)
        ctx.set(mem.wr_en, 1)
        for addr, value in contents.items():
            ctx.set(mem.wr_addr, addr)
            ctx.set(mem.wr_data, value)
            await ctx.tick()
        ctx.set(mem.wr_en, 0)
        ctx.set(mem.rd_sub, reads[0][2])     # a cycle ahead of the first read
        await ctx.tick()
        for t in range(len(reads) + 2):
            if t + 1 < len(reads):
                ctx.set(mem.rd_sub, reads[t + 1][2])
            if t < len(reads):
                ptr, sym, _ = reads[t]
                ctx.set(mem.rd_addr, ptr | (sym << ring_bits))
            await ctx.tick()
            if 1 <= t <= len(reads):       # read t - 1, two cycles after its address
                ptr, sym, sub = reads[t - 1]
                tap = ((ptr - sub) % 2**ring_bits) | (sym << ring_bits)
                assert ctx.get(mem.rd_data) == contents[tap]

    sim = Simulator(mem)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_read_tap_refuses_what_it_cannot_build():
    # The refused objects exist before their __init__ raises: collect them here, where
    # their "never used" warning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match="exceeds"):
            RegisteredMemory(16, 8, rd_sub_bits=4)
        with pytest.raises(ValueError, match="collision"):
            RegisteredMemory(16, 64, rd_sub_bits=3, collision=True)
        gc.collect()


@pytest.mark.parametrize("fabric", [False, True])
def test_multiplier_latency_is_two_cycles_from_its_operands(fabric):
    """Without fabric_operands the operands of cycle t give p in t + 2; with it the
    caller's registers (cycle t + 1) do: the same product in the same cycle."""
    mul = RegisteredMultiplier(17, 18, name="m", fabric_operands=fabric)
    rng = random.Random(3)
    pairs = [(rng.randrange(2**17), rng.randrange(2**18)) for _ in range(40)]

    async def bench(ctx):
        ctx.set(mul.en, 1)
        for i in range(len(pairs) + 3):
            # operands of "cycle t" go in at t, or at t + 1 for fabric operands
            j = i - 1 if fabric else i
            if 0 <= j < len(pairs):
                ctx.set(mul.a, pairs[j][0])
                ctx.set(mul.b, pairs[j][1])
            await ctx.tick()
            k = i - 1
            if 0 <= k < len(pairs):
                a, b = pairs[k]
                assert ctx.get(mul.p) == a * b

    sim = Simulator(mul)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
