"""Helpers for the daemon tests: the CLI in a subprocess, a simulator that outlives daemons,
the simulator's books, and the journal-against-books check.

``run_cli(args)`` runs ``python -m tickgate.host.cli ARGS`` with the test's environment and
returns the completed process (text). ``start_cli`` returns the ``Popen``. ``write_config``
writes a TOML file from nested dicts. ``sim_books(sim, token)`` reads the simulator's books
of the account a token opens, on the simulator's own loop: ``buys`` (contract ids of every
statement ``buy`` line, in order), ``open`` (ids), ``closed`` (id → sell price).
``check_agreement`` asserts that a journal and those books agree exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tickgate.host.daemon.journal import Journal
from tickgate.host.daemon.simthread import SimThread

CLI = [sys.executable, "-m", "tickgate.host.cli"]
#: A quick, busy trading set-up: low-volatility symbols, no take-profit/stop-loss (so the
#: simulator closes nothing by itself and every close is the daemon's), a trigger-happy
#: decision unit and loose gate rates.
FAST = {
    "daemon": {"symbols": ["R_10", "R_25", "1HZ10V", "1HZ25V"], "status_interval_s": 0.2},
    "execution": {"take_profit": 0.0, "stop_loss": 0.0, "multiplier": 40,
                  "stake_per_lot": 5.0, "order_timeout_s": 5.0},
    "decision": {"warmup": 3, "enter": 1, "exit": 0, "weights": [0, 0, 0, 0, 1, 0, 0, 0],
                 "shifts": [16, 16, 16, 16, 0, 16, 0, 0]},
    "risk": {"rate_sym_orders": 100, "rate_sym_per_ms": 1000, "rate_global_orders": 100,
             "rate_global_per_ms": 1000, "dup_window_ms": 0, "pos_limit": 3,
             "gross_limit": 12},
}


def env(**extra: str) -> dict[str, str]:
    """The test environment without any stray crash hook or token variable."""
    out = {k: v for k, v in os.environ.items()
           if k not in ("TICKGATE_CRASH_AT", "TICKGATE_DERIV_TOKEN")}
    out.update(extra)
    return out


def run_cli(args: list[str], timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``tickgate ARGS``; the completed process."""
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=timeout,
                          env=env(**extra))


def start_cli(args: list[str], **extra: str) -> subprocess.Popen[str]:
    """Start ``tickgate ARGS``; stdout and stderr piped."""
    return subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(**extra))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def write_config(path: Path, *tables: dict[str, dict[str, Any]]) -> Path:
    """Write the merged ``tables`` as TOML to ``path``."""
    merged: dict[str, dict[str, Any]] = {}
    for t in tables:
        for section, keys in t.items():
            merged.setdefault(section, {}).update(keys)
    lines = []
    for section, keys in merged.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml(v)}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sim_books(sim: SimThread, token: str) -> dict[str, Any]:
    """The books of ``token``'s account, read on the simulator's loop."""
    def read() -> dict[str, Any]:
        account = sim.server.tokens.lookup(token).account
        ledger = account.ledger
        return {
            "buys": [e.contract_id for e in ledger.entries if e.action_type == "buy"],
            "open": {c.contract_id for c in sim.server.desk.open_contracts(account.loginid)},
            "closed": {c.contract_id: c.sell_price for c in ledger.closed},
            "loginid": account.loginid,
        }
    return sim.call(read)


def check_agreement(journal_path: Path, books: dict[str, Any]) -> dict[str, int]:
    """Assert the journal and the venue's books agree exactly; return a few counts."""
    journal = Journal(journal_path, stake_per_lot=FAST["execution"]["stake_per_lot"])
    try:
        state = journal.state()
    finally:
        journal.close()
    buys = books["buys"]
    assert len(buys) == len(set(buys)), "the venue holds a contract twice"
    assert not state.unresolved(), [i.client_id for i in state.unresolved()]
    journal_ids = set(state.contracts)
    assert journal_ids == set(buys), (
        f"lost: {sorted(set(buys) - journal_ids)}, unknown to the venue: "
        f"{sorted(journal_ids - set(buys))}")
    filled = [i.contract_id for i in state.intents.values()
              if i.action == "open" and i.state == "filled"]
    assert len(filled) == len(set(filled)), "two intents claim one contract"
    for cid, rec in state.contracts.items():
        assert rec.open == (cid in books["open"]), f"contract {cid} open/closed differs"
        if not rec.open and rec.sell_price is not None:
            assert abs(rec.sell_price - books["closed"][cid]) < 0.005, cid
    return {"contracts": len(journal_ids), "filled": len(filled),
            "adopted": sum(1 for c in state.contracts.values() if c.client_id is None),
            "open": len(books["open"])}
