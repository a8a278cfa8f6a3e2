"""The min/max tree on its own: exact rolling min/max against a plain Python window, at
every hazard distance its write-forwarding covers, in the default and the deep block, with
``en`` stalls. (The engine uses one distance per build; this pins the others too.)"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tickgate.gateware.minmax import MinMaxTree
from tickgate.gateware.params import EngineParams

N_SYMBOLS = 4
DEPTH = 8


def schedule(rng: random.Random, distance: int, n: int, slots: int) -> list[tuple | None]:
    """Slots of ticks (or ``None``): ``(sym, pos, price, count, lo, hi)``, two ticks of one
    symbol at least ``distance`` slots apart, often exactly; ``lo``/``hi`` the min/max of
    the symbol's last ``min(count, n)`` prices."""
    last = [-100] * N_SYMBOLS
    pos = [0] * N_SYMBOLS
    history: list[list[int]] = [[] for _ in range(N_SYMBOLS)]
    out: list[tuple | None] = []
    edges = [-2**31, 2**31 - 1, 0, -1]
    for t in range(slots):
        free = [s for s in range(N_SYMBOLS) if t - last[s] >= distance]
        if not free or rng.random() < 0.1:
            out.append(None)
            continue
        # Prefer the symbol whose distance is exactly the smallest allowed: forwarding.
        due = [s for s in free if t - last[s] == distance]
        sym = rng.choice(due) if due and rng.random() < 0.7 else rng.choice(free)
        last[sym] = t
        price = rng.choice(edges) if rng.random() < 0.1 else rng.randint(-1000, 1000)
        history[sym].append(price)
        count = len(history[sym])
        window = history[sym][-min(count, n):]
        out.append((sym, pos[sym], price, count, min(window), max(window)))
        pos[sym] = 0 if pos[sym] + 1 >= n else pos[sym] + 1
    return out


def test_minmax_tree_refuses_a_distance_its_forwarding_cannot_cover():
    params = EngineParams(n_symbols=N_SYMBOLS, minmax_depth=DEPTH)
    assert MinMaxTree(params, 4).MIN_DISTANCE == 4
    assert MinMaxTree(params, 5, deep=True).MIN_DISTANCE == 5
    with pytest.raises(ValueError, match="at least 5, not 4"):
        MinMaxTree(params, 4, deep=True)
    with pytest.raises(ValueError, match="at least 4, not 3"):
        MinMaxTree(params, 3)


@pytest.mark.parametrize(("deep", "distance"),
                         [(False, 4), (False, 6), (True, 5), (True, 7), (True, 8)],
                         ids=["default-4", "default-6", "deep-5", "deep-7", "deep-8"])
@pytest.mark.parametrize("n", [1, 5, DEPTH])
def test_minmax_tree_is_exact_at_every_forwarded_distance(deep, distance, n):
    """Ticks of four symbols, many exactly ``distance`` apart (their path nodes come by
    forwarding: the default block writes them in cycle 6, the deep in cycle 7), random
    ``en`` stalls; every valid slot's output is the window's min and max, every empty
    slot's zero."""
    params = EngineParams(n_symbols=N_SYMBOLS, minmax_depth=DEPTH)
    dut = MinMaxTree(params, distance, deep=deep)
    assert dut.LATENCY == (7 if deep else 6)
    rng = random.Random(distance * 100 + n + deep)
    slots = schedule(rng, distance, n, 800)
    late = dut.LATENCY
    checked = [0]

    def at(index: int) -> tuple | None:
        return slots[index] if 0 <= index < len(slots) else None

    async def bench(ctx):
        ctx.set(dut.i_n, n)
        c = 0
        while c < len(slots) + late:
            en = rng.random() < 0.8
            ctx.set(dut.en, en)
            if en:
                tick = at(c)
                ctx.set(dut.i_valid, tick is not None)
                ctx.set(dut.i_sym, tick[0] if tick else rng.randrange(N_SYMBOLS))
                ctx.set(dut.i_price, tick[2] if tick else rng.randint(-5, 5))
                # The deep block takes the leaf pointer a cycle early (cycle -1).
                ahead = at(c + 1) if deep else tick
                ctx.set(dut.i_pos, ahead[1] if ahead else 0)
                before = at(c - 1)
                ctx.set(dut.i_count, before[3] if before else 0)
                if c >= late:
                    done = at(c - late)
                    want = (done[4], done[5]) if done else (0, 0)
                    got = (ctx.get(dut.o_min), ctx.get(dut.o_max))
                    assert got == want, (c - late, done, got)
                    checked[0] += done is not None
                c += 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked[0] > 300
