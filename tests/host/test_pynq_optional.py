"""Without ``pynq`` (the main venv), tickgate imports and the PYNQ board says how to get it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tickgate.drivers.board import BoardError, open_board
from tickgate.gateware.card_regs import card_regmap
from tickgate.gateware.params import EngineParams


def test_the_pynq_board_without_pynq_names_the_extra(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynq", None)    # `import pynq` fails, installed or not
    card_regmap(EngineParams(n_symbols=16)).write_json(tmp_path / "regmap.json")
    (tmp_path / "tickgate.bit").write_bytes(b"")
    with pytest.raises(BoardError, match=r"pynq is not installed: pip install 'tickgate\[pynq\]'"):
        open_board("pynq", bitfile=tmp_path / "tickgate.bit")
