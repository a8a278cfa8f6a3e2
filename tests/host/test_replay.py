"""``tickgate replay`` end to end through the CLI (and ``tickgate run``'s flags)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from tickgate.gateware.records import OUTPUT_DTYPE, OutputKind
from tickgate.host import replay as replay_module
from tickgate.host.cli import main

COLUMNS = ["ema_12", "ema_26", "macd", "macd_signal", "macd_hist", "rsi_14", "sma_20", "std_20",
           "zscore_20", "roc_10", "min_20", "max_20"]


def write_ticks(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def walk_csv(tmp_path: Path) -> Path:
    """Three symbols, 600 ticks, interleaved at random, different decimals."""
    rng = np.random.default_rng(8)
    decimals = {"EURUSD": 5, "USDJPY": 3, "R_100": 2}
    level = {"EURUSD": 112000, "USDJPY": 91650, "R_100": 123456}
    rows = []
    for i, name in enumerate(rng.choice(list(decimals), 600)):
        level[name] += int(rng.integers(-9, 10))
        text = f"{level[name] / 10**decimals[name]:.{decimals[name]}f}"
        rows.append(f"{1700000000 + i * 0.25},{name},{text}")
    return write_ticks(tmp_path / "ticks.csv", "epoch,symbol,quote", rows)


def test_replay_writes_input_columns_then_features_for_every_tick(
        walk_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, raw = tmp_path / "features.csv", tmp_path / "raw.npy"
    status = main(["replay", "--ticks", str(walk_csv), "--out", str(out), "--raw", str(raw)])
    assert status == 0
    rows = read_rows(out)
    assert list(rows[0]) == ["epoch", "symbol", "quote", *COLUMNS]
    assert [r["quote"] for r in rows] == [r["quote"] for r in read_rows(walk_csv)]
    records = np.load(raw)
    assert records.dtype == OUTPUT_DTYPE and len(records) == 600
    assert np.all(records["kind"] == OutputKind.FEATURE)      # the decision unit is off
    assert "replayed 600 ticks, 3 symbols" in capsys.readouterr().err
    eur = [r for r in rows if r["symbol"] == "EURUSD"]
    assert eur[0]["ema_12"] == "" and eur[-1]["ema_12"] != ""
    assert math.isclose(float(eur[-1]["min_20"]), min(float(r["quote"]) for r in eur[-20:]))
    assert math.isclose(float(eur[-1]["sma_20"]), sum(float(r["quote"]) for r in eur[-20:]) / 20)


def test_replay_in_small_batches_equals_one_batch(walk_csv: Path, tmp_path: Path) -> None:
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    replay_module.replay(walk_csv, one)
    replay_module.replay(walk_csv, many, batch=7)
    assert one.read_text() == many.read_text()


def test_replay_takes_the_mid_when_there_is_no_quote_column(tmp_path: Path) -> None:
    ticks = write_ticks(tmp_path / "t.csv", "epoch,symbol,bid,ask",
                        ["1,EURUSD,1.12117,1.12162", "2,EURUSD,1.12120,1.12160"])
    out = tmp_path / "f.csv"
    assert main(["replay", "--ticks", str(ticks), "--out", str(out)]) == 0
    rows = read_rows(out)
    assert [r["quote"] for r in rows] == ["1.121395", "1.12140"]


def test_replay_config_sets_periods_and_pip_sizes(walk_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "periods.toml"
    config.write_text("[indicators]\nsma = 5\nminmax = 3\n\n[symbols]\nR_100 = 3\n")
    out = tmp_path / "f.csv"
    assert main(["replay", "--ticks", str(walk_csv), "--out", str(out),
                 "--config", str(config)]) == 0
    rows = read_rows(out)
    assert {"sma_5", "std_5", "zscore_5", "min_3", "max_3"} <= set(rows[0])
    r100 = [r for r in rows if r["symbol"] == "R_100"]
    assert math.isclose(float(r100[-1]["max_3"]), max(float(r["quote"]) for r in r100[-3:]))


@pytest.mark.parametrize(("text", "message"), [
    ("[indicators]\nsma_period = 5\n", "unknown key 'sma_period' in [indicators] of p.toml"),
    ("[indicator]\nsma = 5\n", "unknown table or key 'indicator' in p.toml"),
    ("[symbols]\nR_100 = '2'\n", "pip size of 'R_100' in [symbols] of p.toml must be an"),
    ("[indicators]\nema_fast = 30\n", "ema_fast (30) must be shorter than ema_slow (26)"),
    ("[indicators]\nsma = 300\n", "n_sma must be 1 .. 256 for this build, not 300"),
    ("[indicators\n", "config p.toml is not valid TOML"),
])
def test_bad_config_is_refused_in_a_plain_sentence(walk_csv: Path, tmp_path: Path, text: str,
                                                   message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "p.toml"
    config.write_text(text)
    status = main(["replay", "--ticks", str(walk_csv), "--out", str(tmp_path / "f.csv"),
                   "--config", str(config)])
    assert status == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("header", "rows", "message"), [
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,zz"], "line 3: quote 'zz' is not a number"),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,NaN"], "line 3: quote is NaN"),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,inf"], "line 3: quote 'inf' is infinite"),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A,0"], "line 3: quote must be positive, not 0"),
    ("epoch,symbol,quote", ["1,A,1.5", "2,B,1", "0.5,A,2"],
     "line 4: time goes backwards for 'A'"),
    ("epoch,symbol,quote", ["1,A,1", "2,A,99999999999"], "beyond the card's 32-bit range"),
    ("epoch,symbol,quote", ["1,A,1.5", "2,A"], "line 3: expected 3 fields, found 2"),
    ("epoch,symbol,bid,ask", ["1,A,1.5,x"], "line 2: ask 'x' is not a number"),
    ("epoch,symbol,price", ["1,A,1.5"], "line 1: the header lacks column quote (or bid and ask)"),
])
def test_bad_ticks_file_names_the_line_and_reason(tmp_path: Path, header: str, rows: list[str],
                                                  message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ticks = write_ticks(tmp_path / "t.csv", header, rows)
    out = tmp_path / "f.csv"
    assert main(["replay", "--ticks", str(ticks), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.startswith("tickgate replay: error:")
    assert not out.exists() and not Path(f"{out}.part").exists()


def test_more_symbols_than_the_board_holds_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ticks = write_ticks(tmp_path / "t.csv", "epoch,symbol,quote",
                        [f"1,S{i},1.5" for i in range(65)])
    assert main(["replay", "--ticks", str(ticks), "--out", str(tmp_path / "f.csv")]) == 1
    assert "line 66: symbol 'S64' would be symbol number 65" in capsys.readouterr().err


def test_a_card_board_that_cannot_open_is_a_clear_replay_error(walk_csv: Path,
                                                                tmp_path: Path) -> None:
    with pytest.raises(replay_module.ReplayError, match="cannot open the pynq board"):
        replay_module.replay(walk_csv, tmp_path / "f.csv", board="pynq",
                             board_options={"bitfile": str(tmp_path / "missing.bit")})
    assert not (tmp_path / "f.csv").exists()


def test_an_unknown_board_is_refused(walk_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(replay_module.ReplayError, match="no board 'fpga'"):
        replay_module.replay(walk_csv, tmp_path / "f.csv", board="fpga")
    assert not (tmp_path / "f.csv").exists()


def test_run_is_the_daemon_and_the_sample_still_replays(
        capsys: pytest.CaptureFixture[str]) -> None:
    # `tickgate run` is the trading daemon now (tests/daemon run it end to end); the
    # built-in sample it used to replay is still there for `tickgate replay`.
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--board", "--duration", "--summary-json", "--venue", "--token-file",
                 "--account"):
        assert flag in out
    summary = replay_module.replay(replay_module.sample_path(), None,
                                   config=replay_module.ReplayConfig(), board="model")
    assert "replayed 2000 ticks, 2 symbols" in summary.line()
    assert sorted(summary.symbols) == ["EURUSD", "USDJPY"]
