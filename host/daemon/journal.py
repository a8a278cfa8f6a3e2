"""The crash-safe order journal: an append-only SQLite log (WAL).

One table, ``events(id, ts, kind, client_id, contract_id, data)``: rows are only ever
inserted (triggers refuse ``UPDATE`` and ``DELETE``), each insert is its own committed
transaction (:meth:`Journal.append_many`: several events, one transaction), so after a
crash (SIGKILL, power loss) the file holds every event written before it and nothing
half-written.

Durability (``sync``, the daemon's ``[daemon] journal_sync``, whose default is ``normal``;
this class's default is ``full``): ``full`` syncs the WAL at every commit, so a committed
event survives a power loss; a commit costs an ``fsync`` (~4 ms p50, 12 ms p99 on the
virtio disk of the benchmark machine: more than the whole tick-to-order budget, see
``BENCHMARKS.md``). ``normal`` writes the WAL at every commit without syncing it: a
committed event survives the daemon's crash (SIGKILL, an exception) but an OS crash or power
loss may lose the last commits; a commit costs ~30 µs, so the daemon then writes the journal
on its event loop, in the order path itself.

Checkpoints (copying the WAL into the database file) sync the files in either mode; SQLite
runs one inside a commit every 1000 pages by default, which would put an ``fsync`` into
some order's path. With ``autocheckpoint=False`` (the daemon) commits never checkpoint; the
owner calls :meth:`Journal.checkpoint` off the hot path instead (the daemon does, in the
journal's thread, every status period).

The write-ahead file (``ahead=True``, the daemon's synchronous order path with
``normal``): ``<journal>-ahead`` beside the log. The order path writes an order's
``intent`` and ``send`` events there first, as one line (:meth:`Journal.write_ahead`), sends
the request, and only then appends the same events to the log
(:meth:`Journal.append_many` with ``merged_ahead``), so the log's order of events is
unchanged (no reply can be handled in between). The writer maps the file into memory
(``mmap``, shared, :data:`AHEAD_MAP_BYTES` zeroed bytes, grown when full) and a line is a
copy into the mapping, its newline stored last: no system call (a ``write`` of the line
cost ~15–40 µs p50 on the order path of the benchmark machine, a SQLite commit ~30 µs warm
and ~200 µs after the process slept). The mapping's pages are the kernel's page cache, so a
line whose newline is stored survives a crash of the process (SIGKILL), like a ``normal``
commit (and, like it, not a power loss). Whoever opens the journal next with the file
unlocked (its writer holds an ``flock`` while it lives) merges the lines whose events the
log lacks (an order sent, then the process killed before its events were appended); what
follows the last newline (a line whose copy never finished, so its request never left, and
the zeroed rest of the mapping) is dropped, and the file is emptied. The writer zeroes what
it wrote when every line is merged (:meth:`Journal.trim_ahead`) and cuts the file to its
lines when closed.

The daemon's view of its orders and contracts (:class:`JournalState`) is a fold of the
events, recomputed at start.

The order path's invariant: an order's ``intent`` event (with its client id) is committed
before anything about it is sent, and its ``send`` event is committed *before* the
money-moving request (``buy``/``sell``) leaves; then every venue reply is appended
(``proposal``, ``reply``, ``error``). So after a crash an intent without ``send`` was never
sent, and an intent with ``send`` but no reply is the only kind whose outcome is unknown:
reconciliation (:mod:`.reconcile`) settles it against the venue's books.

Events (``data`` is JSON; money in the account currency, ``lots`` signed by nothing: the
contract type gives the direction)::

    session     loginid, venue, venue_time              a daemon run started (after authorize)
    intent      client_id, action (open|close), symbol, side, lots, contract_type, stake,
                multiplier, take_profit, stop_loss, contract_id (close), venue_epoch, order_id
    proposal    client_id, proposal_id, ask_price       reply to the proposal (open only)
    send        client_id, call (buy|sell)              written just before the request leaves
    reply       client_id, call, contract_id, buy_price | sold_for, transaction_id
    error       client_id, call, code, message, unknown (true: it may have been executed)
    abandon     client_id, reason                       nothing was sent; the intent is over
    resolve     client_id, outcome (filled|not_executed|not_sent|closed), contract_id,
                buy_price, source                       reconciliation's verdict
    adopt       contract_id, symbol, contract_type, buy_price, lots, open, sell_price
    closed      contract_id, sell_price, source (stream|reply|reconcile)
    reconciled  counts of what reconciliation did
    day         day (YYYY-MM-DD, UTC), baseline, epoch   the first equity of a UTC day
                                                        (:mod:`.daypnl`); the first one wins
    day_breach  day, pnl_day, limit (cents)             the day's loss passed the limit

Intent states (:attr:`Intent.state`): ``pending`` (journaled, nothing money-moving sent),
``sent`` (the request may have left), ``unknown`` (it left and the reply was lost),
``filled``/``done`` (executed), ``rejected`` (the venue refused it), ``not_sent``,
``not_executed`` (resolved: the venue has no trace of it). The first three are
*unresolved*; reconciliation leaves none.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import mmap
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Journal", "JournalState", "Intent", "ContractRec", "UNRESOLVED", "SYNC_MODES",
           "lots_of"]

UNRESOLVED = frozenset({"pending", "sent", "unknown"})
#: SQLite ``synchronous`` settings the journal accepts (see the module docstring).
SYNC_MODES = ("full", "normal")
MULTIPLIER_TYPES = {"MULTUP": 1, "MULTDOWN": -1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT,
    contract_id INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_client ON events(client_id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""


#: The write-ahead file's name: the log's plus this.
AHEAD_SUFFIX = "-ahead"
#: The write-ahead file's mapped size (bytes) when opened; doubled whenever a line does
#: not fit (a line is ~400 bytes, and the file is zeroed each status period).
AHEAD_MAP_BYTES = 1 << 20
_INSERT = "INSERT INTO events(ts, kind, client_id, contract_id, data) VALUES "
_ROW = "(?,?,?,?,?)"


def _dumps(data: dict[str, Any]) -> str:
    """An event's ``data`` as JSON text, keys sorted (orjson; ``json`` for what orjson
    refuses, e.g. integers beyond 64 bits)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(data, sort_keys=True)


def lots_of(contract_type: str, buy_price: float, stake_per_lot: float) -> int:
    """Signed lots of a contract: ``±round(stake / stake_per_lot)`` (at least 1) for
    multipliers (MULTUP +, MULTDOWN -), 0 for any other contract type."""
    sign = MULTIPLIER_TYPES.get(contract_type, 0)
    return sign * max(1, round(buy_price / stake_per_lot)) if sign else 0


@dataclass
class Intent:
    """One order intent as the journal knows it."""

    client_id: str
    action: str                    # open | close
    symbol: str
    side: int
    lots: int
    contract_type: str
    stake: float
    venue_epoch: int
    contract_id: int | None = None  # close: the contract to sell; open: once filled
    state: str = "pending"
    seq: int = 0                   # the intent event's id (journal order)

    @property
    def resolved(self) -> bool:
        return self.state not in UNRESOLVED


@dataclass
class ContractRec:
    """A venue contract the journal accounts for (bought by an intent, or adopted)."""

    contract_id: int
    symbol: str
    contract_type: str
    buy_price: float
    lots: int                      # signed: + long (MULTUP), - short (MULTDOWN), 0 other
    client_id: str | None          # None: adopted (bought outside this daemon's journal)
    open: bool = True
    sell_price: float | None = None


@dataclass
class JournalState:
    """The fold of every event: intents, contracts, the account it belongs to."""

    loginid: str | None = None
    first_venue_time: int | None = None
    intents: dict[str, Intent] = field(default_factory=dict)
    contracts: dict[int, ContractRec] = field(default_factory=dict)
    events: int = 0
    #: UTC day (``YYYY-MM-DD``) → the equity its P&L counts from (the day's first ``day``).
    day_baselines: dict[str, float] = field(default_factory=dict)
    #: UTC days whose loss passed the daily limit.
    day_breaches: set[str] = field(default_factory=set)
    #: The open ones of ``contracts`` (the per-order look-ups scan these, not every
    #: contract of the run).
    _open: dict[int, ContractRec] = field(default_factory=dict, repr=False)

    def unresolved(self) -> list[Intent]:
        """Intents whose outcome is not settled, in journal order."""
        return sorted((i for i in self.intents.values() if not i.resolved),
                      key=lambda i: i.seq)

    def open_contracts(self, symbol: str | None = None) -> list[ContractRec]:
        """Open contracts (of ``symbol``), oldest first."""
        return sorted((c for c in self._open.values()
                       if c.open and (symbol is None or c.symbol == symbol)),
                      key=lambda c: c.contract_id)

    def position(self, symbol: str) -> int:
        """Signed lots of ``symbol`` over its open contracts."""
        return sum(c.lots for c in self._open.values() if c.open and c.symbol == symbol)

    # -- the fold --------------------------------------------------------------------------
    def apply(self, seq: int, kind: str, client_id: str | None, contract_id: int | None,
              data: dict[str, Any], stake_per_lot: float = 10.0) -> None:
        """Apply one event (the journal's order)."""
        self.events += 1
        intent = self.intents.get(client_id) if client_id else None
        if kind == "session":
            self.loginid = self.loginid or data.get("loginid")
            if self.first_venue_time is None and data.get("venue_time") is not None:
                self.first_venue_time = int(data["venue_time"])
        elif kind == "day":
            self.day_baselines.setdefault(str(data["day"]), float(data["baseline"]))
        elif kind == "day_breach":
            self.day_breaches.add(str(data["day"]))
        elif kind == "intent":
            assert client_id is not None
            self.intents[client_id] = Intent(
                client_id, data["action"], data["symbol"], int(data["side"]),
                int(data["lots"]), data["contract_type"], float(data["stake"]),
                int(data.get("venue_epoch") or 0), data.get("contract_id"), "pending", seq)
        elif intent is None:
            self._apply_contract_event(kind, contract_id, data, stake_per_lot)
        elif kind == "send":
            intent.state = "sent"
        elif kind == "reply":
            if data.get("call") == "buy":
                self._filled(intent, int(data["contract_id"]), float(data["buy_price"]))
            else:
                intent.state = "done"
                self._close(intent.contract_id, data.get("sold_for"))
        elif kind == "error":
            intent.state = "unknown" if data.get("unknown") else "rejected"
        elif kind == "abandon":
            intent.state = "not_sent"
        elif kind == "resolve":
            outcome = data["outcome"]
            if outcome == "filled":
                self._filled(intent, int(data["contract_id"]), float(data["buy_price"]))
            elif outcome == "closed":
                intent.state = "done"
                self._close(intent.contract_id, data.get("sell_price"))
            else:
                intent.state = outcome

    def _filled(self, intent: Intent, contract_id: int, buy_price: float) -> None:
        intent.state = "filled"
        intent.contract_id = contract_id
        sign = MULTIPLIER_TYPES.get(intent.contract_type, 0)
        rec = ContractRec(contract_id, intent.symbol, intent.contract_type, buy_price,
                          sign * intent.lots, intent.client_id)
        self.contracts[contract_id] = rec
        self._open[contract_id] = rec

    def _close(self, contract_id: int | None, sell_price: Any) -> None:
        rec = self.contracts.get(contract_id) if contract_id is not None else None
        if rec is not None and rec.open:
            rec.open = False
            self._open.pop(rec.contract_id, None)
            rec.sell_price = None if sell_price is None else float(sell_price)

    def _apply_contract_event(self, kind: str, contract_id: int | None, data: dict[str, Any],
                              stake_per_lot: float) -> None:
        if kind == "adopt" and contract_id is not None and contract_id not in self.contracts:
            rec = ContractRec(
                contract_id, data["symbol"], data["contract_type"], float(data["buy_price"]),
                int(data["lots"]), None, bool(data["open"]),
                None if data.get("sell_price") is None else float(data["sell_price"]))
            self.contracts[contract_id] = rec
            if rec.open:
                self._open[contract_id] = rec
        elif kind == "closed":
            self._close(contract_id, data.get("sell_price"))


class Journal:
    """The SQLite event log (see the module docstring). Not thread-safe: one thread uses it
    (the daemon gives it a worker thread of its own, so commits never block the loop)."""

    def __init__(self, path: str | Path, *, stake_per_lot: float = 10.0,
                 sync: str = "full", autocheckpoint: bool = True,
                 ahead: bool = False) -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stake_per_lot = stake_per_lot
        self.sync = sync
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={sync.upper()}")
        self.db.executescript(_SCHEMA)
        if not autocheckpoint:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer: sqlite3.Connection | None = None
        # Held by a checkpoint (another thread may run it) and by close: closing a SQLite
        # connection while another thread runs a statement on it crashes the process (a
        # status period's checkpoint still running when the daemon closed the journal at
        # exit: SIGSEGV in ``bench_tick_to_order.py``, about 1 run in 10).
        self._checkpoint_lock = threading.Lock()
        self._closed = False
        self._ids = itertools.count(1)
        self._prefix = f"tg{int(time.time() * 1000):x}{os.getpid() % 4096:03x}"
        self.ahead_path = Path(str(self.path) + AHEAD_SUFFIX)
        self._ahead_fd: int | None = None
        self._ahead_map: mmap.mmap | None = None
        self._ahead_end = 0            # bytes of lines in the mapping
        self._unmerged = 0
        self._merge_ahead(own=ahead)

    def close(self) -> None:
        """Close the log (after a checkpoint running in another thread has ended) and the
        write-ahead file; a later :meth:`checkpoint` does nothing."""
        with self._checkpoint_lock:
            self._closed = True
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        if self._ahead_fd is not None:
            if self._ahead_map is not None:
                self._ahead_map.close()
                self._ahead_map = None
            os.ftruncate(self._ahead_fd, self._ahead_end)     # the lines, no zeroes
            os.close(self._ahead_fd)
            self._ahead_fd = None
        self.db.close()

    # -- the write-ahead file (see the module docstring) -----------------------------------
    @property
    def has_ahead(self) -> bool:
        """Whether this journal writes ahead (opened with ``ahead=True``)."""
        return self._ahead_fd is not None

    def _merge_ahead(self, *, own: bool) -> None:
        """Append the events of write-ahead lines the log lacks, empty the file; with
        ``own``, keep it open (and locked) to write ahead."""
        if not own and not self.ahead_path.exists():
            return
        fd = os.open(self.ahead_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            if own:
                raise RuntimeError(f"{self.ahead_path} is held by another process") from None
            return                      # its writer lives and merges its own lines
        try:
            with open(fd, "rb", closefd=False) as f:
                lines = f.read().split(b"\n")[:-1]    # after the last newline: torn, zeroes
            missing: list[tuple[str, str | None, int | None, dict[str, Any]]] = []
            for line in lines:
                try:
                    _, events = orjson.loads(line.lstrip(b"\0"))
                    kind, client_id = events[0][0], events[0][1]
                except (orjson.JSONDecodeError, TypeError, ValueError, IndexError):
                    continue            # empty, or torn: its write never returned
                if self.db.execute("SELECT 1 FROM events WHERE client_id = ? AND kind = ?",
                                   (client_id, kind)).fetchone() is None:
                    missing += [(k, c, n, d) for k, c, n, d in events]
            if missing:
                self.append_many(missing)
            os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        if own:
            self._ahead_fd = fd
            self._map_ahead(AHEAD_MAP_BYTES)
        else:
            os.close(fd)

    def _map_ahead(self, size: int) -> None:
        """(Re)map the write-ahead file at ``size`` bytes (zeroes past its lines), every
        page faulted in now rather than on the order path."""
        assert self._ahead_fd is not None
        if self._ahead_map is not None:
            self._ahead_map.close()
        os.ftruncate(self._ahead_fd, size)
        self._ahead_map = mmap.mmap(self._ahead_fd, size, mmap.MAP_SHARED | mmap.MAP_POPULATE)

    def write_ahead(self, events: list[tuple[str, str | None, int | None, dict[str, Any]]]
                    ) -> None:
        """Write ``(kind, client_id, contract_id, data)`` events to the write-ahead file in
        one ``write`` (they survive a crash of this process once this returns); append
        them to the log next with ``append_many(events, merged_ahead=True)``."""
        self.write_ahead_line(orjson.dumps([time.time(), events]))

    def write_ahead_line(self, line: bytes) -> None:
        """:meth:`write_ahead` of events already encoded: ``line`` is the JSON text of
        ``[ts, events]`` (``ts`` Unix seconds; no newline), what :meth:`write_ahead` writes
        for them (the order path's templates, :mod:`.ordertemplates`)."""
        m = self._ahead_map
        if m is None:
            raise RuntimeError("this journal was opened without ahead=True")
        start = self._ahead_end
        end = start + len(line)
        if end >= len(m):
            self._map_ahead(max(2 * len(m), 2 * (end + 1)))
            m = self._ahead_map
            assert m is not None
        m[start:end] = line
        m[end] = 10                    # the newline last: the line counts once it is stored
        self._ahead_end = end + 1
        self._unmerged += 1

    def rehearse_ahead_line(self, line: bytes) -> None:
        """:meth:`write_ahead_line`'s look-ups for ``line`` with nothing written: the
        mapping's bytes where it would go are read, so the page and the code stay warm
        (the order path's rehearsal)."""
        m = self._ahead_map
        if m is None:
            raise RuntimeError("this journal was opened without ahead=True")
        end = self._ahead_end + len(line)
        if end < len(m):
            m[self._ahead_end]
            m[end]

    def trim_ahead(self) -> None:
        """Empty the write-ahead file when every line of it is in the log (on the thread
        that writes ahead, between two orders)."""
        if self._ahead_map is not None and not self._unmerged and self._ahead_end:
            self._ahead_map[:self._ahead_end] = bytes(self._ahead_end)
            self._ahead_end = 0

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (a passive checkpoint: writers are not
        blocked), on a connection of its own, so it may run in another thread than the
        writes (and than :meth:`close`, which waits for it). Nothing once closed."""
        with self._checkpoint_lock:
            if self._closed:
                return
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, isolation_level=None,
                                                     check_same_thread=False)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @property
    def journal_mode(self) -> str:
        """``wal`` when the log is in WAL mode."""
        return str(self.db.execute("PRAGMA journal_mode").fetchone()[0])

    def new_client_id(self) -> str:
        """A client order id unique across runs: ``tg<ms><pid>-<n>``."""
        return f"{self._prefix}-{next(self._ids)}"

    def append(self, kind: str, client_id: str | None = None, contract_id: int | None = None,
               **data: Any) -> int:
        """Append one event and commit it (durable on return); return its id."""
        if client_id is not None:
            data["client_id"] = client_id
        if contract_id is not None:
            data["contract_id"] = contract_id
        cur = self.db.execute(_INSERT + _ROW,
                              (time.time(), kind, client_id, contract_id, _dumps(data)))
        return int(cur.lastrowid or 0)

    def append_many(self, events: list[tuple[str, str | None, int | None, dict[str, Any]]],
                    *, merged_ahead: bool = False) -> list[int]:
        """Append ``(kind, client_id, contract_id, data)`` events in one transaction (one
        statement, one commit, one sync: all or none after a crash); return their ids.
        ``merged_ahead``: they are a line of :meth:`write_ahead`, now in the log."""
        if not events:
            return []
        now = time.time()
        values: list[Any] = []
        for kind, client_id, contract_id, data in events:
            if client_id is not None or contract_id is not None:
                data = dict(data)
                if client_id is not None:
                    data["client_id"] = client_id
                if contract_id is not None:
                    data["contract_id"] = contract_id
            values += (now, kind, client_id, contract_id, _dumps(data))
        rows = self.db.execute(_INSERT + ",".join([_ROW] * len(events)) + " RETURNING id",
                               values).fetchall()
        if merged_ahead:
            self._unmerged -= 1
        return sorted(int(r[0]) for r in rows)

    def events(self, kind: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        """``(id, kind, data)`` of every event (of ``kind``), in order."""
        sql = "SELECT id, kind, data FROM events"
        rows = (self.db.execute(sql + " WHERE kind = ? ORDER BY id", (kind,)) if kind
                else self.db.execute(sql + " ORDER BY id"))
        return [(i, k, json.loads(d)) for i, k, d in rows]

    def state(self) -> JournalState:
        """Fold every event into a :class:`JournalState`."""
        st = JournalState()
        for seq, kind, client_id, contract_id, data in self.db.execute(
                "SELECT id, kind, client_id, contract_id, data FROM events ORDER BY id"):
            st.apply(seq, kind, client_id, contract_id, json.loads(data), self.stake_per_lot)
        return st
