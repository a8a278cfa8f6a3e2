"""``tickgate run`` end to end: in-process simulator, model board, summary and its JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from daemon_helpers import run_cli

REQUIRED = ("ticks", "intents", "orders", "accepted", "rejected", "pnl")


def test_run_trades_the_simulator_and_writes_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    done = run_cli(["run", "--duration", "5", "--speed", "100", "--summary-json", str(summary),
                    "--state-dir", str(tmp_path / "state")], timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(summary.read_text())
    assert all(key in data for key in REQUIRED), sorted(data)
    assert data["board"] == "model" and data["venue"] == "sim"
    assert data["ticks"] > 500 and data["intents"] > 0
    assert data["orders"] > 0 and data["accepted"] > 0 and data["fills"] > 0
    assert set(data["rejected"]) >= {"KILL", "POSITION", "RATE_SYMBOL"}
    assert isinstance(data["pnl"], float) and data["loginid"].startswith("VRTC")
    assert data["latency"]["tick_to_verdict"]["p50_us"] > 0
    assert data["reconcile"]["disagreements"] == []
    assert "tickgate run: model board, sim venue" in done.stdout
    assert f"orders {data['orders']}" in done.stdout
    # the simulator's generated token is never printed
    assert not re.search(r"sim-[0-9a-f]{32}", done.stdout + done.stderr)
    assert not (tmp_path / "state" / "control.sock").exists()      # removed at exit


def test_run_refuses_a_bad_duration_in_one_sentence() -> None:
    done = run_cli(["run", "--duration", "0"])
    assert done.returncode == 2
    assert done.stderr.strip() == "tickgate run: --duration must be a positive number of seconds."
