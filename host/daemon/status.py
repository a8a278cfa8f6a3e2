"""The daemon's counters, its live status line and its end-of-run summary.

Counters (:class:`Stats`): ``ticks`` through the board; ``intents`` (records whose kind has
``ORDER``: the decision unit fired); ``accepted`` (intents the risk gate passed) and
``rejected`` by reason (one count per reject bit, so an intent failing two checks counts
under both; ``rejected_intents`` counts intents); ``orders`` (money-moving requests sent to
the venue: ``buy`` and ``sell``), ``fills`` (replies confirming them), ``venue_rejects``,
``unknown`` (sent, reply lost: settled by reconciliation), ``dropped`` (accepted intents
not executed because the symbol already had an order in flight or the queue was full),
``refused_killed`` (not executed because of the kill switch). Host strategies' orders
(:mod:`.hostorders`): ``host_orders`` sent to the gate, ``host_accepted``,
``host_rejected_orders`` and ``host_rejected`` by reason (one count per reject bit); an
accepted one then counts in ``orders``/``fills`` like an intent.

Latencies (microseconds, the last 4096 samples): ``tick_to_verdict`` (tick frame handled by
the feed to its board record back on the event loop: batching, the board thread, the
board), ``board_call`` (one ``process_ticks`` call), ``tick_to_order`` (tick frame to its
order's ``buy``/``sell`` request handed to the client), ``order_rtt`` (``buy``/``sell`` sent
to its reply), ``rehearsal`` (one rehearsal of the path while the feed is quiet,
:mod:`.rehearsal`).

Money (account currency): ``pnl`` is the run's P&L (equity now minus equity when this run
started trading), ``pnl_day`` the day's (equity now minus ``day_baseline``, the equity at
the start of the UTC ``day``, kept across restarts: :mod:`.daypnl`), which is what the risk
gate's ``DAILY_LOSS`` check sees. ``symbol_ticks`` counts the ticks the feed accepted per
symbol (each one went to the board).

The status line is rewritten in place (``\\r``) on a terminal; otherwise it is logged as a
line every ``10 × status_interval_s``.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tickgate.gateware.records import Reject
from tickgate.host.daemon.daypnl import DayPnl

__all__ = ["Stats", "REJECT_NAMES"]

REJECT_NAMES = Reject.names()


def _pct(samples: deque[float], q: float) -> float | None:
    return float(np.percentile(np.fromiter(samples, float), q)) if samples else None


@dataclass
class Stats:
    """Everything the status line and the summary show."""

    board: str = "model"
    venue: str = "sim"
    loginid: str = ""
    currency: str = "USD"
    started: float = field(default_factory=time.monotonic)
    ticks: int = 0
    intents: int = 0
    accepted: int = 0
    rejected_intents: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    fills: int = 0
    venue_rejects: int = 0
    unknown: int = 0
    dropped: int = 0
    refused_killed: int = 0
    accepted_after_kill: int = 0
    host_orders: int = 0
    host_accepted: int = 0
    host_rejected_orders: int = 0
    host_rejected: Counter[str] = field(default_factory=Counter)
    killed: bool = False
    kill_latency_ms: float | None = None
    #: Rehearsals of the tick-to-order path while the feed was quiet (:mod:`.rehearsal`).
    rehearsals: int = 0
    balance: float | None = None
    start_equity: float | None = None
    equity: float | None = None
    open_contracts: int = 0
    #: The UTC day, its baseline and the day's P&L (the daemon journals and rolls it).
    day: DayPnl = field(default_factory=DayPnl)
    symbol_ticks: dict[str, int] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, deque[float]] = field(default_factory=lambda: {
        k: deque(maxlen=4096) for k in ("tick_to_verdict", "board_call", "tick_to_order",
                                         "order_rtt", "rehearsal")})
    _last_ticks: int = 0
    _last_time: float = field(default_factory=time.monotonic)
    rate: float = 0.0

    @property
    def pnl(self) -> float:
        """Equity now minus equity at the start of the run, account currency."""
        if self.equity is None or self.start_equity is None:
            return 0.0
        return round(self.equity - self.start_equity, 2)

    @property
    def pnl_day(self) -> float:
        """Equity now minus the equity at the start of the UTC day, account currency."""
        return 0.0 if self.equity is None else self.day.pnl(self.equity)

    def tick_rate(self) -> float:
        """Ticks per second since the previous call."""
        now = time.monotonic()
        dt = now - self._last_time
        if dt > 0.2:
            self.rate = (self.ticks - self._last_ticks) / dt
            self._last_ticks, self._last_time = self.ticks, now
        return self.rate

    def line(self) -> str:
        """One status line."""
        rej = ", ".join(f"{k} {v}" for k, v in self.rejected.most_common(3))
        lat = _pct(self.latency["tick_to_verdict"], 50)
        rtt = _pct(self.latency["order_rtt"], 50)
        parts = [
            f"ticks {self.ticks} ({self.tick_rate():.0f}/s)",
            f"intents {self.intents}",
            f"accepted {self.accepted} rejected {self.rejected_intents}"
            + (f" [{rej}]" if rej else ""),
            f"orders {self.orders} fills {self.fills} open {self.open_contracts}",
            f"P&L day {self.pnl_day:+.2f} run {self.pnl:+.2f} {self.currency}",
            f"latency tick→verdict {lat / 1000:.2f} ms" if lat is not None else "latency -",
        ]
        if rtt is not None:
            parts.append(f"order rtt {rtt / 1000:.1f} ms")
        if self.killed:
            parts.append("KILLED")
        return " | ".join(parts)

    def summary(self) -> dict[str, Any]:
        """The end-of-run summary (also the ``--summary-json`` file)."""
        lat = {}
        for name, samples in self.latency.items():
            lat[name] = {"p50_us": _pct(samples, 50), "p99_us": _pct(samples, 99),
                         "samples": len(samples)}
        return {
            "board": self.board, "venue": self.venue, "loginid": self.loginid,
            "duration_s": round(time.monotonic() - self.started, 3),
            "ticks": self.ticks, "intents": self.intents, "accepted": self.accepted,
            "rejected": {name: self.rejected.get(name, 0) for name in REJECT_NAMES},
            "rejected_intents": self.rejected_intents,
            "orders": self.orders, "fills": self.fills, "venue_rejects": self.venue_rejects,
            "unknown": self.unknown, "dropped": self.dropped,
            "refused_killed": self.refused_killed, "killed": self.killed,
            "accepted_after_kill": self.accepted_after_kill,
            "host_orders": {"sent": self.host_orders, "accepted": self.host_accepted,
                            "rejected_orders": self.host_rejected_orders,
                            "rejected": {n: self.host_rejected.get(n, 0)
                                         for n in REJECT_NAMES}},
            "kill_latency_ms": self.kill_latency_ms, "rehearsals": self.rehearsals,
            "pnl": self.pnl, "pnl_day": self.pnl_day, "day": self.day.day,
            "day_baseline": self.day.baseline, "currency": self.currency,
            "balance": self.balance,
            "equity": self.equity, "open_contracts": self.open_contracts,
            "reconcile": self.reconcile, "latency": lat,
            "symbol_ticks": dict(self.symbol_ticks),
        }

    def summary_text(self) -> str:
        """The summary as a few human lines."""
        s = self.summary()
        rej = ", ".join(f"{k} {v}" for k, v in s["rejected"].items() if v) or "none"
        lat = s["latency"]["tick_to_verdict"]
        rtt = s["latency"]["order_rtt"]
        lines = [
            f"tickgate run: {s['board']} board, {s['venue']} venue ({s['loginid']}), "
            f"{s['duration_s']:.1f} s",
            f"  ticks {s['ticks']}  intents {s['intents']}  accepted {s['accepted']}  "
            f"rejected {s['rejected_intents']} ({rej})",
            f"  orders {s['orders']}  fills {s['fills']}  venue rejects {s['venue_rejects']}  "
            f"dropped {s['dropped']}  open contracts {s['open_contracts']}",
            f"  P&L day {s['pnl_day']:+.2f} ({s['day']})  run {s['pnl']:+.2f} "
            f"{s['currency']}  balance {s['balance']}",
        ]
        host = s["host_orders"]
        if host["sent"]:
            hrej = ", ".join(f"{k} {v}" for k, v in host["rejected"].items() if v) or "none"
            lines.append(f"  host orders {host['sent']}  accepted {host['accepted']}  "
                         f"rejected {host['rejected_orders']} ({hrej})")
        if lat["p50_us"] is not None:
            lines.append(f"  latency tick→verdict p50 {lat['p50_us'] / 1000:.2f} ms "
                         f"p99 {lat['p99_us'] / 1000:.2f} ms"
                         + (f"; order rtt p50 {rtt['p50_us'] / 1000:.1f} ms"
                            if rtt["p50_us"] is not None else ""))
        if s["killed"]:
            lines.append("  kill switch set")
        return "\n".join(lines)

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`summary` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")
