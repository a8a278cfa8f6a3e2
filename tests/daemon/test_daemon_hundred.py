"""``tickgate run`` on a hundred symbols of every family, on a model board built for them."""

from __future__ import annotations

import json
from pathlib import Path

from daemon_helpers import FAST, run_cli, write_config

from tickgate.host.daemon.journal import Journal
from tickgate.host.simserver.symbols import BY_SYMBOL, CATALOGUE

HUNDRED = [s.symbol for s in CATALOGUE][:100]
#: FAST's trigger-happy decision unit and loose rates, a multiplier every family offers, and
#: a gross limit (lots over all symbols) the hundred symbols soon reach.
CONFIG = {
    "daemon": {"symbols": HUNDRED, "status_interval_s": 0.2},
    "execution": {**FAST["execution"], "multiplier": 100},
    "risk": {**FAST["risk"], "gross_limit": 40},
}


def test_the_daemon_trades_a_hundred_symbols_through_the_gate(tmp_path: Path) -> None:
    config = write_config(tmp_path / "hundred.toml", FAST, CONFIG)
    summary = tmp_path / "summary.json"
    state = tmp_path / "state"
    done = run_cli(["run", "--config", str(config), "--duration", "5", "--speed", "20",
                    "--state-dir", str(state), "--summary-json", str(summary)], timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(summary.read_text())
    ticked = data["symbol_ticks"]
    assert sorted(ticked) == sorted(HUNDRED) and min(ticked.values()) >= 5, ticked
    assert data["ticks"] >= sum(ticked.values()) - 100       # through the board
    assert data["intents"] > 0 and data["accepted"] > 0 and data["rejected"]["GROSS"] > 0
    assert data["orders"] > 0 and data["fills"] > 0 and data["venue_rejects"] == 0
    journal = Journal(state / "journal-sim.sqlite")
    try:
        intents = journal.state().intents.values()
    finally:
        journal.close()
    filled = {i.symbol for i in intents if i.state in ("filled", "done")}
    markets = {BY_SYMBOL[s].market for s in filled}
    assert len(filled) >= 20 and len(markets) >= 3, (len(filled), markets)
