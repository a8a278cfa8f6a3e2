"""The TOML configuration: documented defaults, one-sentence refusals, ``config show``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from daemon_helpers import run_cli, write_config

from tickgate.host.daemon.config import (
    DEFAULTS,
    ConfigError,
    board_build,
    load_config,
    validate,
)
from tickgate.host.simserver.symbols import CATALOGUE

HUNDRED = [s.symbol for s in CATALOGUE][:100]


def _one_sentence(text: str) -> None:
    assert "\n" not in text.strip() and text.strip().endswith(".")


@pytest.mark.parametrize("raw,needle", [
    ({"risk": {"max_qtyy": 3}}, "unknown key [risk] max_qtyy"),
    ({"riskk": {}}, "unknown section [riskk]"),
    ({"venue": {"token": "abc"}}, "unknown key [venue] token"),
    ({"risk": {"max_qty": -1}}, "[risk] max_qty must be an integer in 1 .. 4294967295, not -1."),
    ({"risk": {"collar_bps": 70000}}, "[risk] collar_bps must be an integer"),
    ({"daemon": {"board": "fpga"}}, "[daemon] board must be one of model, sim, pynq, alveo"),
    ({"sim": {"speed": 0}}, "[sim] speed must be a number"),
    ({"decision": {"weights": [1, 2]}}, "[decision] weights must be a list of 8 integers"),
    ({"daemon": {"symbols": ["R_10", "R_10"]}}, "lists a symbol twice"),
    ({"execution": {"stop_loss": 50.0}}, "stop_loss must not exceed stake_per_lot"),
    ({"venue": {"account": "real"}}, "needs kind = \"deriv\""),
    ({"venue": {"url": "http://x"}}, "must be a ws:// or wss:// URL"),
    ({"decision": {"enable": "yes"}}, "[decision] enable must be true or false"),
    ({"daemon": {"board_symbols": 100}}, "[daemon] board_symbols must be 0 or a power of two"),
    ({"daemon": {"board": "sim", "symbols": HUNDRED}},
     "[daemon] symbols lists 100 symbols but the sim board's default build holds 64: set "
     "[daemon] board_symbols = 128"),
    ({"daemon": {"symbols": HUNDRED, "board_symbols": 64}},
     "[daemon] symbols lists 100 symbols but a board of board_symbols = 64 holds 64."),
    ({"daemon": {"cpu_latency_us": -2}},
     "[daemon] cpu_latency_us must be an integer in -1 .. 2147483647, not -2."),
    ({"daemon": {"rehearse_us": -1}},
     "[daemon] rehearse_us must be 0 (off) or an integer in 1000 .. 10000000 (the event "
     "loop's timers count milliseconds), not -1."),
    ({"daemon": {"rehearse_us": 500}}, "[daemon] rehearse_us must be 0 (off) or an integer"),
    ({"daemon": {"board": "pynq", "board_symbols": 128}},
     "[daemon] board_symbols must be 0 for the pynq board"),
])
def test_refusals_are_one_clear_sentence(raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate(raw, "t.toml")
    assert needle in str(info.value)
    _one_sentence(str(info.value))


def test_defaults_are_valid_and_files_merge(tmp_path: Path) -> None:
    assert validate({}).values == DEFAULTS
    path = write_config(tmp_path / "c.toml", {"risk": {"max_qty": 3}})
    config = load_config(path, {"daemon": {"board": "sim"}})
    assert config["risk"]["max_qty"] == 3 and config["daemon"]["board"] == "sim"
    assert config["risk"]["pos_limit"] == DEFAULTS["risk"]["pos_limit"]
    (tmp_path / "bad.toml").write_text("[risk\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_cli_refuses_a_bad_config_in_one_sentence(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", {"risk": {"max_qty": 0}})
    done = run_cli(["run", "--config", str(path)])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("tickgate run: [risk] max_qty must be an integer in 1 ..")
    _one_sentence(done.stderr)


def test_config_show_prints_every_key_and_redacts(tmp_path: Path) -> None:
    secret = "show-me-not-token-0042"
    token_file = tmp_path / "token"
    token_file.write_text(secret)
    done = run_cli(["config", "show", "--venue", "deriv", "--url",
                    f"wss://example.invalid/ws?token={secret}", "--token-file", str(token_file)])
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    assert "# token: from file" in done.stdout and "(present)" in done.stdout
    shown = tomllib.loads(done.stdout)
    assert set(shown) == set(DEFAULTS)
    assert all(set(shown[s]) == set(DEFAULTS[s]) for s in DEFAULTS)
    env_done = run_cli(["config", "show", "--venue", "deriv"], TICKGATE_DERIV_TOKEN=secret)
    assert secret not in env_done.stdout + env_done.stderr
    assert "set, value redacted" in env_done.stdout


def test_the_model_board_is_built_for_the_symbol_list_and_the_sim_board_when_told() -> None:
    assert board_build(validate({})["daemon"]) == 64
    assert board_build(validate({"daemon": {"symbols": HUNDRED}})["daemon"]) == 128
    sim = validate({"daemon": {"board": "sim", "symbols": HUNDRED, "board_symbols": 128}})
    assert board_build(sim["daemon"]) == 128
    assert board_build(validate({"daemon": {"board": "sim"}})["daemon"]) == 64
    assert board_build(validate({"daemon": {"board": "alveo"}})["daemon"]) is None


def test_the_cli_refuses_more_symbols_than_the_sim_board_holds_in_one_sentence(
        tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", {"daemon": {"symbols": HUNDRED}})
    done = run_cli(["run", "--config", str(path), "--board", "sim"])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("tickgate run: [daemon] symbols lists 100 symbols but the "
                                  "sim board's default build holds 64")
    _one_sentence(done.stderr)
