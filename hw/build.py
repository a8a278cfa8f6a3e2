"""``tickgate hw verilog``: the card's Verilog and its register map, side by side.

The register map's one source of truth is the gateware (:mod:`tickgate.gateware.card_regs`);
this writes it as ``regmap.json`` next to ``tickgate_top.v`` so that every bitstream built
from that Verilog ships with the JSON the host's register access is generated from
(:mod:`tickgate.drivers.regmap`).
"""

from __future__ import annotations

from pathlib import Path

from tickgate.gateware.params import EngineParams

__all__ = ["write_top", "verilog_main"]

REGMAP_FILE = "regmap.json"


def write_top(out_dir: str | Path, params: EngineParams | None = None) -> tuple[Path, Path]:
    """Write ``tickgate_top.v`` and ``regmap.json`` into ``out_dir``; return both paths."""
    from tickgate.gateware.top import TOP_NAME, TickgateTop

    from .synth import write_verilog

    top = TickgateTop(params)
    verilog_path = write_verilog(top, out_dir, TOP_NAME)
    regmap_path = Path(out_dir) / REGMAP_FILE
    top.regmap.write_json(regmap_path)
    return verilog_path, regmap_path


def verilog_main(args) -> int:
    """``tickgate hw verilog --out DIR [--symbols N]``."""
    for path in write_top(args.out, EngineParams(n_symbols=args.symbols)):
        print(path)
    return 0
