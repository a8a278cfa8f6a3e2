"""``tickgate board``: identify a board and print its health and counters as JSON.

``tickgate board --board sim`` builds (if needed) and opens the simulated board;
``--board pynq --bitstream tickgate.bit`` loads and checks a card. Exit status 0 when the
board is healthy, 1 when it does not answer or is the wrong card (the reason is printed).
"""

from __future__ import annotations

import argparse
import json
import sys

from .board import BoardError, open_board

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """Run ``tickgate board``; return the exit status."""
    if args.board in ("model", "sim"):
        if args.bitstream is not None:
            print(f"tickgate board: error: --bitstream is for a card, not the {args.board} "
                  "board", file=sys.stderr)
            return 2
        options: dict[str, object] = {"symbols": args.symbols}
    else:
        if args.bitstream is None:
            print(f"tickgate board: error: --board {args.board} needs --bitstream",
                  file=sys.stderr)
            return 2
        options = {"bitfile": args.bitstream}
    try:
        board = open_board(args.board, **options)
    except BoardError as exc:
        print(f"tickgate board: error: {exc}", file=sys.stderr)
        return 1
    try:
        health = board.health()
        ident = board.identify() if health.ok else None
    finally:
        board.close()
    report = health.as_dict()
    if ident is not None:
        report["identity"] = {"id": f"{ident.ident:#010x}", "version": ident.version_text,
                              "map_hash": f"{ident.map_hash:#010x}"}
    print(json.dumps(report, indent=2))
    return 0 if health.ok else 1
