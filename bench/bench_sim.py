"""Simulated-board throughput: ``python bench/bench_sim.py`` (Verilator on PATH).

``--ticks`` ticks (default 1,048,576) of ``--symbols`` symbols (64, the card's default
build) go through :meth:`SimBoard.process_ticks` in DMA batches of ``--batch`` records
(65,536), two ways:

* ``interleaved``: symbols drawn uniformly, then ordered by the host's packer
  (:func:`tickgate.drivers.packer.interleave`), as the replay sends them;
* ``random``: symbols drawn uniformly, sent as drawn (a tick whose symbol is still in the
  engine's pipeline waits: more cycles per tick).

Prices walk in pips; the card runs at its reset configuration with the kill switch cleared
(the decision unit off), which does not change the cycles a tick takes. For each stream the
best of ``--repeat`` runs gives ticks/s (wall clock; also per CPU second of the calling
thread, which the other jobs of a shared machine do not take) and simulated card cycles/s;
the model board (:mod:`tickgate.drivers.model_board`) runs the same ticks beside it when it
is importable. The library build (or the cache hit) is timed separately and not counted.
Prints a markdown table; ``--json PATH`` writes the figures. ``--library PATH`` runs another
build of the simulated board (e.g. an older one, for a before/after on the same Verilog).
``--copy`` runs the driver's batches the way they ran before S2MM wrote into the result
(:meth:`Board._transfer_into`'s default: a fresh array per batch, then a copy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tickgate.drivers.board import Board
from tickgate.drivers.sim_board import SimBoard
from tickgate.gateware.params import EngineParams
from tickgate.sim.train import training_ticks as make_ticks


class CopyingSimBoard(SimBoard):
    """The simulated board with the default (copying) batch path, for ``--copy``."""

    _transfer_into = Board._transfer_into


def run(board: Board, ticks: np.ndarray, repeat: int) -> tuple[float, int, float]:
    """Return the best wall time (s) of ``repeat`` passes of ``ticks``, the simulated
    cycles of that pass (0 for a board without a clock) and the best CPU time (s) of the
    calling thread over the passes (what the other jobs of a shared machine do not take)."""
    best, cycles, best_cpu = float("inf"), 0, float("inf")
    for _ in range(repeat):
        before = getattr(board, "cycles", 0)
        start, start_cpu = time.perf_counter(), time.thread_time()
        board.process_ticks(ticks)
        took, took_cpu = time.perf_counter() - start, time.thread_time() - start_cpu
        best_cpu = min(best_cpu, took_cpu)
        if took < best:
            best, cycles = took, getattr(board, "cycles", 0) - before
    return best, cycles, best_cpu


def model_board(params: EngineParams, batch: int) -> Board | None:
    """The model board of ``params``, opened, or None if it cannot be imported."""
    try:
        from tickgate.drivers.model_board import ModelBoard
    except ImportError:
        return None
    board = ModelBoard.create(params=params, max_batch=batch)
    board.open()
    board.clear_kill()
    return board


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1 << 20)
    parser.add_argument("--symbols", type=int, default=64)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--library", help="load this simulated-board library, not the build")
    parser.add_argument("--copy", action="store_true",
                        help="each batch into a fresh array, then copied (the older path)")
    args = parser.parse_args(argv)
    params = EngineParams(n_symbols=args.symbols)

    start = time.perf_counter()
    board_class = CopyingSimBoard if args.copy else SimBoard
    sim = board_class.create(params=params, max_batch=args.batch, library=args.library)
    sim.open()
    opened = time.perf_counter() - start
    sim.clear_kill()
    model = model_board(params, args.batch)

    rows: list[dict[str, Any]] = []
    for name in ("interleaved", "random"):
        ticks = make_ticks(args.ticks, args.symbols, interleaved=name == "interleaved")
        sim_s, cycles, sim_cpu = run(sim, ticks, args.repeat)
        row = {"stream": name, "ticks": len(ticks), "sim_ticks_per_s": len(ticks) / sim_s,
               "sim_ticks_per_cpu_s": len(ticks) / sim_cpu,
               "cycles": cycles, "ticks_per_cycle": len(ticks) / cycles,
               "sim_cycles_per_s": cycles / sim_s}
        if model is not None:
            model_s, _, _ = run(model, ticks, args.repeat)
            row["model_ticks_per_s"] = len(ticks) / model_s
        rows.append(row)

    machine = {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
               "load": [round(x, 2) for x in os.getloadavg()]}
    print(f"simulated board: {args.symbols} symbols, batches of {args.batch:,}, "
          f"{args.ticks:,} ticks, best of {args.repeat}; library {sim.library_path}"
          f"{' (copying batches)' if args.copy else ''} "
          f"(open incl. build check {opened:.1f} s); {machine['nproc']} CPUs, {machine['cpu']}; "
          f"load average {machine['load']}")
    print()
    head = "| stream | sim ticks/s | (per CPU s) | card cycles/s | ticks per cycle |"
    print(head + (" model board ticks/s |" if model is not None else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if model is not None else ""))
    for r in rows:
        line = (f"| {r['stream']} | {r['sim_ticks_per_s']:,.0f} "
                f"| {r['sim_ticks_per_cpu_s']:,.0f} | {r['sim_cycles_per_s']:,.0f} "
                f"| {r['ticks_per_cycle']:.3f} |")
        if "model_ticks_per_s" in r:
            line += f" {r['model_ticks_per_s']:,.0f} |"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "symbols": args.symbols,
                                               "batch": args.batch, "copy": args.copy,
                                               "rows": rows}, indent=2))
    sim.close()
    if model is not None:
        model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
