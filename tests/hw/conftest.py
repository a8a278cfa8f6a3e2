"""Test configuration of the gateware build tests.

Registers the ``slow`` marker (until it moves to pyproject). A slow test (full-engine
synthesis: minutes of WebAssembly Yosys and nextpnr) runs only when asked for, with
``-m slow`` (or any ``-m`` expression naming it) or ``TICKGATE_SLOW=1``; otherwise it is
skipped, so a plain ``pytest tests`` stays fast.
"""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long-running test (full-engine synthesis, minutes); runs only "
        "with -m slow or TICKGATE_SLOW=1")


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr", "") or "") or os.environ.get("TICKGATE_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or TICKGATE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
