"""The simulated board's library, built once per session (``sim_artifacts``), and the
conformance suite's helpers (``tests/boards``) made importable."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from ci_policy import skip_or_fail

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "boards"))

#: The build every simulated-board test uses: the conformance suite's, 64 symbols, the
#: card's default, as the bench and `make sim` build it (one library for all of them).
from board_conformance import PARAMS  # noqa: E402


def require_toolchain() -> None:
    """Skip (fail when ``CI=true``) without Verilator or a C++ compiler."""
    from tickgate.sim import build

    try:
        build.verilator_version()
    except build.SimBuildError as exc:
        skip_or_fail(str(exc))
    if shutil.which("g++") is None and shutil.which("c++") is None:
        skip_or_fail("no C++ compiler on PATH (run `make install`)")


@pytest.fixture(scope="session")
def sim_artifacts():
    """Build (or find) the simulated board of :data:`PARAMS`; a failing build fails."""
    from tickgate.sim.build import SimBuildError, build_library

    require_toolchain()
    try:
        return build_library(PARAMS)
    except SimBuildError as exc:
        pytest.fail(str(exc))
