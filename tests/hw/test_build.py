"""``tickgate hw verilog`` writes the card's Verilog and the register map the host reads."""

from __future__ import annotations

import json
from pathlib import Path

from tickgate.drivers.regmap import RegisterMapInfo
from tickgate.gateware.card_regs import card_regmap
from tickgate.gateware.params import EngineParams
from tickgate.host.cli import main


def test_hw_verilog_writes_the_top_and_a_regmap_the_host_reads(tmp_path: Path) -> None:
    assert main(["hw", "verilog", "--out", str(tmp_path), "--symbols", "8"]) == 0
    verilog = (tmp_path / "tickgate_top.v").read_text()
    for port in ("s_axis_tick_tdata", "s_axis_order_tready", "m_axis_tdata", "m_axis_tlast",
                 "s_axi_awaddr", "s_axi_rdata", "s_axi_bresp"):
        assert port in verilog, port
    info = RegisterMapInfo.from_json(json.loads((tmp_path / "regmap.json").read_text()))
    gateware = card_regmap(EngineParams(n_symbols=8))
    for reg in gateware:
        for index in range(reg.count):
            assert info.offset(reg.name, index) == gateware.offset(reg.name, index)
    info.check_identity(gateware.ident, gateware.version, gateware.hash)


def test_card_goes_tick_to_verdict_in_at_most_16_cycles_in_every_build() -> None:
    from tickgate.gateware.top import TickgateTop

    for n in (8, 64, 256):
        params = EngineParams(n_symbols=n, ring_depth=64 if n == 256 else 256)
        assert TickgateTop.latency_of(params) <= 16, n
