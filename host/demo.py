"""``tickgate run`` until the daemon exists: the built-in sample through a board, summarised.

Replays :func:`tickgate.host.replay.sample_path` (real EUR/USD quotes and USD/JPY bar closes)
with the default indicator periods and prints, on stdout, the ticks, symbols and rate, and
each symbol's last value of a few indicators.
"""

from __future__ import annotations

import argparse
import math

from tickgate.host.replay import ReplayConfig, replay, sample_path

__all__ = ["SHOWN", "main"]

#: Columns printed per symbol (default periods).
SHOWN = ("ema_12", "ema_26", "macd", "rsi_14", "sma_20", "std_20", "min_20", "max_20")


def _show(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.6g}"


def main(args: argparse.Namespace) -> int:
    """Run ``tickgate run``: print the sample replay's summary; return the exit status."""
    summary = replay(sample_path(), None, config=ReplayConfig(), board=args.board)
    print(f"tickgate run: {args.board} board, built-in sample: {summary.line()}")
    width = max(len(name) for name in summary.symbols)
    print(f"{'symbol':<{width}}  " + "  ".join(f"{c:>10}" for c in SHOWN))
    for name in summary.symbols:
        values = summary.last[name]
        print(f"{name:<{width}}  " + "  ".join(f"{_show(values[c]):>10}" for c in SHOWN))
    return 0
