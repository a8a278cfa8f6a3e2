"""Register map: gateware table -> JSON -> host access; hash, validation, identity checks."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tickgate.drivers.regmap import (
    RegisterMapInfo,
    RegisterMapMismatch,
    Registers,
)
from tickgate.gateware.regmap import Register, RegisterMap, version_word

ROWS = (
    Register("control", "rw", width=4, reset=0b0101, doc="enable bits", group="control"),
    Register("threshold", "rw", width=12, signed=True, reset=-5, doc="signed", group="limits"),
    Register("limits", "rw", width=16, count=4, reset=0x100, doc="array", group="limits"),
    Register("status", "ro", width=8, doc="status bits", group="probes"),
    Register("level", "ro", width=10, signed=True, doc="signed level", group="probes"),
    Register("clear", "wo", width=1, doc="clear the counters", group="counters"),
    Register("ticks", "ro", count=2, doc="low, high word", group="counters"),
)


def make_map(rows: tuple[Register, ...] = ROWS) -> RegisterMap:
    return RegisterMap(rows, ident=0x5447_4B54, version=version_word(1, 2))


@pytest.fixture
def info(tmp_path: Path) -> RegisterMapInfo:
    path = tmp_path / "regmap.json"
    make_map().write_json(path)
    return RegisterMapInfo.from_json(path)


class FakeBus:
    """A word-addressed dict standing in for the card; records every access."""

    def __init__(self, words: dict[int, int] | None = None) -> None:
        self.words = dict(words or {})
        self.log: list[tuple[str, int]] = []

    def read32(self, offset: int) -> int:
        self.log.append(("r", offset))
        return self.words.get(offset, 0)

    def write32(self, offset: int, value: int) -> None:
        self.log.append(("w", offset))
        self.words[offset] = value


def test_identification_words_come_first_then_rows_in_order() -> None:
    regmap = make_map()
    assert [r.name for r in regmap][:4] == ["id", "version", "map_hash", "control"]
    assert [regmap.offset(n) for n in ("id", "version", "map_hash", "control")] == [0, 4, 8, 12]
    assert regmap.offset("limits", 3) == regmap.offset("limits") + 12
    assert regmap.offset("status") == regmap.offset("limits") + 16
    assert regmap.constants() == {"id": 0x5447_4B54, "version": 0x0001_0002,
                                  "map_hash": regmap.hash}


def test_addr_bits_cover_the_map_and_are_at_least_four() -> None:
    assert RegisterMap([], ident=0, version=0).addr_bits == 4
    assert make_map().addr_bits == 6  # 14 words = 56 bytes
    wide = RegisterMap([Register("table", "rw", count=147, doc="x", group="model")],
                       ident=0, version=0)
    assert wide.size == 600 and wide.addr_bits == 10


def test_every_offset_survives_the_json_round_trip(info: RegisterMapInfo) -> None:
    regmap = make_map()
    assert info.names() == [r.name for r in regmap]
    for word in regmap.words():
        name, index = word.register.name, word.index
        assert info.offset(name, index) == regmap.offset(name, index) == word.offset
        entry = info.register(name)
        assert (entry.access, entry.width, entry.signed, entry.reset, entry.count) == (
            word.register.access, word.register.width, word.register.signed,
            word.register.reset, word.register.count)
    assert (info.ident, info.version, info.hash, info.addr_bits) == (
        regmap.ident, regmap.version, regmap.hash, regmap.addr_bits)


def test_json_lists_each_array_once_with_count_and_stride() -> None:
    entries = {e["name"]: e for e in make_map().to_json()["registers"]}
    assert entries["limits"]["count"] == 4 and entries["limits"]["stride"] == 4
    assert set(entries["limits"]) == {"name", "offset", "access", "width", "signed", "reset",
                                      "count", "stride", "group", "doc"}
    assert json.loads(json.dumps(make_map().to_json())) == make_map().to_json()


@pytest.mark.parametrize("change", [
    {"width": 5}, {"access": "ro", "reset": 0}, {"signed": True, "reset": 0}, {"count": 2},
])
def test_map_hash_changes_with_any_layout_change(change: dict) -> None:
    rows = (dataclasses.replace(ROWS[0], **change), *ROWS[1:])
    assert make_map(rows).hash != make_map().hash


def test_map_hash_changes_when_a_register_moves_or_is_renamed() -> None:
    moved = (ROWS[1], ROWS[0], *ROWS[2:])
    renamed = (dataclasses.replace(ROWS[0], name="ctrl"), *ROWS[1:])
    inserted = (Register("spare", "rw", doc="x", group="control"), *ROWS)
    hashes = {make_map(rows).hash for rows in (ROWS, moved, renamed, inserted)}
    assert len(hashes) == 4


def test_map_hash_ignores_docs_and_groups() -> None:
    rows = (dataclasses.replace(ROWS[0], doc="reworded", group="other"), *ROWS[1:])
    assert make_map(rows).hash == make_map().hash


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "Bad"}, "lower_snake"),
    ({"access": "rx"}, "access"),
    ({"width": 0}, "width"),
    ({"width": 33}, "width"),
    ({"count": 0}, "count"),
    ({"width": 4, "reset": 16}, "reset 16 is outside 0..15"),
    ({"width": 4, "reset": -1}, "outside"),
    ({"width": 4, "signed": True, "reset": 8}, "outside -8..7"),
    ({"access": "ro", "reset": 1}, "only rw"),
    ({"group": ""}, "group"),
])
def test_register_rejects_bad_fields(kwargs: dict, match: str) -> None:
    fields = {"name": "reg", "access": "rw", "doc": "x", "group": "control", **kwargs}
    with pytest.raises(ValueError, match=match):
        Register(**fields)


@pytest.mark.parametrize("name", ["id", "version", "map_hash"])
def test_register_map_rejects_reserved_names(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        make_map((Register(name, "rw", doc="x", group="control"),))


def test_register_map_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="used twice"):
        make_map((*ROWS, Register("status", "rw", doc="again", group="control")))


def test_register_map_rejects_ident_or_version_beyond_32_bits() -> None:
    with pytest.raises(ValueError, match="ident"):
        RegisterMap(ROWS, ident=1 << 32, version=0)
    with pytest.raises(ValueError, match="major"):
        version_word(1 << 16, 0)


def test_unknown_names_and_indices_raise(info: RegisterMapInfo) -> None:
    with pytest.raises(KeyError, match="nope"):
        info.offset("nope")
    with pytest.raises(IndexError, match="4 element"):
        info.offset("limits", 4)
    with pytest.raises(KeyError):
        make_map().offset("nope")
    with pytest.raises(IndexError):
        make_map().offset("status", 1)


def test_encode_range_checks_and_names_the_register(info: RegisterMapInfo) -> None:
    assert info.encode("threshold", -5) == 0xFFB
    assert info.encode("threshold", 2047) == 0x7FF
    assert info.encode("limits", 0xFFFF) == 0xFFFF
    with pytest.raises(ValueError, match=r"threshold: 2048 is outside -2048\.\.2047"):
        info.encode("threshold", 2048)
    with pytest.raises(ValueError, match=r"limits: -1 is outside 0\.\.65535"):
        info.encode("limits", -1)


def test_decode_sign_extends_signed_registers_from_their_width(info: RegisterMapInfo) -> None:
    assert info.decode("level", 0xFFFF_FFFD) == -3  # sign-extended by the card
    assert info.decode("level", 0x3FD) == -3  # or not: only the low 10 bits count
    assert info.decode("level", 0x1FF) == 511
    assert info.decode("status", 0xFFFF_FF80) == 0x80
    for value in (-2048, -1, 0, 7, 2047):
        assert info.decode("threshold", info.encode("threshold", value)) == value


def test_check_identity_accepts_matching_words_and_names_every_mismatch(
        info: RegisterMapInfo) -> None:
    info.check_identity(info.ident, info.version, info.hash)
    with pytest.raises(RegisterMapMismatch) as caught:
        info.check_identity(info.ident, 0x0001_0003, info.hash ^ 1)
    message = str(caught.value)
    assert "version 0x00010003 (expected 0x00010002)" in message
    assert f"map_hash {info.hash ^ 1:#010x} (expected {info.hash:#010x})" in message
    assert "id " not in message


def test_a_hand_edited_json_is_refused(tmp_path: Path) -> None:
    data = make_map().to_json()
    data["registers"][4]["offset"] += 4
    with pytest.raises(ValueError, match="edited"):
        RegisterMapInfo.from_json(data)


def test_registers_read_and_write_through_the_bus_at_the_json_offsets(
        info: RegisterMapInfo) -> None:
    bus = FakeBus({info.offset("level"): 0xFFFF_FFF0})
    regs = Registers(bus, info)
    regs.write("threshold", -2)
    regs.write("limits", 0x1234, index=2)
    regs.write("clear", 1)
    assert bus.words[info.offset("threshold")] == 0xFFE
    assert bus.words[info.offset("limits", 2)] == 0x1234
    assert regs.read("limits", index=2) == 0x1234
    assert regs.read("level") == -16
    assert bus.log[-1] == ("r", info.offset("level"))


@pytest.mark.parametrize("action", [
    lambda r: r.write("status", 1),
    lambda r: r.write("nope", 1),
    lambda r: r.write("limits", 1, index=4),
    lambda r: r.write("control", 16),
    lambda r: r.read("clear"),
], ids=["write-ro", "unknown-name", "bad-index", "out-of-range", "read-wo"])
def test_bad_accesses_raise_before_touching_the_bus(info: RegisterMapInfo, action) -> None:
    bus = FakeBus()
    with pytest.raises((ValueError, KeyError, IndexError)):
        action(Registers(bus, info))
    assert bus.log == []


def test_registers_check_identity_reads_the_three_words(info: RegisterMapInfo) -> None:
    card = {0: info.ident, 4: info.version, 8: info.hash}
    Registers(FakeBus(card), info).check_identity()
    with pytest.raises(RegisterMapMismatch, match="id 0x00000000"):
        Registers(FakeBus({**card, 0: 0}), info).check_identity()


def test_host_side_does_not_import_amaranth() -> None:
    code = ("import sys, tickgate.drivers.regmap, tickgate.gateware.regmap; "
            "assert 'amaranth' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
