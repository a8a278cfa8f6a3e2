"""Model-board throughput against TA-Lib on the same prices: ``python bench/bench_model.py``.

A replay of ``--ticks`` ticks (default 10M) over ``--symbols`` symbols (default 64) is packed
in memory as ``TICK_DTYPE`` records (random-walk prices, symbols drawn uniformly), then:

* ``model``: :class:`EngineModel` on chunks of ``--chunk`` ticks (1M) reusing one output
  buffer, every indicator word of every tick (engine words, integers);
* ``model + floats``: the same plus :func:`feature_columns` (float columns of every tick);
* ``TA-Lib``: EMA 12, EMA 26, MACD, RSI 14, BBANDS 20 and SMA 20 on each symbol's float
  prices (the symbol split is not timed).

Each is the best of ``--repeat`` runs, single-threaded. Prints a markdown table (ticks/s and
the ratio to TA-Lib) and writes the figures as JSON with ``--json PATH``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence

import numpy as np
import talib

from tickgate.drivers.features import IndicatorPeriods, feature_columns
from tickgate.gateware.model import EngineModel
from tickgate.gateware.records import FEATURE_DTYPE, TICK_DTYPE


def make_ticks(n: int, n_symbols: int, seed: int = 0) -> np.ndarray:
    """Return ``n`` tick records: random walks in pips around 0, symbols uniform."""
    rng = np.random.default_rng(seed)
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = rng.integers(0, n_symbols, n)
    ticks["price"] = np.cumsum(rng.integers(-20, 21, n, dtype=np.int32), dtype=np.int32)
    ticks["seq"] = np.arange(n)
    ticks["ts"] = np.arange(n) // 10
    return ticks


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Return the least wall time (s) of ``repeat`` calls of ``run``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10_000_000)
    parser.add_argument("--symbols", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args(argv)

    ticks = make_ticks(args.ticks, args.symbols)
    periods = IndicatorPeriods()
    bases = np.full(args.symbols, 112_000, np.int64)
    pip_sizes = np.full(args.symbols, 5, np.int64)
    buffer = np.zeros(args.chunk, FEATURE_DTYPE)
    EngineModel().process(ticks[:1000], buffer)  # compile / load the cache outside timing

    def model_run(floats: bool) -> Callable[[], None]:
        def run() -> None:
            model = EngineModel(config=periods.engine_config())
            for start in range(0, len(ticks), args.chunk):
                records = model.process(ticks[start: start + args.chunk], buffer)
                if floats:
                    feature_columns(records, periods, bases, pip_sizes)
        return run

    prices = (ticks["price"] + 112_000) / 1e5
    order = np.argsort(ticks["symbol"], kind="stable")
    split = np.flatnonzero(np.diff(ticks["symbol"][order])) + 1
    per_symbol = [np.ascontiguousarray(p) for p in np.split(prices[order], split)]

    def talib_run() -> None:
        for p in per_symbol:
            talib.EMA(p, 12)
            talib.EMA(p, 26)
            talib.MACD(p, 12, 26, 9)
            talib.RSI(p, 14)
            talib.BBANDS(p, 20, 2.0, 2.0, 0)
            talib.SMA(p, 20)

    seconds = {
        "model": best_of(args.repeat, model_run(False)),
        "model + floats": best_of(args.repeat, model_run(True)),
        "TA-Lib (6 functions)": best_of(args.repeat, talib_run),
    }
    rate = {k: args.ticks / s for k, s in seconds.items()}
    talib_rate = rate["TA-Lib (6 functions)"]
    print(f"{args.ticks:,} ticks, {args.symbols} symbols, chunks of {args.chunk:,}, "
          f"best of {args.repeat}, {platform.processor() or platform.machine()}\n")
    print("| path | seconds | ticks/s | vs TA-Lib |")
    print("|---|---:|---:|---:|")
    for name, s in seconds.items():
        print(f"| {name} | {s:.3f} | {rate[name]:,.0f} | {rate[name] / talib_rate:.2f}x |")
    if args.json:
        report = {"ticks": args.ticks, "symbols": args.symbols, "chunk": args.chunk,
                  "repeat": args.repeat, "seconds": seconds, "ticks_per_second": rate,
                  "ratio_to_talib": {k: v / talib_rate for k, v in rate.items()}}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
