"""``tickgate replay``: a CSV of quotes through a board, out as a CSV of indicator values.

Input CSV: a header line, then one quote per line. Columns ``epoch`` (seconds since 1970,
integer or fractional), ``symbol`` and ``quote``; or ``bid`` and ``ask`` instead of
``quote``, the quote then being the exact mid ``(bid + ask) / 2``. Other columns are carried
through. Output CSV: every input column as read (plus ``quote``, the mid, when the input had
none), then the float columns of :func:`tickgate.drivers.features.feature_columns`; an empty
field is NaN (warm-up).

The file is read twice: a first pass checks every quote and infers each symbol's pip size
(unless the config gives it), a second packs, computes and writes in batches of
``batch`` ticks, each symbol's state carried across batches by the board. The first bad
line stops the replay with an error naming the line and the reason; the output file is
only put in place when the replay succeeds.

Config TOML (every key optional)::

    [indicators]            # periods in ticks, TA-Lib defaults
    ema_fast = 12
    ema_slow = 26
    macd_signal = 9
    rsi = 14
    sma = 20                # also the std and z-score window
    roc = 10
    minmax = 20

    [symbols]               # pip sizes (decimals); others are inferred from the data
    R_100 = 2
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from tickgate.drivers.features import IndicatorPeriods, feature_columns
from tickgate.drivers.packer import Packer, PackError, mid_quote, parse_decimal
from tickgate.gateware.model import EngineModel
from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import FEATURE_DTYPE

__all__ = ["ReplayError", "ReplayConfig", "ReplaySummary", "replay", "sample_path", "main"]

#: Ticks per batch sent to the board.
DEFAULT_BATCH = 65536
BOARDS = ("model",)


class ReplayError(Exception):
    """A replay that cannot run; the message is one plain sentence for the user."""


def sample_path() -> Path:
    """Return the path of the built-in sample CSV (``epoch,symbol,quote``, 2000 ticks).

    Derived from the real data in ``shared/market-data``: the first 1000 EUR/USD quotes of
    2020-01-01 as ``EURUSD`` (mid of bid and ask, rounded half to even to 5 decimals,
    exchange time EST) and the first 1000 one-minute USD/JPY bid closes of 2013-02 as
    ``USDJPY`` (3 decimals, epoch = bar start + 60 s), in time order.
    ``tests/host/test_sample.py`` rebuilds it and checks it is unchanged.
    """
    return Path(__file__).parent / "data" / "sample_ticks.csv"


@dataclass(frozen=True, kw_only=True)
class ReplayConfig:
    """Indicator periods and given pip sizes (symbol name -> decimals)."""

    periods: IndicatorPeriods = field(default_factory=IndicatorPeriods)
    pip_sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReplayConfig:
        """Read a config TOML (see the module doc); raise ``ReplayError`` if it is wrong."""
        name = Path(path).name
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except OSError as exc:
            raise ReplayError(f"cannot read config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ReplayError(f"config {name} is not valid TOML: {exc}") from None
        for key in doc:
            if key not in ("indicators", "symbols"):
                raise ReplayError(f"unknown table or key {key!r} in {name}; the tables are "
                                  f"[indicators] and [symbols]")
        indicators, symbols = doc.get("indicators", {}), doc.get("symbols", {})
        if not isinstance(indicators, dict) or not isinstance(symbols, dict):
            raise ReplayError(f"indicators and symbols must be tables in {name}")
        try:
            periods = IndicatorPeriods.from_mapping(indicators, f"[indicators] of {name}")
        except (ValueError, TypeError) as exc:
            raise ReplayError(f"{name}: {exc}") from None
        for symbol, size in symbols.items():
            if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 18:
                raise ReplayError(f"pip size of {symbol!r} in [symbols] of {name} must be an "
                                  f"integer 0 .. 18, not {size!r}")
        return cls(periods=periods, pip_sizes=dict(symbols))


@dataclass
class ReplaySummary:
    """What a replay did: counts, wall time, and each symbol's last float values."""

    ticks: int
    symbols: list[str]
    seconds: float
    last: dict[str, dict[str, float]]

    @property
    def ticks_per_second(self) -> float:
        return self.ticks / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        """Return the one-line summary printed on stderr."""
        return (f"replayed {self.ticks} ticks, {len(self.symbols)} symbols, "
                f"{self.seconds:.3f} s, {self.ticks_per_second:,.0f} ticks/s")


@dataclass
class _Batch:
    lines: list[int]
    epochs: list[str]
    symbols: list[str]
    quotes: list[str | Decimal]
    rows: list[list[str]]


class _TickReader:
    """The input CSV: header checks, then batches of rows with their line numbers."""

    def __init__(self, path: str | os.PathLike[str], batch: int) -> None:
        self.path = Path(path)
        self.batch = batch
        try:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), None)
        except OSError as exc:
            raise ReplayError(f"cannot read ticks {path}: {exc.strerror}") from None
        if header is None:
            raise ReplayError(f"{self.path.name} is empty: expected a header line")
        self.header = [h.strip() for h in header]
        col = {name: i for i, name in enumerate(self.header)}
        missing = [c for c in ("epoch", "symbol") if c not in col]
        has_quote = "quote" in col
        if not has_quote and not ("bid" in col and "ask" in col):
            missing.append("quote (or bid and ask)")
        if missing:
            raise ReplayError(f"{self.path.name} line 1: the header lacks column "
                              f"{', '.join(missing)}")
        self.mid = not has_quote
        self._epoch, self._symbol = col["epoch"], col["symbol"]
        self._quote = col.get("quote", -1)
        self._bid, self._ask = col.get("bid", -1), col.get("ask", -1)

    def batches(self) -> Iterator[_Batch]:
        width = len(self.header)
        with open(self.path, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            b = _Batch([], [], [], [], [])
            for row in reader:
                if not row:
                    continue
                line = reader.line_num
                if len(row) != width:
                    raise PackError(line, f"expected {width} fields, found {len(row)}")
                if self.mid:
                    try:
                        quote: str | Decimal = mid_quote(parse_decimal(row[self._bid], "bid"),
                                                         parse_decimal(row[self._ask], "ask"))
                    except ValueError as exc:
                        raise PackError(line, str(exc)) from None
                    row.append(str(quote))
                else:
                    quote = row[self._quote]
                b.lines.append(line)
                b.epochs.append(row[self._epoch])
                b.symbols.append(row[self._symbol].strip())
                b.quotes.append(quote)
                b.rows.append(row)
                if len(b.lines) == self.batch:
                    yield b
                    b = _Batch([], [], [], [], [])
            if b.lines:
                yield b


def _format(values: np.ndarray) -> list[str]:
    """Return shortest round-trip decimal strings; NaN as an empty field."""
    return [repr(v) if v == v else "" for v in values.tolist()]


def replay(ticks_path: str | os.PathLike[str], out_path: str | os.PathLike[str] | None, *,
           config: ReplayConfig | None = None, board: str = "model",
           raw_path: str | os.PathLike[str] | None = None, batch: int = DEFAULT_BATCH,
           params: EngineParams | None = None) -> ReplaySummary:
    """Replay a tick CSV through a board; write the features CSV (unless ``out_path`` is None).

    Raises
    ------
    ReplayError
        For a board that does not exist yet, an unreadable file or a bad header.
    tickgate.drivers.packer.PackError
        For a bad line (its number and the reason are in the message).
    """
    if board not in BOARDS:
        raise ReplayError(f"board {board!r} cannot replay yet; the boards are "
                          f"{', '.join(BOARDS)}")
    config = config or ReplayConfig()
    params = params or EngineParams()
    started = time.perf_counter()
    reader = _TickReader(ticks_path, batch)
    packer = Packer(n_symbols=params.n_symbols, pip_sizes=config.pip_sizes)
    total = 0
    for b in reader.batches():  # pass 1: check quotes, infer pip sizes
        packer.observe(b.lines, b.symbols, b.quotes)
        total += len(b.lines)
    try:
        model = EngineModel(params, config.periods.engine_config())
    except ValueError as exc:
        raise ReplayError(f"the model board cannot run these periods: {exc}") from None
    periods = config.periods
    names = periods.column_names()
    header = reader.header + (["quote"] if reader.mid else []) + names
    raw = None
    if raw_path is not None:
        raw = np.lib.format.open_memmap(raw_path, mode="w+", dtype=FEATURE_DTYPE,
                                        shape=(total,))
    tmp = None if out_path is None else Path(f"{out_path}.part")
    out_file = None if tmp is None else open(tmp, "w", newline="")
    last: dict[str, dict[str, float]] = {}
    buffer = np.zeros(min(batch, max(total, 1)), FEATURE_DTYPE)
    done = 0
    try:
        writer = None if out_file is None else csv.writer(out_file, lineterminator="\n")
        if writer is not None:
            writer.writerow(header)
        for b in reader.batches():  # pass 2: pack, compute, write
            ticks = packer.pack(b.lines, b.epochs, b.symbols, b.quotes)
            records = model.process(ticks, buffer)
            if raw is not None:
                raw[done: done + len(records)] = records
            done += len(records)
            columns = feature_columns(records, periods, packer.base_array(),
                                      packer.pip_size_array())
            if writer is not None:
                text = zip(*(_format(columns[n]) for n in names), strict=True)
                writer.writerows(row + list(values)
                                 for row, values in zip(b.rows, text, strict=True))
            for sym in np.unique(records["symbol"]):
                i = np.flatnonzero(records["symbol"] == sym)[-1]
                last[packer.table.names[sym]] = {n: float(columns[n][i]) for n in names}
    except BaseException:
        if out_file is not None:
            out_file.close()
            os.unlink(tmp)  # type: ignore[arg-type]
        if raw is not None:
            del raw
            os.unlink(raw_path)  # type: ignore[arg-type]
        raise
    if out_file is not None:
        out_file.close()
        os.replace(tmp, out_path)  # type: ignore[arg-type]
    if raw is not None:
        raw.flush()
    return ReplaySummary(ticks=total, symbols=list(packer.table.names),
                         seconds=time.perf_counter() - started, last=last)


def main(args: argparse.Namespace) -> int:
    """Run ``tickgate replay`` with parsed arguments; return the exit status."""
    try:
        config = ReplayConfig() if args.config is None else ReplayConfig.load(args.config)
        summary = replay(args.ticks, args.out, config=config, board=args.board,
                         raw_path=args.raw)
    except PackError as exc:
        print(f"tickgate replay: error: {args.ticks}, {exc}", file=sys.stderr)
        return 1
    except ReplayError as exc:
        print(f"tickgate replay: error: {exc}", file=sys.stderr)
        return 1
    print(f"tickgate replay: {summary.line()}", file=sys.stderr)
    return 0
