"""The benchmark scripts still run against the code they measure (a short run of each).

``make bench`` and BENCHMARKS.md name these scripts; they import the daemon's internals, so a
change of signature there must not leave a benchmark broken until someone re-measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_board_call_benches_time_the_daemons_one_tick_call() -> None:
    out = _run("bench/bench_board_call.py", "--daemon", "--calls", "200")
    assert "BoardRunner.process_one, 200 calls: p50" in out
    out = _run("bench/cg_board_call.py", "100")
    assert out.startswith("200 + 100 calls,")


def test_the_tick_to_order_bench_measures_orders_against_the_simulator(tmp_path: Path) -> None:
    result = tmp_path / "t2o.json"
    _run("bench/bench_tick_to_order.py", "--duration", "3", "--json", str(result))
    figures = json.loads(result.read_text(encoding="utf-8"))
    assert figures["orders"] > 0
    buy = figures["figures"]["tick_to_buy"]
    assert buy["samples"] > 0 and 0 < buy["p50_us"] <= buy["p99_us"]


def test_the_stage_bench_splits_each_buy_into_its_stages() -> None:
    out = _run("bench/bench_t2o_stages.py", "--duration", "3")
    assert "frame -> send_end (total)" in out
