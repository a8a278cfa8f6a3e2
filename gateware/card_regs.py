"""The card's registers: the one table the top level, ``regmap.json`` and the host share.

Groups, in address order: identification (added by :class:`~.regmap.RegisterMap`), control,
engine (indicator periods), model (the decision unit's weights and thresholds), limits (the
risk gate's), symbols (indirect access to the per-symbol table and positions), status,
counters and probes. Units are the risk model's (:mod:`.risk_model`): lots, pips, ms, cents.

Safe reset: every limit is 0 and the kill switch is set, so a freshly configured card
refuses every order until the host has loaded its limits and cleared the kill switch; the
decision unit is disabled.

64-bit values: ``max_notional`` takes effect when its high word is written (write the low
word first); reading ``cycles_lo`` (``gross_lo``) latches the matching high word, so a
low-then-high read pair is coherent.
"""

from __future__ import annotations

from .decision import DECISION_INPUTS, SHIFT_BITS, DecisionConfig
from .layouts import CONFIG_LAYOUT
from .params import EngineConfig, EngineParams
from .records import Reject
from .regmap import Register, RegisterMap, version_word

__all__ = ["IDENT", "VERSION", "card_regmap", "Command", "SymbolCommand", "Status"]

#: ``id`` word: "TGKT" in ASCII.
IDENT = 0x54474B54
#: Register map version 1.0.
VERSION = version_word(1, 0)


class Command:
    """Bits of the ``command`` register (write 1 to act)."""

    CLEAR_RISK = 0x1  #: forget ticks, positions, buckets, duplicates (n_symbols cycles)
    RESET_PEAK = 0x2  #: equity peak := equity
    CLEAR_COUNTERS = 0x4  #: counters and latency probes to zero (min to all ones)


class SymbolCommand:
    """Bits of ``sym_command``: act on the symbol in ``sym_index``."""

    WRITE_TABLE = 0x1  #: its base := sym_base, position limit := sym_pos_limit
    SET_POSITION = 0x2  #: its position := sym_position (queued into the gate's stream)


class Status:
    """Bits of the ``status`` register."""

    KILL = 0x1
    FEED_EXPIRED = 0x2
    CLEARING = 0x4
    #: A SET_POSITION waits for its slot in the gate's stream; a second one written before
    #: this clears would replace it, so the host waits for it to clear.
    SETPOS_PENDING = 0x8


def _engine_registers() -> list[Register]:
    defaults = EngineConfig().as_dict()
    return [Register(name, "rw", width=CONFIG_LAYOUT.members[name].width,
                     reset=defaults[name], group="engine",
                     doc=f"EngineConfig.{name} (see tickgate.gateware.params)")
            for name in CONFIG_LAYOUT.members]


def _model_registers() -> list[Register]:
    d = DecisionConfig()
    inputs = ", ".join(DECISION_INPUTS)
    return [
        Register("decision_enable", "rw", width=1, group="model",
                 doc="1: the decision unit fires intents"),
        Register("decision_warmup", "rw", width=32, reset=d.warmup, group="model",
                 doc="a record fires only if its count >= warmup"),
        Register("decision_bias", "rw", width=32, signed=True, reset=d.bias, group="model",
                 doc="added to the score"),
        Register("decision_enter", "rw", width=32, signed=True, reset=d.enter, group="model",
                 doc="|score| at which a flat symbol opens"),
        Register("decision_exit", "rw", width=32, signed=True, reset=d.exit, group="model",
                 doc="a long closes below exit, a short above -exit"),
        Register("decision_qty", "rw", width=32, signed=True, reset=d.qty, group="model",
                 doc="lots of each intent"),
        Register("decision_strategy", "rw", width=8, reset=d.strategy, group="model",
                 doc="strategy id of the intents"),
        Register("decision_weights", "rw", width=16, signed=True, count=len(DECISION_INPUTS),
                 group="model", doc=f"int16 weight per input: {inputs}"),
        Register("decision_shifts", "rw", width=SHIFT_BITS, count=len(DECISION_INPUTS),
                 group="model", doc="right shift of each input before its int18 clamp"),
    ]


def _limit_registers(params: EngineParams) -> list[Register]:
    def limit(name: str, doc: str, width: int = 32, signed: bool = False) -> Register:
        return Register(name, "rw", width=width, signed=signed, group="limits", doc=doc)

    return [
        limit("max_qty", "lots per order"),
        limit("max_notional_lo", "low word of the u64 limit of qty * abs price (pips)"),
        limit("max_notional_hi", "high word; writing it commits both words"),
        limit("collar_bps", "band around the last tick price, basis points", 16),
        limit("stale_ms", "oldest last tick (market ms) an order may trade on"),
        limit("gross_limit", "sum of |position| over symbols, lots"),
        limit("daily_loss_limit", "the day's P&L may fall this far below zero, cents"),
        limit("max_drawdown", "equity may fall this far below its peak, cents"),
        limit("rate_sym_interval", "ms per order per symbol (0: off)"),
        limit("rate_sym_tolerance", "ms: (burst - 1) * interval, per symbol", 31),
        limit("rate_global_interval", "ms per order over all symbols (0: off)"),
        limit("rate_global_tolerance", "ms: (burst - 1) * interval, global", 31),
        limit("dup_window_ms", "a repeat of the last accepted order within it is refused"),
        limit("feed_timeout", "clock cycles without a tick before every order is STALE "
              "(0: off)"),
        limit("pnl_day", "the day's realised plus marked P&L, cents", signed=True),
        limit("equity", "current equity, cents (the card keeps its peak)", signed=True),
        Register("restricted", "rw", width=32, count=max(1, params.n_symbols // 32),
                 group="limits", doc="bit s of word s // 32: symbol s may not trade"),
    ]


def card_regmap(params: EngineParams | None = None) -> RegisterMap:
    """Return the register map of the top level built with ``params``."""
    params = params or EngineParams()
    rows = [
        Register("status", "ro", width=4, group="control", doc="Status bits"),
        Register("kill_set", "wo", width=1, group="control",
                 doc="write 1: set the kill switch (blocks every later order)"),
        Register("kill_clear", "wo", width=1, group="control",
                 doc="write 1: clear it (it sets again at once while a loss limit is breached)"),
        Register("command", "wo", width=3, group="control", doc="Command bits"),
        *_engine_registers(),
        *_model_registers(),
        *_limit_registers(params),
        Register("sym_index", "rw", width=8, group="symbols", doc="symbol the sym_* act on"),
        Register("sym_base", "rw", width=32, group="symbols",
                 doc="abs price in pips of offset 0 (written by WRITE_TABLE)"),
        Register("sym_pos_limit", "rw", width=31, group="symbols",
                 doc="|position| limit, lots (written by WRITE_TABLE)"),
        Register("sym_position", "rw", width=32, signed=True, group="symbols",
                 doc="confirmed position, lots (written by SET_POSITION)"),
        Register("sym_command", "wo", width=2, group="symbols", doc="SymbolCommand bits"),
        Register("sym_position_now", "ro", width=32, signed=True, group="symbols",
                 doc="the gate's position of sym_index"),
        Register("gross_lo", "ro", width=32, group="status",
                 doc="sum of |position|, low word (reading it latches gross_hi)"),
        Register("gross_hi", "ro", width=8, group="status", doc="sum of |position|, bits 39:32"),
        Register("equity_peak", "ro", width=32, signed=True, group="status",
                 doc="highest equity written since reset or RESET_PEAK, cents"),
        Register("market_clock", "ro", width=32, group="status",
                 doc="ts (ms) of the latest tick: the clock of every time check"),
        *[Register(name, "ro", width=32, group="counters", doc=doc) for name, doc in (
            ("ticks_in", "ticks taken from s_axis_tick"),
            ("records_out", "records sent on m_axis"),
            ("intents", "intents the decision unit fired"),
            ("host_orders", "orders taken from s_axis_order"),
            ("accepted", "orders accepted (intents and host orders)"),
            ("rejected", "orders refused"),
        )],
        Register("reject_count", "ro", width=32, count=Reject.COUNT, group="counters",
                 doc="orders refused with each Reject bit: " + ", ".join(Reject.names())),
        Register("saturations", "ro", width=32, group="counters",
                 doc="records whose decision inputs overflowed int18 (clamped)"),
        Register("bus_errors", "ro", width=32, group="counters",
                 doc="refused register accesses (read-only or unmapped)"),
        Register("cycles_lo", "ro", width=32, group="counters",
                 doc="clock cycles since reset, low word (reading it latches cycles_hi)"),
        Register("cycles_hi", "ro", width=32, group="counters", doc="high word"),
        Register("latency_last", "ro", width=32, group="probes",
                 doc="cycles from the last tick's s_axis handshake to its record's m_axis "
                     "handshake"),
        Register("latency_min", "ro", width=32, group="probes", doc="smallest such latency"),
        Register("latency_max", "ro", width=32, group="probes", doc="largest such latency"),
    ]
    return RegisterMap(rows, ident=IDENT, version=VERSION)
