"""Money safety: where the token comes from, and what an account may be traded with.

Rules (checked before the first order; each refusal is :class:`SafetyError`, one sentence,
never holding the token):

- The token comes only from a file (``[venue] token_file`` / ``--token-file``: its first
  line, blanks stripped) or from the environment variable ``[venue] token_env``; never from
  the command line or the configuration file. It is wrapped in a
  :class:`~tickgate.host.venues.deriv.redact.Secret` at once, so no log line, error or
  ``repr`` shows it.
- Demo unless asked twice: ``account = "real"`` (``--account real``) *and* ``allow_real =
  true`` in the configuration file; otherwise a real account is refused before connecting.
- After ``authorize``: the account must be what was asked (a demo run refuses a token that
  opens a real account, and the other way round), and a token carrying the ``payments`` or
  ``admin`` scope is refused whatever the account: a trading daemon needs ``read`` and
  ``trade`` only, and a leaked token with those scopes could move money out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tickgate.host.daemon.config import Config
from tickgate.host.venues.deriv.redact import Secret

__all__ = ["SafetyError", "FORBIDDEN_SCOPES", "load_token", "token_status",
           "check_account_request", "check_authorized"]

#: Scopes a trading token must not carry.
FORBIDDEN_SCOPES = ("payments", "admin")


class SafetyError(RuntimeError):
    """The daemon refuses to start: one sentence, no secret in it."""


def load_token(config: Config) -> Secret:
    """The API token from ``token_file`` or the ``token_env`` variable (file first)."""
    venue = config["venue"]
    path = venue["token_file"]
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise SafetyError(f"the token file {path} cannot be read ({exc.strerror}).") \
                from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise SafetyError(f"the token file {path} is empty.")
        return Secret(token)
    name = venue["token_env"]
    token = os.environ.get(name, "").strip()
    if not token:
        raise SafetyError(f"no API token: give --token-file FILE or set the environment "
                          f"variable {name}.")
    return Secret(token)


def token_status(config: Config) -> str:
    """Where the token comes from and whether it is there (for ``config show``)."""
    venue = config["venue"]
    if venue["kind"] == "sim":
        return "the in-process simulator's generated demo token (never shown)"
    if venue["token_file"]:
        present = Path(venue["token_file"]).expanduser().is_file()
        return f"from file {venue['token_file']} ({'present' if present else 'missing'})"
    present = bool(os.environ.get(venue["token_env"], "").strip())
    return (f"from environment variable {venue['token_env']} "
            f"({'set, value redacted' if present else 'not set'})")


def check_account_request(config: Config) -> None:
    """Refuse a real account unless the configuration allows it explicitly."""
    venue = config["venue"]
    if venue["account"] == "real" and not venue["allow_real"]:
        raise SafetyError("a real account needs allow_real = true in the [venue] section of "
                          "the configuration file as well as --account real; refusing to "
                          "start.")


def check_authorized(config: Config, info: dict[str, Any]) -> None:
    """Check ``authorize``'s reply against what the configuration asked for."""
    scopes = [s for s in info.get("scopes") or [] if isinstance(s, str)]
    bad = [s for s in FORBIDDEN_SCOPES if s in scopes]
    if bad:
        raise SafetyError(f"the API token carries the {' and '.join(bad)} scope(s); a trading "
                          "daemon takes tokens with read and trade scopes only, refusing to "
                          "start.")
    if "trade" not in scopes:
        raise SafetyError("the API token lacks the trade scope; refusing to start.")
    want_real = config["venue"]["account"] == "real"
    is_virtual = bool(info.get("is_virtual"))
    if want_real and is_virtual:
        raise SafetyError("--account real was asked for but the token opens a demo account.")
    if not want_real and not is_virtual:
        raise SafetyError("the token opens a real-money account but the run is a demo run; "
                          "use --account real with allow_real = true to trade it.")
