"""The AXI4-Lite register file in the Amaranth simulator: every access kind and bad access.

``axil_write`` / ``axil_read`` drive one transaction from an async testbench, with the AW/W
order and the ``bready``/``rready`` stalls chosen by the test; a background monitor records
the logic-side pulses (strobes, read strobes, ``o_bus_error``) cycle by cycle.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from tickgate.gateware.axil import AxiLiteRegisters, Resp
from tickgate.gateware.regmap import Register, RegisterMap, version_word

MAP = RegisterMap([
    Register("scratch", "rw", reset=0x1234_5678, doc="free word", group="control"),
    Register("threshold", "rw", width=12, signed=True, reset=-5, doc="signed", group="limits"),
    Register("limits", "rw", width=16, count=4, reset=0x100, doc="array", group="limits"),
    Register("status", "ro", width=8, doc="driven by the bench", group="probes"),
    Register("level", "ro", width=10, signed=True, doc="signed, driven", group="probes"),
    Register("cmd", "wo", width=24, doc="a command", group="control"),
], ident=0x5447_4B54, version=version_word(1, 2))

#: First byte address beyond the map (still inside the port's address space).
UNMAPPED = MAP.size
assert UNMAPPED + 4 < 1 << MAP.addr_bits


async def axil_write(ctx, dut, addr: int, data: int, *, strb: int = 0xF, aw_delay: int = 0,
                     w_delay: int = 0, b_stall: int = 0) -> int:
    """Write ``data`` at ``addr``; offer AW/W after the delays; return ``bresp``.

    ``b_stall``: cycles ``bready`` stays low once ``bvalid`` is up (``bvalid`` and ``bresp``
    must hold meanwhile).
    """
    ctx.set(dut.s_axi_awaddr, addr)
    ctx.set(dut.s_axi_wdata, data)
    ctx.set(dut.s_axi_wstrb, strb)
    aw_done = w_done = False
    cycle = 0
    while not (aw_done and w_done):
        ctx.set(dut.s_axi_awvalid, not aw_done and cycle >= aw_delay)
        ctx.set(dut.s_axi_wvalid, not w_done and cycle >= w_delay)
        aw_take = ctx.get(dut.s_axi_awvalid) and ctx.get(dut.s_axi_awready)
        w_take = ctx.get(dut.s_axi_wvalid) and ctx.get(dut.s_axi_wready)
        await ctx.tick()
        aw_done, w_done, cycle = aw_done or aw_take, w_done or w_take, cycle + 1
    ctx.set(dut.s_axi_awvalid, 0)
    ctx.set(dut.s_axi_wvalid, 0)
    while not ctx.get(dut.s_axi_bvalid):
        await ctx.tick()
    resp = ctx.get(dut.s_axi_bresp)
    for _ in range(b_stall):
        assert not ctx.get(dut.s_axi_awready), "a second write accepted while B is pending"
        await ctx.tick()
        assert ctx.get(dut.s_axi_bvalid) and ctx.get(dut.s_axi_bresp) == resp
    ctx.set(dut.s_axi_bready, 1)
    await ctx.tick()
    ctx.set(dut.s_axi_bready, 0)
    return resp


async def axil_read(ctx, dut, addr: int, *, r_stall: int = 0) -> tuple[int, int]:
    """Read ``addr``; return ``(rdata, rresp)``; ``r_stall`` as ``b_stall`` above."""
    ctx.set(dut.s_axi_araddr, addr)
    ctx.set(dut.s_axi_arvalid, 1)
    await ctx.tick().until(dut.s_axi_arready)
    ctx.set(dut.s_axi_arvalid, 0)
    while not ctx.get(dut.s_axi_rvalid):
        await ctx.tick()
    got = ctx.get(dut.s_axi_rdata), ctx.get(dut.s_axi_rresp)
    for _ in range(r_stall):
        assert not ctx.get(dut.s_axi_arready), "a second read accepted while R is pending"
        await ctx.tick()
        assert ctx.get(dut.s_axi_rvalid) and (ctx.get(dut.s_axi_rdata),
                                             ctx.get(dut.s_axi_rresp)) == got
    ctx.set(dut.s_axi_rready, 1)
    await ctx.tick()
    ctx.set(dut.s_axi_rready, 0)
    return got


@dataclass
class Pulses:
    """Cycles (counted from 0) in which each watched one-bit signal was high."""

    cycles: dict[str, list[int]] = field(default_factory=dict)
    now: int = 0


def simulate(*benches, regmap: RegisterMap = MAP, watch: dict | None = None) -> Pulses:
    """Run each ``bench(ctx, dut)`` concurrently on a register file of ``regmap``.

    Return the pulses of ``watch``, recorded until the last bench returns.

    ``watch``: label -> function of the dut returning a one-bit signal; ``o_bus_error`` is
    always watched.
    """
    dut = AxiLiteRegisters(regmap)
    signals = {"error": dut.o_bus_error}
    signals.update({label: get(dut) for label, get in (watch or {}).items()})
    pulses = Pulses({label: [] for label in signals})
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def monitor(ctx):
        async for _, _, *values in ctx.tick().sample(*signals.values()):
            for label, value in zip(signals, values, strict=True):
                if value:
                    pulses.cycles[label].append(pulses.now)
            pulses.now += 1

    sim.add_testbench(monitor, background=True)
    for bench in benches:
        async def testbench(ctx, bench=bench):
            await bench(ctx, dut)
            await ctx.tick().repeat(4)  # let the last pulses out
        sim.add_testbench(testbench)
    sim.run()
    return pulses


def test_rw_registers_reset_to_their_reset_value_and_read_back_writes() -> None:
    async def bench(ctx, dut):
        assert await axil_read(ctx, dut, MAP.offset("scratch")) == (0x1234_5678, Resp.OKAY)
        assert await axil_read(ctx, dut, MAP.offset("threshold")) == (-5 & 0xFFFF_FFFF, 0)
        for i in range(4):
            assert await axil_read(ctx, dut, MAP.offset("limits", i)) == (0x100, Resp.OKAY)
        assert await axil_write(ctx, dut, MAP.offset("scratch"), 0xDEAD_BEEF) == Resp.OKAY
        assert await axil_write(ctx, dut, MAP.offset("limits", 2), 0xFFFF_ABCD) == Resp.OKAY
        assert await axil_write(ctx, dut, MAP.offset("threshold"), 0x0000_0800) == Resp.OKAY
        assert await axil_read(ctx, dut, MAP.offset("scratch")) == (0xDEAD_BEEF, Resp.OKAY)
        assert await axil_read(ctx, dut, MAP.offset("limits", 2)) == (0xABCD, Resp.OKAY)
        assert await axil_read(ctx, dut, MAP.offset("limits", 1)) == (0x100, Resp.OKAY)
        # 12-bit signed: 0x800 is -2048, read back sign-extended to 32 bits.
        assert await axil_read(ctx, dut, MAP.offset("threshold")) == (0xFFFF_F800, Resp.OKAY)
        assert ctx.get(dut.value("threshold")) == -2048
        assert ctx.get(dut.value("limits", 2)) == 0xABCD

    assert simulate(bench).cycles["error"] == []


def test_identification_words_read_as_the_map_constants() -> None:
    async def bench(ctx, dut):
        for name, value in MAP.constants().items():
            assert await axil_read(ctx, dut, MAP.offset(name)) == (value, Resp.OKAY)

    simulate(bench)


def test_ro_registers_read_what_the_logic_drives_and_refuse_writes_with_slverr() -> None:
    async def bench(ctx, dut):
        ctx.set(dut.value("status"), 0xA5)
        ctx.set(dut.value("level"), -3)
        assert await axil_read(ctx, dut, MAP.offset("status")) == (0xA5, Resp.OKAY)
        assert await axil_read(ctx, dut, MAP.offset("level")) == (0xFFFF_FFFD, Resp.OKAY)
        assert await axil_write(ctx, dut, MAP.offset("status"), 0x11) == Resp.SLVERR
        assert await axil_write(ctx, dut, MAP.offset("id"), 0) == Resp.SLVERR
        assert await axil_read(ctx, dut, MAP.offset("status")) == (0xA5, Resp.OKAY)
        assert await axil_read(ctx, dut, MAP.offset("id")) == (MAP.ident, Resp.OKAY)

    pulses = simulate(bench)
    assert len(pulses.cycles["error"]) == 2


def test_wo_write_strobes_once_per_write_and_reads_return_zero() -> None:
    async def bench(ctx, dut):
        assert await axil_write(ctx, dut, MAP.offset("cmd"), 0xFF12_3456, strb=0x3) == 0
        assert await axil_write(ctx, dut, MAP.offset("cmd"), 0x0000_0007) == Resp.OKAY
        assert await axil_read(ctx, dut, MAP.offset("cmd")) == (0, Resp.OKAY)

    pulses = simulate(bench, watch={"cmd": lambda d: d.strobe("cmd"),
                                    "scratch": lambda d: d.strobe("scratch")})
    assert len(pulses.cycles["cmd"]) == 2
    assert pulses.cycles["scratch"] == []
    assert pulses.cycles["error"] == []


def test_wo_strobe_cycle_shows_the_written_data_and_byte_enables() -> None:
    seen: list[tuple[int, int]] = []

    async def bench(ctx, dut):
        for data, strb in ((0xFF12_3456, 0x3), (0x0000_0007, 0xF)):
            assert await axil_write(ctx, dut, MAP.offset("cmd"), data, strb=strb) == Resp.OKAY

    async def watcher(ctx, dut):
        samples = ctx.tick().sample(dut.strobe("cmd"), dut.value("cmd"), dut.o_wstrb)
        async for _, _, strobe, data, strb in samples:
            if strobe:
                seen.append((data, strb))
            if len(seen) == 2:
                break

    simulate(bench, watcher)
    # wo takes the whole word (truncated to 24 bits); the byte enables are passed along.
    assert seen == [(0x12_3456, 0x3), (0x7, 0xF)]


def test_wstrb_writes_only_the_enabled_bytes_of_rw_registers() -> None:
    async def bench(ctx, dut):
        scratch = MAP.offset("scratch")
        assert await axil_write(ctx, dut, scratch, 0xAABB_CCDD, strb=0b0101) == Resp.OKAY
        assert await axil_read(ctx, dut, scratch) == (0x12BB_56DD, Resp.OKAY)
        assert await axil_write(ctx, dut, scratch, 0xEEFF_0011, strb=0b1000) == Resp.OKAY
        assert await axil_read(ctx, dut, scratch) == (0xEEBB_56DD, Resp.OKAY)
        assert await axil_write(ctx, dut, scratch, 0, strb=0) == Resp.OKAY
        assert await axil_read(ctx, dut, scratch) == (0xEEBB_56DD, Resp.OKAY)
        limit = MAP.offset("limits", 3)
        assert await axil_write(ctx, dut, limit, 0x0000_4200, strb=0b0010) == Resp.OKAY
        assert await axil_read(ctx, dut, limit) == (0x4200, Resp.OKAY)

    simulate(bench)


@pytest.mark.parametrize("aw_delay,w_delay", [(0, 0), (0, 3), (3, 0), (1, 1)],
                         ids=["together", "aw-before-w", "w-before-aw", "both-late"])
def test_aw_and_w_are_accepted_in_either_order(aw_delay: int, w_delay: int) -> None:
    async def bench(ctx, dut):
        for i, value in enumerate((0x1111, 0x2222, 0x3333, 0x4444)):
            resp = await axil_write(ctx, dut, MAP.offset("limits", i), value,
                                    aw_delay=aw_delay, w_delay=w_delay)
            assert resp == Resp.OKAY
        for i, value in enumerate((0x1111, 0x2222, 0x3333, 0x4444)):
            assert await axil_read(ctx, dut, MAP.offset("limits", i)) == (value, Resp.OKAY)

    pulses = simulate(bench, watch={f"l{i}": (lambda d, i=i: d.strobe("limits", i))
                                    for i in range(4)})
    assert all(len(pulses.cycles[f"l{i}"]) == 1 for i in range(4))


def snapshot(ctx, dut) -> dict[tuple[str, int], int]:
    """Return the value of every rw and wo word."""
    return {(w.register.name, w.index): ctx.get(dut.value(w.register.name, w.index))
            for w in MAP.words() if w.register.access != "ro"}


@pytest.mark.parametrize("addr", [UNMAPPED, (1 << MAP.addr_bits) - 4, MAP.offset("scratch") + 1,
                                  MAP.offset("limits", 1) + 2, MAP.offset("status") + 3],
                         ids=["past-end", "top", "misaligned-1", "misaligned-2", "misaligned-3"])
def test_unmapped_or_misaligned_access_is_decerr_without_effect(addr: int) -> None:
    async def bench(ctx, dut):
        ctx.set(dut.value("status"), 0x5A)
        before = snapshot(ctx, dut)
        assert await axil_write(ctx, dut, addr, 0xFFFF_FFFF) == Resp.DECERR
        assert await axil_read(ctx, dut, addr) == (0, Resp.DECERR)
        assert snapshot(ctx, dut) == before

    pulses = simulate(bench, watch={
        f"{w.register.name}{w.index}": (lambda d, w=w: d.strobe(w.register.name, w.index))
        for w in MAP.words() if w.register.access != "ro"})
    assert len(pulses.cycles.pop("error")) == 2
    assert all(not cycles for cycles in pulses.cycles.values()), "a strobe fired"


def test_responses_hold_through_bready_and_rready_stalls() -> None:
    async def bench(ctx, dut):
        scratch = MAP.offset("scratch")
        assert await axil_write(ctx, dut, scratch, 0xCAFE, b_stall=5) == Resp.OKAY
        assert await axil_write(ctx, dut, UNMAPPED, 1, b_stall=2) == Resp.DECERR
        assert await axil_read(ctx, dut, scratch, r_stall=6) == (0xCAFE, Resp.OKAY)
        assert await axil_read(ctx, dut, UNMAPPED, r_stall=3) == (0, Resp.DECERR)

    simulate(bench)


def test_read_strobe_pulses_once_in_the_cycle_the_word_is_sampled() -> None:
    async def bench(ctx, dut):
        ctx.set(dut.value("status"), 1)
        ctx.set(dut.s_axi_araddr, MAP.offset("status"))
        ctx.set(dut.s_axi_arvalid, 1)
        await ctx.tick().until(dut.s_axi_arready)
        ctx.set(dut.s_axi_arvalid, 0)
        # The word is sampled in the cycle its read strobe is high: change it right after.
        while not ctx.get(dut.read_strobe("status")):
            await ctx.tick()
        await ctx.tick()
        ctx.set(dut.value("status"), 2)
        while not ctx.get(dut.s_axi_rvalid):
            await ctx.tick()
        assert ctx.get(dut.s_axi_rdata) == 1
        ctx.set(dut.s_axi_rready, 1)
        await ctx.tick()
        ctx.set(dut.s_axi_rready, 0)
        await axil_read(ctx, dut, MAP.offset("limits", 1))

    pulses = simulate(bench, watch={"status": lambda d: d.read_strobe("status"),
                                    "l1": lambda d: d.read_strobe("limits", 1),
                                    "l0": lambda d: d.read_strobe("limits", 0)})
    assert len(pulses.cycles["status"]) == 1
    assert len(pulses.cycles["l1"]) == 1
    assert pulses.cycles["l0"] == []


def test_reads_and_writes_in_flight_together_proceed_independently() -> None:
    reads = []

    async def writer(ctx, dut):
        for k in range(8):
            await axil_write(ctx, dut, MAP.offset("limits", k % 4), k, w_delay=k % 3,
                             b_stall=k % 2)
        assert [ctx.get(dut.value("limits", i)) for i in range(4)] == [4, 5, 6, 7]

    async def reader(ctx, dut):
        for k in range(8):
            reads.append(await axil_read(ctx, dut, MAP.offset("scratch"), r_stall=k % 3))

    simulate(writer, reader)
    assert reads == [(0x1234_5678, Resp.OKAY)] * 8


def test_simultaneous_read_and_write_errors_give_two_error_cycles() -> None:
    async def writer(ctx, dut):
        for _ in range(4):
            assert await axil_write(ctx, dut, UNMAPPED, 0) == Resp.DECERR

    async def reader(ctx, dut):
        for _ in range(4):
            assert await axil_read(ctx, dut, UNMAPPED) == (0, Resp.DECERR)

    pulses = simulate(writer, reader)
    assert len(pulses.cycles["error"]) == 8


def test_back_to_back_transactions_take_three_cycles_each() -> None:
    dut = AxiLiteRegisters(MAP)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    handshakes = {"aw": [], "ar": []}

    async def monitor(ctx):
        cycle = 0
        async for _, _, awv, awr, arv, arr in ctx.tick().sample(
                dut.s_axi_awvalid, dut.s_axi_awready, dut.s_axi_arvalid, dut.s_axi_arready):
            if awv and awr:
                handshakes["aw"].append(cycle)
            if arv and arr:
                handshakes["ar"].append(cycle)
            cycle += 1

    async def bench(ctx):
        for port in (dut.s_axi_bready, dut.s_axi_rready, dut.s_axi_awvalid, dut.s_axi_wvalid,
                     dut.s_axi_arvalid):
            ctx.set(port, 1)
        ctx.set(dut.s_axi_wstrb, 0xF)
        await ctx.tick().repeat(30)

    sim.add_testbench(monitor, background=True)
    sim.add_testbench(bench)
    sim.run()
    for channel in ("aw", "ar"):
        steps = {b - a for a, b in itertools.pairwise(handshakes[channel])}
        assert steps == {3}, (channel, handshakes[channel])


def test_a_150_word_map_builds_quickly_and_reaches_its_last_word() -> None:
    regs = [Register(f"r{i}", ("rw", "ro", "wo")[i % 3], width=1 + i % 32, doc="x",
                     group="counters") for i in range(140)]
    regs.append(Register("table", "rw", width=32, count=8, doc="array", group="model"))
    wide = RegisterMap(regs, ident=1, version=1)
    assert len(list(wide.words())) == 151
    start = time.perf_counter()
    text = verilog.convert(AxiLiteRegisters(wide), name="wide_regs")
    assert time.perf_counter() - start < 20
    assert "s_axi_rdata" in text
    last = wide.offset("table", 7)

    async def bench(ctx, dut):
        assert await axil_write(ctx, dut, last, 0x600D_F00D) == Resp.OKAY
        assert await axil_read(ctx, dut, last) == (0x600D_F00D, Resp.OKAY)
        assert await axil_read(ctx, dut, last + 4) == (0, Resp.DECERR)

    simulate(bench, regmap=wide)
