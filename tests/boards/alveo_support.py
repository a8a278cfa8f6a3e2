"""Images and fake XRT hosts for the Alveo board tests (:mod:`fake_pyxrt`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fake_pyxrt import FakeXrt, write_xclbin

from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.card_regs import card_regmap
from tickgate.gateware.params import EngineParams

#: The build the fake card has (the conformance suite's).
PARAMS = EngineParams(n_symbols=64)


def make_image(folder: Path, params: EngineParams = PARAMS, **xclbin: object) -> Path:
    """Write an image folder: tickgate.xclbin (fake) and regmap.json of ``params``; return
    the xclbin's path."""
    folder.mkdir(parents=True, exist_ok=True)
    card_regmap(params).write_json(folder / "regmap.json")
    return write_xclbin(folder / "tickgate.xclbin", **xclbin)  # type: ignore[arg-type]


def install_xrt(monkeypatch: pytest.MonkeyPatch, xclbin: Path, params: EngineParams = PARAMS,
                **options: object) -> FakeXrt:
    """Put a fake ``pyxrt`` in ``sys.modules``: its card is a model board of ``params``
    reached through the ``regmap.json`` beside ``xclbin``."""
    regmap = xclbin.with_name("regmap.json")
    xrt = FakeXrt(lambda: ModelBoard.create(regmap=regmap, params=params),
                  **options)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "pyxrt", xrt.module)
    return xrt
