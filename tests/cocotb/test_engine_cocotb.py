"""Run the engine's cocotb benches (``engine_tb.py``) under Verilator and Icarus."""

from __future__ import annotations

import pytest
from simtools import run_bench

from tickgate.gateware.params import EngineParams
from tickgate.sim.engine_top import TOP_NAME, engine_axis_verilog

BUILDS = {
    # simulator, build, deep build, ticks per random bench
    "verilator-64sym": ("verilator", EngineParams(n_symbols=64), False, 100_000),
    "verilator-64sym-deep": ("verilator", EngineParams(n_symbols=64), True, 100_000),
    "verilator-256sym": ("verilator", EngineParams(n_symbols=256, ring_depth=64,
                                                   minmax_depth=32), False, 100_000),
    "icarus-8sym": ("icarus", EngineParams(n_symbols=8, ring_depth=32, minmax_depth=16),
                    False, 600),
}


@pytest.mark.parametrize("build", list(BUILDS))
def test_engine_matches_model_word_for_word(build: str) -> None:
    sim, params, deep, ticks = BUILDS[build]
    run_bench(sim=sim, verilog=engine_axis_verilog(params, deep=deep), toplevel=TOP_NAME,
              module="engine_tb", name=f"engine-{build}",
              env={"TG_SYMBOLS": str(params.n_symbols), "TG_RING": str(params.ring_depth),
                   "TG_MINMAX": str(params.minmax_depth), "TG_TICKS": str(ticks),
                   "TG_SEED": "7", "TG_DEEP": str(int(deep))})
