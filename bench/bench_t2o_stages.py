"""Where a ``buy``'s tick-to-order time goes: ``bench_tick_to_order.py`` with stamps.

Runs ``bench/bench_tick_to_order.py`` (same arguments, same set-up) with the hot path's
functions wrapped so that each call stamps ``time.perf_counter()`` on entry (and some on
return); for every tick frame whose callback wrote a ``buy``, the time between consecutive
points is one sample of that stage. Points, in order: the frame callback (the client's
``frame_time``), ``Daemon._on_tick``, the board call (``ModelBoard.process_ticks``) and its
return, ``Executor.submit``, the write-ahead call and its return, the socket's ``send``
(``Transport.send``) and its return. Each wrapper costs ~1 µs, so the total is a little
above the plain bench's ``tick_to_buy``. The stages are shown for all buys, then apart for
the buys whose frame came within 1 ms of the previous frame's end (inside a burst) and
those that came after more than 10 ms without a frame (the first of a burst: the path
starts cold unless the daemon rehearsed it, ``[daemon] rehearse_us``). The ``bench``
directory of the current directory is imported first, so run from a checkout's root
(another build's root measures that build, with ``PYTHONPATH`` pointing at its sources).

    .venv/bin/python bench/bench_t2o_stages.py --duration 20 [--realtime]
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import bench_tick_to_order as t2o  # noqa: E402

POINTS = ("frame", "on_tick", "board", "board_end", "submit", "ahead", "ahead_end",
          "send", "send_end")
_stamps: list[tuple[str, float]] = []
_buy = [False]
_orders: list[dict[str, float]] = []
_frame_end = [0.0]


def _wrap(cls: Any, name: str, enter: str, leave: str | None = None) -> None:
    """Stamp ``enter`` when ``cls.name`` is called and ``leave`` when it returns (a
    method the build lacks is skipped)."""
    orig: Callable[..., Any] | None = getattr(cls, name, None)
    if orig is None:
        return

    def stamped(*args: Any, **kw: Any) -> Any:
        _stamps.append((enter, time.perf_counter()))
        try:
            return orig(*args, **kw)
        finally:
            if leave is not None:
                _stamps.append((leave, time.perf_counter()))

    setattr(cls, name, stamped)


def install() -> None:
    """Wrap the hot path (after the bench's own probe)."""
    from tickgate.drivers.model_board import ModelBoard
    from tickgate.host.daemon.daemon import Daemon
    from tickgate.host.daemon.execution import Executor
    from tickgate.host.daemon.journal import Journal
    from tickgate.host.venues.deriv.client import DerivClient
    from tickgate.host.venues.deriv.transport import Transport

    on_message, send = DerivClient._on_message, Transport.send

    def frame(client: DerivClient, data: bytes) -> None:
        _stamps.clear()
        _buy[0] = False
        on_message(client, data)
        if _buy[0]:
            first: dict[str, float] = {"frame": client.frame_time,
                                       "gap": client.frame_time - _frame_end[0]}
            for point, t in _stamps:
                first.setdefault(point, t)
            _orders.append(first)
        _frame_end[0] = time.perf_counter()

    def transport_send(transport: Transport, data: bytes) -> None:
        _buy[0] = _buy[0] or data.startswith(b'{"buy"')
        send(transport, data)

    DerivClient._on_message = frame            # type: ignore[method-assign]
    Transport.send = transport_send            # type: ignore[method-assign]
    _wrap(Daemon, "_on_tick", "on_tick")
    _wrap(ModelBoard, "process_ticks", "board", "board_end")
    _wrap(Executor, "submit", "submit")
    _wrap(Journal, "write_ahead", "ahead", "ahead_end")
    _wrap(Journal, "write_ahead_line", "ahead", "ahead_end")
    _wrap(Transport, "send", "send", "send_end")


def report() -> None:
    """Print p50/p90/p99 of each stage and of the whole, µs: all buys, then those inside a
    burst and those after a quiet spell."""
    whole = [o for o in _orders if all(p in o for p in POINTS)]
    _table("", whole)
    _table(", inside a burst (frame within 1 ms of the previous)",
           [o for o in whole if o["gap"] < 1e-3])
    _table(", after a quiet spell (no frame for 10 ms)",
           [o for o in whole if o["gap"] > 10e-3])


def _table(what: str, orders: list[dict[str, float]]) -> None:
    series: dict[str, list[float]] = defaultdict(list)
    for order in orders:
        for a, b in zip(POINTS, POINTS[1:], strict=False):
            series[f"{a} -> {b}"].append((order[b] - order[a]) * 1e6)
        series["frame -> send_end (total)"].append((order["send_end"] - order["frame"]) * 1e6)
    print(f"stages of {len(orders)} buys{what}, µs")
    for name, values in series.items():
        if not values:
            continue
        a = np.asarray(values)
        print(f"  {name:28s} p50 {np.percentile(a, 50):7.1f}  p90 {np.percentile(a, 90):7.1f}"
              f"  p99 {np.percentile(a, 99):7.1f}")


def main() -> None:
    probe_install = t2o.Probe.install

    def install_both(probe: t2o.Probe) -> None:
        probe_install(probe)
        install()

    t2o.Probe.install = install_both            # type: ignore[method-assign]
    try:
        t2o.main()
    finally:
        report()


if __name__ == "__main__":
    main()
