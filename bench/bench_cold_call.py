"""The model board's one-tick call right after an idle gap, against back to back.

The daemon's ticks come in bursts (one per symbol each simulated second) with the loop idle
in between; this measures what that idle costs the first call of a burst. Ten symbols on a
random walk through ``BoardRunner.process_one`` (the daemon's call, with the tick-to-order
bench's configuration), 10 calls a burst, ``--gap`` ms between bursts, idled as one sleep or
as sleeps of ``--slice`` ms (``--spin``: busy-waited), 100 bursts after 50 for warm-up;
p50/p99 of the call's time (µs) by its position in the burst. ``--rehearse`` idles in
1 ms sleeps with a rehearsal of the last burst's first symbol after each
(``BoardRunner.rehearse``, what the daemon's ``[daemon] rehearse_us = 1000`` does on the
board). Pin it to a core (``taskset -c 1``) and run from the checkout's root.

    taskset -c 1 .venv/bin/python bench/bench_cold_call.py [--gap 50] [--slice 5] [--spin]
        [--rehearse] [--cpu-latency-us 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
from bench_tick_to_order import _config  # noqa: E402

from tickgate.host.daemon.boardloop import BoardRunner  # noqa: E402
from tickgate.host.daemon.cpulatency import CpuLatencyRequest  # noqa: E402


def idle(gap_s: float, slice_s: float | None, spin: bool,
         between: Callable[[], object] | None = None) -> None:
    """Idle for ``gap_s`` seconds: busy-waiting, or sleeping in ``slice_s`` pieces with
    ``between()`` after each."""
    end = time.perf_counter() + gap_s
    if spin:
        while time.perf_counter() < end:
            pass
        return
    step = slice_s or gap_s
    while (left := end - time.perf_counter()) > 0:
        time.sleep(min(step, left))
        if between is not None:
            between()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=float, default=50.0, help="ms between bursts")
    parser.add_argument("--slice", type=float, help="sleep the gap in pieces of this (ms)")
    parser.add_argument("--spin", action="store_true", help="busy-wait the gap")
    parser.add_argument("--rehearse", action="store_true",
                        help="sleep the gap in 1 ms pieces, a board rehearsal after each")
    parser.add_argument("--cpu-latency-us", type=int, default=-1,
                        help="hold this PM QoS CPU latency limit meanwhile, as the daemon's "
                             "[daemon] cpu_latency_us (root only; -1: off)")
    args = parser.parse_args()
    qos = CpuLatencyRequest(args.cpu_latency_us) if args.cpu_latency_us >= 0 else None
    ns = argparse.Namespace(symbols=10, inline_max=16, journal_sync="normal",
                            order_mode="direct")
    runner = BoardRunner(_config("ws://127.0.0.1:1", "/tmp/tickgate-bench-cold", ns))
    runner._open(10**6, 0, {})
    rng = np.random.default_rng(1)
    price, epoch = [100_000] * 10, 1_700_000_000
    times = np.zeros((150, 10))
    slice_ms = 1.0 if args.rehearse else args.slice

    def rehearse() -> None:
        runner.rehearse(0, price[0], epoch)

    for burst in range(150):
        idle(args.gap / 1000, None if slice_ms is None else slice_ms / 1000, args.spin,
             rehearse if args.rehearse and burst else None)
        epoch += 1
        for s in range(10):
            price[s] += int(rng.integers(-3, 4))
            t0 = time.perf_counter()
            runner.process_one(s, price[s], epoch)
            times[burst, s] = (time.perf_counter() - t0) * 1e6
    runner._pool.shutdown()
    if qos is not None:
        qos.release()
    t = times[50:]
    how = ("spin" if args.spin else f"sleep in {slice_ms} ms slices" if slice_ms else "sleep")
    if args.rehearse:
        how += ", a rehearsal after each"
    if qos is not None:
        how += f", CPU latency limit {args.cpu_latency_us} us"
    print(f"gap {args.gap} ms ({how}); call time by position in the burst, µs")
    print("  p50", np.round(np.percentile(t, 50, axis=0), 1))
    print("  p99", np.round(np.percentile(t, 99, axis=0), 1))


if __name__ == "__main__":
    main()
