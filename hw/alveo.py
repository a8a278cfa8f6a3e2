"""The Alveo recipe (U50, U250): the card as a Vitis RTL kernel, data movers, the link config.

The card's ports are AXI4-Stream plus an AXI4-Lite register file, so it is packaged the
way Vitis takes stream IP: as a **free-running, user-managed RTL kernel** ``tickgate`` (no
``ap_start``/``ap_done``: it runs from the moment the xclbin is loaded, like the PYNQ card),
fed and drained by two small HLS **data-mover kernels** that XRT does manage:

``tg_mm2s(in, out, count)``
    reads ``count`` 128-bit records from a buffer (``m_axi``) and sends them on an AXI4-Stream,
    ``tlast`` on the last one. Two compute units: ``mm2s_tick_1`` and ``mm2s_order_1``.
``tg_s2mm(out, in, count)``
    takes ``count`` 1024-bit records from an AXI4-Stream into a buffer. One unit, ``s2mm_1``:
    every output record, for ticks and host orders alike.

``v++ --link`` joins them with ``stream_connect`` (:func:`connectivity_cfg`)::

    mm2s_tick_1.out  -> tickgate_1.s_axis_tick
    mm2s_order_1.out -> tickgate_1.s_axis_order
    tickgate_1.m_axis -> s2mm_1.in

and puts every mover buffer in the board's memory bank (``HBM[0]`` on the U50, ``DDR[0]`` on
the U250). One batch (a :meth:`tickgate.drivers.board.Board._transfer`) is: start
``s2mm_1(out_bo, n)``, start ``mm2s_tick_1(in_bo, n)`` (or ``mm2s_order_1``), wait for
``s2mm_1``.

The kernel wrapper (:func:`kernel_verilog`, ``tickgate.v``) gives the card the port names
Vitis requires: ``ap_clk``, ``ap_rst_n`` (active low, registered into the card's active-high
``rst``), ``s_axi_control_*`` (12 address bits, a 4 KiB window) and the three streams with
``tkeep``/``tstrb`` (what HLS's ``ap_axiu`` carries; the card ignores them on input and
drives them all ones on output).

**Registers on Alveo.** ``s_axi_control`` *is* the card's ``s_axi``: the wrapper passes the
low ``addr_bits`` (``regmap.json``) of the address through, so a register's offset in the
kernel's window is its offset in ``regmap.json`` (the window repeats the map every
``2**addr_bits`` bytes). The host opens the kernel as a user-managed IP,
``xrt::ip(device, uuid, "tickgate:{tickgate_1}")``, and calls ``read_register(offset)`` /
``write_register(offset, value)``; there are no XRT control registers at 0x00-0x0C, the
card's ``id`` word is at 0.

Files (:func:`write_alveo_recipe`): ``tickgate.v``, ``package_kernel.tcl`` (Vivado packages
``tickgate.v`` + ``tickgate_top.v`` into ``tickgate.xo`` with ``package_xo -ctrl_protocol
user_managed``), ``tg_movers.cpp``, ``connectivity.cfg`` and ``build_<board>.sh``, which runs
the three steps (package, ``v++ -c`` per mover, ``v++ -l``) and leaves ``tickgate.xclbin``.
"""

from __future__ import annotations

from pathlib import Path

from .boards import BoardSpec

__all__ = ["KERNEL_NAME", "CTRL_ADDR_BITS", "kernel_verilog", "package_tcl", "movers_cpp",
           "connectivity_cfg", "build_script", "script_name", "write_alveo_recipe"]

#: The RTL kernel's name (and its top module's).
KERNEL_NAME = "tickgate"
#: Address bits of ``s_axi_control`` (a 4 KiB window; XRT maps at most 64 KiB).
CTRL_ADDR_BITS = 12
#: Compute units: name -> (kernel, what it moves).
COMPUTE_UNITS = {
    "mm2s_tick_1": "tg_mm2s",
    "mm2s_order_1": "tg_mm2s",
    "s2mm_1": "tg_s2mm",
    "tickgate_1": KERNEL_NAME,
}
#: ``stream_connect`` lines: (from, to).
STREAMS = (
    ("mm2s_tick_1.out", "tickgate_1.s_axis_tick"),
    ("mm2s_order_1.out", "tickgate_1.s_axis_order"),
    ("tickgate_1.m_axis", "s2mm_1.in"),
)
#: Buffer arguments of the movers, each placed with ``sp=``.
BUFFERS = ("mm2s_tick_1.in", "mm2s_order_1.in", "s2mm_1.out")


def script_name(spec: BoardSpec) -> str:
    """Return the build script's name, ``build_alveo_u50.sh`` for ``alveo-u50``."""
    return f"build_{spec.name.replace('-', '_')}.sh"


def _stream(direction: str, name: str, bits: int) -> list[str]:
    ins, outs = ("input ", "output") if direction == "in" else ("output", "input ")
    return [f"  {ins} wire [{bits - 1}:0] {name}_tdata,",
            f"  {ins} wire [{bits // 8 - 1}:0] {name}_tkeep,",
            f"  {ins} wire [{bits // 8 - 1}:0] {name}_tstrb,",
            f"  {ins} wire {name}_tlast,",
            f"  {ins} wire {name}_tvalid,",
            f"  {outs} wire {name}_tready,"]


def kernel_verilog(*, top: str = "tickgate_top", addr_bits: int, tick_bits: int = 128,
                   order_bits: int = 128, output_bits: int = 1024) -> str:
    """Return ``tickgate.v``: the Vitis-conventions wrapper of the card (module docstring)."""
    if not 2 <= addr_bits <= CTRL_ADDR_BITS:
        raise ValueError(f"the register map needs {addr_bits} address bits; the kernel's "
                         f"window has {CTRL_ADDR_BITS}")
    a = CTRL_ADDR_BITS - 1
    ports = [
        "  input  wire ap_clk,",
        "  input  wire ap_rst_n,",
        f"  input  wire [{a}:0] s_axi_control_awaddr,",
        "  input  wire s_axi_control_awvalid,",
        "  output wire s_axi_control_awready,",
        "  input  wire [31:0] s_axi_control_wdata,",
        "  input  wire [3:0] s_axi_control_wstrb,",
        "  input  wire s_axi_control_wvalid,",
        "  output wire s_axi_control_wready,",
        "  output wire [1:0] s_axi_control_bresp,",
        "  output wire s_axi_control_bvalid,",
        "  input  wire s_axi_control_bready,",
        f"  input  wire [{a}:0] s_axi_control_araddr,",
        "  input  wire s_axi_control_arvalid,",
        "  output wire s_axi_control_arready,",
        "  output wire [31:0] s_axi_control_rdata,",
        "  output wire [1:0] s_axi_control_rresp,",
        "  output wire s_axi_control_rvalid,",
        "  input  wire s_axi_control_rready,",
        *_stream("in", "s_axis_tick", tick_bits),
        *_stream("in", "s_axis_order", order_bits),
        *_stream("out", "m_axis", output_bits),
    ]
    ports[-1] = ports[-1].rstrip(",")
    port_text = "\n".join(ports)
    ob = output_bits // 8
    return f"""\
// Generated by `tickgate hw bitstream` (tickgate.hw.alveo): do not edit.
// The Vitis RTL kernel '{KERNEL_NAME}': the card ({top}) behind Vitis port names.
// s_axi_control is the card's s_axi: register offsets are regmap.json's (low {addr_bits}
// address bits decoded). Free running, user managed: no ap_ctrl registers.
`default_nettype none
module {KERNEL_NAME} (
{port_text}
);
  // ap_rst_n (active low, synchronous to ap_clk), registered into the card's rst.
  reg rst = 1'b1;
  always @(posedge ap_clk) rst <= ~ap_rst_n;

  assign m_axis_tkeep = {{{ob}{{1'b1}}}};
  assign m_axis_tstrb = {{{ob}{{1'b1}}}};

  {top} card (
    .clk(ap_clk),
    .rst(rst),
    .s_axis_tick_tdata(s_axis_tick_tdata),
    .s_axis_tick_tlast(s_axis_tick_tlast),
    .s_axis_tick_tvalid(s_axis_tick_tvalid),
    .s_axis_tick_tready(s_axis_tick_tready),
    .s_axis_order_tdata(s_axis_order_tdata),
    .s_axis_order_tlast(s_axis_order_tlast),
    .s_axis_order_tvalid(s_axis_order_tvalid),
    .s_axis_order_tready(s_axis_order_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .s_axi_awaddr(s_axi_control_awaddr[{addr_bits - 1}:0]),
    .s_axi_awprot(3'b000),
    .s_axi_awvalid(s_axi_control_awvalid),
    .s_axi_awready(s_axi_control_awready),
    .s_axi_wdata(s_axi_control_wdata),
    .s_axi_wstrb(s_axi_control_wstrb),
    .s_axi_wvalid(s_axi_control_wvalid),
    .s_axi_wready(s_axi_control_wready),
    .s_axi_bresp(s_axi_control_bresp),
    .s_axi_bvalid(s_axi_control_bvalid),
    .s_axi_bready(s_axi_control_bready),
    .s_axi_araddr(s_axi_control_araddr[{addr_bits - 1}:0]),
    .s_axi_arprot(3'b000),
    .s_axi_arvalid(s_axi_control_arvalid),
    .s_axi_arready(s_axi_control_arready),
    .s_axi_rdata(s_axi_control_rdata),
    .s_axi_rresp(s_axi_control_rresp),
    .s_axi_rvalid(s_axi_control_rvalid),
    .s_axi_rready(s_axi_control_rready)
  );
endmodule
`default_nettype wire
"""


def package_tcl(spec: BoardSpec, *, verilog: tuple[str, ...] = ("tickgate.v", "tickgate_top.v")
                ) -> str:
    """Return ``package_kernel.tcl``: Vivado packages the wrapper into ``tickgate.xo``."""
    files = " ".join(f"$here/{name}" for name in verilog)
    hz = int(spec.clock_mhz * 1e6)
    return f"""\
# Generated by `tickgate hw bitstream --board {spec.name}` (tickgate.hw.alveo): do not edit.
# Run: vivado -mode batch -source package_kernel.tcl   -> tickgate.xo beside this script
set here [file dirname [file normalize [info script]]]
create_project -force tickgate_kernel $here/kernel_project -part {spec.part}
add_files -norecurse [list {files}]
set_property top {KERNEL_NAME} [current_fileset]
update_compile_order -fileset sources_1

set core [ipx::package_project -root_dir $here/kernel_ip -vendor tickgate.dev \\
    -library kernel -taxonomy /KernelIP -import_files -set_current false]
foreach busif {{s_axi_control s_axis_tick s_axis_order m_axis}} {{
    ipx::associate_bus_interfaces -busif $busif -clock ap_clk $core
}}
set freq [ipx::add_bus_parameter -quiet FREQ_HZ [ipx::get_bus_interfaces ap_clk -of $core]]
set_property value {hz} $freq
set_property value_resolve_type user $freq
set map [ipx::add_memory_map -quiet s_axi_control $core]
set block [ipx::add_address_block -quiet reg0 $map]
set_property range {1 << CTRL_ADDR_BITS} $block
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces s_axi_control -of $core]
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project

package_xo -force -xo_path $here/{KERNEL_NAME}.xo -kernel_name {KERNEL_NAME} \\
    -ip_directory $here/kernel_ip -ctrl_protocol user_managed
"""


def movers_cpp(*, in_bits: int = 128, out_bits: int = 1024) -> str:
    """Return ``tg_movers.cpp``: the HLS data movers ``tg_mm2s`` and ``tg_s2mm``."""
    return f"""\
// Generated by `tickgate hw bitstream` (tickgate.hw.alveo): do not edit.
// Data movers between device memory and the free-running tickgate kernel's streams.
#include <ap_axi_sdata.h>
#include <ap_int.h>
#include <hls_stream.h>

typedef ap_axiu<{in_bits}, 0, 0, 0> in_rec;
typedef ap_axiu<{out_bits}, 0, 0, 0> out_rec;

extern "C" {{

// count records of {in_bits} bits from memory to the stream, tlast on the last one.
void tg_mm2s(const ap_uint<{in_bits}>* in, hls::stream<in_rec>& out, unsigned int count) {{
#pragma HLS INTERFACE m_axi port = in offset = slave bundle = gmem max_read_burst_length = 64
#pragma HLS INTERFACE axis port = out
#pragma HLS INTERFACE s_axilite port = count
#pragma HLS INTERFACE s_axilite port = return
    for (unsigned int i = 0; i < count; i++) {{
#pragma HLS PIPELINE II = 1
        in_rec v;
        v.data = in[i];
        v.keep = -1;
        v.strb = -1;
        v.last = (i == count - 1);
        out.write(v);
    }}
}}

// count records of {out_bits} bits from the stream to memory.
void tg_s2mm(ap_uint<{out_bits}>* out, hls::stream<out_rec>& in, unsigned int count) {{
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem max_write_burst_length = 16
#pragma HLS INTERFACE axis port = in
#pragma HLS INTERFACE s_axilite port = count
#pragma HLS INTERFACE s_axilite port = return
    for (unsigned int i = 0; i < count; i++) {{
#pragma HLS PIPELINE II = 1
        out[i] = in.read().data;
    }}
}}

}}
"""


def connectivity_cfg(spec: BoardSpec) -> str:
    """Return ``connectivity.cfg``: the ``[connectivity]`` section of ``v++ --link``."""
    kernels: dict[str, list[str]] = {}
    for cu, kernel in COMPUTE_UNITS.items():
        kernels.setdefault(kernel, []).append(cu)
    lines = [f"# Generated by `tickgate hw bitstream --board {spec.name}`: do not edit.",
             f"# v++ --link --platform {spec.platform} --config connectivity.cfg ...",
             "[connectivity]"]
    lines += [f"nk={kernel}:{len(cus)}:{'.'.join(cus)}" for kernel, cus in kernels.items()]
    lines += [f"stream_connect={src}:{dst}" for src, dst in STREAMS]
    lines += [f"sp={arg}:{spec.memory}" for arg in BUFFERS]
    return "\n".join(lines) + "\n"


def build_script(spec: BoardSpec, *, jobs: int = 2) -> str:
    """Return ``build_<board>.sh``: package the kernel, compile the movers, link."""
    mhz = f"{spec.clock_mhz:g}"
    return f"""\
#!/usr/bin/env bash
# Generated by `tickgate hw bitstream --board {spec.name}` (tickgate.hw.alveo): do not edit.
# Builds tickgate.xclbin for {spec.platform} beside this script.
set -euo pipefail
cd "$(dirname "$0")"
PLATFORM={spec.platform}
vivado -mode batch -nojournal -log package_kernel.log -source package_kernel.tcl
v++ -c -t hw --platform "$PLATFORM" -k tg_mm2s -o tg_mm2s.xo tg_movers.cpp
v++ -c -t hw --platform "$PLATFORM" -k tg_s2mm -o tg_s2mm.xo tg_movers.cpp
v++ -l -t hw --platform "$PLATFORM" --kernel_frequency {mhz} --jobs {jobs} \\
    --config connectivity.cfg -o tickgate.xclbin {KERNEL_NAME}.xo tg_mm2s.xo tg_s2mm.xo
echo "tickgate: wrote $(pwd)/tickgate.xclbin"
"""


def write_alveo_recipe(out_dir: str | Path, spec: BoardSpec, *, addr_bits: int,
                       jobs: int = 2) -> list[Path]:
    """Write the kernel wrapper, packaging Tcl, movers, link config and build script."""
    out = Path(out_dir)
    files = {
        f"{KERNEL_NAME}.v": kernel_verilog(addr_bits=addr_bits),
        "package_kernel.tcl": package_tcl(spec),
        "tg_movers.cpp": movers_cpp(),
        "connectivity.cfg": connectivity_cfg(spec),
        script_name(spec): build_script(spec, jobs=jobs),
    }
    paths = []
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        paths.append(path)
    paths[-1].chmod(0o755)
    return paths
