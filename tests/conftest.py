"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Recorded market data, in the workplace's shared/ folder beside the clone.
MARKET_DATA = Path(__file__).resolve().parents[2] / "shared" / "market-data"


@pytest.fixture(scope="session")
def market_data() -> Path:
    """Return the market-data folder; skip without it, but fail when ``CI=true``."""
    if not MARKET_DATA.is_dir():
        message = f"{MARKET_DATA} is missing (shared/ must sit beside the clone)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return MARKET_DATA
