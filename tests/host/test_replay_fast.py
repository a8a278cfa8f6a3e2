"""The compiled replay path writes byte for byte what the slow reference path writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tickgate.drivers.board import open_board
from tickgate.drivers.floatrepr import format_repr
from tickgate.drivers.packer import PackError
from tickgate.host import replay as replay_module
from tickgate.host.replay import ReplayConfig, sample_path

#: sha256 of the features CSV of the built-in sample, written by the slow path (before the
#: fast path existed).
SAMPLE_SHA256 = "fc1b0b301543237bcb7ea59d65d9652a91c6b636daa8c12418491665e13d89bb"
SLOW = replay_module._replay_slow


def slow(ticks: Path, out: Path, **kwargs: object) -> object:
    reader = replay_module._TickReader(ticks, 64)
    config = kwargs.pop("config", None) or ReplayConfig()
    params = replay_module.EngineParams()
    with open_board("model", params=params) as board:
        board.load_engine(config.periods.engine_config())
        return SLOW(reader, out, config=config, params=params, raw_path=None,
                    batch=int(kwargs.pop("batch", 64)), started=0.0, board=board)


@pytest.fixture
def fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the replay falls back to the slow path."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fast path fell back to the slow one")
    monkeypatch.setattr(replay_module, "_replay_slow", refuse)


def test_sample_output_is_unchanged(tmp_path: Path, fast_only: None) -> None:
    out = tmp_path / "f.csv"
    replay_module.replay(sample_path(), out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == SAMPLE_SHA256


def random_ticks(rng: np.random.Generator, n: int, *, mid: bool, crlf: bool,
                 odd: bool) -> str:
    names = ["EURUSD", "USDJPY", "R_100", "X"]
    decimals = {"EURUSD": 5, "USDJPY": 3, "R_100": 2, "X": 0}
    level = {"EURUSD": 112000, "USDJPY": 91650, "R_100": 123456, "X": 40}
    lines = ["epoch,symbol,bid,ask,note" if mid else "epoch,symbol,quote,note"]
    epoch = 1_700_000_000_000
    for i in range(n):
        name = str(rng.choice(names))
        level[name] = max(1, level[name] + int(rng.integers(-9, 10)))
        d = decimals[name]
        v = level[name]
        text = f"{v // 10**d}.{v % 10**d:0{d}d}" if d else str(v)
        epoch += int(rng.integers(0, 400))
        ep = f"{epoch // 1000}.{epoch % 1000:03d}"
        if odd and rng.random() < 0.1:
            text = rng.choice([f" {text} ", f"{text}000", f"+{text}", f"{v}e-{d}"])
            ep = rng.choice([ep, f"{epoch}e-3", f"{ep}0", f" {ep}"])
        sym = f" {name}" if odd and rng.random() < 0.05 else name
        quote = f"{text},{v + int(rng.integers(0, 7))}e-{d}" if mid else text
        lines.append(f"{ep},{sym},{quote},n{i}")
        if odd and rng.random() < 0.02:
            lines.append("")
    end = "\r\n" if crlf else "\n"
    return end.join(lines) + (end if rng.random() < 0.5 else "")


@pytest.mark.parametrize("seed", range(8))
def test_random_files_match_the_slow_path(tmp_path: Path, seed: int, fast_only: None) -> None:
    rng = np.random.default_rng(seed)
    ticks = tmp_path / "t.csv"
    ticks.write_bytes(random_ticks(rng, 700, mid=seed % 2 == 1, crlf=seed % 4 == 3,
                                   odd=seed >= 2).encode())
    expected = tmp_path / "slow.csv"
    slow(ticks, expected)
    for batch in (65536, 13):
        out = tmp_path / f"fast{batch}.csv"
        replay_module.replay(ticks, out, batch=batch)
        assert out.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize(("header", "rows"), [
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,zz"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A, NaN"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,-inf"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,-0.00"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,,2"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,B,1", "0.5,A,2"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,B,1", "1.50,A,2", "1.4999,A,2"]),
    ("epoch,symbol,quote", ["1,A,1", "2,A,99999999999"]),
    ("epoch,symbol,quote", ["1,A,1", "2,A,1e30"]),
    ("epoch,symbol,quote", ["1,A,0.1", "2,A,99999999999.9"]),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A"]),
    ("epoch,symbol,quote", ["1,A,1.5", "x,A,1.6"]),
    ("epoch,symbol,quote", ["1,A,1.5", "x,A,1.6", "3,A,zz"]),
    ("epoch,symbol,bid,ask", ["1,A,1.5,x"]),
    ("epoch,symbol,bid,ask", ["1,A,1.5,1.6", "2,A,-1.5,1.5"]),
    ("epoch,symbol,quote", [f"1,S{i},1.5" for i in range(65)]),
])
def test_bad_files_fail_at_the_same_line_with_the_same_words(
        tmp_path: Path, header: str, rows: list[str]) -> None:
    ticks = tmp_path / "t.csv"
    ticks.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    with pytest.raises(PackError) as want:
        slow(ticks, tmp_path / "slow.csv")
    with pytest.raises(PackError) as got:
        replay_module.replay(ticks, tmp_path / "fast.csv", batch=2)
    assert str(got.value) == str(want.value)
    assert not (tmp_path / "fast.csv").exists()


def test_quoted_fields_take_the_slow_path(tmp_path: Path) -> None:
    ticks = tmp_path / "t.csv"
    ticks.write_text('epoch,symbol,quote,note\n1,A,1.5,"a, b"\n2,A,1.6,c\n')
    expected = tmp_path / "slow.csv"
    slow(ticks, expected)
    out = tmp_path / "fast.csv"
    replay_module.replay(ticks, out)
    assert out.read_bytes() == expected.read_bytes()


def test_given_pip_sizes_round_as_the_slow_path(tmp_path: Path, fast_only: None) -> None:
    ticks = tmp_path / "t.csv"
    ticks.write_text("epoch,symbol,quote\n" + "".join(
        f"{i},A,{1 + i / 1000:.4f}\n" for i in range(100)))
    config = ReplayConfig(pip_sizes={"A": 2})
    expected, out = tmp_path / "slow.csv", tmp_path / "fast.csv"
    slow(ticks, expected, config=config)
    replay_module.replay(ticks, out, config=config)
    assert out.read_bytes() == expected.read_bytes()


def test_float_text_is_repr() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([
        rng.random(20000) * 100, (rng.random(20000) - 0.5) * 1e-4,
        rng.integers(0, 2**63, 20000, dtype=np.uint64).view(np.float64),
        rng.integers(-10**17, 10**17, 20000).astype(float),
        [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1e16, 1e15, 1e-4, 1e-5, 0.1, 1e22],
        [2.0**k for k in range(-1074, 1024)]])
    expected = [repr(v) if v == v else "" for v in values.tolist()]
    assert format_repr(values) == expected
