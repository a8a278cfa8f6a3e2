"""The boards a bitstream is built for: part, platform, clock and what the build makes.

Three boards, one table (:data:`BOARDS`):

``pynq-z2``
    TUL PYNQ-Z2, Zynq-7020 ``xc7z020clg400-1``. The card runs on the PS7's ``FCLK_CLK0`` at
    100 MHz; two AXI DMAs move records between DDR (through ``S_AXI_HP0``) and the card's
    streams, the ARM reaches the registers through ``M_AXI_GP0`` at :data:`PYNQ_ADDRESSES`.
    The image is ``tickgate.bit`` + ``tickgate.hwh`` (the pair PYNQ's ``Overlay`` loads);
    Vivado builds it (:mod:`.pynq`).
``alveo-u50`` / ``alveo-u250``
    Xilinx Alveo cards, a Vitis platform each (the 2022.1 shells: ``gen3x16_xdma_5`` on the
    U50, ``gen3x16_xdma_4_1`` on the U250). The card is a free-running RTL kernel with
    data-mover kernels in front (:mod:`.alveo`), clocked at 200 MHz (``v++
    --kernel_frequency``; the platforms' default kernel clock is 300 MHz, more than the
    card's pipeline is known to close at). Memory: HBM pseudo-channel 0 on the U50, DDR
    bank 0 on the U250. The image is ``tickgate.xclbin``; Vivado packages the RTL kernel and
    ``v++`` compiles the movers and links.

Every board's device resources are given for the open-source synthesis report
(:mod:`.board_synth`), which maps the card with Yosys ``synth_xilinx -family <yosys_family>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BoardSpec", "BOARDS", "PYNQ_ADDRESSES", "get_board", "board_names"]


@dataclass(frozen=True)
class BoardSpec:
    """One board a bitstream is built for."""

    #: Name on the command line and in manifests: ``pynq-z2``, ``alveo-u50``, ``alveo-u250``.
    name: str
    #: The host's board kind (:data:`tickgate.drivers.board.BOARD_KINDS`): ``pynq``/``alveo``.
    kind: str
    #: FPGA part.
    part: str
    #: Clock of the card in MHz (PS7 FCLK0 on Zynq, the kernel clock on Alveo).
    clock_mhz: float
    #: Yosys ``synth_xilinx -family`` for the open-source report.
    yosys_family: str
    #: Device resources: lut, ff, dsp, bram (BRAM36 units), uram.
    resources: dict[str, int]
    #: Files the vendor build leaves in the build folder: the image.
    images: tuple[str, ...]
    #: Vendor tools the build runs, in order; all must be on PATH.
    tools: tuple[str, ...]
    #: Vitis platform (Alveo), or ``None``.
    platform: str | None = None
    #: Vivado board part (its preset configures the PS7), or ``None``.
    board_part: str | None = None
    #: Vitis memory bank of the data movers' buffers (Alveo), or ``None``.
    memory: str | None = None
    #: What to install when a tool is missing.
    install_hint: str = ""
    #: Free-form facts copied into ``board.json`` and the manifest.
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-ready data."""
        return {
            "name": self.name, "kind": self.kind, "part": self.part,
            "platform": self.platform, "board_part": self.board_part,
            "clock_mhz": self.clock_mhz, "memory": self.memory,
            "images": list(self.images), "tools": list(self.tools),
            "resources": dict(self.resources), **self.notes,
        }


#: Register and DMA windows on the PYNQ-Z2 (PS7 ``M_AXI_GP0`` space): name -> (base, range).
#: The card decodes the low ``addr_bits`` of its window (``regmap.json``); offsets in the JSON
#: are relative to ``tickgate``'s base. The DMAs' data masters see DDR from 0 through
#: ``S_AXI_HP0``.
PYNQ_ADDRESSES: dict[str, tuple[int, int]] = {
    "tickgate": (0x4000_0000, 0x1_0000),
    "axi_dma_tick": (0x4040_0000, 0x1_0000),
    "axi_dma_order": (0x4041_0000, 0x1_0000),
}

_XCU50 = {"lut": 871_680, "ff": 1_743_360, "dsp": 5_952, "bram": 1_344, "uram": 640}
_XCU250 = {"lut": 1_728_000, "ff": 3_456_000, "dsp": 12_288, "bram": 2_688, "uram": 1_280}
_VITIS_HINT = "install Vitis 2022.2+ (it brings vivado and v++) with the {platform} platform"

BOARDS: dict[str, BoardSpec] = {
    "pynq-z2": BoardSpec(
        name="pynq-z2", kind="pynq", part="xc7z020clg400-1", clock_mhz=100.0,
        yosys_family="xc7",
        resources={"lut": 53_200, "ff": 106_400, "dsp": 220, "bram": 140, "uram": 0},
        images=("tickgate.bit", "tickgate.hwh"), tools=("vivado",),
        board_part="tul.com.tw:pynq-z2:part0:1.0",
        install_hint="install Vivado 2022.2+",
        notes={"clock_source": "PS7 FCLK_CLK0", "ddr_bytes": 512 << 20},
    ),
    "alveo-u50": BoardSpec(
        name="alveo-u50", kind="alveo", part="xcu50-fsvh2104-2-e", clock_mhz=200.0,
        yosys_family="xcup", resources=_XCU50, images=("tickgate.xclbin",),
        tools=("vivado", "v++"), platform="xilinx_u50_gen3x16_xdma_5_202210_1",
        memory="HBM[0]",
        install_hint=_VITIS_HINT.format(platform="xilinx_u50_gen3x16_xdma_5_202210_1"),
        notes={"clock_source": "v++ --kernel_frequency (platform kernel clock 0)"},
    ),
    "alveo-u250": BoardSpec(
        name="alveo-u250", kind="alveo", part="xcu250-figd2104-2L-e", clock_mhz=200.0,
        yosys_family="xcup", resources=_XCU250, images=("tickgate.xclbin",),
        tools=("vivado", "v++"), platform="xilinx_u250_gen3x16_xdma_4_1_202210_1",
        memory="DDR[0]",
        install_hint=_VITIS_HINT.format(platform="xilinx_u250_gen3x16_xdma_4_1_202210_1"),
        notes={"clock_source": "v++ --kernel_frequency (platform kernel clock 0)"},
    ),
}


def board_names() -> list[str]:
    """Return the board names, in table order."""
    return list(BOARDS)


def get_board(name: str) -> BoardSpec:
    """Return the board called ``name``; raise ``KeyError`` naming the known ones."""
    try:
        return BOARDS[name]
    except KeyError:
        raise KeyError(f"unknown board {name!r}; known: {', '.join(BOARDS)}") from None
