"""The write-ahead file is a shared memory mapping: a line survives a SIGKILL of its writer
as soon as its newline is stored, and a copy cut short is dropped by the next open."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tickgate.host.daemon.journal import AHEAD_MAP_BYTES, AHEAD_SUFFIX, Journal

_WRITER = textwrap.dedent("""
    import os, signal, sys
    import orjson
    from tickgate.host.daemon.journal import Journal
    j = Journal(sys.argv[1], sync="normal", ahead=True)
    def events(cid):
        return [("intent", cid, None, {"action": "open", "symbol": "R_10", "side": 1,
                                       "lots": 1, "contract_type": "MULTUP", "stake": 5.0}),
                ("send", cid, None, {"call": "buy"})]
    j.write_ahead(events("a"))
    j.write_ahead_line(orjson.dumps([1.0, events("b")]))
    torn = orjson.dumps([2.0, events("c")])
    j._ahead_map[j._ahead_end:j._ahead_end + len(torn)] = torn   # copied, newline not yet
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_lines_of_a_killed_writer_are_merged_and_an_unfinished_one_dropped(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    done = subprocess.run([sys.executable, "-c", _WRITER, str(path)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert (tmp_path / ("j.sqlite" + AHEAD_SUFFIX)).stat().st_size == AHEAD_MAP_BYTES
    again = Journal(path, sync="normal")
    assert [(k, d["client_id"]) for _, k, d in again.events()] == [
        ("intent", "a"), ("send", "a"), ("intent", "b"), ("send", "b")]
    assert again.ahead_path.read_bytes() == b""
    again.close()


def test_the_writer_grows_the_mapping_and_leaves_only_its_lines_when_closed(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, sync="normal", ahead=True)
    line = b'[1.0,[["send","x",null,{"call":"buy","pad":"' + b"p" * 1000 + b'"}]]]'
    for _ in range(AHEAD_MAP_BYTES // len(line) + 10):
        journal.write_ahead_line(line)
    size = journal.ahead_path.stat().st_size
    assert size > AHEAD_MAP_BYTES
    journal.close()
    data = journal.ahead_path.read_bytes()
    assert data == (line + b"\n") * (AHEAD_MAP_BYTES // len(line) + 10)


def test_trim_zeroes_the_merged_lines_and_the_next_line_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, sync="normal", ahead=True)
    events = [("send", "x", None, {"call": "buy"})]
    journal.write_ahead(events)
    journal.trim_ahead()                       # not merged yet: kept
    assert journal.ahead_path.read_bytes().split(b"\n")[:-1] != []
    journal.append_many(events, merged_ahead=True)
    journal.trim_ahead()
    assert journal.ahead_path.read_bytes().strip(b"\0") == b""
    journal.write_ahead(events)
    assert journal.ahead_path.read_bytes().startswith(b"[")
    journal.close()
