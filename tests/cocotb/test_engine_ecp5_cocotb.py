"""The ECP5 flavour of the engine (DP16KD / MULT18X18D primitives) against the model.

``tickgate hw synth`` elaborates the blocks' RAMs and multipliers as ECP5 primitives
(:mod:`tickgate.gateware.primitives`); every other test simulates their behavioural twins.
This bench runs the same cocotb checks (``engine_tb.py``) on the ECP5 Verilog under Icarus,
with small behavioural models of the two primitives (``ecp5_prims.v``), so the primitive
wiring (address and data mapping, tiling, output registers, enables, the ring's
read-before-write bypass) is checked word for word against the reference model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from simtools import run_bench

from tickgate.gateware.params import EngineParams
from tickgate.gateware.primitives import ECP5Target
from tickgate.sim.engine_top import TOP_NAME, engine_axis_verilog

PRIMS = Path(__file__).resolve().parent / "ecp5_prims.v"

BUILDS = {
    # ring_depth 16 with n_sma/n_roc up to 16 exercises the ring's same-address bypass.
    "icarus-ecp5-8sym": (EngineParams(n_symbols=8, ring_depth=16, minmax_depth=16), False, 600),
    # 32 symbols x 256 prices: each ring is 16 block RAMs in two groups, each group with
    # its own copy of the windows and its own tap subtractor.
    "icarus-ecp5-32sym": (EngineParams(n_symbols=32, ring_depth=256, minmax_depth=16), False,
                          600),
    # The deep build: its smoothing blocks' DSPs register their operands themselves.
    "icarus-ecp5-8sym-deep": (EngineParams(n_symbols=8, ring_depth=16, minmax_depth=16), True,
                              600),
}


@pytest.mark.parametrize("build", list(BUILDS))
def test_ecp5_engine_matches_model_word_for_word(build: str) -> None:
    params, deep, ticks = BUILDS[build]
    run_bench(sim="icarus", verilog=engine_axis_verilog(params, platform=ECP5Target(), deep=deep),
              toplevel=TOP_NAME, module="engine_tb", name=f"engine-{build}",
              env={"TG_SYMBOLS": str(params.n_symbols), "TG_RING": str(params.ring_depth),
                   "TG_MINMAX": str(params.minmax_depth), "TG_TICKS": str(ticks),
                   "TG_SEED": "7", "TG_DEEP": str(int(deep))},
              extra_sources=[PRIMS])
