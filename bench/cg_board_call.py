"""A fixed number of the daemon's one-tick board calls, for counting instructions.

Instructions per ``BoardRunner.process_one`` call, whatever the machine's load: run this
under callgrind twice, with ``N`` and with 0 calls (both make the same 200 warm-up calls
first), and divide the difference of the two totals by ``N``. Ten symbols on a random walk
(seed 1), the tick-to-order bench's configuration, as ``bench_board_call.py --daemon``.
Run from the checkout's root:

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --trace-children=no \
        .venv/bin/python bench/cg_board_call.py 2000      # and again with 0
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
from bench_tick_to_order import _config  # noqa: E402

from tickgate.host.daemon.boardloop import BoardRunner  # noqa: E402

WARMUP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("calls", type=int, help="calls after the warm-up")
    args = parser.parse_args()
    ns = argparse.Namespace(symbols=10, inline_max=16, journal_sync="normal",
                            order_mode="direct")
    runner = BoardRunner(_config("ws://127.0.0.1:1", "/tmp/tickgate-cg", ns))
    runner._open(10**6, 0, {})
    price = [100_000] * 10
    epoch = 1_700_000_000
    steps = np.random.default_rng(1).integers(-3, 4, WARMUP + args.calls).tolist()
    fired = 0
    for k in range(WARMUP + args.calls):
        s = k % 10
        price[s] += steps[k]
        epoch += s == 0
        out, _ = runner.process_one(s, price[s], epoch)
        fired += int(out["kind"][0]) >> 1 & 1
    print(f"{WARMUP} + {args.calls} calls, {fired} fired an intent")
    runner._pool.shutdown()


if __name__ == "__main__":
    main()
