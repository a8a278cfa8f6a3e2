"""``tickgate flash --board alveo-u50|alveo-u250``: the xclbin is loaded through AlveoBoard
over the fake ``pyxrt`` and verified; a mismatching image is refused before loading."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from alveo_support import install_xrt, make_image

from tickgate.drivers.board import BoardMismatch
from tickgate.drivers.flash import FlashError, flash
from tickgate.hw.manifest import write_manifest


def built_image(tmp_path: Path, board: str = "alveo-u50") -> Path:
    xclbin = make_image(tmp_path / "build")
    folder = tmp_path / "bitstreams" / "img"
    write_manifest(folder, board=board, files=[xclbin], regmap=xclbin.with_name("regmap.json"))
    return folder


@pytest.mark.parametrize("board", ["alveo-u50", "alveo-u250"])
def test_flash_loads_the_xclbin_and_verifies_the_cards_identity(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, board: str) -> None:
    folder = built_image(tmp_path, board)
    xrt = install_xrt(monkeypatch, folder / "tickgate.xclbin")
    ident = flash(folder, board=board)
    assert xrt.loads == [str((folder / "tickgate.xclbin").resolve())] and xrt.programs == 1
    assert ident.board == "alveo"
    assert ident.map_hash == json.loads((folder / "regmap.json").read_text())["hash"]


def test_flash_refuses_an_image_for_another_board(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = built_image(tmp_path, board="alveo-u250")
    xrt = install_xrt(monkeypatch, folder / "tickgate.xclbin")
    with pytest.raises(FlashError, match="image for alveo-u250, not alveo-u50"):
        flash(folder, board="alveo-u50")
    assert xrt.loads == []


def test_flash_refuses_a_changed_xclbin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = built_image(tmp_path)
    xclbin = folder / "tickgate.xclbin"
    data = bytearray(xclbin.read_bytes())
    data[-2] ^= 1
    xclbin.write_bytes(bytes(data))
    xrt = install_xrt(monkeypatch, xclbin)
    with pytest.raises(FlashError, match="sha256"):
        flash(folder, board="alveo-u50")
    assert xrt.loads == []


def test_flash_refuses_a_manifest_whose_regmap_hash_differs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = built_image(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["regmap"]["hash"] ^= 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    xrt = install_xrt(monkeypatch, folder / "tickgate.xclbin")
    with pytest.raises(FlashError, match="differ from the manifest"):
        flash(folder, board="alveo-u50")
    assert xrt.loads == []


def test_flash_refuses_a_pynq_image_for_an_alveo_board(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest saying alveo-u50 but holding no xclbin is refused before XRT is asked."""
    build = tmp_path / "build"
    xclbin = make_image(build)
    bit = build / "tickgate.bit"
    bit.write_bytes(b"\0" * 16)
    folder = tmp_path / "img"
    write_manifest(folder, board="alveo-u50", files=[bit], regmap=xclbin.with_name("regmap.json"))
    xrt = install_xrt(monkeypatch, xclbin)
    with pytest.raises(FlashError, match="tickgate.xclbin"):
        flash(folder, board="alveo-u50")
    assert xrt.loads == []


def test_flash_refuses_a_card_answering_other_id_words_after_the_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = built_image(tmp_path)
    xrt = install_xrt(monkeypatch, folder / "tickgate.xclbin")
    xrt.faults.wrong_id = 0xDEAD_BEEF
    with pytest.raises(BoardMismatch, match="id 0xdeadbeef"):
        flash(folder, board="alveo-u50")
    assert len(xrt.loads) == 1


def test_the_cli_flashes_an_alveo_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    from tickgate.host.cli import main
    folder = built_image(tmp_path, board="alveo-u250")
    install_xrt(monkeypatch, folder / "tickgate.xclbin")
    assert main(["flash", "--board", "alveo-u250", str(folder)]) == 0
    assert capsys.readouterr().out.startswith(f"alveo-u250: loaded {folder}; card id ")


def test_the_cli_without_pyxrt_exits_2_saying_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from tickgate.host.cli import main
    folder = built_image(tmp_path)
    monkeypatch.setitem(sys.modules, "pyxrt", None)
    assert main(["flash", "--board", "alveo-u50", str(folder)]) == 2
    assert "pyxrt not found: install XRT 2.14+" in capsys.readouterr().err
