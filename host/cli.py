"""The ``tickgate`` command line: one entry point, one subcommand per job.

Each subcommand lives in the module that does the work; this file only wires arguments to
them (imports are lazy so ``tickgate --help`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickgate",
        description="FPGA-accelerated low-latency trading appliance.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from tickgate.host.daemon.cli import add_kill_arguments, add_run_arguments

    run = sub.add_parser("run", help="run the trading daemon (default: the in-process market "
                         "simulator, a demo account, 10 symbols, the model board)")
    add_run_arguments(run)
    run.set_defaults(handler="tickgate.host.daemon.cli:run_main")

    kill = sub.add_parser("kill", help="set the running daemon's kill switch (--clear: clear)")
    add_kill_arguments(kill)
    kill.set_defaults(handler="tickgate.host.daemon.control:kill_main")

    config = sub.add_parser("config", help="the daemon's configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True,
                                       metavar="CONFIG_COMMAND")
    show = config_sub.add_parser("show", help="print the effective configuration (every key, "
                                 "defaults included; secrets redacted)")
    add_run_arguments(show)
    show.set_defaults(handler="tickgate.host.daemon.cli:config_main")

    replay = sub.add_parser("replay", help="replay a CSV of ticks through a board")
    replay.add_argument("--board", default="model", choices=["model", "sim", "pynq", "alveo"],
                        help="board that computes the features: the reference model "
                             "(default), the Verilator simulated board, a PYNQ or Alveo card")
    replay.add_argument("--bitstream", help="the card's image for --board pynq|alveo "
                        "(.bit with its .hwh, or .xclbin; regmap.json beside it)")
    replay.add_argument("--ticks", required=True, help="CSV with columns epoch,symbol,quote"
                        " (optional bid,ask)")
    replay.add_argument("--out", required=True, help="CSV of features to write")
    replay.add_argument("--config", help="TOML file with indicator periods")
    replay.add_argument("--raw", help="also write the card's raw output records (.npy)")
    replay.set_defaults(handler="tickgate.host.replay:main")

    board = sub.add_parser("board", help="identify a board; print its health and counters")
    board.add_argument("--board", default="model", choices=["model", "sim", "pynq", "alveo"],
                       help="which board (default: model)")
    board.add_argument("--bitstream", help="the card's image for --board pynq|alveo")
    board.add_argument("--symbols", type=int, default=64,
                       help="symbols of the model/simulated build (default 64)")
    board.set_defaults(handler="tickgate.drivers.board_cli:main")

    flash = sub.add_parser("flash", help="load a built image onto the card and verify it")
    flash.add_argument("--board", required=True,
                       help="the card: pynq-z2, alveo-u50 or alveo-u250")
    flash.add_argument("folder", help="the image folder (bitstreams/<folder>, with manifest.json)")
    flash.set_defaults(handler="tickgate.drivers.flash:main")

    hw = sub.add_parser("hw", help="gateware build: Verilog, synthesis report, bitstreams")
    hw_sub = hw.add_subparsers(dest="hw_command", required=True, metavar="HW_COMMAND")
    verilog = hw_sub.add_parser("verilog", help="write the card's Verilog and regmap.json")
    verilog.add_argument("--out", required=True, help="folder to write into")
    verilog.add_argument("--symbols", type=int, default=64, help="symbols (default 64)")
    verilog.set_defaults(handler="tickgate.hw.build:verilog_main")
    synth = hw_sub.add_parser("synth", help="synthesise for xc7z020 and ECP5-85F, report")
    synth.add_argument("--json", action="store_true", help="print the report as JSON")
    synth.add_argument("--out", default="build/synth", help="work folder (build/synth)")
    synth.add_argument("--symbols", type=int, default=64, help="symbols (default 64)")
    synth.add_argument("--core", default="card", choices=["card", "engine"],
                       help="the whole card (default) or the indicator engine alone")
    synth.add_argument("--deep", action="store_true",
                       help="with --core engine: the engine's deep build (latency 13 cycles "
                            "instead of 8, for a faster clock; the card keeps the default)")
    synth.add_argument("--freq", type=float, default=150.0,
                       help="nextpnr's target clock in MHz (default 150); a target far above "
                            "what the design reaches makes routing slow")
    synth.add_argument("--seed", type=int, default=1, help="nextpnr's seed (default 1)")
    synth.add_argument("--pnr-option", action="append", default=[], metavar="ARG",
                       help="one more nextpnr argument after the flow's own, written "
                            "with '=' (repeat it): --pnr-option=--tmg-ripup")
    synth.set_defaults(handler="tickgate.hw.synth:synth_main")
    bitstream = hw_sub.add_parser(
        "bitstream", help="board image: Verilog, recipes, synthesis report, then "
                          "vivado/v++ when installed (exit 2 without them)")
    bitstream.add_argument("--board", required=True,
                           choices=["pynq-z2", "alveo-u50", "alveo-u250"],
                           help="board to build for")
    bitstream.add_argument("--out", help="build folder (default build/bitstream/<board>)")
    bitstream.add_argument("--symbols", type=int, default=64, help="symbols (default 64)")
    bitstream.add_argument("--no-synth", action="store_true",
                           help="skip the open-source synthesis report (minutes)")
    bitstream.add_argument("--images", default="bitstreams",
                           help="where built images and their manifests go (bitstreams)")
    bitstream.add_argument("--jobs", type=int, default=2, help="vendor tool jobs (default 2)")
    bitstream.set_defaults(handler="tickgate.hw.bitstream:bitstream_main")

    sim = sub.add_parser("sim-server", help="run the local Deriv market simulator "
                         "(WebSocket, Deriv's protocol, faults on demand)")
    from tickgate.host.simserver.cli import add_arguments as sim_arguments
    sim_arguments(sim)
    sim.set_defaults(handler="tickgate.host.simserver.cli:main")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tickgate`` command; return its exit status."""
    args = _build_parser().parse_args(argv)
    module_name, func_name = args.handler.split(":")
    module = __import__(module_name, fromlist=[func_name])
    return int(getattr(module, func_name)(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
