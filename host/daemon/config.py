"""The daemon's configuration: one TOML file, documented defaults, validated at start.

Every key, its default and its unit is in :data:`DEFAULTS` (printed by ``tickgate config
show``, which is also the reference). A file only needs the keys it changes. Validation
happens once, before anything starts, and fails with :class:`ConfigError` whose text is one
sentence naming the key: an unknown section or key, a value of the wrong type, or a value
outside its range (``[risk] max_qty must be an integer in 1 .. 4294967295, not -1.``).

Sections
--------
``[daemon]`` which board and its build's size (``board_symbols``: the model board sizes
itself to the symbol list, the sim board holds 64 unless told), which symbols, where the
state (journal, control socket, kill file) lives, how often the status line is refreshed,
how batches reach the board and how durable the journal's commits are.
``[venue]`` ``kind = "sim"`` (the in-process market simulator, a fresh demo account every
run) or ``"deriv"`` (Deriv's WebSocket API, or any URL speaking it); the token comes only
from ``token_file`` or the environment variable named by ``token_env``, never from this
file; ``account = "real"`` also needs ``allow_real = true``.
``[sim]`` the in-process simulator's clock speed and seed.
``[execution]`` how an intent becomes a contract: multipliers (MULTUP for a buy, MULTDOWN
for a sell), ``stake_per_lot`` in the account currency, take-profit and stop-loss amounts.
``[decision]`` the decision unit's registers (:class:`~tickgate.gateware.decision.
DecisionConfig`): a placeholder momentum/trend rule, not a trained model.
``[host_strategy]`` a strategy computed on the host (:mod:`.hoststrategy`), off by
default: its orders pass the card's risk gate (``submit_orders``) like the intents.
``[risk]`` the gate's limits (:class:`~tickgate.gateware.risk_model.RiskLimits`; units lots,
pips, ms of market time, cents) plus ``pos_limit`` per symbol and order rates.

Journal durability (``[daemon] journal_sync``): the default is ``"normal"`` (SQLite WAL,
``synchronous=NORMAL``): a committed event survives a crash of the daemon (SIGKILL, what
``tests/daemon/test_daemon_sigkill.py`` does at every point of the buy path) but an OS crash
or power loss may lose the last commits. A commit then costs ~30 µs instead of an ``fsync``
(~4 ms p50, 12 ms p99 on the benchmark machine's disk), which is what lets an order leave
within the tick's own callback (tick to order p99 under 250 µs is the daemon's goal; with
``"full"`` the disk alone is over it). What a power loss can cost: the journal may miss the
last intents and replies; nothing is re-sent on start (intents without a reply are resolved
against the venue), and a contract the venue has but the journal lost is adopted by
reconciliation, so positions and the risk gate still see it. ``"full"`` syncs every commit
(in the journal's thread, off the event loop) for a journal that also survives a power
loss.

Secrets: the file holds none (a ``token`` key is refused as unknown); ``config show``
prints where the token would come from and whether it is there, never its value.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickgate.gateware.params import EngineParams

__all__ = ["ConfigError", "Config", "DEFAULTS", "load_config", "render_toml",
           "DEFAULT_SYMBOLS", "default_state_dir", "board_build"]

#: Ten synthetic indices the simulator and Deriv both offer (2 s and 1 s tick rates).
DEFAULT_SYMBOLS = ["R_10", "R_25", "R_50", "R_75", "R_100",
                   "1HZ10V", "1HZ25V", "1HZ50V", "1HZ75V", "1HZ100V"]

_U32 = 2**32 - 1
_I32 = (-(2**31), 2**31 - 1)

#: Every key with its default. Comments are the documentation ``config show`` prints.
DEFAULTS: dict[str, dict[str, Any]] = {
    "daemon": {
        "board": "model",            # model | sim | pynq | alveo
        "bitstream": "",             # the card's image for pynq/alveo ("" = installed one)
        "symbols": DEFAULT_SYMBOLS,  # traded symbols, at most what the board holds
        "board_symbols": 0,          # symbols of the board's build (model, sim: a power of
                                     # two, 2 .. 256); 0 = model: the smallest build of at
                                     # least 64 that holds the symbols, sim: 64 (make sim);
                                     # pynq/alveo: 0, the card's bitstream decides
        "state_dir": "",             # journal, control socket, KILL file; "" = XDG state dir
        "status_interval_s": 1.0,    # status line refresh (TTY); log lines every 10 of them
        "batch_max": 256,            # ticks per board call at most
        "inline_max": 16,            # model board: batches up to this size run on the event
                                     # loop (no thread hop); 0 = always the board thread
        "journal_sync": "normal",    # normal: survives a crash of the daemon (SIGKILL), not
                                     # a power loss; ~30 us a commit, orders journaled and
                                     # sent in the tick's callback; full: fsync every
                                     # commit (power-loss safe, ~4 ms, journal thread)
        "cpu_latency_us": -1,        # while trading, hold the CPUs' PM QoS latency limit at
                                     # this many us (0: idle CPUs poll, no halt: the first
                                     # tick after a quiet spell is not slowed; root only,
                                     # burns idle CPU); -1 = off (host/daemon/cpulatency.py)
        "rehearse_us": 1000,         # when no frame came for this long, run the tick-to-
                                     # order path on the last tick, undone, without sending
                                     # (keeps it in the CPU caches: host/daemon/rehearsal.py;
                                     # a few % of a core while idle); 0 = off, else at
                                     # least 1000 (the loop's timers count milliseconds)
    },
    "venue": {
        "kind": "sim",               # sim (in-process simulator) | deriv
        "app_id": 1089,              # Deriv application id
        "url": "",                   # deriv: endpoint override ("" = Deriv's v3 URL)
        "token_file": "",            # deriv: file holding the API token
        "token_env": "TICKGATE_DERIV_TOKEN",  # deriv: or this environment variable
        "account": "demo",           # demo | real
        "allow_real": False,         # must be true for account = "real"
    },
    "sim": {
        "speed": 20.0,               # simulated seconds per real second
        "seed": 0,                   # price paths' seed
    },
    "execution": {
        "stake_per_lot": 10.0,       # account currency per lot (the contract's stake)
        "multiplier": 100,           # Deriv multiplier (synthetics offer 40..400)
        "take_profit": 5.0,          # currency; 0 = none
        "stop_loss": 5.0,            # currency, at most the stake; 0 = none
        "order_timeout_s": 10.0,     # one venue request's timeout (real seconds)
        "max_queue": 32,             # accepted intents waiting for the venue, at most
        "order_mode": "direct",      # direct: buy with parameters (one request);
                                     # proposal: proposal, then buy of it (a round trip more)
    },
    "decision": {
        "enable": True,              # fire intents (placeholder strategy: momentum/trend)
        "warmup": 30,                # ticks per symbol before it may fire
        "bias": 0,
        "enter": 256,                # |score| that opens
        "exit": 0,                   # score that closes
        "qty": 1,                    # lots per intent
        "strategy": 1,               # strategy id echoed in the records
        "weights": [0, 0, 4, 4, 1, 0, 1, 0],
        "shifts": [16, 16, 16, 16, 0, 16, 0, 0],
    },
    "host_strategy": {
        "enable": False,             # run a host strategy beside the card's decision unit
        "name": "reversal",          # reversal: the example (host/daemon/hoststrategy.py)
        "every": 50,                 # reversal: one order per this many ticks of a symbol
        "qty": 1,                    # lots per order
    },
    "risk": {
        "max_qty": 5,                # lots per order
        "max_notional": 10**15,      # lots * pips per order (pips differ by symbol: loose)
        "collar_bps": 200,           # price band around the last tick
        "stale_ms": 10_000,          # market ms since the symbol's last tick
        "pos_limit": 2,              # lots per symbol
        "gross_limit": 10,           # lots over all symbols
        "daily_loss_limit": 50_000,  # cents (500.00) below the equity at the start of
                                     # the UTC day (journaled: a restart keeps it)
        "max_drawdown": 100_000,     # cents (1000.00) below the equity peak
        "rate_sym_orders": 2,        # per symbol: this many orders ...
        "rate_sym_per_ms": 20_000,   # ... per this many market ms (0 = off)
        "rate_global_orders": 5,     # over all symbols: this many ...
        "rate_global_per_ms": 5_000, # ... per this many market ms (0 = off)
        "dup_window_ms": 1_000,      # same side/qty/price again within it is refused
    },
}

#: ``(kind, lo, hi)`` or ``(kind, choices)`` per key; kinds: int, float, bool, str, path,
#: symbols, ints8 (eight integers).
_RULES: dict[str, dict[str, tuple[Any, ...]]] = {
    "daemon": {"board": ("choice", ("model", "sim", "pynq", "alveo")), "bitstream": ("str",),
               "symbols": ("symbols",), "board_symbols": ("build",), "state_dir": ("str",),
               "status_interval_s": ("float", 0.05, 3600.0), "batch_max": ("int", 1, 524_287),
               "inline_max": ("int", 0, 524_287),
               "journal_sync": ("choice", ("full", "normal")),
               "cpu_latency_us": ("int", -1, 2**31 - 1),
               "rehearse_us": ("period_us",)},
    "venue": {"kind": ("choice", ("sim", "deriv")), "app_id": ("int", 1, 10**19 - 1),
              "url": ("url",), "token_file": ("str",), "token_env": ("envname",),
              "account": ("choice", ("demo", "real")), "allow_real": ("bool",)},
    "sim": {"speed": ("float", 0.01, 10_000.0), "seed": ("int", 0, _U32)},
    "execution": {"stake_per_lot": ("float", 0.35, 50_000.0),
                  "multiplier": ("int", 1, 5000),
                  "take_profit": ("float", 0.0, 1e9), "stop_loss": ("float", 0.0, 1e9),
                  "order_timeout_s": ("float", 0.5, 300.0), "max_queue": ("int", 1, 10_000),
                  "order_mode": ("choice", ("direct", "proposal"))},
    "decision": {"enable": ("bool",), "warmup": ("int", 0, _U32), "bias": ("int", *_I32),
                 "enter": ("int", *_I32), "exit": ("int", *_I32), "qty": ("int", 1, _I32[1]),
                 "strategy": ("int", 0, 255), "weights": ("ints8", -(2**15), 2**15 - 1),
                 "shifts": ("ints8", 0, 63)},
    "host_strategy": {"enable": ("bool",), "name": ("choice", ("reversal",)),
                      "every": ("int", 1, _U32), "qty": ("int", 1, _I32[1])},
    "risk": {"max_qty": ("int", 1, _U32), "max_notional": ("int", 1, 2**64 - 1),
             "collar_bps": ("int", 1, 2**16 - 1), "stale_ms": ("int", 1, _U32),
             "pos_limit": ("int", 1, 2**31 - 1), "gross_limit": ("int", 1, _U32),
             "daily_loss_limit": ("int", 0, _U32), "max_drawdown": ("int", 0, _U32),
             "rate_sym_orders": ("int", 1, 2**20), "rate_sym_per_ms": ("int", 0, 2**30),
             "rate_global_orders": ("int", 1, 2**20),
             "rate_global_per_ms": ("int", 0, 2**30), "dup_window_ms": ("int", 0, _U32)},
}
assert _RULES.keys() == DEFAULTS.keys() and all(
    _RULES[s].keys() == DEFAULTS[s].keys() for s in DEFAULTS)


class ConfigError(ValueError):
    """A configuration the daemon refuses; the text is one sentence naming the key."""


@dataclass(frozen=True)
class Config:
    """A validated configuration: ``values[section][key]``, every key present."""

    values: dict[str, dict[str, Any]]
    source: str = "(defaults)"

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    @property
    def state_dir(self) -> Path:
        """Where the journal, the control socket and the KILL file live."""
        text = self.values["daemon"]["state_dir"]
        return Path(text).expanduser() if text else default_state_dir()


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/tickgate`` (``~/.local/state/tickgate``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tickgate"


def _check(section: str, key: str, value: Any) -> Any:
    rule = _RULES[section][key]
    kind = rule[0]
    where = f"[{section}] {key}"
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}.")
        return value
    if kind == "int":
        lo, hi = rule[1], rule[2]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"{where} must be an integer in {lo} .. {hi}, not {value!r}.")
        return value
    if kind == "float":
        lo, hi = rule[1], rule[2]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not lo <= value <= hi:
            raise ConfigError(f"{where} must be a number in {lo:g} .. {hi:g}, not {value!r}.")
        return float(value)
    if kind == "choice":
        if value not in rule[1]:
            raise ConfigError(f"{where} must be one of {', '.join(rule[1])}, not {value!r}.")
        return value
    if kind in ("str", "url", "envname"):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}.")
        if kind == "url" and value and not value.startswith(("ws://", "wss://")):
            raise ConfigError(f"{where} must be a ws:// or wss:// URL, not {value!r}.")
        if kind == "envname" and not value.replace("_", "a").isalnum():
            raise ConfigError(f"{where} must be an environment variable name, not {value!r}.")
        return value
    if kind == "symbols":
        if (not isinstance(value, list) or not value
                or not all(isinstance(s, str) and s.isprintable() and s for s in value)):
            raise ConfigError(f"{where} must be a non-empty list of symbol names.")
        if len(set(value)) != len(value):
            raise ConfigError(f"{where} lists a symbol twice.")
        if len(value) > 256:
            raise ConfigError(f"{where} lists {len(value)} symbols; a card holds 256 at most.")
        return list(value)
    if kind == "build":
        if (isinstance(value, bool) or not isinstance(value, int)
                or not (value == 0 or 2 <= value <= 256 and not value & (value - 1))):
            raise ConfigError(f"{where} must be 0 or a power of two in 2 .. 256, not "
                              f"{value!r}.")
        return value
    if kind == "period_us":
        # the event loop's timers count whole milliseconds: a shorter period would spin it
        if (isinstance(value, bool) or not isinstance(value, int)
                or not (value == 0 or 1000 <= value <= 10**7)):
            raise ConfigError(f"{where} must be 0 (off) or an integer in 1000 .. 10000000 "
                              f"(the event loop's timers count milliseconds), not {value!r}.")
        return value
    if kind == "ints8":
        lo, hi = rule[1], rule[2]
        if (not isinstance(value, list) or len(value) != 8
                or not all(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
                           for v in value)):
            raise ConfigError(f"{where} must be a list of 8 integers in {lo} .. {hi}.")
        return list(value)
    raise AssertionError(kind)


#: The build of the board ``make sim`` compiles, and the model board's smallest automatic
#: one: the engine's default size.
DEFAULT_BUILD = EngineParams().n_symbols


def _power_of_two_for(n: int) -> int:
    """The smallest power of two that holds ``n`` symbols."""
    return 1 << (n - 1).bit_length()


def board_build(daemon: Mapping[str, Any]) -> int | None:
    """Symbols of the board build ``[daemon]`` asks for (None: the card's own, pynq/alveo):
    ``board_symbols``, or when 0 the smallest power of two of at least 64 that holds the
    symbol list (model board) or 64 (sim board: the build ``make sim`` makes)."""
    if daemon["board"] not in ("model", "sim"):
        return None
    if daemon["board_symbols"]:
        return int(daemon["board_symbols"])
    if daemon["board"] == "sim":
        return DEFAULT_BUILD
    return max(DEFAULT_BUILD, _power_of_two_for(len(daemon["symbols"])))


def _check_board(daemon: Mapping[str, Any]) -> None:
    n = len(daemon["symbols"])
    if daemon["board"] not in ("model", "sim"):
        if daemon["board_symbols"]:
            raise ConfigError(f"[daemon] board_symbols must be 0 for the {daemon['board']} "
                              f"board: the card's bitstream decides how many symbols it "
                              f"holds.")
        return
    build = board_build(daemon)
    assert build is not None
    if n > build and not daemon["board_symbols"]:
        size = _power_of_two_for(n)
        raise ConfigError(f"[daemon] symbols lists {n} symbols but the sim board's default "
                          f"build holds {build}: set [daemon] board_symbols = {size} (its "
                          f"Verilator library is built on first use, or beforehand with "
                          f"make sim SYMBOLS={size}).")
    if n > build:
        raise ConfigError(f"[daemon] symbols lists {n} symbols but a board of "
                          f"board_symbols = {build} holds {build}.")


def _cross_checks(values: dict[str, dict[str, Any]]) -> None:
    _check_board(values["daemon"])
    ex = values["execution"]
    if ex["stop_loss"] > ex["stake_per_lot"]:
        raise ConfigError("[execution] stop_loss must not exceed stake_per_lot (Deriv refuses "
                          "a stop loss above the stake).")
    venue = values["venue"]
    if venue["account"] == "real" and venue["kind"] == "sim":
        raise ConfigError("[venue] account = \"real\" needs kind = \"deriv\": the simulator "
                          "has no real money.")


def validate(raw: Mapping[str, Any], source: str = "(given)") -> Config:
    """Merge ``raw`` over :data:`DEFAULTS`, check every key; return the :class:`Config`."""
    values = copy.deepcopy(DEFAULTS)
    for section, table in raw.items():
        if section not in DEFAULTS:
            raise ConfigError(f"unknown section [{section}] in {source} (known: "
                              f"{', '.join(DEFAULTS)}).")
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{section}] in {source} must be a table of keys.")
        for key, value in table.items():
            if key not in DEFAULTS[section]:
                raise ConfigError(f"unknown key [{section}] {key} in {source} (known: "
                                  f"{', '.join(DEFAULTS[section])}).")
            values[section][key] = value
    for section, table in values.items():
        for key, value in table.items():
            table[key] = _check(section, key, value)
    _cross_checks(values)
    return Config(values, source)


def load_config(path: str | Path | None, overrides: Mapping[str, Mapping[str, Any]] | None
                = None) -> Config:
    """Read the TOML file ``path`` (None: defaults only), apply ``overrides`` (from command
    line flags), validate; raise :class:`ConfigError` with one sentence on any problem."""
    raw: dict[str, Any] = {}
    source = "(defaults)"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"the configuration file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}).") from None
    for section, table in (overrides or {}).items():
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"[{section}] in {source} must be a table of keys.")
        raw[section].update(table)
    return validate(raw, source)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def render_toml(config: Config, token_status: str | None = None) -> str:
    """The configuration as TOML (every key), with the token's source and presence as a
    comment: ``# token: from file ... (present)`` — never its value."""
    lines = [f"# tickgate configuration, from {config.source}",
             f"# state directory: {config.state_dir}"]
    if token_status:
        lines.append(f"# token: {token_status}")
    for section, table in config.values.items():
        lines.append("")
        lines.append(f"[{section}]")
        for key, value in table.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
