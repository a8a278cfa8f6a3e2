"""``tickgate replay --board sim`` writes exactly the files ``--board model`` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tickgate.host.cli import main
from tickgate.host.replay import sample_path


def many_symbols(path: Path, n: int = 20_000, symbols: int = 40) -> Path:
    rng = np.random.default_rng(8)
    sym = rng.integers(0, symbols, n)
    walk = np.cumsum(rng.integers(-30, 31, n)) + 1_000_000
    lines = ["epoch,symbol,quote"] + [f"{1_700_000_000 + i // 7},S{s},{p / 10_000:.4f}"
                                      for i, (s, p) in enumerate(zip(sym, walk, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replay_on_the_simulated_board_is_byte_identical_to_the_model_board(
        sim_artifacts: object, tmp_path: Path) -> None:
    for ticks in (sample_path(), many_symbols(tmp_path / "many.csv")):
        outputs = {}
        for board in ("model", "sim"):
            out, raw = tmp_path / f"{board}.csv", tmp_path / f"{board}.npy"
            args = ["replay", "--board", board, "--ticks", str(ticks), "--out", str(out),
                    "--raw", str(raw)]
            assert main(args) == 0, board
            outputs[board] = (out.read_bytes(), raw.read_bytes())
        assert outputs["sim"] == outputs["model"], ticks
        assert len(outputs["sim"][0]) > 100_000
