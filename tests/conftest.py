"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from ci_policy import skip_or_fail

#: Recorded market data, in the workplace's shared/ folder beside the clone.
MARKET_DATA = Path(__file__).resolve().parents[2] / "shared" / "market-data"


@pytest.fixture(scope="session")
def market_data() -> Path:
    """Return the market-data folder; skip without it, but fail when ``CI=true``."""
    if not MARKET_DATA.is_dir():
        skip_or_fail(f"{MARKET_DATA} is missing (shared/ must sit beside the clone)")
    return MARKET_DATA
