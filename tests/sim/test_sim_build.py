"""Building the simulated board: cached by key, rebuilt only on change, one builder at a
time, and a clear error when it cannot be built."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from board_conformance import PARAMS

from tickgate.gateware.params import EngineParams
from tickgate.sim import build


def test_the_library_is_built_with_its_register_map(sim_artifacts) -> None:
    assert sim_artifacts.library.is_file() and sim_artifacts.regmap.is_file()
    folder = sim_artifacts.library.parent
    assert folder.name == sim_artifacts.key and (folder / "build.json").is_file()
    verilog, regmap = build.card_verilog(PARAMS)
    assert regmap.read_text() == sim_artifacts.regmap.read_text()
    assert sim_artifacts.key == build.library_key(verilog.read_bytes(), PARAMS)
    info = json.loads((folder / "build.json").read_text())
    assert info["pgo"] == build._pgo()              # gcc: trained, then rebuilt with the profile
    assert set(info["phases"]) == ({"build", "train", "rebuild"} if info["pgo"] else {"build"})


def test_a_rebuild_is_skipped_when_nothing_changed(sim_artifacts) -> None:
    start = time.monotonic()
    again = build.build_library(PARAMS)
    assert not again.built and again.key == sim_artifacts.key
    assert again.library == sim_artifacts.library
    assert time.monotonic() - start < 10


def test_the_key_follows_the_verilog_the_harness_and_the_parameters(
        sim_artifacts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = build.card_verilog(PARAMS)[0].read_bytes()
    key = build.library_key(text, PARAMS)
    assert build.library_key(text + b"\n// changed\n", PARAMS) != key
    assert build.library_key(text, EngineParams(n_symbols=32)) != key
    harness = tmp_path / "harness"
    shutil.copytree(build.HARNESS_DIR, harness)
    monkeypatch.setattr(build, "HARNESS_DIR", harness)
    assert build.library_key(text, PARAMS) == key
    with open(harness / "board.cpp", "a") as f:
        f.write("\n// changed\n")
    assert build.library_key(text, PARAMS) != key


def test_the_wrapper_registers_every_input_of_the_card_but_its_clock(sim_artifacts) -> None:
    text = build.card_verilog(PARAMS)[0].read_text()
    wrapper = build.wrapper_verilog(text)
    assert (sim_artifacts.library.parent / "tickgate_sim.v").read_text() == wrapper
    assert "input [127:0] s_axis_tick_tdata;" in wrapper
    assert "reg [127:0] s_axis_tick_tdata_q = 128'd0;" in wrapper
    assert "reg rst_q = 1'd1;" in wrapper and ".rst(rst_q)" in wrapper
    assert ".clk(clk)" in wrapper and "clk_q" not in wrapper
    assert "output [1023:0] m_axis_tdata;" in wrapper and ".m_axis_tdata(m_axis_tdata)" in wrapper
    with pytest.raises(build.SimBuildError, match="no module"):
        build.wrapper_verilog("module other(clk);\n  input clk;\nendmodule\n")


def _private_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build into ``tmp_path``, its Verilog cache seeded from the real one (no regeneration)."""
    verilog = build.card_verilog(PARAMS)[0].parent
    monkeypatch.setenv("TICKGATE_SIM_BUILD", str(tmp_path))
    shutil.copytree(verilog, tmp_path / "verilog" / verilog.name)


def test_concurrent_builders_build_once(sim_artifacts, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _private_root(tmp_path, monkeypatch)
    calls = []

    def fake_build(folder: Path, key: str, *args: object) -> build.SimArtifacts:
        calls.append(key)
        time.sleep(0.5)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "build.json").write_text("{}")
        return build.SimArtifacts(folder / build.LIBRARY_NAME, folder / "regmap.json", key,
                                  0.5, True)

    monkeypatch.setattr(build, "_build", fake_build)
    results = []
    threads = [threading.Thread(target=lambda: results.append(build.build_library(PARAMS)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and sorted(r.built for r in results) == [False, True]


def test_a_failing_build_names_its_log(sim_artifacts, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _private_root(tmp_path, monkeypatch)
    monkeypatch.setattr(build, "VERILATOR_ARGS", (*build.VERILATOR_ARGS, "--no-such-option"))
    with pytest.raises(build.SimBuildError, match=r"build failed .*build\.log"):
        build.build_library(PARAMS)


def test_a_missing_verilator_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda *a, **k: None)
    build._tool_versions.cache_clear()
    try:
        with pytest.raises(build.SimBuildError, match="verilator is not on PATH"):
            build.verilator_version()
    finally:
        monkeypatch.undo()
        build._tool_versions.cache_clear()
