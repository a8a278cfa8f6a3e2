"""Run the card's cocotb benches (``top_tb.py``) on the generated Verilog under Verilator."""

from __future__ import annotations

import json

from simtools import run_bench

from tickgate.gateware.card_regs import card_regmap
from tickgate.gateware.params import EngineParams
from tickgate.gateware.top import TOP_NAME, TickgateTop, top_verilog

PARAMS = EngineParams(n_symbols=16, ring_depth=32, minmax_depth=16)


def test_top_matches_model_and_register_map_under_verilator() -> None:
    run_bench(sim="verilator", verilog=top_verilog(PARAMS), toplevel=TOP_NAME,
              module="top_tb", name="top-verilator-16sym",
              env={"TG_SYMBOLS": str(PARAMS.n_symbols), "TG_RING": str(PARAMS.ring_depth),
                   "TG_MINMAX": str(PARAMS.minmax_depth), "TG_TICKS": "20000", "TG_SEED": "5",
                   "TG_LATENCY": str(TickgateTop.latency_of(PARAMS)),
                   "TG_REGMAP": json.dumps(card_regmap(PARAMS).to_json())})
