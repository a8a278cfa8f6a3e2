"""Run the AXI4-Lite register file's cocotb benches (``axil_tb.py``) under Verilator."""

from __future__ import annotations

from axil_tb import DEMO_MAP, TOP_NAME, demo_verilog
from simtools import SIM_BUILD, run_bench


def test_register_file_answers_cocotbext_axi_master_like_the_model() -> None:
    name = "axil-verilator"
    json_path = SIM_BUILD / name / "regmap.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    DEMO_MAP.write_json(json_path)
    run_bench(sim="verilator", verilog=demo_verilog(), toplevel=TOP_NAME, module="axil_tb",
              name=name, env={"TG_REGMAP_JSON": str(json_path), "TG_SEED": "11",
                              "TG_OPS": "2000"})
