"""The engine's arithmetic, written once more as plain per-tick Python on Python ints.

This is the docstring of :mod:`tickgate.gateware.model` turned into code as directly as
possible, with no attention to speed: every symbol keeps the list of its prices since its
reset, windows are slices of that list, and ``mulshr`` is Python's exact floor shift. Tests
compare the compiled model to it word for word. Count saturation (2**32 ticks) is not
modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickgate.gateware.params import EngineConfig
from tickgate.gateware.records import FeatureValid, TickFlag


def mulshr(x: int, a: int) -> int:
    """Return ``floor(x * a / 2**18)``."""
    return (x * a) >> 18


@dataclass
class SymbolState:
    """What the engine remembers about one symbol."""

    prices: list[int] = field(default_factory=list)  # since reset, oldest first
    ema_fast: int = 0
    ema_slow: int = 0
    signal: int = 0
    avg_gain: int = 0
    avg_loss: int = 0
    prev: int = 0


def spec_run(ticks: list[dict[str, int]], config: EngineConfig, n_symbols: int,
             states: dict[int, SymbolState] | None = None) -> list[dict[str, int]]:
    """Return one feature dict per tick dict (keys as in the record tables).

    ``states`` carries the symbols' state from call to call when given.
    """
    c = config
    states = {} if states is None else states
    out = []
    for tick in ticks:
        d, sym, flags = tick["price"], tick["symbol"], tick["flags"]
        rec = {"seq": tick["seq"], "ts": tick["ts"], "price": d, "symbol": sym,
               "flags": flags}
        if sym >= n_symbols:
            rec.update(valid=FeatureValid.BAD_SYMBOL, count=0, min=0, max=0, ema_fast=0,
                       ema_slow=0, macd=0, macd_signal=0, macd_hist=0, sum=0, sumsq=0,
                       avg_gain=0, avg_loss=0, mom=0)
            out.append(rec)
            continue
        s = states.setdefault(sym, SymbolState())
        if not s.prices or flags & TickFlag.RESET:
            s = states[sym] = SymbolState(ema_fast=d << 16, ema_slow=d << 16, prev=d)
        count = len(s.prices)  # before this tick
        x = d << 16
        s.ema_fast += mulshr(x - s.ema_fast, c.alpha_fast)
        s.ema_slow += mulshr(x - s.ema_slow, c.alpha_slow)
        macd = s.ema_fast - s.ema_slow
        s.signal += mulshr(macd - s.signal, c.alpha_signal)
        delta = d - s.prev
        s.prev = d
        s.avg_gain += mulshr((max(delta, 0) << 16) - s.avg_gain, c.alpha_rsi)
        s.avg_loss += mulshr((max(-delta, 0) << 16) - s.avg_loss, c.alpha_rsi)
        s.prices.append(d)
        window = s.prices[-c.n_sma:]
        mom = d - s.prices[-1 - c.n_roc] if count >= c.n_roc else 0
        extremes = s.prices[-c.n_minmax:]
        valid = ((FeatureValid.SMA if count + 1 >= c.n_sma else 0)
                 | (FeatureValid.ROC if count >= c.n_roc else 0)
                 | (FeatureValid.MINMAX if count + 1 >= c.n_minmax else 0))
        rec.update(valid=valid, count=count + 1, min=min(extremes), max=max(extremes),
                   ema_fast=s.ema_fast, ema_slow=s.ema_slow, macd=macd,
                   macd_signal=s.signal, macd_hist=macd - s.signal, sum=sum(window),
                   sumsq=sum(v * v for v in window) % 2**64, avg_gain=s.avg_gain,
                   avg_loss=s.avg_loss, mom=mom)
        out.append(rec)
    return out
