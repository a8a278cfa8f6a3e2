"""Vivado interface attributes on the card's Verilog, so a module reference needs no guessing.

Vivado's IP integrator infers AXI interfaces of an RTL module reference from port names, and
the card's ports follow Xilinx's conventions (``s_axis_tick_tdata``, ``s_axi_awaddr``...).
The clock and reset are where inference is weakest: a reset called ``rst`` has no polarity
in its name, and the clock must name the bus interfaces it clocks or the block design
cannot propagate its frequency to them. So before the Verilog goes to Vivado,
:func:`annotate` writes the attributes Xilinx documents for HDL interface declaration
(``X_INTERFACE_INFO`` / ``X_INTERFACE_PARAMETER``, UG994) in front of every interface port of
the top module::

    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 clk CLK" *)
    (* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME clk, ASSOCIATED_BUSIF m_axis:s_axi:..., \
ASSOCIATED_RESET rst" *)
    input clk;
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 rst RST" *)
    (* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME rst, POLARITY ACTIVE_HIGH" *)
    input rst;
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s_axis_tick TDATA" *)
    input [127:0] s_axis_tick_tdata;
    (* X_INTERFACE_INFO = "xilinx.com:interface:aximm:1.0 s_axi AWADDR" *)
    (* X_INTERFACE_PARAMETER = "XIL_INTERFACENAME s_axi, PROTOCOL AXI4LITE, DATA_WIDTH 32" *)
    input [8:0] s_axi_awaddr;

No ``FREQ_HZ`` is written: the block design propagates the frequency of the clock that drives
``clk``. Attributes change nothing for simulators and Yosys, which ignore them.
"""

from __future__ import annotations

import re

__all__ = ["annotate", "interfaces", "top_ports"]

_AXIS = re.compile(r"^(?P<bus>[sm]_axis(?:_[a-z0-9]+)?)_(?P<sig>t(?:data|valid|ready|last|keep|"
                   r"strb|user|id|dest))$")
_AXIMM = re.compile(r"^(?P<bus>[sm]_axi(?:_[a-z0-9]+)?)_(?P<sig>(?:aw|w|b|ar|r)[a-z]+)$")
_HEADER = re.compile(r"^module\s+(?P<name>\S+)\s*\((?P<ports>[^)]*)\);", re.M)
_DECL = re.compile(r"^(?P<indent>[ \t]*)(?:input|output|inout)\b[^;]*?\b(?P<name>\w+)\s*;[ \t]*$",
                   re.M)

CLOCK = "clk"
RESET = "rst"


def top_ports(verilog: str, module: str) -> list[str]:
    """Return the port names of ``module`` in ``verilog``, in header order."""
    for match in _HEADER.finditer(verilog):
        if match.group("name") == module:
            return [p.strip() for p in match.group("ports").split(",") if p.strip()]
    raise ValueError(f"no module {module} in the Verilog")


def interfaces(ports: list[str]) -> dict[str, dict[str, str]]:
    """Group bus ports by interface: ``{bus: {port: LOGICAL_NAME}}`` (AXIS, then AXI-MM)."""
    found: dict[str, dict[str, str]] = {}
    for port in ports:
        match = _AXIS.match(port) or _AXIMM.match(port)
        if match:
            found.setdefault(match.group("bus"), {})[port] = match.group("sig").upper()
    return found


def _attributes(ports: list[str]) -> dict[str, list[str]]:
    buses = interfaces(ports)
    attrs: dict[str, list[str]] = {}
    if CLOCK in ports:
        busif = ":".join(sorted(buses))
        param = f"XIL_INTERFACENAME {CLOCK}, ASSOCIATED_BUSIF {busif}"
        if RESET in ports:
            param += f", ASSOCIATED_RESET {RESET}"
        attrs[CLOCK] = [f"xilinx.com:signal:clock:1.0 {CLOCK} CLK", param]
    if RESET in ports:
        attrs[RESET] = [f"xilinx.com:signal:reset:1.0 {RESET} RST",
                        f"XIL_INTERFACENAME {RESET}, POLARITY ACTIVE_HIGH"]
    for bus, members in buses.items():
        aximm = not _AXIS.match(next(iter(members)))
        for k, (port, logical) in enumerate(members.items()):
            kind = "aximm" if aximm else "axis"
            attrs[port] = [f"xilinx.com:interface:{kind}:1.0 {bus} {logical}"]
            if aximm and k == 0:
                attrs[port].append(f"XIL_INTERFACENAME {bus}, PROTOCOL AXI4LITE, DATA_WIDTH 32")
    return attrs


def annotate(verilog: str, module: str) -> str:
    """Return ``verilog`` with interface attributes before ``module``'s port declarations.

    Only the declarations inside ``module`` (up to its ``endmodule``) are touched; an
    already annotated text is returned unchanged.
    """
    if "X_INTERFACE_INFO" in verilog:
        return verilog
    attrs = _attributes(top_ports(verilog, module))
    header = next(m for m in _HEADER.finditer(verilog) if m.group("name") == module)
    end = verilog.index("endmodule", header.end())
    body = verilog[header.end():end]

    def add(match: re.Match[str]) -> str:
        items = attrs.get(match.group("name"))
        if not items:
            return match.group(0)
        indent = match.group("indent")
        lines = [f'{indent}(* X_INTERFACE_INFO = "{items[0]}" *)']
        lines += [f'{indent}(* X_INTERFACE_PARAMETER = "{p}" *)' for p in items[1:]]
        return "\n".join([*lines, match.group(0)])

    return verilog[:header.end()] + _DECL.sub(add, body) + verilog[end:]
