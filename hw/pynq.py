"""The PYNQ-Z2 recipe: a Vivado batch Tcl that builds ``tickgate.bit`` and ``tickgate.hwh``.

``vivado -mode batch -source build_pynq_z2.tcl`` (run from anywhere: every path is relative
to the script's folder, which also holds ``tickgate_top.v``) creates a project in
``vivado/``, builds the block design ``tickgate`` and runs synthesis, implementation and
``write_bitstream``; then it copies the bitstream and the design's hardware handoff
(``tickgate.hwh``, from the block design's generated sources) beside itself, named as PYNQ's
``Overlay("tickgate.bit")`` expects, and writes ``vivado_summary.json`` (WNS, WHS, Vivado
version) and the utilisation and timing reports.

The block design (one clock, ``FCLK_CLK0``)::

    ps7 (processing_system7)   M_AXI_GP0 -> smc_ctrl -> tickgate/s_axi
                                                    -> axi_dma_tick/S_AXI_LITE
                                                    -> axi_dma_order/S_AXI_LITE
                               S_AXI_HP0 <- smc_data <- axi_dma_tick/M_AXI_MM2S, M_AXI_S2MM
                                                     <- axi_dma_order/M_AXI_MM2S
                               IRQ_F2P   <- irq_concat <- the three DMA interrupts
    axi_dma_tick   M_AXIS_MM2S (128 bit) -> tickgate/s_axis_tick
                   S_AXIS_S2MM (1024 bit) <- tickgate/m_axis   (every record: ticks and orders)
    axi_dma_order  M_AXIS_MM2S (128 bit) -> tickgate/s_axis_order   (no S2MM channel)
    rst_ps7 (proc_sys_reset)  peripheral_aresetn -> DMAs, SmartConnects
                              peripheral_reset   -> tickgate/rst (active high)

``tickgate`` is the card's Verilog as an RTL module reference (``create_bd_cell -type module
-reference tickgate_top``), its interfaces declared by attributes (:mod:`.vivado_ifaces`).
Both DMAs run in direct-register mode (``c_include_sg 0``) with the buffer length register
widened to :data:`DMA_LENGTH_BITS` bits (``c_sg_length_width``; the parameter is named for
scatter-gather but sets the length register in both modes). Memory-map widths equal the
stream widths (128 and 1024 bits); SmartConnect converts to the 64-bit HP0 port.

The PS7 is configured by the PYNQ-Z2 board preset when Vivado has the board files
(``tul.com.tw:pynq-z2:part0:1.0``); otherwise by :data:`PS7_FALLBACK`, the preset's DDR3
and MIO settings. Either way the build then turns on FCLK0 at the board's clock, GP0, HP0 and
the fabric interrupt. (PYNQ boots with its own PS configuration; the bitstream's matters for
the ``.hwh``, from which PYNQ sets FCLK0.)

Addresses (:data:`~.boards.PYNQ_ADDRESSES`): the card's registers, then each DMA's, in the
GP0 space; the DMAs see DDR from 0.
"""

from __future__ import annotations

from pathlib import Path

from .boards import PYNQ_ADDRESSES, BoardSpec

__all__ = ["DMA_LENGTH_BITS", "TICK_BITS", "ORDER_BITS", "OUTPUT_BITS", "BD_NAME",
           "TCL_NAME", "PS7_FALLBACK", "dma_config", "pynq_tcl", "write_pynq_recipe"]

#: The AXI DMAs' buffer length register width (``c_sg_length_width``); the host's
#: ``tickgate.drivers.board.DMA_LENGTH_BITS`` must equal it (a test checks).
DMA_LENGTH_BITS = 26
#: Stream widths in bits: tick and order records in, output records out.
TICK_BITS, ORDER_BITS, OUTPUT_BITS = 128, 128, 1024
#: Block design name: the ``.hwh`` is ``<BD_NAME>.hwh``, the image ``tickgate.bit``.
BD_NAME = "tickgate"
#: The generated script's file name.
TCL_NAME = "build_pynq_z2.tcl"

#: PS7 settings of the PYNQ-Z2 preset used when Vivado lacks the board files: DDR3
#: (MT41J256M16 RE-125, 16-bit bus, 525 MHz) and the MIO peripherals (QSPI, Ethernet, USB,
#: SD, UART0).
PS7_FALLBACK: dict[str, str] = {
    "PCW_PRESET_BANK0_VOLTAGE": "LVCMOS 3.3V",
    "PCW_PRESET_BANK1_VOLTAGE": "LVCMOS 1.8V",
    "PCW_CRYSTAL_PERIPHERAL_FREQMHZ": "50",
    "PCW_APU_PERIPHERAL_FREQMHZ": "650",
    "PCW_UIPARAM_DDR_MEMORY_TYPE": "DDR 3",
    "PCW_UIPARAM_DDR_PARTNO": "MT41J256M16 RE-125",
    "PCW_UIPARAM_DDR_BUS_WIDTH": "16 Bit",
    "PCW_UIPARAM_DDR_FREQ_MHZ": "525",
    "PCW_UIPARAM_DDR_TRAIN_WRITE_LEVEL": "1",
    "PCW_UIPARAM_DDR_TRAIN_READ_GATE": "1",
    "PCW_UIPARAM_DDR_TRAIN_DATA_EYE": "1",
    "PCW_UIPARAM_DDR_BOARD_DELAY0": "0.223",
    "PCW_UIPARAM_DDR_BOARD_DELAY1": "0.212",
    "PCW_UIPARAM_DDR_DQS_TO_CLK_DELAY_0": "0.040",
    "PCW_UIPARAM_DDR_DQS_TO_CLK_DELAY_1": "0.058",
    "PCW_QSPI_PERIPHERAL_ENABLE": "1",
    "PCW_QSPI_GRP_SINGLE_SS_ENABLE": "1",
    "PCW_QSPI_GRP_FBCLK_ENABLE": "1",
    "PCW_ENET0_PERIPHERAL_ENABLE": "1",
    "PCW_ENET0_ENET0_IO": "MIO 16 .. 27",
    "PCW_ENET0_GRP_MDIO_ENABLE": "1",
    "PCW_ENET0_RESET_ENABLE": "1",
    "PCW_ENET0_RESET_IO": "MIO 9",
    "PCW_USB0_PERIPHERAL_ENABLE": "1",
    "PCW_USB0_RESET_ENABLE": "1",
    "PCW_USB0_RESET_IO": "MIO 46",
    "PCW_SD0_PERIPHERAL_ENABLE": "1",
    "PCW_SD0_GRP_CD_ENABLE": "1",
    "PCW_SD0_GRP_CD_IO": "MIO 47",
    "PCW_UART0_PERIPHERAL_ENABLE": "1",
    "PCW_UART0_UART0_IO": "MIO 14 .. 15",
    "PCW_GPIO_MIO_GPIO_ENABLE": "1",
}


def _dict(values: dict[str, object], indent: str = "    ") -> str:
    """Return a Tcl ``[list CONFIG.k {v} ...]`` over several lines."""
    items = "".join(f" \\\n{indent}CONFIG.{k} {{{v}}}" for k, v in values.items())
    return f"[list{items} \\\n{indent[:-2]}]"


def dma_config(*, s2mm: bool, mm2s_bits: int, s2mm_bits: int = OUTPUT_BITS) -> dict[str, object]:
    """Return the ``axi_dma`` 7.1 parameters of one DMA (direct register mode)."""
    config: dict[str, object] = {
        "c_include_sg": 0,
        "c_sg_include_stscntrl_strm": 0,
        "c_sg_length_width": DMA_LENGTH_BITS,
        "c_addr_width": 32,
        "c_include_mm2s": 1,
        "c_m_axi_mm2s_data_width": mm2s_bits,
        "c_m_axis_mm2s_tdata_width": mm2s_bits,
        "c_mm2s_burst_size": 16,
        "c_include_s2mm": int(s2mm),
    }
    if s2mm:
        config.update({"c_m_axi_s2mm_data_width": s2mm_bits,
                       "c_s_axis_s2mm_tdata_width": s2mm_bits,
                       "c_s2mm_burst_size": 16})
    return config


def pynq_tcl(spec: BoardSpec, *, top: str = "tickgate_top", verilog: str = "tickgate_top.v",
             jobs: int = 2) -> str:
    """Return the Vivado batch script of the PYNQ-Z2 build (see the module docstring)."""
    clock = f"{spec.clock_mhz:g}"
    ps7 = {
        "PCW_FPGA0_PERIPHERAL_FREQMHZ": clock,
        "PCW_EN_CLK0_PORT": 1,
        "PCW_EN_RST0_PORT": 1,
        "PCW_USE_M_AXI_GP0": 1,
        "PCW_USE_S_AXI_HP0": 1,
        "PCW_S_AXI_HP0_DATA_WIDTH": 64,
        "PCW_USE_FABRIC_INTERRUPT": 1,
        "PCW_IRQ_F2P_INTR": 1,
    }
    tick = dma_config(s2mm=True, mm2s_bits=TICK_BITS)
    order = dma_config(s2mm=False, mm2s_bits=ORDER_BITS)
    address_lines = "\n".join(
        f"assign_bd_address -target_address_space [get_bd_addr_spaces ps7/Data] "
        f"-offset 0x{base:08X} -range 0x{size:X} "
        f"[get_bd_addr_segs {{{cell}/{'s_axi' if cell == 'tickgate' else 'S_AXI_LITE'}/*}}]"
        for cell, (base, size) in PYNQ_ADDRESSES.items())
    return f"""\
# Generated by `tickgate hw bitstream --board {spec.name}` (tickgate.hw.pynq): do not edit.
# Run: vivado -mode batch -source {TCL_NAME}
# Builds {spec.part} ({spec.name}): block design '{BD_NAME}' with the card ({top}) behind two
# AXI DMAs; writes tickgate.bit, tickgate.hwh and vivado_summary.json beside this script.

set here [file dirname [file normalize [info script]]]
set part {spec.part}
set board_part {spec.board_part}
set bd {BD_NAME}
set jobs {jobs}

create_project -force tickgate_pynq_z2 $here/vivado -part $part
set preset 0
if {{[llength [get_board_parts -quiet $board_part]] > 0}} {{
    set_property board_part $board_part [current_project]
    set preset 1
}} else {{
    puts "WARNING: board files $board_part not installed: PS7 configured from the recipe"
}}
add_files -norecurse $here/{verilog}
set_property top {top} [current_fileset]
update_compile_order -fileset sources_1

create_bd_design $bd

# ---------------------------------------------------------------- Zynq PS7
set ps7 [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps7]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \\
    -config [list make_external "FIXED_IO, DDR" apply_board_preset $preset \\
                  Master Disable Slave Disable] $ps7
if {{!$preset}} {{
    set_property -dict {_dict(PS7_FALLBACK, "        ")} $ps7
}}
set_property -dict {_dict(ps7)} $ps7

# ---------------------------------------------------------------- reset, clock
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset:5.0 rst_ps7]
set clk [get_bd_pins ps7/FCLK_CLK0]
connect_bd_net [get_bd_pins ps7/FCLK_RESET0_N] [get_bd_pins rst_ps7/ext_reset_in]

# ---------------------------------------------------------------- the card
set card [create_bd_cell -type module -reference {top} tickgate]

# ---------------------------------------------------------------- DMAs
set dma_tick [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_tick]
set_property -dict {_dict(tick)} $dma_tick
set dma_order [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_order]
set_property -dict {_dict(order)} $dma_order

# ---------------------------------------------------------------- interconnect
set smc_ctrl [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 smc_ctrl]
set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{3}}] $smc_ctrl
set smc_data [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 smc_data]
set_property -dict [list CONFIG.NUM_SI {{3}} CONFIG.NUM_MI {{1}}] $smc_data
set irq [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 irq_concat]
set_property -dict [list CONFIG.NUM_PORTS {{3}}] $irq

# ---------------------------------------------------------------- connections
connect_bd_intf_net [get_bd_intf_pins ps7/M_AXI_GP0] [get_bd_intf_pins smc_ctrl/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins smc_ctrl/M00_AXI] [get_bd_intf_pins tickgate/s_axi]
connect_bd_intf_net [get_bd_intf_pins smc_ctrl/M01_AXI] [get_bd_intf_pins axi_dma_tick/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins smc_ctrl/M02_AXI] \\
    [get_bd_intf_pins axi_dma_order/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins axi_dma_tick/M_AXI_MM2S] [get_bd_intf_pins smc_data/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins axi_dma_tick/M_AXI_S2MM] [get_bd_intf_pins smc_data/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins axi_dma_order/M_AXI_MM2S] \\
    [get_bd_intf_pins smc_data/S02_AXI]
connect_bd_intf_net [get_bd_intf_pins smc_data/M00_AXI] [get_bd_intf_pins ps7/S_AXI_HP0]
connect_bd_intf_net [get_bd_intf_pins axi_dma_tick/M_AXIS_MM2S] \\
    [get_bd_intf_pins tickgate/s_axis_tick]
connect_bd_intf_net [get_bd_intf_pins axi_dma_order/M_AXIS_MM2S] \\
    [get_bd_intf_pins tickgate/s_axis_order]
connect_bd_intf_net [get_bd_intf_pins tickgate/m_axis] [get_bd_intf_pins axi_dma_tick/S_AXIS_S2MM]

connect_bd_net $clk [get_bd_pins ps7/M_AXI_GP0_ACLK] [get_bd_pins ps7/S_AXI_HP0_ACLK] \\
    [get_bd_pins rst_ps7/slowest_sync_clk] [get_bd_pins tickgate/clk] \\
    [get_bd_pins smc_ctrl/aclk] [get_bd_pins smc_data/aclk] \\
    [get_bd_pins axi_dma_tick/s_axi_lite_aclk] [get_bd_pins axi_dma_tick/m_axi_mm2s_aclk] \\
    [get_bd_pins axi_dma_tick/m_axi_s2mm_aclk] \\
    [get_bd_pins axi_dma_order/s_axi_lite_aclk] [get_bd_pins axi_dma_order/m_axi_mm2s_aclk]
connect_bd_net [get_bd_pins rst_ps7/peripheral_aresetn] [get_bd_pins smc_ctrl/aresetn] \\
    [get_bd_pins smc_data/aresetn] [get_bd_pins axi_dma_tick/axi_resetn] \\
    [get_bd_pins axi_dma_order/axi_resetn]
connect_bd_net [get_bd_pins rst_ps7/peripheral_reset] [get_bd_pins tickgate/rst]
connect_bd_net [get_bd_pins axi_dma_tick/mm2s_introut] [get_bd_pins irq_concat/In0]
connect_bd_net [get_bd_pins axi_dma_tick/s2mm_introut] [get_bd_pins irq_concat/In1]
connect_bd_net [get_bd_pins axi_dma_order/mm2s_introut] [get_bd_pins irq_concat/In2]
connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins ps7/IRQ_F2P]

# ---------------------------------------------------------------- addresses
{address_lines}
assign_bd_address

validate_bd_design
save_bd_design

# ---------------------------------------------------------------- build
set bd_file [get_files $bd.bd]
generate_target all $bd_file
set wrapper [make_wrapper -files $bd_file -top]
add_files -norecurse $wrapper
set_property top ${{bd}}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] ne "100%"}} {{
    error "implementation did not finish: see [get_property DIRECTORY [get_runs impl_1]]"
}}

open_run impl_1
report_utilization -file $here/vivado_utilization.rpt
report_timing_summary -file $here/vivado_timing.rpt
set wns [get_property STATS.WNS [get_runs impl_1]]
set whs [get_property STATS.WHS [get_runs impl_1]]

set bit [lindex [glob [get_property DIRECTORY [get_runs impl_1]]/*.bit] 0]
file copy -force $bit $here/tickgate.bit
set hwh [lindex [glob -nocomplain \\
    $here/vivado/tickgate_pynq_z2.gen/sources_1/bd/$bd/hw_handoff/$bd.hwh \\
    $here/vivado/tickgate_pynq_z2.srcs/sources_1/bd/$bd/hw_handoff/$bd.hwh] 0]
if {{$hwh eq ""}} {{ error "no $bd.hwh among the block design's generated sources" }}
file copy -force $hwh $here/tickgate.hwh

set met [expr {{$wns >= 0 && $whs >= 0 ? "true" : "false"}}]
set f [open $here/vivado_summary.json w]
puts $f [format {{{{"vivado": "%s", "clock_mhz": %s, "wns_ns": %s, "whs_ns": %s, \
    "timing_met": %s}}}} [version -short] {clock} $wns $whs $met]
close $f
if {{!$met}} {{ puts "WARNING: timing not met at {clock} MHz (WNS $wns ns, WHS $whs ns)" }}
puts "tickgate: wrote $here/tickgate.bit and $here/tickgate.hwh (WNS $wns ns)"
"""


def write_pynq_recipe(out_dir: str | Path, spec: BoardSpec, *, jobs: int = 2) -> list[Path]:
    """Write ``build_pynq_z2.tcl`` into ``out_dir`` (beside ``tickgate_top.v``); return it."""
    path = Path(out_dir) / TCL_NAME
    path.write_text(pynq_tcl(spec, jobs=jobs))
    return [path]
