"""The indicator engine in the Amaranth simulator, every output word against the model.

Small builds (8 symbols, ring 16, min/max 8) and a few thousand ticks in total keep this
tier fast; the long runs are the cocotb/Verilator benches' job (tests/cocotb).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.sim import Simulator
from streams import stream_get, stream_put, tick_stream

from tickgate.gateware.engine import IndicatorEngine
from tickgate.gateware.layouts import (
    TICK_LAYOUT,
    config_to_int,
    ints_to_records,
    records_to_ints,
)
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineConfig, EngineParams, alpha_ema
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE, FeatureValid, TickFlag

SMALL = EngineParams(n_symbols=8, ring_depth=16, minmax_depth=8)
SMALL_CONFIG = EngineConfig.from_periods(ema_fast=3, ema_slow=7, macd_signal=4, rsi=5,
                                         sma=12, roc=5, minmax=6)


@dataclass
class Run:
    """What a simulation saw: the records, their ``last`` bits and the transfer cycles."""

    records: np.ndarray
    lasts: list[int] = field(default_factory=list)
    ins: list[int] = field(default_factory=list)
    outs: list[int] = field(default_factory=list)
    hazard_cycles: int = 0
    engine: IndicatorEngine | None = None


def run_engine(params: EngineParams, config: EngineConfig, ticks: np.ndarray, *,
               lasts: list[int] | None = None, gap: float = 0.0, stall: float = 0.0,
               seed: int = 0, preload: dict[int, dict[str, int]] | None = None,
               configs: dict[int, EngineConfig] | None = None, deep: bool = False) -> Run:
    """Simulate the engine on ``ticks``; return its records and handshake cycles.

    ``gap``/``stall``: chance per cycle of a pause before a tick is offered / of ``ready``
    low. ``preload``: symbol -> meta RAM fields written before the run (the other state stays
    zero, as in a model whose history is zero). ``configs``: tick index -> registers set
    before that tick is offered. ``deep``: the deep build.
    """
    dut = IndicatorEngine(params, deep=deep)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    words = records_to_ints(ticks)
    lasts = lasts or [0] * len(ticks)
    payload_bits = TICK_LAYOUT.size
    got: list[int] = []
    run = Run(np.zeros(0, FEATURE_DTYPE), engine=dut)
    configs = configs or {}

    async def producer(ctx):
        rng = random.Random(seed)
        for symbol, row in (preload or {}).items():
            # (The deep build's row says whether it was written: count != 0.)
            seen = {"seen": int(row.get("count", 0) != 0)} if deep else {}
            ctx.set(dut.meta[symbol], {**row, **seen})
        ctx.set(Value.cast(dut.config), config_to_int(config))
        for i, word in enumerate(words):
            if i in configs:
                ctx.set(Value.cast(dut.config), config_to_int(configs[i]))
            while rng.random() < gap:
                await ctx.tick()
            await stream_put(ctx, dut.i_tick, word | lasts[i] << payload_bits)

    async def consumer(ctx):
        rng = random.Random(seed + 1)
        while len(got) < len(words):
            while rng.random() < stall:
                await ctx.tick()
            got.append(await stream_get(ctx, dut.o_feature))
        for _ in range(2 * dut.LATENCY):     # nothing more may come out
            assert not ctx.get(dut.o_feature.valid), "a record beyond the ticks sent"
            await ctx.tick()

    async def monitor(ctx):
        i, o = dut.i_tick, dut.o_feature
        cycles = ctx.tick().sample(i.valid, i.ready, o.valid, o.ready, dut.o_hazard)
        cycle = 0
        async for _, _, iv, ir, ov, orr, hz in cycles:
            cycle += 1
            if iv and ir:
                run.ins.append(cycle)
            if ov and orr:
                run.outs.append(cycle)
            run.hazard_cycles += hz

    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.add_testbench(monitor, background=True)
    sim.run()
    data_mask = (1 << 1024) - 1
    run.records = ints_to_records([w & data_mask for w in got], FEATURE_DTYPE)
    run.lasts = [w >> 1024 for w in got]
    return run


def expected(params: EngineParams, config: EngineConfig, ticks: np.ndarray, *,
             preload: dict[int, dict[str, int]] | None = None,
             configs: dict[int, EngineConfig] | None = None) -> np.ndarray:
    """Return the model's records for the same run as :func:`run_engine`."""
    model = EngineModel(params, config)
    for symbol, row in (preload or {}).items():
        assert row.keys() == {"count"}, "only a count can be preloaded in both"
        model.state.count[symbol] = row["count"]
    cuts = sorted({0, len(ticks), *(configs or {})})
    parts = []
    for start, stop in itertools.pairwise(cuts):
        if start in (configs or {}):
            model.configure(configs[start])
        parts.append(model.process(ticks[start:stop]))
    return np.concatenate(parts)


def assert_same(got: np.ndarray, want: np.ndarray, ticks: np.ndarray) -> None:
    """Fail on the first record and fields where the engine differs from the model."""
    assert len(got) == len(want), f"{len(got)} records for {len(want)} ticks"
    if got.tobytes() != want.tobytes():
        bad = int(np.flatnonzero(got != want)[0])
        names = [n for n in FEATURE_DTYPE.names if got[bad][n] != want[bad][n]]
        detail = ", ".join(f"{n}: engine {got[bad][n]} model {want[bad][n]}" for n in names)
        raise AssertionError(f"record {bad} (tick {ticks[bad]}) differs: {detail}")


def check(params, config, ticks, **kwargs) -> Run:
    run = run_engine(params, config, ticks, **kwargs)
    want = expected(params, config, ticks, preload=kwargs.get("preload"),
                    configs=kwargs.get("configs"))
    assert_same(run.records, want, ticks)
    return run


# --------------------------------------------------------------------------- tests


def interleaved_ticks(n: int) -> np.ndarray:
    """Round-robin over every symbol of SMALL: no tick ever waits."""
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = np.arange(n) % SMALL.n_symbols
    ticks["price"] = np.arange(n) * 37 % 1001 - 500
    ticks["seq"] = np.arange(n)
    return ticks


def one_symbol_ticks(n: int) -> np.ndarray:
    """Symbol 3 only, back to back: every tick after the first waits."""
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = 3
    ticks["price"] = (np.arange(n) * 7919) % 301 - 150
    ticks["seq"] = np.arange(n)
    return ticks


@pytest.mark.parametrize(("deep", "latency"), [(False, 8), (True, 13)], ids=["default", "deep"])
def test_latency_is_fixed_and_interleaved_symbols_flow_one_per_cycle(deep, latency):
    n = 160
    run = check(SMALL, SMALL_CONFIG, interleaved_ticks(n), deep=deep)
    assert run.engine.LATENCY == latency
    assert {o - i for i, o in zip(run.ins, run.outs, strict=True)} == {latency}
    assert run.ins[-1] - run.ins[0] + 1 == n, "interleaved ticks did not enter 1 per cycle"
    assert run.hazard_cycles == 0


def test_one_symbol_back_to_back_waits_the_hazard_bound():
    n = 40
    ticks = one_symbol_ticks(n)
    run = check(SMALL, SMALL_CONFIG, ticks)
    engine = run.engine
    assert engine.HAZARD_WAIT == 5
    gaps = {b - a for a, b in itertools.pairwise(run.ins)}
    assert gaps == {engine.HAZARD_WAIT + 1}     # one tick per 6 cycles
    assert {o - i for i, o in zip(run.ins, run.outs, strict=True)} == {engine.LATENCY}


def test_deep_build_one_symbol_waits_in_the_input_registers():
    n = 40
    ticks = one_symbol_ticks(n)
    run = check(SMALL, SMALL_CONFIG, ticks, deep=True)
    engine = run.engine
    assert (engine.HAZARD_DISTANCE, engine.HAZARD_WAIT) == (8, 7)
    # The second and third ticks are taken at once (into the tail register, then up into
    # the head register, where the second waits); each later one is taken as the one
    # before it moves up, HAZARD_DISTANCE cycles apart.
    gaps = [b - a for a, b in itertools.pairwise(run.ins)]
    assert gaps == [1, 1] + [engine.HAZARD_DISTANCE] * (n - 3)
    entries = engine.entry_cycles(run.ins, ticks["symbol"])
    assert [o - e for e, o in zip(entries, run.outs, strict=True)] == [engine.LATENCY] * n
    assert {b - a for a, b in itertools.pairwise(run.outs)} == {engine.HAZARD_DISTANCE}
    assert run.hazard_cycles == (n - 1) * engine.HAZARD_WAIT
    # From the third tick on, each waits behind the one ahead and then behind it again.
    waits = [e - i for i, e in zip(run.ins, entries, strict=True)]
    assert waits == [0, engine.HAZARD_WAIT] + [engine.INPUT_WAIT] * (n - 2)
    assert engine.INPUT_WAIT == 2 * engine.HAZARD_WAIT


def test_deep_build_ready_depends_on_no_payload_bit():
    """The deep build's ``ready`` is a register: whatever symbol is offered, in a cycle
    with the input register empty, entering or waiting, ``ready`` is the same."""
    dut = IndicatorEngine(SMALL, deep=True)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen: list[set[int]] = []

    async def testbench(ctx):
        ctx.set(Value.cast(dut.config), config_to_int(SMALL_CONFIG))
        ctx.set(dut.i_tick.valid, 1)
        for cycle in range(40):
            readies = set()
            for symbol in (*range(SMALL.n_symbols), 255):
                ctx.set(dut.i_tick.payload.data.symbol, symbol)
                readies.add(ctx.get(dut.i_tick.ready))
            seen.append(readies)
            ctx.set(dut.i_tick.payload.data.symbol, cycle % 2)   # two symbols: waits
            await ctx.tick()

    sim.add_testbench(testbench)
    sim.run()
    assert all(len(readies) == 1 for readies in seen), seen
    assert {min(r) for r in seen} == {0, 1}, "the input register never had to wait"


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_two_symbols_alternating_wait_less(deep):
    n = 40
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = np.arange(n) % 2
    ticks["price"] = np.arange(n) * 13 % 97
    run = check(SMALL, SMALL_CONFIG, ticks, deep=deep)
    engine = run.engine
    entries = engine.entry_cycles(run.ins, ticks["symbol"])
    assert [o - e for e, o in zip(entries, run.outs, strict=True)] == [engine.LATENCY] * n
    # each symbol every HAZARD_DISTANCE cycles: two ticks per 6 (deep: 8) cycles
    assert entries[-1] - entries[0] == (n // 2 - 1) * engine.HAZARD_DISTANCE + 1


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_random_multi_symbol_stream_matches_model(seed, deep):
    rng = np.random.default_rng(seed)
    ticks = tick_stream(rng, 600, SMALL.n_symbols, bad=0.03, reset=0.02, jumps=0.02,
                        extremes=0.02, runs=0.2)
    lasts = [int(x) for x in rng.random(len(ticks)) < 0.1]
    run = check(SMALL, SMALL_CONFIG, ticks, lasts=lasts, deep=deep)
    assert run.lasts == lasts


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_random_stalls_and_gaps_lose_and_duplicate_nothing(deep):
    rng = np.random.default_rng(7)
    ticks = tick_stream(rng, 500, SMALL.n_symbols, symbols=3, bad=0.03, reset=0.02,
                        jumps=0.02, extremes=0.02, runs=0.3)
    lasts = [int(x) for x in rng.random(len(ticks)) < 0.2]
    run = check(SMALL, SMALL_CONFIG, ticks, lasts=lasts, gap=0.3, stall=0.4, seed=7, deep=deep)
    assert run.lasts == lasts


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_extreme_prices_and_big_jumps(deep):
    rng = np.random.default_rng(3)
    n = 400
    ticks = tick_stream(rng, n, SMALL.n_symbols, symbols=2, runs=0.5)
    ticks["price"] = rng.choice(np.array([-2**31, 2**31 - 1, 0, -1, 1, -2**31 + 1, 2**31 - 2]),
                                n)
    config = EngineConfig(alpha_fast=2**18 - 1, alpha_slow=1, alpha_signal=2**17 + 12345,
                          alpha_rsi=2**18 - 2, n_sma=16, n_roc=16, n_minmax=8)
    check(SMALL, config, ticks, deep=deep)


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_bad_symbols_echo_the_tick_and_touch_no_state(deep):
    rng = np.random.default_rng(4)
    ticks = tick_stream(rng, 120, SMALL.n_symbols, symbols=2, runs=0.3, bad=0.3)
    ticks["symbol"][5] = 255
    ticks["symbol"][6] = SMALL.n_symbols
    run = check(SMALL, SMALL_CONFIG, ticks, deep=deep)
    bad = ticks["symbol"] >= SMALL.n_symbols
    assert (run.records["valid"][bad] == FeatureValid.BAD_SYMBOL).all()
    assert (run.records["ema_fast"][bad] == 0).all()


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_reset_flags_restart_every_indicator(deep):
    rng = np.random.default_rng(5)
    ticks = tick_stream(rng, 200, SMALL.n_symbols, symbols=3, runs=0.4)
    ticks["flags"][::17] |= TickFlag.RESET
    ticks["flags"][1::29] |= TickFlag.RESET | 0x40
    check(SMALL, SMALL_CONFIG, ticks, deep=deep)


@pytest.mark.parametrize("windows", [(1, 1, 1), (16, 16, 8), (16, 1, 7), (3, 15, 2)])
@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_window_edges(windows, deep):
    n_sma, n_roc, n_minmax = windows
    config = EngineConfig(n_sma=n_sma, n_roc=n_roc, n_minmax=n_minmax)
    rng = np.random.default_rng(sum(windows))
    ticks = tick_stream(rng, 250, SMALL.n_symbols, symbols=2, runs=0.5, reset=0.01)
    check(SMALL, config, ticks, deep=deep)


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_registers_take_effect_on_the_next_tick(deep):
    rng = np.random.default_rng(6)
    ticks = tick_stream(rng, 300, SMALL.n_symbols, runs=0.2)
    # window lengths change together with a RESET of every symbol (host rule)
    ticks["symbol"][150:158] = np.arange(8)
    ticks["flags"][150:158] = TickFlag.RESET
    configs = {
        60: EngineConfig(alpha_fast=alpha_ema(5), alpha_slow=alpha_ema(50), n_sma=12,
                         n_roc=5, n_minmax=6),
        61: EngineConfig(alpha_signal=alpha_ema(20), alpha_rsi=3000, n_sma=12, n_roc=5,
                         n_minmax=6),
        150: EngineConfig(n_sma=3, n_roc=9, n_minmax=4),
    }
    check(SMALL, SMALL_CONFIG, ticks, configs=configs, gap=0.1, deep=deep)


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_count_saturates_at_2_32_minus_1(deep):
    preload = {2: {"count": 2**32 - 4}}
    ticks = np.zeros(8, TICK_DTYPE)
    ticks["symbol"] = 2
    ticks["price"] = [10, 20, -5, 3, 4, 5, 6, 7]
    run = check(SMALL, SMALL_CONFIG, ticks, preload=preload, deep=deep)
    assert list(run.records["count"]) == [2**32 - 3, 2**32 - 2] + [2**32 - 1] * 6


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_default_build_small_stream(deep):
    params = EngineParams()
    rng = np.random.default_rng(8)
    ticks = tick_stream(rng, 300, params.n_symbols, symbols=4, runs=0.3, bad=0.05,
                        reset=0.02)
    check(params, EngineConfig(), ticks, deep=deep)


def test_full_symbol_range_build_has_no_bad_symbols():
    params = EngineParams(n_symbols=256, ring_depth=4, minmax_depth=4)
    rng = np.random.default_rng(9)
    ticks = tick_stream(rng, 200, 256, runs=0.3)
    ticks["symbol"][:50] = rng.choice([0, 255], 50)
    check(params, EngineConfig(n_sma=3, n_roc=4, n_minmax=4), ticks)


@pytest.mark.parametrize("deep", [False, True], ids=["default", "deep"])
def test_minmax_depth_beyond_the_ring(deep):
    params = EngineParams(n_symbols=2, ring_depth=4, minmax_depth=16)
    rng = np.random.default_rng(10)
    ticks = tick_stream(rng, 150, 2, runs=0.5)
    check(params, EngineConfig(n_sma=3, n_roc=2, n_minmax=11), ticks, deep=deep)
    check(params, EngineConfig(n_sma=3, n_roc=2, n_minmax=16), ticks, deep=deep)


def test_verilog_converts():
    text = verilog.convert(IndicatorEngine(SMALL), name="tickgate_engine")
    assert "module tickgate_engine" in text


def test_class_timing_is_the_default_builds():
    timing = IndicatorEngine.timing(EngineParams())
    assert timing == (IndicatorEngine.LATENCY, IndicatorEngine.HAZARD_DISTANCE) == (8, 6)
    assert IndicatorEngine.HAZARD_WAIT == 5
    assert IndicatorEngine.timing(EngineParams(minmax_depth=256)) == (8, 6)
    assert IndicatorEngine.timing(EngineParams(), deep=True) == (13, 8)
