"""``tickgate hw bitstream``: the board recipes, the manifest, and the build without (or with
stand-in) vendor tools. No synthesis here (``--no-synth``): the builds take seconds."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tickgate.drivers.board import DMA_LENGTH_BITS
from tickgate.hw import alveo, pynq
from tickgate.hw.bitstream import BitstreamError, build, run_vendor
from tickgate.hw.boards import BOARDS, PYNQ_ADDRESSES, get_board
from tickgate.hw.manifest import (
    Manifest,
    ManifestError,
    load_manifest,
    verify_manifest,
    write_manifest,
)
from tickgate.hw.vivado_ifaces import annotate, interfaces, top_ports

REPO = Path(__file__).resolve().parents[2]
#: A PATH with the system tools (git, bash) but no Xilinx tools.
SYSTEM_PATH = "/usr/bin:/bin"


def _cli(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([sys.executable, "-m", "tickgate.host.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600, cwd=REPO)


def _path_without_vendor_tools(folder: Path) -> str:
    """A PATH of one new folder holding only ``git`` (the manifest's commit): no vivado or
    v++ whatever the machine has installed, so the "tools missing" path always runs."""
    folder.mkdir(parents=True, exist_ok=True)
    git = shutil.which("git")
    if git is not None:
        (folder / "git").symlink_to(git)
    return str(folder)


def _tool(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


#: A stand-in vivado: answers -version, and for -source X.tcl writes what the Tcl would write
#: beside X.tcl (PYNQ: the bitstream, the handoff and the summary; Alveo: the kernel .xo).
FAKE_VIVADO = r"""
if [ "$1" = "-version" ]; then echo "Vivado v2022.2 (64-bit)"; exit 0; fi
while [ $# -gt 0 ]; do
  if [ "$1" = "-source" ]; then src="$2"; fi
  shift
done
dir=$(cd "$(dirname "$src")" && pwd)
case "$(basename "$src")" in
  build_pynq_z2.tcl)
    printf 'BIT' > "$dir/tickgate.bit"
    printf '<?xml version="1.0"?><EDKSYSTEM/>' > "$dir/tickgate.hwh"
    printf '{"vivado": "2022.2", "clock_mhz": 100, "wns_ns": 0.1, "whs_ns": 0.02, '\
'"timing_met": true}' > "$dir/vivado_summary.json" ;;
  package_kernel.tcl) printf 'XO' > "$dir/tickgate.xo" ;;
esac
"""

#: A stand-in v++: writes the file named by -o.
FAKE_VPP = r"""
if [ "$1" = "--version" ]; then echo "v++ v2022.2 (64-bit)"; exit 0; fi
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then printf 'XCLBIN' > "$2"; fi
  shift
done
"""


@pytest.fixture(scope="module")
def no_vivado(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """``tickgate hw bitstream --board pynq-z2`` run without vivado on PATH."""
    root = tmp_path_factory.mktemp("pynq")
    out = root / "out"
    result = _cli(["hw", "bitstream", "--board", "pynq-z2", "--out", str(out), "--no-synth",
                   "--symbols", "8", "--images", str(root / "images")],
                  _path_without_vendor_tools(root / "bin"))
    return out, result


# --------------------------------------------------------------------------- no vendor tools

def test_without_vivado_it_exits_2_with_one_sentence_and_leaves_the_sources(no_vivado) -> None:
    out, result = no_vivado
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert message == (f"vivado not found on PATH: wrote the Verilog, regmap.json and "
                       f"build_pynq_z2.tcl to {out}; install Vivado 2022.2+ and re-run to get "
                       "tickgate.bit and tickgate.hwh.")
    for name in ("tickgate_top.v", "regmap.json", "build_pynq_z2.tcl", "board.json"):
        assert (out / name).is_file(), name
        assert str(out / name) in result.stdout
    assert not (out.parent / "images").exists()


def test_make_bitstream_runs_the_cli_for_the_board() -> None:
    dry = subprocess.run(["make", "-n", "bitstream", "BOARD=alveo-u50"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert ("tickgate hw bitstream --board alveo-u50 --out build/bitstream/alveo-u50"
            in dry)
    assert "--no-synth" not in dry
    help_text = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout
    assert re.search(r"^\s+bitstream\s+\S", help_text, re.M)


# --------------------------------------------------------------------------- the PYNQ recipe

def test_tcl_builds_the_block_design_around_the_verilog_module(no_vivado) -> None:
    out, _ = no_vivado
    tcl = (out / "build_pynq_z2.tcl").read_text()
    verilog = (out / "tickgate_top.v").read_text()
    reference = re.search(r"create_bd_cell -type module -reference (\S+) tickgate", tcl)
    assert reference, "no module reference"
    module = reference.group(1)
    assert re.search(rf"^module {module}\(", verilog, re.M)
    assert f"add_files -norecurse $here/{module}.v" in tcl
    assert "-part $part" in tcl and "set part xc7z020clg400-1" in tcl
    for ip in ("processing_system7:5.5", "axi_dma:7.1", "smartconnect:1.0",
               "proc_sys_reset:5.0", "xlconcat:2.1"):
        assert f"xilinx.com:ip:{ip}" in tcl, ip
    for param in ("PCW_FPGA0_PERIPHERAL_FREQMHZ {100}", "PCW_USE_M_AXI_GP0 {1}",
                  "PCW_USE_S_AXI_HP0 {1}"):
        assert f"CONFIG.{param}" in tcl, param
    # The card's reset is active high: the reset block's peripheral_reset drives it.
    assert "[get_bd_pins rst_ps7/peripheral_reset] [get_bd_pins tickgate/rst]" in tcl
    assert "launch_runs impl_1 -to_step write_bitstream" in tcl
    assert "$here/tickgate.bit" in tcl and "$here/tickgate.hwh" in tcl
    assert "hw_handoff/$bd.hwh" in tcl


def test_both_dmas_are_direct_mode_with_the_widened_length_register(no_vivado) -> None:
    out, _ = no_vivado
    tcl = (out / "build_pynq_z2.tcl").read_text()
    assert pynq.DMA_LENGTH_BITS == DMA_LENGTH_BITS == 26
    blocks = {name: tcl.split(f" {name}]\nset_property -dict ")[1].split("] $")[0]
              for name in ("axi_dma_tick", "axi_dma_order")}
    for name, block in blocks.items():
        assert "CONFIG.c_sg_length_width {26}" in block, name
        assert "CONFIG.c_include_sg {0}" in block, name
        assert "CONFIG.c_m_axis_mm2s_tdata_width {128}" in block, name
        assert "CONFIG.c_m_axi_mm2s_data_width {128}" in block, name
    assert "CONFIG.c_include_s2mm {1}" in blocks["axi_dma_tick"]
    assert "CONFIG.c_s_axis_s2mm_tdata_width {1024}" in blocks["axi_dma_tick"]
    assert "CONFIG.c_include_s2mm {0}" in blocks["axi_dma_order"]
    assert "s2mm_tdata" not in blocks["axi_dma_order"]
    # The streams: ticks and orders in through MM2S, every record out through the tick S2MM.
    for src, dst in (("axi_dma_tick/M_AXIS_MM2S", "tickgate/s_axis_tick"),
                     ("axi_dma_order/M_AXIS_MM2S", "tickgate/s_axis_order"),
                     ("tickgate/m_axis", "axi_dma_tick/S_AXIS_S2MM")):
        assert re.search(rf"\[get_bd_intf_pins {src}\] \\?\s*\[get_bd_intf_pins {dst}\]", tcl)


def test_stream_widths_of_the_verilog_match_the_dmas(no_vivado) -> None:
    out, _ = no_vivado
    verilog = (out / "tickgate_top.v").read_text()
    for port, bits in (("s_axis_tick_tdata", pynq.TICK_BITS),
                       ("s_axis_order_tdata", pynq.ORDER_BITS),
                       ("m_axis_tdata", pynq.OUTPUT_BITS)):
        assert re.search(rf"^\s*(input|output) \[{bits - 1}:0\] {port};", verilog, re.M), port


def test_addresses_are_in_the_tcl_and_board_json(no_vivado) -> None:
    out, _ = no_vivado
    tcl = (out / "build_pynq_z2.tcl").read_text()
    board = json.loads((out / "board.json").read_text())
    for cell, (base, size) in PYNQ_ADDRESSES.items():
        line = next(x for x in tcl.splitlines() if "assign_bd_address" in x and cell + "/" in x)
        assert f"-offset 0x{base:08X} -range 0x{size:X}" in line
        assert int(board["addresses"][cell]["base"], 16) == base
        assert int(board["addresses"][cell]["range"], 16) == size
    regmap = json.loads((out / "regmap.json").read_text())
    assert board["regmap"]["hash"] == regmap["hash"]
    assert 1 << regmap["addr_bits"] <= PYNQ_ADDRESSES["tickgate"][1]
    assert board["dma"]["length_bits"] == DMA_LENGTH_BITS


def test_verilog_declares_its_interfaces_for_vivado(no_vivado) -> None:
    out, _ = no_vivado
    verilog = (out / "tickgate_top.v").read_text()
    ports = top_ports(verilog, "tickgate_top")
    assert set(interfaces(ports)) == {"s_axis_tick", "s_axis_order", "m_axis", "s_axi"}
    assert '"xilinx.com:signal:reset:1.0 rst RST"' in verilog
    assert '"XIL_INTERFACENAME rst, POLARITY ACTIVE_HIGH"' in verilog
    assert ("ASSOCIATED_BUSIF m_axis:s_axi:s_axis_order:s_axis_tick, ASSOCIATED_RESET rst"
            in verilog)
    assert "PROTOCOL AXI4LITE" in verilog
    tcl = (out / "build_pynq_z2.tcl").read_text()
    for bus in re.findall(r"get_bd_intf_pins tickgate/(\w+)", tcl):
        assert bus in interfaces(ports), bus
    assert annotate(verilog, "tickgate_top") == verilog
    assert verilog.count("X_INTERFACE_INFO") == len(ports)


# --------------------------------------------------------------------------- the Alveo recipe

@pytest.mark.parametrize("board, memory", [("alveo-u50", "HBM[0]"), ("alveo-u250", "DDR[0]")])
def test_connectivity_joins_the_movers_to_the_kernel_streams(board: str, memory: str) -> None:
    spec = get_board(board)
    cfg = alveo.connectivity_cfg(spec)
    lines = [x for x in cfg.splitlines() if x and not x.startswith("#")]
    assert lines[0] == "[connectivity]"
    assert "nk=tg_mm2s:2:mm2s_tick_1.mm2s_order_1" in lines
    assert "nk=tg_s2mm:1:s2mm_1" in lines
    assert "nk=tickgate:1:tickgate_1" in lines
    assert "stream_connect=mm2s_tick_1.out:tickgate_1.s_axis_tick" in lines
    assert "stream_connect=mm2s_order_1.out:tickgate_1.s_axis_order" in lines
    assert "stream_connect=tickgate_1.m_axis:s2mm_1.in" in lines
    assert {x for x in lines if x.startswith("sp=")} == {
        f"sp=mm2s_tick_1.in:{memory}", f"sp=mm2s_order_1.in:{memory}", f"sp=s2mm_1.out:{memory}"}
    script = alveo.build_script(spec)
    assert f"PLATFORM={spec.platform}" in script
    assert "v++ -l -t hw" in script and "--config connectivity.cfg" in script
    assert "--kernel_frequency 200" in script and "-o tickgate.xclbin" in script
    assert "-k tg_mm2s" in script and "-k tg_s2mm" in script
    tcl = alveo.package_tcl(spec)
    assert f"-part {spec.part}" in tcl
    assert re.search(r"package_xo .*-kernel_name tickgate", tcl)
    assert "-ctrl_protocol user_managed" in tcl
    movers = alveo.movers_cpp()
    for name in ("void tg_mm2s(", "void tg_s2mm(", "ap_axiu<128, 0, 0, 0>",
                 "ap_axiu<1024, 0, 0, 0>", "v.last = (i == count - 1)"):
        assert name in movers, name


def test_kernel_wrapper_connects_every_port_of_the_card(no_vivado) -> None:
    out, _ = no_vivado
    card_ports = top_ports((out / "tickgate_top.v").read_text(), "tickgate_top")
    addr_bits = json.loads((out / "regmap.json").read_text())["addr_bits"]
    wrapper = alveo.kernel_verilog(addr_bits=addr_bits)
    assert re.search(r"^module tickgate \(", wrapper, re.M)
    connected = re.findall(r"^\s+\.(\w+)\(", wrapper, re.M)
    assert sorted(connected) == sorted(card_ports)
    for port in ("ap_clk", "ap_rst_n", "s_axi_control_awaddr", "s_axi_control_rdata",
                 "s_axis_tick_tkeep", "m_axis_tkeep"):
        assert re.search(rf"wire (\[\d+:0\] )?{port},?$", wrapper, re.M), port
    assert f"s_axi_control_araddr[{addr_bits - 1}:0]" in wrapper
    assert "rst <= ~ap_rst_n" in wrapper
    with pytest.raises(ValueError):
        alveo.kernel_verilog(addr_bits=alveo.CTRL_ADDR_BITS + 1)


def test_alveo_build_without_then_with_stand_in_tools(tmp_path: Path, monkeypatch) -> None:
    out, images = tmp_path / "out", tmp_path / "images"
    monkeypatch.setenv("PATH", _path_without_vendor_tools(tmp_path / "no-tools"))
    result = build("alveo-u250", out, n_symbols=8, synth=False, images=images)
    assert result.status == 2
    assert result.message.startswith("vivado and v++ not found on PATH: wrote the Verilog, "
                                     "regmap.json, tickgate.v, package_kernel.tcl, "
                                     "tg_movers.cpp, connectivity.cfg and build_alveo_u250.sh "
                                     f"to {out}; install Vitis 2022.2+")
    assert result.message.endswith("re-run to get tickgate.xclbin.")
    for name in ("tickgate.v", "package_kernel.tcl", "tg_movers.cpp", "connectivity.cfg",
                 "build_alveo_u250.sh", "board.json"):
        assert (out / name).is_file(), name
    assert os.access(out / "build_alveo_u250.sh", os.X_OK)

    bin_dir = tmp_path / "bin"
    _tool(bin_dir, "vivado", FAKE_VIVADO)
    _tool(bin_dir, "v++", FAKE_VPP)
    monkeypatch.setenv("PATH", f"{bin_dir}:{SYSTEM_PATH}")
    result = build("alveo-u250", out, n_symbols=8, synth=False, images=images)
    assert result.status == 0, result.message
    manifest = load_manifest(result.manifest)
    verify_manifest(manifest)
    manifest.check_board("alveo-u250")
    assert set(manifest.files) == {"tickgate.xclbin", "regmap.json", "board.json"}
    assert manifest.platform == "xilinx_u250_gen3x16_xdma_4_1_202210_1"
    assert manifest.tools["v++"] == "v++ v2022.2 (64-bit)"
    assert manifest.extra["kernel"]["memory"] == "DDR[0]"


# --------------------------------------------------------------------------- stand-in vivado

def test_stand_in_vivado_gives_an_image_with_a_manifest(tmp_path: Path) -> None:
    bin_dir, out, images = tmp_path / "bin", tmp_path / "out", tmp_path / "images"
    _tool(bin_dir, "vivado", FAKE_VIVADO)
    result = _cli(["hw", "bitstream", "--board", "pynq-z2", "--out", str(out), "--no-synth",
                   "--symbols", "8", "--images", str(images)], f"{bin_dir}:{SYSTEM_PATH}")
    assert result.returncode == 0, result.stderr
    (folder,) = images.iterdir()
    assert re.fullmatch(r"pynq-z2-[\w.+]+-[0-9a-f]{7}(-dirty)?", folder.name), folder.name
    assert str(folder / "manifest.json") in result.stdout
    manifest = load_manifest(folder)
    verify_manifest(manifest)
    manifest.check_board("pynq-z2")
    assert set(manifest.files) == {"tickgate.bit", "tickgate.hwh", "regmap.json", "board.json"}
    assert manifest.files["tickgate.bit"]["bytes"] == 3
    regmap = json.loads((out / "regmap.json").read_text())
    assert (manifest.regmap_ident, manifest.regmap_version, manifest.regmap_hash) == (
        regmap["ident"], regmap["version"], regmap["hash"])
    assert manifest.part == "xc7z020clg400-1"
    assert manifest.tools["vivado"] == "Vivado v2022.2 (64-bit)"
    assert manifest.extra["addresses"]["tickgate"]["base"] == "0x40000000"
    assert manifest.extra["timing"]["timing_met"] is True
    assert len(manifest.commit) == 40
    with pytest.raises(ManifestError, match="not alveo-u50"):
        manifest.check_board("alveo-u50")


def test_a_failing_vivado_names_its_log(no_vivado, tmp_path: Path, monkeypatch) -> None:
    out, _ = no_vivado
    work = tmp_path / "work"
    shutil.copytree(out, work)
    _tool(tmp_path / "bin", "vivado", "echo 'ERROR: [BD 41-1234] no such pin'; exit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    with pytest.raises(BitstreamError, match=r"vivado failed \(exit 1\); see .*build\.log"):
        run_vendor(BOARDS["pynq-z2"], work, progress=lambda _: None)
    _tool(tmp_path / "bin", "vivado", "exit 0\n")
    with pytest.raises(BitstreamError, match="tickgate.bit, tickgate.hwh is missing"):
        run_vendor(BOARDS["pynq-z2"], work, progress=lambda _: None)


# --------------------------------------------------------------------------- manifest

REGMAP = {"ident": 0x54474B54, "version": 0x10000, "hash": 0x12345678, "addr_bits": 9,
          "registers": []}


def _image(tmp_path: Path) -> tuple[Path, list[Path], Path]:
    src = tmp_path / "build"
    src.mkdir()
    bit, hwh = src / "tickgate.bit", src / "tickgate.hwh"
    bit.write_bytes(b"\x00\x01bitstream" * 100)
    hwh.write_text("<EDKSYSTEM/>")
    regmap = src / "regmap.json"
    regmap.write_text(json.dumps(REGMAP))
    return tmp_path / "image", [bit, hwh], regmap


def test_manifest_round_trip(tmp_path: Path) -> None:
    folder, files, regmap = _image(tmp_path)
    path = write_manifest(folder, board="pynq-z2", files=files, regmap=regmap,
                          extra={"clock_mhz": 100.0, "tools": {"vivado": "v2022.2"}})
    assert path == folder / "manifest.json"
    manifest = load_manifest(folder)
    assert manifest == load_manifest(path)
    assert isinstance(manifest, Manifest)
    assert manifest.board == "pynq-z2" and manifest.part == "xc7z020clg400-1"
    assert (manifest.regmap_ident, manifest.regmap_version, manifest.regmap_hash) == (
        REGMAP["ident"], REGMAP["version"], REGMAP["hash"])
    assert set(manifest.files) == {"tickgate.bit", "tickgate.hwh", "regmap.json"}
    assert manifest.files["tickgate.bit"]["bytes"] == files[0].stat().st_size
    assert len(manifest.files["tickgate.bit"]["sha256"]) == 64
    assert manifest.regmap_path == folder / "regmap.json"
    assert manifest.tools["vivado"] == "v2022.2" and "python" in manifest.tools
    assert manifest.extra == {"clock_mhz": 100.0}
    assert manifest.tickgate_version and manifest.commit
    data = json.loads(path.read_text())
    assert isinstance(data["dirty"], bool) and data["built"].endswith("Z")
    verify_manifest(manifest)
    manifest.check_board("pynq-z2")
    with pytest.raises(ManifestError, match="image for pynq-z2, not alveo-u250"):
        manifest.check_board("alveo-u250")


def test_manifest_catches_a_tampered_file(tmp_path: Path) -> None:
    folder, files, regmap = _image(tmp_path)
    manifest = load_manifest(write_manifest(folder, board="pynq-z2", files=files,
                                            regmap=regmap))
    bit = folder / "tickgate.bit"
    data = bytearray(bit.read_bytes())
    data[5] ^= 0xFF
    bit.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"tickgate\.bit: sha256 .* changed after the build"):
        verify_manifest(manifest)
    bit.write_bytes(bytes(data) + b"x")
    with pytest.raises(ManifestError, match=r"tickgate\.bit: \d+ bytes, the manifest says"):
        verify_manifest(manifest)


def test_manifest_catches_a_missing_file(tmp_path: Path) -> None:
    folder, files, regmap = _image(tmp_path)
    manifest = load_manifest(write_manifest(folder, board="pynq-z2", files=files,
                                            regmap=regmap))
    (folder / "tickgate.hwh").unlink()
    with pytest.raises(ManifestError, match=r"tickgate\.hwh: missing"):
        verify_manifest(manifest)


def test_manifest_errors_on_absent_or_malformed_manifests(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": 1, "board": "pynq-z2"}')
    with pytest.raises(ManifestError, match="malformed manifest"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="unreadable manifest"):
        load_manifest(tmp_path)
    (tmp_path / "x").mkdir()
    folder, _, regmap = _image(tmp_path / "x")
    with pytest.raises(ManifestError, match="no such file"):
        write_manifest(folder, board="pynq-z2", files=[folder / "nope.bit"], regmap=regmap)


# --------------------------------------------------------------------------- synthesis report

def test_cell_counting_covers_7_series_and_ultrascale_plus() -> None:
    from tickgate.hw.board_synth import count_cells

    xc7 = count_cells({"LUT6": 10, "RAM64M": 2, "SRL16E": 3, "FDRE": 7, "FDSE": 1,
                       "DSP48E1": 2, "RAMB36E1": 3, "RAMB18E1": 1, "CARRY4": 9},
                      BOARDS["pynq-z2"].resources)
    assert (xc7["lut"]["used"], xc7["ff"]["used"], xc7["dsp"]["used"],
            xc7["bram"]["used"]) == (10 + 8 + 3, 8, 2, 3.5)
    assert xc7["lut"]["available"] == 53_200 and xc7["lut_as_memory"] == 8
    xcup = count_cells({"LUT3": 4, "RAM64M8": 1, "DSP48E2": 5, "RAMB36E2": 2,
                        "RAMB18E2": 2, "URAM288": 1, "$mul": 1},
                       BOARDS["alveo-u50"].resources)
    assert (xcup["lut"]["used"], xcup["dsp"]["used"], xcup["bram"]["used"],
            xcup["uram"]["used"]) == (12, 5, 3.0, 1)
    assert xcup["unmapped_cells"] == {"$mul": 1}
