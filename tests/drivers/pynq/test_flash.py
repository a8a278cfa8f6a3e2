"""``tickgate flash``: an image is loaded and verified, a mismatching one refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_device, make_image

from tickgate.drivers.board import BoardMismatch
from tickgate.drivers.flash import FlashError, flash
from tickgate.hw.manifest import write_manifest


def built_image(tmp_path: Path, board: str = "pynq-z2") -> Path:
    bitfile = make_image(tmp_path / "build")
    folder = tmp_path / "bitstreams" / "img"
    write_manifest(folder, board=board, files=[bitfile, bitfile.with_suffix(".hwh")],
                   regmap=bitfile.with_name("regmap.json"))
    return folder


def test_flash_loads_the_image_and_verifies_the_cards_identity(tmp_path: Path) -> None:
    folder = built_image(tmp_path)
    device = make_device(folder / "tickgate.bit")
    ident = flash(folder, board="pynq-z2", device=device)
    assert device.loads == [str((folder / "tickgate.bit").resolve())]
    assert ident.map_hash == json.loads((folder / "regmap.json").read_text())["hash"]


def test_flash_refuses_an_image_for_another_board(tmp_path: Path) -> None:
    folder = built_image(tmp_path, board="alveo-u50")
    device = make_device(folder / "tickgate.bit")
    with pytest.raises(FlashError, match="image for alveo-u50, not pynq-z2"):
        flash(folder, board="pynq-z2", device=device)
    assert device.loads == []


def test_flash_refuses_a_changed_bitstream(tmp_path: Path) -> None:
    folder = built_image(tmp_path)
    bit = folder / "tickgate.bit"
    data = bytearray(bit.read_bytes())
    data[-1] ^= 1
    bit.write_bytes(bytes(data))
    device = make_device(bit)
    with pytest.raises(FlashError, match="sha256"):
        flash(folder, board="pynq-z2", device=device)
    assert device.loads == []


def test_flash_refuses_a_manifest_whose_regmap_hash_differs(tmp_path: Path) -> None:
    folder = built_image(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["regmap"]["hash"] ^= 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    device = make_device(folder / "tickgate.bit")
    with pytest.raises(FlashError, match="differ from the manifest"):
        flash(folder, board="pynq-z2", device=device)
    assert device.loads == []


def test_flash_refuses_a_card_answering_other_id_words_after_the_load(tmp_path: Path) -> None:
    folder = built_image(tmp_path)
    device = make_device(folder / "tickgate.bit")
    device.faults.wrong_id = 0xDEAD_BEEF
    with pytest.raises(BoardMismatch, match="id 0xdeadbeef"):
        flash(folder, board="pynq-z2", device=device)
    assert len(device.loads) == 1


def test_the_cli_reports_a_refused_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tickgate.host.cli import main
    folder = built_image(tmp_path, board="alveo-u50")
    assert main(["flash", "--board", "pynq-z2", str(folder)]) == 1
    assert "not pynq-z2" in capsys.readouterr().err
