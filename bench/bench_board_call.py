"""Cost of one small ``process_ticks`` call on the model board (the live daemon's case).

Command: ``python bench/bench_board_call.py [--calls N] [--ticks K] [--daemon]``.

Default: loads demo-like limits and the decision unit's default weights (enabled), warms
up, then times ``N`` calls of ``K`` ticks each (one symbol, rising time stamps, a constant
price: no order fires) and prints microseconds per call.

``--daemon``: the daemon's own one-tick call instead (``BoardRunner.process_one``: packing
included) with ``bench_tick_to_order.py``'s configuration (ten symbols, momentum with a
threshold of 1, loose limits) on a random walk, so that about one call in five fires an
intent and passes the risk gate; p50/p99 over the calls, and the calls that fired apart.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from tickgate.drivers.board import open_board
from tickgate.gateware.decision import DecisionConfig
from tickgate.gateware.records import TICK_DTYPE, OutputKind
from tickgate.gateware.risk_model import RiskLimits


def constant(args: argparse.Namespace) -> None:
    """``--ticks`` ticks per call, no order."""
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


def daemon(args: argparse.Namespace) -> None:
    """The daemon's one-tick call with the tick-to-order bench's configuration."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_tick_to_order import _config

    from tickgate.host.daemon.boardloop import BoardRunner

    ns = argparse.Namespace(symbols=10, inline_max=16, journal_sync="normal",
                            order_mode="direct")
    runner = BoardRunner(_config("ws://127.0.0.1:1", "/tmp/tickgate-bench-board", ns))
    runner._open(10**6, 0, {})
    rng = np.random.default_rng(1)
    price = [100_000] * 10
    epoch = 1_700_000_000
    times: list[float] = []
    fired: list[bool] = []
    for k in range(args.calls + 500):
        s = k % 10
        price[s] += int(rng.integers(-3, 4))
        epoch += s == 0
        t0 = time.perf_counter()
        done = runner.process_one(s, price[s], epoch)
        t1 = time.perf_counter()
        assert done is not None
        if k >= 500:                                  # numba cache load, first symbols
            times.append((t1 - t0) * 1e6)
            fired.append(bool(done[0]["kind"][0] & OutputKind.ORDER))
    t, f = np.asarray(times), np.asarray(fired)
    print(f"BoardRunner.process_one, {len(t)} calls: p50 {np.percentile(t, 50):.1f} us, "
          f"p99 {np.percentile(t, 99):.1f} us; the {f.sum()} that fired an intent: p50 "
          f"{np.percentile(t[f], 50):.1f} us; the others: p50 {np.percentile(t[~f], 50):.1f} us")
    runner._pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--ticks", type=int, default=1)
    parser.add_argument("--daemon", action="store_true",
                        help="the daemon's one-tick call, configuration and random walk")
    args = parser.parse_args()
    daemon(args) if args.daemon else constant(args)


if __name__ == "__main__":
    main()
