"""Reaching a running daemon from another process: ``tickgate kill``.

Two channels, both under the state directory:

- ``KILL``, a file: ``tickgate kill`` creates it first. It is durable (a daemon started
  while it exists starts with its kill switch set) and the daemon checks it every status
  period, so a kill lands even if the socket cannot be reached. ``tickgate kill --clear``
  removes it.
- ``control.sock``, a UNIX socket the daemon serves on its event loop (one JSON line in,
  one out): ``{"cmd": "kill"}`` sets the kill switch at once: no new order leaves the host,
  and the board's ``kill_set`` register is written (queued behind at most one tick batch in
  the board thread), so every later intent comes back refused with ``KILL``; the reply
  comes once the register is written. ``clear`` and ``status`` likewise. The loop never runs
  board work itself (see :mod:`.boardloop`), so the socket answers while the daemon is busy.

On a card the kill register is shared with anything that can reach the card; with the
model board the switch lives inside the daemon, hence the socket.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = ["ControlServer", "send_command", "KILL_FILE", "SOCKET_NAME", "kill_main"]

KILL_FILE = "KILL"
SOCKET_NAME = "control.sock"

Handler = Callable[[str], Awaitable[dict[str, Any]]]


class ControlServer:
    """The daemon's side: serves ``control.sock`` with ``handler(cmd) -> reply``."""

    def __init__(self, state_dir: Path, handler: Handler) -> None:
        self.path = state_dir / SOCKET_NAME
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        self.path.chmod(0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            try:
                cmd = str(json.loads(line).get("cmd", ""))
            except (ValueError, AttributeError):
                cmd = ""
            if cmd not in ("kill", "clear", "status"):
                reply: dict[str, Any] = {"ok": False, "error": f"unknown command {cmd!r}"}
            else:
                reply = await self.handler(cmd)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


def send_command(state_dir: Path, cmd: str, timeout: float = 5.0) -> dict[str, Any]:
    """Send ``cmd`` to the daemon of ``state_dir``; its reply. ``OSError`` when no daemon
    answers (blocking: for the command line, not for an event loop)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(state_dir / SOCKET_NAME))
        sock.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b"{}")


def kill_main(args: Any) -> int:
    """``tickgate kill [--clear] [--config F] [--state-dir D]``."""
    from tickgate.host.daemon.config import ConfigError, load_config

    try:
        overrides = {"daemon": {"state_dir": args.state_dir}} if args.state_dir else None
        config = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"tickgate kill: {exc}")
        return 2
    state_dir = config.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    kill_file = state_dir / KILL_FILE
    if args.clear:
        kill_file.unlink(missing_ok=True)
    else:
        kill_file.write_text("kill switch set by tickgate kill\n", encoding="utf-8")
    try:
        reply = send_command(state_dir, "clear" if args.clear else "kill", args.timeout)
    except OSError as exc:
        what = "cleared" if args.clear else "set"
        reason = exc.strerror or exc
        print(f"tickgate kill: no daemon answers on {state_dir / SOCKET_NAME} ({reason}); "
              f"the KILL file is {what}, a daemon starting now obeys it")
        return 0 if args.clear else 1
    if args.clear:
        print(f"tickgate kill --clear: kill switch {'clear' if reply.get('clear') else 'still set'}"
              f" ({reply.get('detail', '')})")
        return 0 if reply.get("clear") else 1
    print(f"tickgate kill: kill switch set ({reply.get('detail', '')})")
    return 0 if reply.get("ok") else 1
