"""AXI4-Stream wrapper of the indicator engine, for Verilator/Icarus benches and synthesis.

Ports (Xilinx names, so Vivado and cocotbext-axi infer the interfaces)::

    s_axis_tdata[127:0]  tick record (TICK_DTYPE bytes, little-endian)   in
    s_axis_tvalid, s_axis_tlast                                           in
    s_axis_tready                                                         out
    m_axis_tdata[1023:0] feature record (FEATURE_DTYPE bytes)             out
    m_axis_tvalid, m_axis_tlast                                           out
    m_axis_tready                                                         in
    cfg_<name>           one input per EngineConfig field (run-time registers)

Latency and throughput are the engine's: the wrapper only renames, it adds no register.
The AXI4-Lite register file that drives ``cfg_*`` on the card belongs to the top level.
"""

from __future__ import annotations

from amaranth import Elaboratable, Module, Signal
from amaranth.back import verilog

from tickgate.gateware.engine import IndicatorEngine
from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import FEATURE_BYTES, TICK_BYTES

__all__ = ["EngineAxisTop", "engine_axis_verilog", "TOP_NAME"]

TOP_NAME = "tickgate_engine_axis"


class EngineAxisTop(Elaboratable):
    """The engine behind ``s_axis``/``m_axis`` ports and flat ``cfg_*`` inputs."""

    def __init__(self, params: EngineParams | None = None, *, deep: bool = False) -> None:
        self.params = params or EngineParams()
        self.engine = IndicatorEngine(self.params, deep=deep)
        self.s_axis_tdata = Signal(TICK_BYTES * 8)
        self.s_axis_tvalid = Signal()
        self.s_axis_tready = Signal()
        self.s_axis_tlast = Signal()
        self.m_axis_tdata = Signal(FEATURE_BYTES * 8)
        self.m_axis_tvalid = Signal()
        self.m_axis_tready = Signal()
        self.m_axis_tlast = Signal()
        self.cfg = {
            name: Signal(len(getattr(self.engine.config, name)), name=f"cfg_{name}")
            for name in self.engine.config.shape().members
        }

    def ports(self) -> list[Signal]:
        return [self.s_axis_tdata, self.s_axis_tvalid, self.s_axis_tready, self.s_axis_tlast,
                self.m_axis_tdata, self.m_axis_tvalid, self.m_axis_tready, self.m_axis_tlast,
                *self.cfg.values()]

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.engine = engine = self.engine
        m.d.comb += [
            engine.i_tick.valid.eq(self.s_axis_tvalid),
            engine.i_tick.payload.data.eq(self.s_axis_tdata),
            engine.i_tick.payload.last.eq(self.s_axis_tlast),
            self.s_axis_tready.eq(engine.i_tick.ready),
            self.m_axis_tvalid.eq(engine.o_feature.valid),
            self.m_axis_tdata.eq(engine.o_feature.payload.data.as_value()),
            self.m_axis_tlast.eq(engine.o_feature.payload.last),
            engine.o_feature.ready.eq(self.m_axis_tready),
        ]
        for name, sig in self.cfg.items():
            m.d.comb += getattr(engine.config, name).eq(sig)
        return m


def engine_axis_verilog(params: EngineParams | None = None, *, platform: object = None,
                        deep: bool = False) -> str:
    """Return the Verilog of :class:`EngineAxisTop` as module ``tickgate_engine_axis``.

    ``platform``: e.g. :class:`tickgate.gateware.primitives.ECP5Target` for the ECP5
    primitives (simulate with ``tests/cocotb/ecp5_prims.v``). ``deep``: the engine's deep
    build.
    """
    top = EngineAxisTop(params, deep=deep)
    return verilog.convert(top, name=TOP_NAME, ports=top.ports(), platform=platform)
