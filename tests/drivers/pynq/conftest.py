"""The PYNQ driver tests: the real ``pynq`` package over a fake device (:mod:`fake_device`).

``pynq`` 4.0 pins ``numpy<2`` while tickgate pins numpy 2, so these tests run in their own
venv, ``.venv-pynq`` (``make test-pynq``; ``make test`` runs them after the main suite,
with ``TICKGATE_PYNQ_TESTS=1``). The main venv's pytest has no ``pynq`` and leaves this
folder out; with ``TICKGATE_PYNQ_TESTS=1`` a missing ``pynq`` is an error, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

_spec = importlib.util.find_spec("pynq")
if _spec is None or _spec.origin is None:       # absent, or only this folder on sys.path
    if os.environ.get("TICKGATE_PYNQ_TESTS") == "1":
        raise RuntimeError("TICKGATE_PYNQ_TESTS=1 but pynq is not importable: run these "
                           "tests with .venv-pynq/bin/python (make test-pynq)")
    collect_ignore_glob = ["*.py"]          # the main venv: these run in .venv-pynq
else:
    sys.path.insert(0, str(HERE.parents[1] / "boards"))     # the conformance suite

    import warnings

    warnings.filterwarnings("ignore", message="No devices found")

    from fake_device import FakePynqDevice, write_bitfile

    from tickgate.drivers.model_board import ModelBoard
    from tickgate.drivers.pynq_board import PynqBoard
    from tickgate.gateware.card_regs import card_regmap
    from tickgate.gateware.params import EngineParams

    #: The build the fake card has (the conformance suite's).
    PARAMS = EngineParams(n_symbols=64)

    def make_image(folder: Path, params: EngineParams = PARAMS) -> Path:
        """Write an image folder: tickgate.bit (a valid header), tickgate.hwh (the
        fixture), regmap.json (of ``params``); return the bitfile's path."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / "tickgate.hwh", folder / "tickgate.hwh")
        card_regmap(params).write_json(folder / "regmap.json")
        return write_bitfile(folder / "tickgate.bit")

    def make_device(bitfile: Path, params: EngineParams = PARAMS) -> FakePynqDevice:
        """A fake PYNQ whose card is a model board of ``params`` reached through the
        ``regmap.json`` beside ``bitfile``."""
        regmap = bitfile.with_name("regmap.json")
        return FakePynqDevice(lambda: ModelBoard.create(regmap=regmap, params=params))

    @pytest.fixture
    def image(tmp_path: Path) -> Path:
        return make_image(tmp_path / "image")

    @pytest.fixture
    def device(image: Path) -> FakePynqDevice:
        return make_device(image)

    @pytest.fixture
    def pynq_board(image: Path, device: FakePynqDevice) -> Iterator[PynqBoard]:
        board = PynqBoard.create(bitfile=image, device=device, max_batch=4096)
        board.open()
        yield board
        board.close()
