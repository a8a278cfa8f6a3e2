"""cocotb benches of the whole card (``tickgate_top``): AXI streams, AXI-Lite, the model.

Run from pytest (``test_top_cocotb.py``). Registers are reached by name through the
register-map JSON the build writes (:mod:`tickgate.drivers.regmap`); every output record is
compared byte for byte with :class:`tickgate.gateware.top_model.TopModel`, which follows
the interleaving of ticks and host orders the card's arbiter chose (the order of the output
records), while each input stream's own order is checked.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiResp,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from tickgate.drivers.regmap import RegisterMapInfo
from tickgate.gateware.card_regs import Command, Status, SymbolCommand
from tickgate.gateware.decision import DecisionConfig
from tickgate.gateware.layouts import ints_to_records, records_to_ints
from tickgate.gateware.params import EngineConfig, EngineParams
from tickgate.gateware.records import (
    ORDER_DTYPE,
    OUTPUT_DTYPE,
    TICK_DTYPE,
    OutputKind,
    Reject,
    Side,
    TickFlag,
)
from tickgate.gateware.risk_model import RiskLimits
from tickgate.gateware.top_model import TopModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateware"))
from risk_events import random_scenario  # noqa: E402

PARAMS = EngineParams(n_symbols=int(os.environ.get("TG_SYMBOLS", "16")),
                      ring_depth=int(os.environ.get("TG_RING", "32")),
                      minmax_depth=int(os.environ.get("TG_MINMAX", "16")))
TICKS = int(os.environ.get("TG_TICKS", "20000"))
SEED = int(os.environ.get("TG_SEED", "1"))
LATENCY = int(os.environ["TG_LATENCY"])
ENGINE = EngineConfig.from_periods(ema_fast=3, ema_slow=7, macd_signal=4, rsi=5, sma=12, roc=5,
                                   minmax=6)
DECISION = DecisionConfig(enable=True, warmup=3, enter=3, exit=1, qty=2, strategy=7,
                          weights=(0, 0, 0, 0, 1, 0, 0, 0), shifts=(16, 16, 16, 16, 0, 16, 0, 0))
FRAME = 64
#: Limits no directed bench's orders come near (except the daily loss, 500 cents).
OPEN_LIMITS = RiskLimits(max_qty=100, max_notional=10**12, collar_bps=10_000, stale_ms=10**6,
                         gross_limit=10**6, daily_loss_limit=500, max_drawdown=10**6)


class TB:
    """Clock, reset, the three streams, the register bus, and the card's model."""

    def __init__(self, dut: object) -> None:
        self.dut = dut
        self.info = RegisterMapInfo.from_json(json.loads(os.environ["TG_REGMAP"]))
        self.ticks = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_tick"), dut.clk,
                                     dut.rst, byte_lanes=1)
        self.orders = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_order"), dut.clk,
                                      dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_lanes=1)
        self.bus = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        for name in ("s_axis_tick", "s_axis_order", "m_axis", "s_axi"):
            logging.getLogger(f"cocotb.tickgate_top.{name}").setLevel(logging.WARNING)
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, PARAMS.n_symbols + 4)   # the risk gate clears

    # ---------------------------------------------------------------- registers by name
    async def write(self, name: str, value: int, index: int = 0) -> None:
        word = self.info.encode(name, value)
        got = await self.bus.write(self.info.offset(name, index), word.to_bytes(4, "little"))
        assert got.resp == AxiResp.OKAY, f"write {name}: {got.resp!r}"

    async def read(self, name: str, index: int = 0) -> int:
        got = await self.bus.read(self.info.offset(name, index), 4)
        assert got.resp == AxiResp.OKAY, f"read {name}: {got.resp!r}"
        return self.info.decode(name, int.from_bytes(got.data, "little"))

    async def configure(self, model: TopModel, limits: RiskLimits, bases: list[int],
                        pos_limits: list[int], restricted: int) -> None:
        """Load every register of the card and of the model alike, then clear the kill."""
        for name, value in ENGINE.as_dict().items():
            await self.write(name, value)
        d = DECISION.as_dict()
        for name in ("enable", "warmup", "bias", "enter", "exit", "qty", "strategy"):
            await self.write(f"decision_{name}", int(d[name]))
        for k in range(len(DECISION.weights)):
            await self.write("decision_weights", DECISION.weights[k], k)
            await self.write("decision_shifts", DECISION.shifts[k], k)
        for name, value in limits.as_dict().items():
            if name == "max_notional":
                await self.write("max_notional_lo", value & 0xFFFF_FFFF)
                await self.write("max_notional_hi", value >> 32)
            else:
                await self.write(name, value)
        for k in range(self.info.register("restricted").count):
            await self.write("restricted", (restricted >> 32 * k) & 0xFFFF_FFFF, k)
        for s in range(PARAMS.n_symbols):
            await self.write("sym_index", s)
            await self.write("sym_base", bases[s])
            await self.write("sym_pos_limit", pos_limits[s])
            await self.write("sym_command", SymbolCommand.WRITE_TABLE)
            model.risk.set_symbol(s, base=bases[s], pos_limit=pos_limits[s])
            model.risk.set_restricted(s, bool(restricted >> s & 1))
        await self.write("kill_clear", 1)
        await ClockCycles(self.dut.clk, 2)
        model.risk.set_limits(limits)
        model.risk.clear_kill()
        assert not await self.read("status") & Status.KILL

    # ---------------------------------------------------------------- the streams
    async def exchange(self, model: TopModel, ticks: np.ndarray,
                       orders: np.ndarray) -> np.ndarray:
        """Send ticks and host orders concurrently; check every record; return them."""
        pending = model.tick_records(ticks)
        tick_frames = [ticks[i:i + FRAME] for i in range(0, len(ticks), FRAME)]

        async def send_ticks() -> None:
            for frame in tick_frames:
                await self.ticks.send(AxiStreamFrame(records_to_ints(frame)))

        async def send_orders() -> None:
            for order in orders:
                await self.orders.send(AxiStreamFrame(records_to_ints(order[None])))

        cocotb.start_soon(send_ticks())
        cocotb.start_soon(send_orders())
        got: list[np.ndarray] = []
        n_tick = n_order = 0
        while n_tick < len(ticks) or n_order < len(orders):
            frame = await self.sink.recv()
            records = ints_to_records(frame.tdata, OUTPUT_DTYPE)
            for record in records:
                if record["kind"] & OutputKind.HOST:
                    assert n_order < len(orders), "a host-order record beyond the orders sent"
                    want = model.pass_order(orders[n_order])
                    n_order += 1
                else:
                    assert n_tick < len(ticks), "a tick record beyond the ticks sent"
                    want = model.pass_tick(pending[n_tick])
                    n_tick += 1
                if record.tobytes() != want.tobytes():
                    names = [n for n in OUTPUT_DTYPE.names if record[n] != want[n]]
                    raise AssertionError(f"record after {n_tick} ticks, {n_order} orders "
                                         f"differs in {names}: card {record} model {want}")
            got.append(records)
        assert self.sink.empty()
        return np.concatenate(got)

    def set_stalls(self, rng: random.Random, gap: float, ready_low: float) -> None:
        def pauses(p: float):
            while True:
                yield rng.random() < p
        for port, p in ((self.ticks, gap), (self.orders, gap), (self.sink, ready_low)):
            port.set_pause_generator(pauses(p) if p else None)
            if not p:
                port.pause = False     # a cleared generator may leave the port paused


def scenario_streams(rng: np.random.Generator, n_ticks: int):
    """Return (scenario, ticks, host orders) near every risk limit."""
    scenario = random_scenario(rng, PARAMS.n_symbols, int(n_ticks * 1.6))
    ticks = [(e.tick_price, e.ts, e.symbol) for e in scenario.events
             if e.kind in ("tick", "intent")]
    orders = [e for e in scenario.events if e.kind == "order"]
    tick_rec = np.zeros(len(ticks), TICK_DTYPE)
    tick_rec["price"] = [t[0] for t in ticks]
    tick_rec["ts"] = [t[1] for t in ticks]
    tick_rec["symbol"] = [t[2] for t in ticks]
    tick_rec["seq"] = np.arange(len(ticks))
    first = np.unique(tick_rec["symbol"], return_index=True)[1]
    tick_rec["flags"][first] = TickFlag.RESET
    order_rec = np.zeros(len(orders), ORDER_DTYPE)
    for i, e in enumerate(orders):
        order_rec[i] = (i + 1, e.qty, e.price, e.symbol, e.side, 3, e.flags)
    return scenario, tick_rec, order_rec


@cocotb.test()
async def registers_identify_the_map_and_refuse_bad_accesses(dut) -> None:
    tb = TB(dut)
    await tb.reset()
    tb.info.check_identity(await tb.read("id"), await tb.read("version"),
                           await tb.read("map_hash"))
    assert await tb.read("status") & Status.KILL, "the kill switch must be set after reset"
    await tb.write("max_qty", 1234)
    assert await tb.read("max_qty") == 1234
    await tb.write("decision_bias", -5)
    assert await tb.read("decision_bias") == -5
    errors = await tb.read("bus_errors")
    got = await tb.bus.write(tb.info.offset("ticks_in"), (7).to_bytes(4, "little"))
    assert got.resp == AxiResp.SLVERR
    assert await tb.read("ticks_in") == 0
    got = await tb.bus.write(tb.info.offset("latency_max") + 16, (7).to_bytes(4, "little"))
    assert got.resp == AxiResp.DECERR
    got = await tb.bus.read(tb.info.offset("latency_max") + 64, 4)
    assert got.resp == AxiResp.DECERR
    assert await tb.read("bus_errors") == errors + 3
    await tb.write("kill_clear", 1)
    assert not await tb.read("status") & Status.KILL
    await tb.write("kill_set", 1)
    assert await tb.read("status") & Status.KILL


@cocotb.test()
async def random_ticks_and_orders_match_the_model_word_for_word(dut) -> None:
    tb = TB(dut)
    await tb.reset()
    rng = np.random.default_rng(SEED)
    scenario, ticks, orders = scenario_streams(rng, TICKS)
    model = TopModel(PARAMS, engine=ENGINE, decision=DECISION)
    await tb.configure(model, scenario.limits, scenario.bases, scenario.pos_limits,
                       scenario.restricted)
    tb.set_stalls(random.Random(SEED), gap=0.2, ready_low=0.3)
    records = await tb.exchange(model, ticks, orders)
    tb.set_stalls(random.Random(SEED), gap=0.0, ready_low=0.0)

    verdicts = records[(records["kind"] & OutputKind.ORDER) != 0]["reject"]
    counts = {name: await tb.read(name) for name in ("ticks_in", "records_out", "intents",
                                                      "host_orders", "accepted", "rejected")}
    assert counts["ticks_in"] == len(ticks) and counts["host_orders"] == len(orders)
    assert counts["records_out"] == len(ticks) + len(orders)
    assert counts["accepted"] + counts["rejected"] == counts["intents"] + counts["host_orders"]
    assert counts["accepted"] == int((verdicts == 0).sum())
    for k, name in enumerate(Reject.names()):
        assert await tb.read("reject_count", k) == int((verdicts & (1 << k) != 0).sum()), name
    fired = {name for k, name in enumerate(Reject.names()) if (verdicts & (1 << k)).any()}
    assert {"BAD_ORDER", "MAX_QTY", "COLLAR", "STALE", "POSITION"} <= fired, fired
    assert counts["accepted"] > 0 and counts["intents"] > 0
    # Positions and gross on the card equal the model's.
    for s in range(PARAMS.n_symbols):
        await tb.write("sym_index", s)
        assert await tb.read("sym_position_now") == model.risk.symbols[s].pos
    assert await tb.read("gross_lo") == model.risk.gross
    dut._log.info("top: %d ticks, %d host orders, %d intents, %d accepted, rejects %s",
                  len(ticks), len(orders), counts["intents"], counts["accepted"], sorted(fired))


@cocotb.test()
async def kill_switch_refuses_every_later_order_and_position_writes_apply(dut) -> None:
    tb = TB(dut)
    await tb.reset()
    model = TopModel(PARAMS, engine=ENGINE, decision=DecisionConfig())
    limits = OPEN_LIMITS
    bases = [10_000] * PARAMS.n_symbols
    await tb.configure(model, limits, bases, [1000] * PARAMS.n_symbols, 0)
    ticks = np.zeros(PARAMS.n_symbols, TICK_DTYPE)
    ticks["symbol"] = np.arange(PARAMS.n_symbols)
    ticks["ts"] = 100
    ticks["flags"] = TickFlag.RESET
    await tb.exchange(model, ticks, np.zeros(0, ORDER_DTYPE))

    def orders(n: int, first_id: int) -> np.ndarray:
        out = np.zeros(n, ORDER_DTYPE)
        out["order_id"] = np.arange(first_id, first_id + n)
        out["qty"] = 1
        out["symbol"] = np.arange(n) % PARAMS.n_symbols
        out["side"] = Side.BUY
        out["price"] = first_id + np.arange(n)          # never a duplicate
        return out

    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), orders(20, 1))
    assert (records["reject"] == 0).all()
    await tb.write("sym_index", 2)
    await tb.write("sym_position", -7)
    await tb.write("sym_command", SymbolCommand.SET_POSITION)
    while await tb.read("status") & Status.SETPOS_PENDING:
        pass
    model.risk.set_position(2, -7)
    assert await tb.read("sym_position_now") == -7
    await tb.write("kill_set", 1)
    model.risk.set_kill()
    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), orders(20, 100))
    assert (records["reject"] & Reject.KILL).all()
    await tb.write("pnl_day", -501)           # a loss breach sets the kill switch itself
    model.risk.write_pnl(-501)
    await tb.write("pnl_day", 0)
    model.risk.write_pnl(0)
    await tb.write("kill_clear", 1)
    model.risk.clear_kill()
    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), orders(5, 200))
    assert (records["reject"] == 0).all()
    await tb.write("pnl_day", -501)
    model.risk.write_pnl(-501)
    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), orders(5, 300))
    assert (records["reject"] == Reject.KILL | Reject.DAILY_LOSS).all()
    await tb.write("command", Command.CLEAR_COUNTERS)
    assert await tb.read("accepted") == 0


@cocotb.test()
async def tick_to_verdict_latency_is_fixed_and_one_tick_per_cycle(dut) -> None:
    tb = TB(dut)
    await tb.reset()
    model = TopModel(PARAMS, engine=ENGINE, decision=DECISION)
    limits = OPEN_LIMITS
    await tb.configure(model, limits, [10_000] * PARAMS.n_symbols,
                       [1000] * PARAMS.n_symbols, 0)
    await tb.write("command", Command.CLEAR_COUNTERS)
    n = 16 * PARAMS.n_symbols
    rng = np.random.default_rng(3)
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = np.arange(n) % PARAMS.n_symbols
    ticks["price"] = np.cumsum(rng.integers(-20, 21, n))
    ticks["ts"] = 1000 + np.arange(n)
    ticks["flags"][: PARAMS.n_symbols] = TickFlag.RESET
    cycles = {"first_in": None, "last_out": None}

    async def watch() -> None:
        cycle = 0
        while True:
            await RisingEdge(tb.dut.clk)
            cycle += 1
            if tb.dut.s_axis_tick_tvalid.value and tb.dut.s_axis_tick_tready.value:
                if cycles["first_in"] is None:
                    cycles["first_in"] = cycle
            if tb.dut.m_axis_tvalid.value and tb.dut.m_axis_tready.value:
                cycles["last_out"] = cycle

    watcher = cocotb.start_soon(watch())
    await tb.ticks.send(AxiStreamFrame(records_to_ints(ticks)))
    got = await tb.sink.recv()
    watcher.cancel()
    records = ints_to_records(got.tdata, OUTPUT_DTYPE)
    pending = model.tick_records(ticks)
    for i, record in enumerate(records):
        want = model.pass_tick(pending[i])
        assert record.tobytes() == want.tobytes(), i
    lat = [await tb.read(name) for name in ("latency_min", "latency_max", "latency_last")]
    span = cycles["last_out"] - cycles["first_in"] + 1
    intents = int(((records["kind"] & OutputKind.ORDER) != 0).sum())
    dut._log.info("top latency probes (min, max, last) %s cycles; %d ticks in %d cycles from "
                  "first input to last output; %d intents", lat, n, span, intents)
    assert lat == [LATENCY] * 3, lat
    # n ticks through a LATENCY-deep pipeline at one tick per cycle.
    assert span == n + LATENCY, (span, n, LATENCY)


@cocotb.test()
async def bad_host_orders_get_bad_order_and_change_nothing(dut) -> None:
    tb = TB(dut)
    await tb.reset()
    model = TopModel(PARAMS, engine=ENGINE, decision=DecisionConfig())
    limits = OPEN_LIMITS
    await tb.configure(model, limits, [10_000] * PARAMS.n_symbols, [1000] * PARAMS.n_symbols, 0)
    ticks = np.zeros(1, TICK_DTYPE)
    ticks["flags"] = TickFlag.RESET
    await tb.exchange(model, ticks, np.zeros(0, ORDER_DTYPE))
    # qty 0, qty < 0, abs price 0 (price = -base), unknown symbol, bad side, reserved flag
    bad = np.array([(1, 0, 0, 0, Side.BUY, 0, 0), (2, -5, 0, 0, Side.BUY, 0, 0),
                    (3, 1, -10_000, 0, Side.BUY, 0, 0), (4, 1, 0, 200, Side.BUY, 0, 0),
                    (5, 1, 0, 0, 0, 0, 0), (6, 1, 0, 0, Side.SELL, 0, 0x80)], ORDER_DTYPE)
    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), bad)
    assert (records["reject"] == Reject.BAD_ORDER).all(), records["reject"]
    assert await tb.read("reject_count", 1) == len(bad)
    await tb.write("sym_index", 0)
    assert await tb.read("sym_position_now") == 0 and await tb.read("gross_lo") == 0
    # A table write to an unknown symbol is ignored (it must not wrap onto symbol 0).
    await tb.write("sym_index", PARAMS.n_symbols)
    await tb.write("sym_pos_limit", 0)
    await tb.write("sym_command", SymbolCommand.WRITE_TABLE)
    assert await tb.read("sym_position_now") == 0
    good = np.array([(7, 1, 0, 0, Side.BUY, 0, 0)], ORDER_DTYPE)
    records = await tb.exchange(model, np.zeros(0, TICK_DTYPE), good)
    assert records["reject"][0] == 0


def check_limits_held(records: np.ndarray, limits: RiskLimits, bases: list[int],
                      pos_limits: list[int]) -> int:
    """Check, from the card's records alone, that no accepted order broke a limit.

    Positions start at zero (no position writes in the stream); returns the accepted count.
    """
    pos = [0] * PARAMS.n_symbols
    last: dict[int, tuple[int, int]] = {}
    now = 0
    accepted = 0
    for r in records:
        s = int(r["symbol"])
        if r["kind"] & OutputKind.FEATURE:
            last[s] = (int(r["price"]), int(r["ts"]))
            now = int(r["ts"])
        if not r["kind"] & OutputKind.ORDER or r["reject"]:
            continue
        accepted += 1
        qty, price = int(r["qty"]), int(r["order_price"])
        assert 0 < qty <= limits.max_qty
        assert qty * (bases[s] + price) <= limits.max_notional
        assert s in last and (now - last[s][1]) % 2**32 <= limits.stale_ms
        assert abs(price - last[s][0]) * 10_000 <= limits.collar_bps * (bases[s] + last[s][0])
        pos[s] += qty if r["side"] == Side.BUY else -qty
        assert abs(pos[s]) <= pos_limits[s]
        assert sum(abs(p) for p in pos) <= limits.gross_limit
    return accepted


@cocotb.test()
async def replayed_property_scenarios_never_accept_an_order_over_a_limit(dut) -> None:
    tb = TB(dut)
    for seed in range(3):
        await tb.reset()
        await tb.write("command", Command.CLEAR_RISK)
        await ClockCycles(tb.dut.clk, PARAMS.n_symbols + 4)
        scenario, ticks, orders = scenario_streams(np.random.default_rng(100 + seed), 1500)
        scenario.pos_limits = [min(p, 12) for p in scenario.pos_limits]
        model = TopModel(PARAMS, engine=ENGINE, decision=DECISION)
        await tb.configure(model, scenario.limits, scenario.bases, scenario.pos_limits,
                           scenario.restricted)
        await tb.write("command", Command.CLEAR_COUNTERS)
        tb.set_stalls(random.Random(seed), gap=0.3, ready_low=0.2)
        records = await tb.exchange(model, ticks, orders)
        tb.set_stalls(random.Random(seed), gap=0.0, ready_low=0.0)
        accepted = check_limits_held(records, scenario.limits, scenario.bases,
                                     scenario.pos_limits)
        assert accepted == await tb.read("accepted") > 0
        assert (await tb.read("accepted") + await tb.read("rejected")
                == await tb.read("intents") + await tb.read("host_orders"))
