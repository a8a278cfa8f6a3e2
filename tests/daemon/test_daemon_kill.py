"""``tickgate kill`` from another process reaches a busy daemon; later intents get KILL."""

from __future__ import annotations

import json
import time
from pathlib import Path

from daemon_helpers import FAST, run_cli, start_cli, write_config


def test_kill_from_another_process_while_busy(tmp_path: Path) -> None:
    state = tmp_path / "state"
    summary = tmp_path / "summary.json"
    busy = {"daemon": {"symbols": ["R_10", "R_25", "R_50", "R_75", "R_100", "1HZ10V",
                                   "1HZ25V", "1HZ50V", "1HZ75V", "1HZ100V"],
                       "batch_max": 8}}
    config = write_config(tmp_path / "busy.toml", FAST, busy)
    proc = start_cli(["run", "--config", str(config), "--speed", "300", "--duration", "9",
                      "--state-dir", str(state), "--summary-json", str(summary)])
    try:
        sock = state / "control.sock"
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)
        time.sleep(2.0)                               # let it trade, busily
        t0 = time.monotonic()
        done = run_cli(["kill", "--state-dir", str(state)], timeout=20)
        elapsed = time.monotonic() - t0
        assert done.returncode == 0, done.stdout + done.stderr
        assert "kill switch set" in done.stdout
        assert (state / "KILL").exists()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    data = json.loads(summary.read_text())
    assert data["killed"] is True
    assert data["orders"] > 0 and data["ticks"] > 3000
    assert data["rejected"]["KILL"] > 0, data["rejected"]
    assert data["accepted_after_kill"] == 0
    assert data["kill_latency_ms"] < 1000 and elapsed < 5.0
    print(f"\nkill: command took {elapsed:.2f} s (interpreter start included), "
          f"register set {data['kill_latency_ms']} ms after the request; "
          f"{data['rejected']['KILL']} intents refused with KILL")


def test_kill_without_a_daemon_leaves_the_kill_file(tmp_path: Path) -> None:
    done = run_cli(["kill", "--state-dir", str(tmp_path)])
    assert done.returncode == 1 and "no daemon answers" in done.stdout
    assert (tmp_path / "KILL").exists()
    cleared = run_cli(["kill", "--clear", "--state-dir", str(tmp_path)])
    assert cleared.returncode == 0 and not (tmp_path / "KILL").exists()
