"""The daemon's commands: ``tickgate run``, ``tickgate kill``, ``tickgate config show``.

Flags override the configuration file's keys (``--board`` → ``[daemon] board``,
``--venue`` → ``[venue] kind``, ``--app-id``, ``--token-file``, ``--url``, ``--account``,
``--state-dir``, ``--speed`` → ``[sim] speed``) and go through the same validation. There is
deliberately no flag for the token itself: a command line is visible to every user of the
machine (``ps``) and lands in shell histories.

Exit status of ``run``: 0 after a clean stop, 2 when it refuses to start (configuration,
money safety, connection, authorisation: one sentence on stderr), 3 when the journal and the
venue disagree.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_run_arguments", "add_config_arguments", "add_kill_arguments", "run_main",
           "config_main"]


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``tickgate run``."""
    p.add_argument("--config", help="TOML configuration (see `tickgate config show` for every "
                   "key and its default)")
    p.add_argument("--board", choices=["model", "sim", "pynq", "alveo"],
                   help="board computing features, decisions and the risk gate (default model)")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop after this long and print a summary (default: until Ctrl-C)")
    p.add_argument("--summary-json", metavar="FILE", help="also write the summary as JSON")
    p.add_argument("--venue", choices=["sim", "deriv"],
                   help="sim: the in-process simulator (default); deriv: Deriv's API")
    p.add_argument("--app-id", type=int, help="Deriv application id (venue deriv)")
    p.add_argument("--token-file", help="file holding the API token (or set the environment "
                   "variable named by [venue] token_env, TICKGATE_DERIV_TOKEN by default)")
    p.add_argument("--url", help="venue WebSocket URL (a simulator or a Deriv endpoint)")
    p.add_argument("--account", choices=["demo", "real"],
                   help="demo (default); real also needs allow_real = true in the config")
    p.add_argument("--state-dir", help="journal, control socket and KILL file directory")
    p.add_argument("--speed", type=float, help="the in-process simulator's clock speed")
    p.add_argument("--reconcile-only", action="store_true",
                   help="connect, reconcile the journal with the venue, print, exit")


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    """``tickgate config show`` takes the same flags as ``run``."""
    add_run_arguments(p)


def add_kill_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``tickgate kill``."""
    p.add_argument("--config", help="the daemon's TOML configuration (for its state dir)")
    p.add_argument("--state-dir", help="the daemon's state directory")
    p.add_argument("--clear", action="store_true", help="clear the kill switch instead")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the daemon")


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"daemon": {}, "venue": {}, "sim": {}}
    for flag, (section, key) in {
            "board": ("daemon", "board"), "state_dir": ("daemon", "state_dir"),
            "venue": ("venue", "kind"), "app_id": ("venue", "app_id"),
            "token_file": ("venue", "token_file"), "url": ("venue", "url"),
            "account": ("venue", "account"), "speed": ("sim", "speed")}.items():
        value = getattr(args, flag, None)
        if value is not None:
            out[section][key] = value
    if out["venue"].get("token_file") or out["venue"].get("app_id") or out["venue"].get("url"):
        out["venue"].setdefault("kind", "deriv")
    return {k: v for k, v in out.items() if v}


def _fail(command: str, text: str, status: int = 2) -> int:
    print(f"tickgate {command}: {text}", file=sys.stderr, flush=True)
    return status


def run_main(args: argparse.Namespace) -> int:
    """``tickgate run``."""
    from tickgate.host.daemon.config import ConfigError, load_config

    try:
        config = load_config(args.config, _overrides(args))
    except ConfigError as exc:
        return _fail("run", str(exc))
    if args.duration is not None and args.duration <= 0:
        return _fail("run", "--duration must be a positive number of seconds.")
    from tickgate.host.daemon.daemon import (
        DisagreementError,
        SafetyError,
        StartError,
        run_daemon,
        setup_logging,
    )
    from tickgate.host.venues.deriv.redact import redact

    setup_logging()
    try:
        return run_daemon(config, duration=args.duration, summary_json=args.summary_json,
                          reconcile_only=args.reconcile_only)
    except (SafetyError, StartError, ConfigError) as exc:
        return _fail("run", redact(str(exc)))
    except DisagreementError as exc:
        return _fail("run", redact(str(exc)), 3)
    except KeyboardInterrupt:
        return 0


def config_main(args: argparse.Namespace) -> int:
    """``tickgate config show``."""
    from tickgate.host.daemon.config import ConfigError, load_config, render_toml
    from tickgate.host.daemon.safety import token_status
    from tickgate.host.venues.deriv.redact import redact

    try:
        config = load_config(args.config, _overrides(args))
    except ConfigError as exc:
        return _fail("config", str(exc))
    sys.stdout.write(redact(render_toml(config, token_status(config))))
    return 0
