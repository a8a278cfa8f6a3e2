"""cocotb benches of the AXI4-Lite register file behind a small demo top, under Verilator.

The demo top (:class:`DemoTop`, map :data:`DEMO_MAP`) puts a few ``rw``/``ro``/``wo``
registers and an array behind :class:`~tickgate.gateware.axil.AxiLiteRegisters` and drives
its ``ro`` registers from logic: a sum of ``rw`` registers, the last command, counters of
strobes, read strobes and bus errors, and a 64-bit counter whose high word is latched on
the low word's read strobe. cocotbext-axi's ``AxiLiteMaster`` drives the bus; every
response is compared with a plain-Python model of the card. Offsets come from the JSON the
pytest side wrote (``TG_REGMAP_JSON``), through :mod:`tickgate.drivers.regmap`.
"""

from __future__ import annotations

import logging
import os
import random

import cocotb
from amaranth import Cat, Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from tickgate.drivers.regmap import RegisterMapInfo
from tickgate.gateware.axil import AxiLiteRegisters, axil_members, forward_axil
from tickgate.gateware.regmap import Register, RegisterMap, version_word

TOP_NAME = "tickgate_axil_demo"

#: Step of the demo's 64-bit counter per cycle: its low word wraps every 16 cycles, so a
#: torn read of the pair is very unlikely to stay a multiple of it.
TICK_STEP = 0x1000_0001

DEMO_MAP = RegisterMap([
    Register("scratch", "rw", reset=0x1234_5678, doc="free word", group="control"),
    Register("threshold", "rw", width=12, signed=True, reset=-5, doc="signed", group="limits"),
    Register("mode", "rw", width=3, reset=2, doc="three bits", group="control"),
    Register("limits", "rw", width=16, count=4, reset=0x100, doc="an array", group="limits"),
    Register("sum", "ro", doc="scratch + limits[0] + mode (mod 2**32)", group="probes"),
    Register("level", "ro", width=13, signed=True, doc="2 * threshold", group="probes"),
    Register("cmd", "wo", width=24, doc="a command", group="control"),
    Register("cmd_last", "ro", width=24, doc="data of the last cmd", group="probes"),
    Register("cmd_strb", "ro", width=4, doc="wstrb of the last cmd", group="probes"),
    Register("cmd_count", "ro", width=16, doc="cmd strobes", group="counters"),
    Register("writes", "ro", width=16, doc="strobes of rw words", group="counters"),
    Register("scratch_reads", "ro", width=16, doc="read strobes of scratch", group="counters"),
    Register("errors", "ro", width=16, doc="o_bus_error cycles", group="counters"),
    Register("ticks", "ro", count=2, doc="64-bit counter: low word, then the high word "
             "latched when the low word is read", group="counters"),
], ident=0x5447_4B54, version=version_word(0, 1))


class DemoTop(wiring.Component):
    """The register file with its ``s_axi_*`` ports forwarded and demo logic behind it."""

    def __init__(self) -> None:
        super().__init__(axil_members(DEMO_MAP.addr_bits))

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.regs = regs = AxiLiteRegisters(DEMO_MAP)
        forward_axil(m, self, regs)
        v = regs.value
        m.d.comb += [v("sum").eq(v("scratch") + v("limits", 0) + v("mode")),
                     v("level").eq(v("threshold") * 2)]
        with m.If(regs.strobe("cmd")):
            m.d.sync += [v("cmd_last").eq(v("cmd")), v("cmd_strb").eq(regs.o_wstrb),
                         v("cmd_count").eq(v("cmd_count") + 1)]
        rw_strobes = [regs.strobe(w.register.name, w.index) for w in DEMO_MAP.words()
                      if w.register.access == "rw"]
        with m.If(Cat(*rw_strobes).any()):
            m.d.sync += v("writes").eq(v("writes") + 1)
        with m.If(regs.read_strobe("scratch")):
            m.d.sync += v("scratch_reads").eq(v("scratch_reads") + 1)
        with m.If(regs.o_bus_error):
            m.d.sync += v("errors").eq(v("errors") + 1)
        ticks = Signal(64)
        m.d.sync += ticks.eq(ticks + TICK_STEP)
        m.d.comb += v("ticks", 0).eq(ticks[:32])
        with m.If(regs.read_strobe("ticks", 0)):
            m.d.sync += v("ticks", 1).eq(ticks[32:])
        return m


def demo_verilog() -> str:
    """Return the demo top as Verilog (ports ``clk``, ``rst`` and ``s_axi_*``)."""
    return verilog.convert(DemoTop(), name=TOP_NAME)


class CardModel:
    """What the demo card should answer: register words and its counters."""

    def __init__(self, info: RegisterMapInfo) -> None:
        self.info = info
        self.rw: dict[tuple[str, int], int] = {}  # raw bits, as the card holds them
        for name in info.names():
            reg = info.register(name)
            if reg.access == "rw":
                for index in range(reg.count):
                    self.rw[name, index] = info.encode(name, reg.reset)
        self.counts = {"cmd_count": 0, "writes": 0, "scratch_reads": 0, "errors": 0}
        self.cmd_last = self.cmd_strb = 0
        self.words = {info.offset(name, i): (name, i) for name in info.names()
                      for i in range(info.register(name).count)}

    def rw_value(self, name: str, index: int = 0) -> int:
        return self.info.decode(name, self.rw[name, index])

    def write(self, addr: int, data: int, strb: int) -> int:
        """Apply a write; return the expected ``bresp``."""
        if addr % 4 or addr not in self.words:
            return self._error(AxiResp.DECERR)
        name, index = self.words[addr]
        reg = self.info.register(name)
        if reg.access == "ro":
            return self._error(AxiResp.SLVERR)
        if reg.access == "wo":
            self.cmd_last, self.cmd_strb = data & 0xFF_FFFF, strb
            self.counts["cmd_count"] += 1
            return AxiResp.OKAY
        mask = sum(0xFF << 8 * b for b in range(4) if strb >> b & 1)
        old = self.rw[name, index]
        self.rw[name, index] = ((old & ~mask) | (data & mask)) & ((1 << reg.width) - 1)
        self.counts["writes"] += 1
        return AxiResp.OKAY

    def read(self, addr: int) -> tuple[int, int]:
        """Return the expected ``(rdata, rresp)`` of a read (not of ``ticks``)."""
        if addr % 4 or addr not in self.words:
            return 0, self._error(AxiResp.DECERR)
        name, index = self.words[addr]
        value = self._value(name, index)
        if name == "scratch":
            self.counts["scratch_reads"] += 1
        return value & 0xFFFF_FFFF, AxiResp.OKAY

    def _value(self, name: str, index: int) -> int:
        info = self.info
        derived = {
            "id": info.ident, "version": info.version, "map_hash": info.hash, "cmd": 0,
            "sum": self.rw_value("scratch") + self.rw_value("limits") + self.rw_value("mode"),
            "level": 2 * self.rw_value("threshold"),
            "cmd_last": self.cmd_last, "cmd_strb": self.cmd_strb,
        }
        if (name, index) in self.rw:
            return self.rw_value(name, index)
        if name in self.counts:
            return self.counts[name] & 0xFFFF
        return derived[name]

    def _error(self, resp: AxiResp) -> AxiResp:
        self.counts["errors"] += 1
        return resp


class TB:
    """Clock, reset, the AXI4-Lite master and the card model."""

    def __init__(self, dut: object) -> None:
        self.dut = dut
        self.info = RegisterMapInfo.from_json(os.environ["TG_REGMAP_JSON"])
        self.model = CardModel(self.info)
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        logging.getLogger(f"cocotb.{TOP_NAME}.s_axi").setLevel(logging.WARNING)
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def set_stalls(self, rng: random.Random, p: float) -> None:
        """Pause every channel's valid/ready with probability ``p`` per cycle."""
        def pauses():
            while True:
                yield rng.random() < p
        for channel in (self.master.write_if.aw_channel, self.master.write_if.w_channel,
                        self.master.write_if.b_channel, self.master.read_if.ar_channel,
                        self.master.read_if.r_channel):
            channel.set_pause_generator(pauses() if p else None)
            channel.pause = False  # clearing the generator leaves the last pause in force

    async def write(self, addr: int, data: bytes) -> None:
        """Write ``data`` (1..4 bytes, one word) at ``addr``; check ``bresp``."""
        value = int.from_bytes(data, "little") << 8 * (addr % 4)
        strb = ((1 << len(data)) - 1) << addr % 4
        want = self.model.write(addr, value, strb)
        got = await self.master.write(addr, data)
        assert got.resp == want, f"write {addr:#x} {data.hex()}: bresp {got.resp!r}, want {want!r}"

    async def read(self, addr: int) -> int:
        """Read the word at ``addr`` (misaligned: from there to the word's end); check it."""
        want_data, want_resp = self.model.read(addr)
        got = await self.master.read(addr, 4 - addr % 4)
        word = int.from_bytes(got.data, "little") << 8 * (addr % 4)
        assert (word, got.resp) == (want_data, want_resp), (
            f"read {addr:#x}: {word:#x} {got.resp!r}, want {want_data:#x} {want_resp!r}")
        return word

    async def read_ticks(self) -> int:
        low = (await self.master.read(self.info.offset("ticks", 0), 4)).data
        high = (await self.master.read(self.info.offset("ticks", 1), 4)).data
        return int.from_bytes(low + high, "little")


def random_address(rng: random.Random, info: RegisterMapInfo) -> int:
    """A mapped word (not ``ticks``), now and then an unmapped or misaligned byte."""
    roll = rng.random()
    words = [info.offset(n, i) for n in info.names() if n != "ticks"
             for i in range(info.register(n).count)]
    if roll < 0.08:
        return rng.randrange(info.offset("ticks", 1) + 4, 1 << info.addr_bits, 4)
    if roll < 0.16:
        return rng.choice(words) + rng.randint(1, 3)
    return rng.choice(words)


@cocotb.test()
async def reset_values_and_identity_words_read_as_the_json_says(dut: object) -> None:
    tb = TB(dut)
    await tb.reset()
    for name in tb.info.names():
        if name != "ticks":
            for index in range(tb.info.register(name).count):
                await tb.read(tb.info.offset(name, index))
    words = [(await tb.master.read(tb.info.offset(n), 4)).data
             for n in ("id", "version", "map_hash")]
    tb.info.check_identity(*(int.from_bytes(w, "little") for w in words))


@cocotb.test()
async def random_accesses_match_the_model(dut: object) -> None:
    rng = random.Random(int(os.environ.get("TG_SEED", "1")))
    tb = TB(dut)
    await tb.reset()
    for n in range(int(os.environ.get("TG_OPS", "2000"))):
        if n == 1000:
            tb.set_stalls(rng, 0.3)
        addr = random_address(rng, tb.info)
        if rng.random() < 0.5:
            length = rng.choice((4, 4, 4, 1, 2, 3)) if addr % 4 == 0 else 1
            await tb.write(addr, rng.randbytes(min(length, 4 - addr % 4)))
        else:
            await tb.read(addr)
    for name in ("errors", "writes", "cmd_count", "scratch_reads"):
        await tb.read(tb.info.offset(name))


@cocotb.test()
async def concurrent_reads_and_writes_under_stalls_lose_nothing(dut: object) -> None:
    """A writer of the array and a reader of other words run at once; errors both ways."""
    rng = random.Random(5)
    tb = TB(dut)
    await tb.reset()
    tb.set_stalls(rng, 0.4)
    unmapped = tb.info.offset("ticks", 1) + 4
    limits = [tb.info.offset("limits", i) for i in range(4)]
    expected_errors = 0

    async def writer() -> None:
        nonlocal expected_errors
        for k in range(300):
            addr = unmapped if k % 5 == 0 else limits[k % 4]
            want = tb.model.write(addr, k, 0xF)
            expected_errors += want != AxiResp.OKAY
            assert (await tb.master.write(addr, k.to_bytes(4, "little"))).resp == want

    async def reader() -> None:
        nonlocal expected_errors
        for k in range(300):
            if k % 3 == 0:
                got = await tb.master.read(unmapped, 4)
                assert (got.data, got.resp) == (bytes(4), AxiResp.DECERR)
                expected_errors += 1
            else:
                got = await tb.master.read(tb.info.offset("mode"), 4)
                assert int.from_bytes(got.data, "little") == 2 and got.resp == AxiResp.OKAY

    done = cocotb.start_soon(writer())
    await reader()
    await done
    tb.set_stalls(rng, 0)
    for i, addr in enumerate(limits):
        assert tb.model.rw["limits", i] == 296 + i
        await tb.read(addr)
    got = await tb.master.read(tb.info.offset("errors"), 4)
    assert int.from_bytes(got.data, "little") == expected_errors


@cocotb.test()
async def a_64_bit_counter_reads_coherently_low_word_first(dut: object) -> None:
    tb = TB(dut)
    await tb.reset()
    tb.set_stalls(random.Random(3), 0.3)
    last = -1
    for _ in range(200):
        value = await tb.read_ticks()
        assert value % TICK_STEP == 0, f"torn read {value:#018x}"
        assert value > last
        last = value
