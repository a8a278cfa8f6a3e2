"""Cost of one small ``process_ticks`` call on the model board (the live daemon's case).

Command: ``python bench/bench_board_call.py [--calls N] [--ticks K]``. Loads demo-like limits
and the decision unit's default weights (enabled), warms up, then times ``N`` calls of ``K``
ticks each (one symbol, rising time stamps) and prints microseconds per call.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tickgate.drivers.board import open_board
from tickgate.gateware.decision import DecisionConfig
from tickgate.gateware.records import TICK_DTYPE
from tickgate.gateware.risk_model import RiskLimits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--ticks", type=int, default=1)
    args = parser.parse_args()
    board = open_board("model")
    board.load_limits(RiskLimits(max_qty=100, max_notional=10**12, collar_bps=10_000,
                                 stale_ms=10**6, gross_limit=10**6, daily_loss_limit=500,
                                 max_drawdown=10**6))
    board.load_decision(DecisionConfig(enable=True))
    ticks = np.zeros(args.ticks, TICK_DTYPE)
    ticks["symbol"], ticks["price"] = 1, 5
    ts = 0
    for _ in range(200):                              # numba compile or cache load
        ts += args.ticks
        ticks["ts"] = ts + np.arange(args.ticks)
        board.process_ticks(ticks)
    start = time.perf_counter()
    for _ in range(args.calls):
        ts += args.ticks
        ticks["ts"] = ts + np.arange(args.ticks)
        board.process_ticks(ticks)
    per_call = (time.perf_counter() - start) / args.calls * 1e6
    print(f"{per_call:.1f} us per process_ticks call of {args.ticks} tick(s), "
          f"{args.calls} calls")


if __name__ == "__main__":
    main()
