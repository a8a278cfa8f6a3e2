"""The built-in sample CSV is what its docstring says: derived from the real market data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from tickgate.host.replay import sample_path

MARKET_DATA = Path(__file__).resolve().parents[3] / "shared" / "market-data"
EST = timezone(timedelta(hours=-5))


def _epoch(moment: datetime) -> str:
    """Return seconds since 1970 with millisecond decimals, exactly."""
    ms = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    return str(Decimal(ms).scaleb(-3))


def build_sample(market_data: Path, per_symbol: int = 1000) -> str:
    """Return the sample CSV text, built from the real EUR/USD quotes and USD/JPY bars."""
    rows = []
    with open(market_data / "eurusd-quotes-2020-01-01.csv", newline="") as f:
        for stamp, bid, ask, _volume in list(csv.reader(f))[:per_symbol]:
            moment = datetime.strptime(stamp, "%Y%m%d %H%M%S%f").replace(tzinfo=EST)
            mid = ((Decimal(bid) + Decimal(ask)) / 2).quantize(Decimal("0.00001"),
                                                               ROUND_HALF_EVEN)
            rows.append((_epoch(moment), "EURUSD", str(mid)))
    with open(market_data / "usdjpy-m1-bid-2013.csv", newline="") as f:
        for bar in list(csv.DictReader(f))[:per_symbol]:
            moment = datetime.fromisoformat(bar["timestamp"]) + timedelta(seconds=60)
            rows.append((_epoch(moment), "USDJPY", str(Decimal(bar["close"]))))
    rows.sort(key=lambda row: Decimal(row[0]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("epoch", "symbol", "quote"))
    writer.writerows(rows)
    return out.getvalue()


def test_sample_is_rebuilt_identically_from_the_market_data(market_data: Path) -> None:
    assert sample_path().read_text() == build_sample(market_data)


def test_sample_has_two_symbols_with_their_decimals() -> None:
    with open(sample_path(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2000
    decimals = {r["symbol"]: len(r["quote"].split(".")[1]) for r in rows}
    assert decimals == {"EURUSD": 5, "USDJPY": 3}


if __name__ == "__main__":  # write the sample: python -m tests.host.test_sample
    sample_path().write_text(build_sample(MARKET_DATA))
