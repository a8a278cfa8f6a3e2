"""End-to-end ``tickgate replay`` throughput: ``python bench/bench_replay.py``.

Writes a tick CSV of ``--ticks`` rows (default 1M) over ``--symbols`` symbols (default 10)
in a temporary folder -- random-walk quotes with 2, 3 or 5 decimals, millisecond epochs,
symbols interleaved at random -- then times ``tickgate.host.cli.main(["replay", ...])`` on
it (read, check, pack, model, float columns, CSV out), best of ``--repeat`` runs after one
warm-up run on a small file (numba compile or cache load). ``--mid`` writes ``bid,ask``
columns instead of ``quote``. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tickgate.host.cli import main as cli_main


def write_ticks(path: Path, n: int, n_symbols: int, *, mid: bool = False, seed: int = 0) -> None:
    """Write ``n`` ticks of ``n_symbols`` random walks to ``path``."""
    rng = np.random.default_rng(seed)
    decimals = np.array([(5, 3, 2)[i % 3] for i in range(n_symbols)])
    start = np.array([(112_000, 91_650, 123_456)[i % 3] * 10 for i in range(n_symbols)])
    sym = rng.integers(0, n_symbols, n)
    steps = rng.integers(-9, 10, n)
    level = np.empty(n, np.int64)
    for s in range(n_symbols):
        mask = sym == s
        level[mask] = start[s] + np.cumsum(steps[mask])
    epoch_ms = 1_700_000_000_000 + np.cumsum(rng.integers(0, 250, n))
    with open(path, "w") as f:
        f.write("epoch,symbol,bid,ask\n" if mid else "epoch,symbol,quote\n")
        lines = []
        for ms, s, lv in zip(epoch_ms.tolist(), sym.tolist(), level.tolist(), strict=True):
            d = int(decimals[s])
            q = f"{lv // 10**d}.{lv % 10**d:0{d}d}"
            if mid:
                a = lv + 3
                q = f"{q},{a // 10**d}.{a % 10**d:0{d}d}"
            lines.append(f"{ms // 1000}.{ms % 1000:03d},SYM{s},{q}\n")
        f.write("".join(lines))


def time_replay(ticks: Path, out: Path) -> float:
    """Return the wall time of one ``tickgate replay`` of ``ticks`` (exit status checked)."""
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err):
        status = cli_main(["replay", "--ticks", str(ticks), "--out", str(out)])
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"replay failed: {err.getvalue()}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mid", action="store_true", help="bid,ask columns instead of quote")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, ticks, out = folder / "small.csv", folder / "ticks.csv", folder / "features.csv"
        write_ticks(small, 1000, args.symbols, mid=args.mid)
        time_replay(small, out)  # warm-up: numba compile or cache load
        write_ticks(ticks, args.ticks, args.symbols, mid=args.mid)
        size = ticks.stat().st_size
        seconds = min(time_replay(ticks, out) for _ in range(args.repeat))
        out_size = out.stat().st_size
    print(f"{args.ticks:,} ticks, {args.symbols} symbols, "
          f"{'bid,ask' if args.mid else 'quote'} columns, best of {args.repeat}, "
          f"{platform.processor() or platform.machine()}\n")
    print("| input MB | output MB | seconds | ticks/s |")
    print("|---:|---:|---:|---:|")
    print(f"| {size / 1e6:.1f} | {out_size / 1e6:.1f} | {seconds:.3f} | "
          f"{args.ticks / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
