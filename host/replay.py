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
import io
import os
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from tickgate.drivers import csvscan
from tickgate.drivers.board import BOARD_KINDS, Board, BoardError, open_board
from tickgate.drivers.features import IndicatorPeriods, feature_columns
from tickgate.drivers.floatrepr import shortest_digits
from tickgate.drivers.packer import Packer, PackError, mid_quote, parse_decimal
from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import OUTPUT_DTYPE, TICK_DTYPE

__all__ = ["ReplayError", "ReplayConfig", "ReplaySummary", "replay", "sample_path", "main"]

#: Ticks per batch sent to the board.
DEFAULT_BATCH = 65536
BOARDS = BOARD_KINDS


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

    def fields(self, row: list[str], line: int) -> tuple[str, str, str | Decimal]:
        """Return (epoch, symbol, quote) of a row; check its width and bid/ask (the mid is
        appended to ``row``)."""
        width = len(self.header)
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
        return row[self._epoch], row[self._symbol].strip(), quote

    def batches(self) -> Iterator[_Batch]:
        with open(self.path, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            b = _Batch([], [], [], [], [])
            for row in reader:
                if not row:
                    continue
                line = reader.line_num
                epoch, symbol, quote = self.fields(row, line)
                b.lines.append(line)
                b.epochs.append(epoch)
                b.symbols.append(symbol)
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
           config: ReplayConfig | None = None, board: str | Board = "model",
           raw_path: str | os.PathLike[str] | None = None, batch: int = DEFAULT_BATCH,
           params: EngineParams | None = None,
           board_options: dict[str, object] | None = None) -> ReplaySummary:
    """Replay a tick CSV through a board; write the features CSV (unless ``out_path`` is None).

    ``board`` is a board's name (:data:`BOARDS`, opened with ``board_options`` and closed at
    the end) or an opened :class:`~tickgate.drivers.board.Board` of the build ``params``.
    The board's engine registers are loaded with the config's periods; the raw output
    (``raw_path``) holds the board's ``OUTPUT_DTYPE`` records.

    Raises
    ------
    ReplayError
        For an unknown board or one that fails, an unreadable file or a bad header.
    tickgate.drivers.packer.PackError
        For a bad line (its number and the reason are in the message).
    """
    config = config or ReplayConfig()
    params = params or EngineParams()
    engine = config.periods.engine_config()
    try:
        engine.check(params)
    except ValueError as exc:
        raise ReplayError(f"the card cannot run these periods: {exc}") from None
    started = time.perf_counter()
    reader = _TickReader(ticks_path, batch)
    if isinstance(board, str):
        if board not in BOARDS:
            raise ReplayError(f"no board {board!r}; the boards are {', '.join(BOARDS)}")
        # The model and the simulated board are built for ``params``; a card is what its
        # image is (the register map beside it says so, and opening checks it).
        options = dict(board_options or {})
        if board in ("model", "sim"):
            options["params"] = params
        try:
            card = open_board(board, **options)
        except BoardError as exc:
            raise ReplayError(f"cannot open the {board} board: {exc}") from None
    else:
        card = board
    try:
        card.load_engine(engine)
        try:
            return _FastReplay(reader, config, params, batch, card).run(out_path, raw_path,
                                                                        started)
        except _NotPlain:
            pass  # quoted fields, non-ASCII text, numbers beyond 18 digits: the slow path
        # Batches the fast path may have run are harmless: each symbol's first tick carries
        # RESET, so the engine starts every symbol afresh.
        return _replay_slow(reader, out_path, config=config, params=params, raw_path=raw_path,
                            batch=batch, started=started, board=card)
    except BoardError as exc:
        raise ReplayError(f"the {card.kind} board failed: {exc}") from None
    finally:
        if card is not board:
            card.close()


@contextmanager
def _replay_outputs(out_path: str | os.PathLike[str] | None,
                    raw_path: str | os.PathLike[str] | None, total: int,
                    mode: str) -> Iterator[tuple[IO | None, np.ndarray | None]]:
    """Open the replay's outputs; put the CSV in place only if the replay succeeds.

    The CSV is written to ``<out>.part`` and renamed at the end; on any error both the
    partial CSV and the raw ``.npy`` are removed, so a failed replay leaves nothing behind.
    """
    raw = None
    if raw_path is not None:
        raw = np.lib.format.open_memmap(raw_path, mode="w+", dtype=OUTPUT_DTYPE,
                                        shape=(total,))
    tmp = None if out_path is None else Path(f"{out_path}.part")
    newline = None if "b" in mode else ""
    out_file = None if tmp is None else open(tmp, mode, newline=newline)
    try:
        yield out_file, raw
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


def _replay_slow(reader: _TickReader, out_path: str | os.PathLike[str] | None, *,
                 config: ReplayConfig, params: EngineParams,
                 raw_path: str | os.PathLike[str] | None, batch: int,
                 started: float, board: Board) -> ReplaySummary:
    """The reference replay: ``csv`` module, ``Decimal`` per value, a row at a time."""
    packer = Packer(n_symbols=params.n_symbols, pip_sizes=config.pip_sizes)
    total = 0
    for b in reader.batches():  # pass 1: check quotes, infer pip sizes
        packer.observe(b.lines, b.symbols, b.quotes)
        total += len(b.lines)
    periods = config.periods
    names = periods.column_names()
    header = reader.header + (["quote"] if reader.mid else []) + names
    last: dict[str, dict[str, float]] = {}
    done = 0
    with _replay_outputs(out_path, raw_path, total, "w") as (out_file, raw):
        writer = None if out_file is None else csv.writer(out_file, lineterminator="\n")
        if writer is not None:
            writer.writerow(header)
        for b in reader.batches():  # pass 2: pack, compute, write
            ticks = packer.pack(b.lines, b.epochs, b.symbols, b.quotes)
            records = board.process_ticks(ticks)
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
    return ReplaySummary(ticks=total, symbols=list(packer.table.names),
                         seconds=time.perf_counter() - started, last=last)


class _NotPlain(Exception):
    """The fast path cannot read this file exactly; the slow path replays it."""


#: Bytes read from the ticks file at a time by the fast path.
_READ_BYTES = 1 << 23
_FIELD_BAD = 3  # a numeric field that parse_decimal refuses (status beside csvscan's)


def _fixed(value: Decimal) -> tuple[int, int] | None:
    """Return ``(mantissa, decimals)`` of a decimal within the kernels' range, else None."""
    sign, digit_tuple, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digit_tuple)) or "0")
    if exponent > 0:
        mantissa *= 10**exponent
        exponent = 0
    if mantissa >= 10**18 or -exponent > 18:
        return None
    return (-mantissa if sign else mantissa), -exponent


class _Block:
    """One scanned block of rows (see :func:`tickgate.drivers.csvscan.scan`)."""

    def __init__(self, buf: np.ndarray, scanned: tuple) -> None:
        (self.n, _, _, self.line_a, self.line_b, self.line_no, self.nfields, self.sym_a,
         self.sym_b, self.fa, self.fb, self.status, self.mant, self.dec) = scanned
        self.buf = buf
        self.patched = np.zeros(self.n, np.bool_)  # a field read by parse_decimal

    def text(self, a: int, b: int) -> str:
        return self.buf[a:b].tobytes().decode("ascii")

    def line_text(self, i: int) -> str:
        return self.text(int(self.line_a[i]), int(self.line_b[i]))


class _FastReplay:
    """The replay of a plain CSV with compiled kernels, exactly as :func:`_replay_slow`.

    Two passes over the file in blocks of ``batch`` rows, as the slow path: the first
    checks every row (widths, quotes, symbols) and infers pip sizes, the second packs,
    runs the board and writes. Numeric fields are read as exact integers (mantissa and
    decimals, :mod:`tickgate.drivers.csvscan`); the few fields the scanner leaves (numbers
    with exponents, text) go through ``parse_decimal``. At the first bad row the slow
    reader and packer are run on that row alone, with the symbols' state so far, so the
    error is word for word the slow path's. Files the kernels cannot read exactly (quoted
    fields, non-ASCII text, lone carriage returns, numbers beyond 18 digits) raise
    :class:`_NotPlain` before anything is written and are replayed by the slow path.
    """

    def __init__(self, reader: _TickReader, config: ReplayConfig, params: EngineParams,
                 batch: int, board: Board) -> None:
        self.reader, self.config, self.params = reader, config, params
        self.board = board
        self.batch = max(1, batch)
        cap = params.n_symbols
        self.names: list[str] = []
        self.gid: dict[str, int] = {}
        self.first_line: list[int] = []
        self.pip = np.full(cap, -1, np.int64)
        self.base = np.zeros(cap, np.int64)
        self.has_base = np.zeros(cap, np.bool_)
        self.last_q = np.zeros(cap, np.int64)
        self.last_r = np.zeros(cap, np.int64)
        self.last_d = np.zeros(cap, np.int64)
        self.last_epoch: dict[int, str] = {}
        r = reader
        self.cols = (r._epoch, r._symbol, r._quote, r._bid if r.mid else -1,
                     r._ask if r.mid else -1)

    # -- reading -------------------------------------------------------------------------
    def _blocks(self) -> Iterator[_Block]:
        try:
            f = open(self.reader.path, "rb")
        except OSError as exc:
            raise ReplayError(f"cannot read ticks {self.reader.path}: {exc.strerror}") from None
        with f:
            head = f.readline()
            if b'"' in head or b"\r" in head[:-2] or not head.isascii():
                raise _NotPlain
            pending = b""
            line = 2
            eof = False
            while not eof:
                data = f.read(_READ_BYTES)
                eof = not data
                buf = np.frombuffer(pending + data, np.uint8)
                pos = 0
                while pos < len(buf):
                    scanned = csvscan.scan(buf, pos, eof, self.batch, line, *self.cols)
                    status, end, line = scanned[0], scanned[1], scanned[2]
                    if status == csvscan.BAD_FILE:
                        raise _NotPlain
                    if end == pos:
                        break
                    pos = end
                    if status:
                        yield _Block(buf, scanned)
                pending = buf[pos:].tobytes()

    def _resolve(self, b: _Block) -> None:
        """Read the fields the scanner left with ``parse_decimal``; mark refused ones."""
        what = ("epoch", "bid" if self.reader.mid else "quote", "ask")
        for f, i in zip(*np.nonzero(b.status[:, : b.n] == csvscan.FIELD_IRREGULAR),
                        strict=True):
            try:
                value = parse_decimal(b.text(int(b.fa[f, i]), int(b.fb[f, i])), what[f])
            except ValueError:
                b.status[f, i] = _FIELD_BAD
                continue
            fixed = _fixed(value)
            if fixed is None:
                raise _NotPlain
            b.status[f, i] = csvscan.FIELD_OK
            b.mant[f, i], b.dec[f, i] = fixed
            b.patched[i] = True

    def _quotes(self, b: _Block) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """Return (mantissa, decimals, good, mid texts done by Decimal) of each row's quote."""
        n = b.n
        if not self.reader.mid:
            good = (b.status[1, :n] == csvscan.FIELD_OK) & (b.mant[1, :n] > 0)
            return b.mant[1, :n], b.dec[1, :n], good, {}
        fine = (b.status[1, :n] == csvscan.FIELD_OK) & (b.status[2, :n] == csvscan.FIELD_OK)
        ok = fine.copy()
        coef, exp10 = csvscan.mid(b.mant[1, :n], b.dec[1, :n], b.mant[2, :n], b.dec[2, :n],
                                  ok)
        texts: dict[int, str] = {}
        # by Decimal: sign, size, exponent, or a bid or ask normalized by parse_decimal
        for i in np.flatnonzero(fine & (~ok | b.patched)).tolist():
            bid = parse_decimal(b.text(int(b.fa[1, i]), int(b.fb[1, i])))
            ask = parse_decimal(b.text(int(b.fa[2, i]), int(b.fb[2, i])))
            value = mid_quote(bid, ask)
            if value <= 0:
                continue
            fixed = _fixed(value)
            if fixed is None:
                raise _NotPlain
            coef[i], exp10[i] = fixed
            texts[i] = str(value)
            ok[i] = True
        return coef, exp10, ok, texts

    def _symbols(self, b: _Block, register: bool) -> tuple[np.ndarray, int | None]:
        """Return each row's symbol index (-1: refused) and the first row refused for its
        symbol (empty, or beyond the board's room), registering new names if asked."""
        ok, local, first = csvscan.intern(b.buf, b.sym_a, b.sym_b, b.n)
        if not ok:
            raise _NotPlain
        lut = np.empty(len(first), np.int64)
        refused = None
        for j, row in enumerate(first.tolist()):
            name = b.text(int(b.sym_a[row]), int(b.sym_b[row])).strip()
            found = self.gid.get(name)
            if found is None and register and name and len(self.names) < self.params.n_symbols:
                found = self.gid[name] = len(self.names)
                self.names.append(name)
                self.first_line.append(int(b.line_no[row]))
            if found is None:
                found = -1
                refused = row if refused is None else min(refused, row)
            lut[j] = found
        return lut[local], refused

    # -- errors --------------------------------------------------------------------------
    def _row(self, b: _Block, i: int) -> tuple[int, str, str, str | Decimal]:
        row = next(csv.reader([b.line_text(i)]))
        line = int(b.line_no[i])
        return (line, *self.reader.fields(row, line))

    def _fail_pass1(self, b: _Block, i: int) -> NoReturn:
        line, _epoch, symbol, quote = self._row(b, i)
        packer = Packer(n_symbols=self.params.n_symbols, pip_sizes=self.config.pip_sizes,
                        )
        for name, first in zip(self.names, self.first_line, strict=True):
            if first < line:
                packer.table.index(name)
        packer.observe([line], [symbol], [quote])
        raise _NotPlain  # the slow reader takes the row: the kernels disagree, go slow

    def _fail_pass2(self, b: _Block, i: int, sym: np.ndarray, last_row: np.ndarray) -> NoReturn:
        line, epoch, symbol, quote = self._row(b, i)
        packer = Packer(n_symbols=self.params.n_symbols, pip_sizes=self.config.pip_sizes,
                        symbols=self.names)
        packer._inferred = {name: int(self.pip[s]) for s, name in enumerate(self.names)}
        s = int(sym[i])
        if s >= 0 and self.has_base[s]:
            packer._base[s] = int(self.base[s])
            text = (self.last_epoch[s] if last_row[s] < 0 else
                    b.text(int(b.fa[0, last_row[s]]), int(b.fb[0, last_row[s]])))
            packer._last_epoch[s] = parse_decimal(text, "epoch")
        packer.pack([line], [epoch], [symbol], [quote])
        raise _NotPlain

    # -- the two passes ------------------------------------------------------------------
    def _pass1(self) -> int:
        mid = self.reader.mid
        width = len(self.reader.header)
        places = np.zeros(self.params.n_symbols, np.int64)
        total = 0
        for b in self._blocks():
            n = b.n
            self._resolve(b)
            sym, refused = self._symbols(b, register=True)
            mant, dec, good, _ = self._quotes(b)
            bad = (b.nfields[:n] != width) | ~good | (sym < 0)
            if mid:
                bad |= (b.status[1, :n] != csvscan.FIELD_OK) | (
                    b.status[2, :n] != csvscan.FIELD_OK)
            if refused is not None:
                bad[refused] = True
            if bad.any():
                self._fail_pass1(b, int(np.argmax(bad)))
            csvscan.max_by(sym, csvscan.significant(mant, dec), places)
            total += n
        for s, name in enumerate(self.names):
            self.pip[s] = self.config.pip_sizes.get(name, places[s])
        return total

    def run(self, out_path: str | os.PathLike[str] | None,
            raw_path: str | os.PathLike[str] | None, started: float) -> ReplaySummary:
        total = self._pass1()
        config = self.config
        periods = config.periods
        names = periods.column_names()
        header = self.reader.header + (["quote"] if self.reader.mid else []) + names
        last: dict[str, dict[str, float]] = {}
        done = 0
        with _replay_outputs(out_path, raw_path, total, "wb") as (out_file, raw):
            if out_file is not None:
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerow(header)
                out_file.write(text.getvalue().encode())
            for b in self._blocks():
                n = b.n
                self._resolve(b)
                sym, _ = self._symbols(b, register=False)
                mant, dec, _, mid_texts = self._quotes(b)
                ticks = np.zeros(n, TICK_DTYPE)
                price = np.empty(n, np.int64)
                index = np.empty(n, np.int64)
                ts = np.empty(n, np.int64)
                flags = np.empty(n, np.int64)
                seqs = np.empty(n, np.int64)
                last_row = np.full(self.params.n_symbols, -1, np.int64)
                stop, code = csvscan.pack(
                    sym, mant, dec, b.mant[0, :n], b.dec[0, :n], b.status[0, :n] != 0, n,
                    self.pip, self.base, self.has_base, self.last_q, self.last_r, self.last_d,
                    last_row, done, price, index, ts, flags, seqs)
                if code:
                    self._fail_pass2(b, stop, sym, last_row)
                ticks["price"], ticks["symbol"], ticks["ts"] = price, index, ts
                ticks["flags"], ticks["seq"] = flags, seqs
                records = self.board.process_ticks(ticks)
                if raw is not None:
                    raw[done: done + n] = records
                done += n
                columns = feature_columns(records, periods, self.base, self.pip)
                used = np.flatnonzero(last_row >= 0)
                for s in used.tolist():
                    i = int(last_row[s])
                    last[self.names[s]] = {c: float(columns[c][i]) for c in names}
                    self.last_epoch[s] = b.text(int(b.fa[0, i]), int(b.fb[0, i]))
                if out_file is not None:
                    values = np.stack([columns[c] for c in names])
                    digits, ndigits, decpt, kind = shortest_digits(values.reshape(-1))
                    shape = values.shape
                    data = csvscan.write_rows(
                        b.buf, b.line_a, b.line_b, n, mant, dec, self.reader.mid, values,
                        digits.reshape(shape), ndigits.reshape(shape), decpt.reshape(shape),
                        kind.reshape(shape))
                    if mid_texts:
                        data = self._patch_mid(b, data, mid_texts, names, columns)
                    out_file.write(data)
        return ReplaySummary(ticks=total, symbols=list(self.names),
                             seconds=time.perf_counter() - started, last=last)

    @staticmethod
    def _patch_mid(b: _Block, data: np.ndarray, mid_texts: dict[int, str],
                   names: list[str], columns: dict[str, np.ndarray]) -> bytes:
        """Rewrite the rows whose mid ``Decimal`` wrote itself with an exponent."""
        lines = data.tobytes().split(b"\n")
        for i, text in mid_texts.items():
            values = ",".join(_format(np.array([columns[c][i] for c in names])))
            lines[i] = f"{b.line_text(i)},{text},{values}".encode()
        return b"\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run ``tickgate replay`` with parsed arguments; return the exit status."""
    try:
        config = ReplayConfig() if args.config is None else ReplayConfig.load(args.config)
        options = {} if args.bitstream is None else {"bitfile": args.bitstream}
        summary = replay(args.ticks, args.out, config=config, board=args.board,
                         raw_path=args.raw, board_options=options)
    except PackError as exc:
        print(f"tickgate replay: error: {args.ticks}, {exc}", file=sys.stderr)
        return 1
    except ReplayError as exc:
        print(f"tickgate replay: error: {exc}", file=sys.stderr)
        return 1
    print(f"tickgate replay: {summary.line()}", file=sys.stderr)
    return 0
