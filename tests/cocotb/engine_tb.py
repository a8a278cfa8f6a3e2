"""cocotb benches of the indicator engine behind its AXI4-Stream wrapper.

Run from pytest (``test_engine_cocotb.py``), which passes the build through ``TG_*``
environment variables. Every output record is compared byte for byte with the reference
model; latency is asserted in cycles.
"""

from __future__ import annotations

import itertools
import logging
import os
import random

import cocotb
import numpy as np
import stimulus
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from tickgate.gateware.engine import IndicatorEngine
from tickgate.gateware.layouts import ints_to_records, records_to_ints
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE, TickFlag

PARAMS = EngineParams(n_symbols=int(os.environ.get("TG_SYMBOLS", "64")),
                      ring_depth=int(os.environ.get("TG_RING", "256")),
                      minmax_depth=int(os.environ.get("TG_MINMAX", "64")))
TICKS = int(os.environ.get("TG_TICKS", "100000"))
DEEP = os.environ.get("TG_DEEP", "0") == "1"
SEED = int(os.environ.get("TG_SEED", "1"))
FRAME = 256  # ticks per DMA batch (tlast on the last)


def base_config() -> EngineConfig:
    """The default periods, windows shortened to fit small builds."""
    return EngineConfig.from_periods(sma=min(20, PARAMS.ring_depth), roc=min(10, PARAMS.ring_depth),
                                     minmax=min(20, PARAMS.minmax_depth))


class TB:
    """Clock, reset, AXI-Stream source and sink, registers, and the reference model."""

    def __init__(self, dut: object) -> None:
        self.dut = dut
        self.engine = IndicatorEngine(PARAMS, deep=DEEP)
        # One lane per beat (a whole record as one integer): cocotbext-axi's per-byte-lane
        # loop would otherwise cost 128 Python steps for every 1024-bit output record.
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                                      byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_lanes=1)
        for name in ("cocotb.tickgate_engine_axis.s_axis", "cocotb.tickgate_engine_axis.m_axis"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.model = EngineModel(PARAMS, base_config())
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    @staticmethod
    def restart_symbols(ticks: np.ndarray) -> np.ndarray:
        """Flag RESET on each symbol's first tick: the card's RAM outlives a cocotb test."""
        ticks = ticks.copy()
        _, first = np.unique(ticks["symbol"], return_index=True)
        ticks["flags"][first] |= TickFlag.RESET
        return ticks

    def configure(self, config: EngineConfig) -> None:
        """Write the run-time registers, on the card and in the model."""
        self.model.configure(config)
        for name, value in config.as_dict().items():
            getattr(self.dut, f"cfg_{name}").value = value

    def set_stalls(self, rng: random.Random, valid_gap: float, ready_low: float) -> None:
        def pauses(p: float):
            while True:
                yield rng.random() < p
        self.source.set_pause_generator(pauses(valid_gap) if valid_gap else None)
        self.sink.set_pause_generator(pauses(ready_low) if ready_low else None)

    async def run(self, ticks: np.ndarray) -> None:
        """Send ``ticks`` in frames, receive every record, compare with the model."""
        expected = self.model.process(ticks)
        frames = [ticks[i:i + FRAME] for i in range(0, len(ticks), FRAME)]
        for frame in frames:
            await self.source.send(AxiStreamFrame(records_to_ints(frame)))
        for index, frame in enumerate(frames):
            got = await self.sink.recv()
            records = ints_to_records(got.tdata, FEATURE_DTYPE)
            start = index * FRAME
            want = expected[start:start + len(frame)]
            assert len(records) == len(want), (
                f"frame {index}: {len(records)} records for {len(want)} ticks (tlast misplaced)")
            if records.tobytes() != want.tobytes():
                bad = int(np.flatnonzero(records != want)[0])
                fields = [f for f in FEATURE_DTYPE.names if records[bad][f] != want[bad][f]]
                raise AssertionError(
                    f"record {start + bad} (tick {ticks[start + bad]}) differs in {fields}: "
                    f"card {records[bad]} model {want[bad]}")
        assert self.sink.empty(), "records beyond the ticks sent"


def random_config(rng: random.Random) -> EngineConfig:
    return EngineConfig.from_periods(
        ema_fast=rng.randint(2, 40), ema_slow=rng.randint(2, 400), macd_signal=rng.randint(2, 30),
        rsi=rng.randint(2, 60), sma=rng.randint(1, PARAMS.ring_depth),
        roc=rng.randint(1, PARAMS.ring_depth), minmax=rng.randint(1, PARAMS.minmax_depth))


@cocotb.test()
async def random_streams_match_model_under_stalls(dut: object) -> None:
    """Random, back-to-back, extreme and recorded ticks; valid gaps and ready stalls."""
    rng = random.Random(SEED)
    tb = TB(dut)
    tb.configure(random_config(rng))
    await tb.reset()
    ticks = tb.restart_symbols(stimulus.mixed(np.random.default_rng(SEED), TICKS,
                                              PARAMS.n_symbols))
    chunk = len(ticks) // 4
    for part, (gap, low) in enumerate([(0.0, 0.0), (0.2, 0.0), (0.0, 0.3), (0.3, 0.5)]):
        tb.set_stalls(rng, gap, low)
        await tb.run(ticks[part * chunk:(part + 1) * chunk if part < 3 else len(ticks)])


@cocotb.test()
async def registers_take_effect_on_the_next_tick(dut: object) -> None:
    """Alphas change between batches; windows change with a RESET of every symbol."""
    rng = random.Random(SEED + 1)
    tb = TB(dut)
    await tb.reset()
    np_rng = np.random.default_rng(SEED + 1)
    for _ in range(4):
        config = random_config(rng)
        tb.configure(config)
        ticks = stimulus.random_walks(np_rng, max(TICKS // 20, 4 * PARAMS.n_symbols),
                                      PARAMS.n_symbols)
        await tb.run(tb.restart_symbols(ticks))


async def _handshake_cycles(dut: object, n_in: int, n_out: int) -> tuple[list[int], list[int]]:
    """Return the cycle numbers of the next ``n_in`` input and ``n_out`` output transfers."""
    ins: list[int] = []
    outs: list[int] = []
    for cycle in itertools.count():
        await RisingEdge(dut.clk)
        if dut.s_axis_tvalid.value == 1 and dut.s_axis_tready.value == 1:
            ins.append(cycle)
        if dut.m_axis_tvalid.value == 1 and dut.m_axis_tready.value == 1:
            outs.append(cycle)
        if len(ins) >= n_in and len(outs) >= n_out:
            return ins, outs
        assert cycle < 100 * (n_in + 100), "the engine stopped moving"


async def _run_without_stalls(tb: TB, ticks: np.ndarray) -> tuple[list[int], list[int]]:
    """Run ``ticks`` (symbols restarted) and check that every record leaves ``LATENCY``
    cycles after its tick's handshake, or after the cycle a waiting tick would have had it
    (``IndicatorEngine.entry_cycles``); return the handshake and those cycles."""
    ticks = tb.restart_symbols(ticks)
    n = len(ticks)
    watcher = cocotb.start_soon(_handshake_cycles(tb.dut, n, n))
    await tb.run(ticks)
    ins, outs = await watcher
    entries = tb.engine.entry_cycles(ins, ticks["symbol"])
    latencies = {o - e for e, o in zip(entries, outs, strict=True)}
    assert latencies == {tb.engine.LATENCY}, f"latencies {sorted(latencies)}"
    return ins, entries


@cocotb.test()
async def latency_is_fixed_and_interleaved_symbols_flow_one_per_cycle(dut: object) -> None:
    """No stalls: every record leaves exactly LATENCY cycles after its tick entered."""
    tb = TB(dut)
    tb.configure(base_config())
    await tb.reset()
    n = 4096
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = np.arange(n) % PARAMS.n_symbols
    ticks["price"] = np.arange(n) * 3 % 1001
    ticks["seq"] = np.arange(n)
    ins, entries = await _run_without_stalls(tb, ticks)
    assert entries == ins, "an interleaved tick waited"
    span = ins[-1] - ins[0] + 1
    assert span == n, f"{n} interleaved ticks took {span} cycles to enter"
    dut._log.info("interleaved %d symbols: %d ticks in %d cycles (%.3f ticks/cycle), "
                  "latency %d cycles", PARAMS.n_symbols, n, span, n / span, tb.engine.LATENCY)


@cocotb.test()
async def one_symbol_back_to_back_waits_a_bounded_time(dut: object) -> None:
    """One symbol only: each tick waits for the previous one, never longer than the bound."""
    tb = TB(dut)
    tb.configure(base_config())
    await tb.reset()
    n = 512
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["price"] = np.arange(n) % 17
    ticks["seq"] = np.arange(n)
    ticks = tb.restart_symbols(ticks)
    ins, entries = await _run_without_stalls(tb, ticks)
    waits = {e - i for i, e in zip(ins, entries, strict=True)}
    assert max(waits) <= tb.engine.INPUT_WAIT, f"waits {sorted(waits)}"
    gaps = {b - a for a, b in itertools.pairwise(entries)}
    assert gaps == {tb.engine.HAZARD_DISTANCE}, f"gaps {sorted(gaps)}"
    span = entries[-1] - entries[0] + 1
    dut._log.info("one symbol: %d ticks in %d cycles (%.3f ticks/cycle)", n, span, n / span)
