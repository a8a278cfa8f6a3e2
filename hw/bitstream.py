"""``tickgate hw bitstream --board B``: everything a card image needs, then the image itself.

Steps, in the build folder (``build/bitstream/<board>`` by default):

1. **Sources** (:func:`generate`): ``tickgate_top.v`` with Vivado interface attributes
   (:mod:`.vivado_ifaces`), ``regmap.json``, the board's recipe (:mod:`.pynq`:
   ``build_pynq_z2.tcl``; :mod:`.alveo`: kernel wrapper, packaging Tcl, data movers,
   ``connectivity.cfg``, ``build_alveo_*.sh``) and ``board.json`` (the board, the register
   map's identity words, the addresses or kernel layout the host needs).
2. **Open-source synthesis report** (:mod:`.board_synth`, ``synth_report.json``), unless
   ``--no-synth``: the card mapped by Yosys for the board's family, a few minutes.
3. **Vendor build**, when the tools are on PATH: ``vivado -mode batch -source
   build_pynq_z2.tcl`` (PYNQ-Z2) or ``build_alveo_*.sh`` (Vivado packages the RTL kernel,
   ``v++`` compiles and links). Their output goes to ``build.log``. Without the tools the
   command stops with exit status 2 and one sentence saying what is missing and what was
   written.
4. **Image** (:func:`collect_image`): the files the vendor build made (``tickgate.bit`` +
   ``tickgate.hwh``, or ``tickgate.xclbin``), ``regmap.json`` and ``board.json`` are copied
   to ``bitstreams/<board>-<version>-<shortcommit>[-dirty]/`` with a ``manifest.json``
   (:mod:`.manifest`).

Exit status: 0 image built, 1 a step failed (the message names its log), 2 vendor tools
missing (everything else written).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .boards import PYNQ_ADDRESSES, BoardSpec, get_board

__all__ = ["BitstreamError", "BuildResult", "generate", "missing_tools", "tool_versions",
           "run_vendor", "collect_image", "build", "bitstream_main", "BOARD_FILE", "LOG_FILE"]

BOARD_FILE = "board.json"
LOG_FILE = "build.log"


class BitstreamError(RuntimeError):
    """A build step failed; the message says which and where its log is."""


@dataclass
class BuildResult:
    """What :func:`build` did."""

    board: str
    out: Path
    #: Exit status: 0 image built, 2 vendor tools missing.
    status: int
    #: One sentence for the user.
    message: str
    #: Files written into ``out`` before the vendor build.
    generated: list[Path] = field(default_factory=list)
    #: The image's ``manifest.json`` when an image was built.
    manifest: Path | None = None


def _stderr(message: str) -> None:
    print(f"[bitstream] {message}", file=sys.stderr, flush=True)


def _hex(value: int) -> str:
    return f"0x{value:08X}"


def _board_json(spec: BoardSpec, regmap: dict[str, Any], n_symbols: int) -> dict[str, Any]:
    from . import alveo, pynq

    data: dict[str, Any] = {
        "board": spec.as_dict(),
        "top": "tickgate_top",
        "n_symbols": n_symbols,
        "regmap": {k: regmap[k] for k in ("ident", "version", "hash", "addr_bits")},
    }
    if spec.kind == "pynq":
        data["addresses"] = {name: {"base": _hex(base), "range": _hex(size)}
                             for name, (base, size) in PYNQ_ADDRESSES.items()}
        data["dma"] = {"length_bits": pynq.DMA_LENGTH_BITS, "tick": "axi_dma_tick",
                       "order": "axi_dma_order", "output": "axi_dma_tick (S2MM)"}
        data["block_design"] = pynq.BD_NAME
    else:
        data["kernel"] = {
            "name": alveo.KERNEL_NAME,
            "compute_units": dict(alveo.COMPUTE_UNITS),
            "streams": [f"{a} -> {b}" for a, b in alveo.STREAMS],
            "memory": spec.memory,
            "register_window": {"ip": f"{alveo.KERNEL_NAME}:{{tickgate_1}}",
                                "bytes": 1 << alveo.CTRL_ADDR_BITS,
                                "offsets": "regmap.json offsets, unchanged"},
        }
    return data


def generate(spec: BoardSpec, out: Path, *, n_symbols: int = 64, jobs: int = 2) -> list[Path]:
    """Write the Verilog, ``regmap.json``, the board's recipe and ``board.json``; return them."""
    from tickgate.gateware.params import EngineParams
    from tickgate.gateware.top import TOP_NAME

    from . import alveo, pynq
    from .build import write_top
    from .vivado_ifaces import annotate

    out.mkdir(parents=True, exist_ok=True)
    verilog, regmap_path = write_top(out, EngineParams(n_symbols=n_symbols))
    verilog.write_text(annotate(verilog.read_text(), TOP_NAME))
    regmap = json.loads(regmap_path.read_text())
    if spec.kind == "pynq":
        recipe = pynq.write_pynq_recipe(out, spec, jobs=jobs)
    else:
        recipe = alveo.write_alveo_recipe(out, spec, addr_bits=regmap["addr_bits"], jobs=jobs)
    board_path = out / BOARD_FILE
    board_path.write_text(json.dumps(_board_json(spec, regmap, n_symbols), indent=2) + "\n")
    return [verilog, regmap_path, *recipe, board_path]


def missing_tools(spec: BoardSpec) -> list[str]:
    """Return the board's vendor tools that are not on PATH."""
    return [tool for tool in spec.tools if shutil.which(tool) is None]


def tool_versions(spec: BoardSpec) -> dict[str, str]:
    """Return the first line of each vendor tool's version banner (``unknown`` on failure)."""
    flags = {"vivado": "-version", "v++": "--version"}
    versions = {}
    for tool in spec.tools:
        try:
            text = subprocess.run([tool, flags.get(tool, "--version")], capture_output=True,
                                  text=True, timeout=120).stdout
            versions[tool] = next((s.strip() for s in text.splitlines() if s.strip()),
                                  "unknown")
        except (OSError, subprocess.SubprocessError):
            versions[tool] = "unknown"
    return versions


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_vendor(spec: BoardSpec, out: Path, *, progress: Callable[[str], None] = _stderr
               ) -> None:
    """Run the board's vendor build in ``out``; raise :class:`BitstreamError` on failure."""
    from . import alveo, pynq

    if spec.kind == "pynq":
        command = ["vivado", "-mode", "batch", "-nojournal", "-log", "vivado.log",
                   "-source", pynq.TCL_NAME]
    else:
        command = ["bash", alveo.script_name(spec)]
    log = out / LOG_FILE
    progress(f"{' '.join(command)} in {out} (log {log}); this takes a while")
    with open(log, "wb") as sink:
        rc = subprocess.run(command, cwd=out, stdin=subprocess.DEVNULL, stdout=sink,
                            stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise BitstreamError(f"{command[0]} failed (exit {rc}); see {log}:\n{_tail(log)}")
    absent = [name for name in spec.images if not (out / name).is_file()]
    if absent:
        raise BitstreamError(f"{command[0]} finished but {', '.join(absent)} is missing from "
                             f"{out}; see {log}")


def collect_image(spec: BoardSpec, out: Path, images: Path, *,
                  tools: dict[str, str] | None = None) -> Path:
    """Copy the built image, ``regmap.json`` and ``board.json`` into ``images/<name>/`` with a
    manifest; return the manifest's path."""
    from .manifest import git_state, image_folder_name, tickgate_version, write_manifest

    commit, dirty = git_state()
    folder = Path(images) / image_folder_name(spec.name, tickgate_version(), commit, dirty)
    board = json.loads((out / BOARD_FILE).read_text())
    extra: dict[str, Any] = {
        "tools": dict(tools or {}),
        "clock_mhz": spec.clock_mhz,
        "n_symbols": board.get("n_symbols"),
        **{k: board[k] for k in ("addresses", "dma", "kernel") if k in board},
    }
    summary = out / "vivado_summary.json"
    if summary.is_file():
        try:
            extra["timing"] = json.loads(summary.read_text())
        except ValueError:
            pass
    report = out / "synth_report.json"
    if report.is_file():
        try:
            extra["open_source_synthesis"] = json.loads(report.read_text())["utilisation"]
        except (ValueError, KeyError):
            pass
    files = [out / name for name in spec.images] + [out / BOARD_FILE]
    return write_manifest(folder, board=spec.name, files=files, regmap=out / "regmap.json",
                          extra=extra)


def _what_was_written(spec: BoardSpec, recipe: list[Path], synth: bool) -> str:
    names = ["the Verilog", "regmap.json", *(p.name for p in recipe)]
    if synth:
        names.append("the synthesis report")
    return ", ".join(names[:-1]) + " and " + names[-1]


def build(board: str, out: Path, *, n_symbols: int = 64, synth: bool = True,
          images: Path = Path("bitstreams"), jobs: int = 2,
          progress: Callable[[str], None] = _stderr) -> BuildResult:
    """Run every step (module docstring); raise :class:`BitstreamError` if one fails."""
    from .board_synth import board_synth_report
    from .synth import SynthError, build_card

    spec = get_board(board)
    out = Path(out)
    generated = generate(spec, out, n_symbols=n_symbols, jobs=jobs)
    if synth:
        try:
            board_synth_report(build_card(n_symbols), out, spec, progress=progress)
        except SynthError as exc:
            raise BitstreamError(f"open-source synthesis failed: {exc}") from exc
    recipe = generated[2:-1]
    missing = missing_tools(spec)
    if missing:
        written = _what_was_written(spec, recipe, synth)
        images_text = " and ".join(spec.images)
        message = (f"{' and '.join(missing)} not found on PATH: wrote {written} to {out}; "
                   f"{spec.install_hint} and re-run to get {images_text}.")
        return BuildResult(spec.name, out, 2, message, generated)
    versions = tool_versions(spec)
    run_vendor(spec, out, progress=progress)
    manifest = collect_image(spec, out, images, tools=versions)
    message = f"built {' and '.join(spec.images)}: {manifest.parent}"
    return BuildResult(spec.name, out, 0, message, generated, manifest)


def bitstream_main(args) -> int:
    """``tickgate hw bitstream --board B [--out DIR] [--no-synth] [--images DIR] ...``."""
    out = Path(args.out or f"build/bitstream/{args.board}")
    try:
        result = build(args.board, out, n_symbols=args.symbols, synth=not args.no_synth,
                       images=Path(args.images), jobs=args.jobs)
    except BitstreamError as exc:
        print(f"tickgate hw bitstream: {exc}", file=sys.stderr)
        return 1
    for path in result.generated:
        print(path)
    if result.manifest is not None:
        print(result.manifest)
    print(result.message, file=sys.stderr if result.status else sys.stdout)
    return result.status
