"""Tick to order in the daemon: from a tick frame's arrival to its order request leaving.

The daemon's real hot path (``tickgate run``'s :class:`~tickgate.host.daemon.daemon.Daemon`
on uvloop: the feed, tick packing, the model board's ``process_ticks``, the risk gate's
verdict, the executor journaling and sending) trades against the market simulator running
in *another process* on loopback, each pinned to a core of its own (``--no-pin``: not; on a
shared core the simulator, woken by the daemon's request, preempts the daemon inside its
``send``, and the figures then include the simulator's work). Two timestamps per order
(``time.perf_counter``):

- *tick*: when the tick frame that fired the intent reached the client's transport callback
  (``DerivClient.frame_time``, stamped as the first thing the picows frame callback does);
- *sent*: when the order's request bytes were handed to the socket (after picows'
  ``WSTransport.send`` returned, which writes to the socket at once when it can; on
  loopback that write also runs the receiving side's TCP processing, so
  ``tick_to_money_write_call``, stamped when the write is called, is shown too).

Only ticks that produce an order are measured. Figures (µs, p50/p99/p99.9): tick → first
request (``proposal`` in proposal mode, else the ``buy``/``sell`` itself), tick → ``buy``,
tick → money request (``buy`` or ``sell``). The frame's stamp is taken when its own
callback starts, so time a frame spent behind the frames before it in the same socket read
(their parsing, an order of theirs and its journal commit) is not in those figures;
``sim_send_*`` start instead from when the simulator called the send of the tick's frame
(the same monotonic clock in both processes): loopback delivery and that wait included.
Stages: tick → verdict (``Executor.submit`` called), verdict → request written inside
``submit`` (the synchronous path) or verdict → task → request (the task path).

Set-up for many orders: ten symbols (five 1 s, five 2 s), the simulator's clock
``--speed`` times real time, the decision unit on momentum with a threshold of 1 (it fires
on most sign changes of the momentum), loose risk limits, no take-profit/stop-loss; the
simulator publishes API limits a thousand times Deriv's (the client's rate limiter would
otherwise hold orders to Deriv's 3 a second, and its wait is not the hot path). The
journal lives in a temporary directory on the machine's disk (``/var/tmp``).

The daemon's defaults (direct ``buy``, ``journal_sync = "normal"``) are the bench's.

    .venv/bin/python bench/bench_tick_to_order.py [--duration 30] [--speed 20]
        [--order-mode direct|proposal] [--journal-sync full|normal] [--inline-max 16]
        [--realtime] [--cpu-latency-us N] [--json FILE]

``--realtime`` puts both processes on SCHED_FIFO (CAP_SYS_NICE needed): on a machine
shared with other jobs it shows the path's own latency without the scheduler's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
from collections import defaultdict
from typing import Any

import numpy as np

TOKEN = "bench-tick-to-order-0001"
SYMBOLS = ["1HZ10V", "1HZ25V", "1HZ50V", "1HZ75V", "1HZ100V",
           "R_10", "R_25", "R_50", "R_75", "R_100"]


def _realtime() -> None:
    """This process (and the threads it starts after) on SCHED_FIFO priority 10: other
    jobs on its core no longer preempt it (``--realtime``; needs CAP_SYS_NICE)."""
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))


def _sim(speed: float, out: mp.Queue, cpu: int | None, stamps: str,
         realtime: bool = False) -> None:
    """The simulator, in its own process (on core ``cpu``), with API limits ×1000; the
    time each tick frame's send is called (``perf_counter``: CLOCK_MONOTONIC, the same clock
    in both processes), written to ``stamps`` when the process gets SIGTERM."""
    import signal

    import uvloop

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    if realtime:
        _realtime()

    from tickgate.host.simserver import handlers, server
    from tickgate.host.simserver.connection import Connection

    sent: list[tuple[str, int, float]] = []
    send = Connection.send

    def stamped(conn: Connection, msg: dict[str, Any]) -> None:
        if msg.get("msg_type") == "tick":
            tick = msg["tick"]
            sent.append((tick["symbol"], int(tick["epoch"]), time.perf_counter()))
        send(conn, msg)

    def dump(*_: Any) -> None:
        with open(stamps, "w", encoding="utf-8") as f:
            json.dump(sent, f)
        os._exit(0)

    Connection.send = stamped           # type: ignore[method-assign]
    signal.signal(signal.SIGTERM, dump)

    plain = handlers.website_status_payload

    def generous(status: str) -> dict[str, Any]:
        payload = plain(status)
        for limit in payload["api_call_limits"].values():
            for k in ("hourly", "minutely", "max"):
                if k in limit:
                    limit[k] *= 1000
        return payload

    handlers.website_status_payload = generous
    server.website_status_payload = generous

    parent = os.getppid()

    async def run() -> None:
        sim = server.SimServer(port=0, tokens=[f"{TOKEN}=demo:read,trade"], seed=1,
                               speed=speed)
        await sim.start()
        out.put(sim.url)
        while os.getppid() == parent:      # the bench died without stopping it: go too
            await asyncio.sleep(0.5)
        os._exit(1)

    uvloop.run(run())


def _config(url: str, state: str, args: argparse.Namespace) -> Any:
    from tickgate.host.daemon.config import validate

    return validate({
        "daemon": {"symbols": SYMBOLS[:args.symbols], "state_dir": state, "status_interval_s": 1.0,
                   "inline_max": args.inline_max, "journal_sync": args.journal_sync,
                   "cpu_latency_us": getattr(args, "cpu_latency_us", -1),
                   "rehearse_us": getattr(args, "rehearse_us", 1000)},
        "venue": {"kind": "deriv", "url": url, "token_env": "TICKGATE_BENCH_TOKEN"},
        "execution": {"take_profit": 0.0, "stop_loss": 0.0, "multiplier": 40,
                      "stake_per_lot": 1.0, "order_timeout_s": 5.0, "max_queue": 64,
                      "order_mode": args.order_mode},
        "decision": {"warmup": 3, "enter": 1, "exit": 0, "weights": [0, 0, 0, 0, 1, 0, 0, 0],
                     "shifts": [16, 16, 16, 16, 0, 16, 0, 0]},
        "risk": {"rate_sym_orders": 1000, "rate_sym_per_ms": 1000,
                 "rate_global_orders": 10000, "rate_global_per_ms": 1000,
                 "dup_window_ms": 0, "pos_limit": 3, "gross_limit": 30,
                 "collar_bps": 5000, "daily_loss_limit": 10**9, "max_drawdown": 10**9},
    }, "(bench)")


class Probe:
    """Timestamps of every order request, by the intent (its tick) that caused it, and of
    the stages between: the intent handed to the executor (``submit``: the verdict back on
    the event loop), the executor's task starting (only on the task path: the synchronous
    path writes the request inside ``submit``, before the task exists). Also the time the
    garbage collector took from the first intent on, by generation."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.by_intent: dict[int, dict[str, Any]] = {}
        self.task_key: dict[Any, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None
        self.last_write = 0.0
        self.gc: dict[int, list[float]] = defaultdict(list)
        self._gc_start = 0.0

    def install(self) -> None:
        import gc

        from tickgate.host.daemon.execution import Executor
        from tickgate.host.venues.deriv.client import DerivClient
        from tickgate.host.venues.deriv.transport import Transport

        probe = self
        run, send, submit = Executor._run, DerivClient._write, Executor.submit
        write = Transport.send

        def traced_write(transport: Transport, data: bytes) -> None:
            t = time.perf_counter()
            write(transport, data)
            probe.last_write = t

        def traced_submit(ex: Executor, intent: Any) -> bool:
            rec = {"tick": intent.arrived, "submit": time.perf_counter(), "task": None,
                   "sent": [], "key": (intent.symbol, int(intent.venue_epoch))}
            probe.orders.append(rec)
            probe.by_intent[id(intent)] = rec
            probe.current = rec
            try:
                return submit(ex, intent)
            finally:
                probe.current = None

        async def traced_run(ex: Executor, intent: Any, first: Any = None) -> None:
            task = asyncio.current_task()
            rec = probe.by_intent.pop(id(intent), None)
            if rec is not None:
                rec["task"] = time.perf_counter()
                probe.task_key[task] = rec
            try:
                await (run(ex, intent) if first is None else run(ex, intent, first))
            finally:
                probe.task_key.pop(task, None)

        def traced_send(client: DerivClient, transport: Any, call: str, data: bytes,
                        msg: dict[str, Any] | None) -> None:
            send(client, transport, call, data, msg)
            t = time.perf_counter()
            rec = probe.current or probe.task_key.get(asyncio.current_task())
            if rec is not None:
                rec["sent"].append((call, t, probe.last_write))

        def gc_timer(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                probe._gc_start = time.perf_counter()
            elif probe.orders:              # trading (start-up's collections left out)
                probe.gc[info["generation"]].append(
                    (time.perf_counter() - probe._gc_start) * 1e6)

        Executor.submit = traced_submit     # type: ignore[method-assign]
        Executor._run = traced_run          # type: ignore[method-assign]
        DerivClient._write = traced_send    # type: ignore[method-assign]
        Transport.send = traced_write       # type: ignore[method-assign]
        gc.callbacks.append(gc_timer)

    def figures(self, sim_sent: dict[tuple[str, int], float]) -> dict[str, dict[str, float]]:
        """Percentiles of each series; ``sim_sent``: when the simulator called the send of
        each tick frame, by (symbol, epoch)."""
        series: dict[str, list[float]] = defaultdict(list)
        for rec in self.orders:
            sends, t0 = rec["sent"], rec["tick"]
            if not sends:
                continue
            series["tick_to_first_request"].append((sends[0][1] - t0) * 1e6)
            t_sim = sim_sent.get(rec["key"])
            if t_sim is not None:
                series["sim_send_to_frame"].append((t0 - t_sim) * 1e6)
                series["sim_send_to_first_request"].append((sends[0][1] - t_sim) * 1e6)
            for call, t, t_write in sends:
                if call in ("buy", "sell"):
                    series["tick_to_money_request"].append((t - t0) * 1e6)
                    series["tick_to_money_write_call"].append((t_write - t0) * 1e6)
                    if call == "buy":
                        series["tick_to_buy"].append((t - t0) * 1e6)
                    break
            series["stage_tick_to_verdict"].append((rec["submit"] - t0) * 1e6)
            if rec["task"] is None or sends[0][1] < rec["task"]:     # written in submit
                series["stage_verdict_to_request_sync"].append(
                    (sends[0][1] - rec["submit"]) * 1e6)
            else:
                series["stage_verdict_to_task"].append((rec["task"] - rec["submit"]) * 1e6)
                series["stage_task_to_first_request"].append(
                    (sends[0][1] - rec["task"]) * 1e6)
        out = {}
        for name, values in series.items():
            a = np.asarray(values)
            out[name] = {"samples": len(a), "p50_us": float(np.percentile(a, 50)),
                         "p99_us": float(np.percentile(a, 99)),
                         "p999_us": float(np.percentile(a, 99.9)),
                         "min_us": float(a.min()), "max_us": float(a.max())}
        return out

    def gc_figures(self) -> dict[str, dict[str, float]]:
        return {f"gen{g}": {"collections": len(v), "max_us": round(max(v), 1),
                            "total_ms": round(sum(v) / 1000, 2)}
                for g, v in sorted(self.gc.items())}


def main() -> None:
    """Run the daemon against the simulator for ``--duration`` s and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=20.0, help="simulator clock speed")
    parser.add_argument("--order-mode", choices=["direct", "proposal"], default="direct")
    parser.add_argument("--journal-sync", choices=["full", "normal"], default="normal")
    parser.add_argument("--inline-max", type=int, default=16)
    parser.add_argument("--symbols", type=int, default=len(SYMBOLS),
                        help="trade the first N of the ten symbols")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--profile", help="cProfile the daemon's run into this file")
    parser.add_argument("--realtime", action="store_true",
                        help="run the daemon and the simulator on SCHED_FIFO (other jobs on "
                             "their cores no longer preempt them)")
    parser.add_argument("--cpu-latency-us", type=int, default=-1,
                        help="the daemon's [daemon] cpu_latency_us (0: idle CPUs poll; "
                             "root only; default -1, off)")
    parser.add_argument("--rehearse-us", type=int, default=1000,
                        help="the daemon's [daemon] rehearse_us (the tick-to-order path "
                             "rehearsed after this long without frames; 0: off; default "
                             "1000, the daemon's)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not pin the daemon and the simulator to separate cores")
    args = parser.parse_args()

    import uvloop

    from tickgate.host.daemon.daemon import Daemon

    ctx = mp.get_context("spawn")
    url_q: mp.Queue = ctx.Queue()
    cpus = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cpus) >= 2
    stamps = tempfile.NamedTemporaryFile(prefix="tickgate-bench-", suffix=".json",
                                         delete=False).name
    sim = ctx.Process(target=_sim, args=(args.speed, url_q, cpus[-1] if pin else None,
                                         stamps, args.realtime), daemon=True)
    sim.start()
    if pin:
        os.sched_setaffinity(0, {cpus[0]})
    if args.realtime:
        _realtime()
    probe = Probe()
    probe.install()
    os.environ["TICKGATE_BENCH_TOKEN"] = TOKEN
    load0 = os.getloadavg()
    try:
        url = url_q.get(timeout=30)
        with tempfile.TemporaryDirectory(prefix="tickgate-bench-", dir="/var/tmp") as state:
            daemon = Daemon(_config(url, state, args), duration=args.duration,
                            out=io.StringIO())
            if args.profile:
                import cProfile
                with cProfile.Profile() as prof:
                    status = uvloop.run(daemon.run())
                prof.dump_stats(args.profile)
            else:
                status = uvloop.run(daemon.run())
    finally:
        sim.terminate()
        sim.join()
    try:
        with open(stamps, encoding="utf-8") as f:
            sim_sent = {(sym, epoch): t for sym, epoch, t in json.load(f)}
    except (OSError, ValueError):
        sim_sent = {}
    finally:
        os.unlink(stamps)
    summary = daemon.stats.summary()
    result = {
        "config": {"order_mode": args.order_mode, "journal_sync": args.journal_sync,
                   "symbols": args.symbols, "pinned": pin,
                   "inline_max": args.inline_max, "speed": args.speed,
                   "realtime": args.realtime, "cpu_latency_us": args.cpu_latency_us,
                   "rehearse_us": args.rehearse_us,
                   "duration_s": args.duration},
        "exit_status": status, "ticks": summary["ticks"], "intents": summary["intents"],
        "accepted": summary["accepted"], "orders": summary["orders"],
        "fills": summary["fills"], "dropped": summary["dropped"],
        "rehearsals": summary["rehearsals"], "rehearsal_us": summary["latency"]["rehearsal"],
        "board_call": summary["latency"]["board_call"],
        "tick_to_verdict": summary["latency"]["tick_to_verdict"],
        "figures": probe.figures(sim_sent),
        "gc": probe.gc_figures(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"tick → order, daemon on uvloop, model board, simulator in another process "
          f"({args.order_mode}, journal {args.journal_sync}, inline ≤ {args.inline_max}"
          f"{', SCHED_FIFO' if args.realtime else ''}"
          f"{f', cpu_latency_us {args.cpu_latency_us}' if args.cpu_latency_us >= 0 else ''}"
          f", rehearse_us {args.rehearse_us})")
    print(f"  ticks {result['ticks']}  intents {result['intents']}  accepted "
          f"{result['accepted']}  orders {result['orders']}  fills {result['fills']}  "
          f"dropped {result['dropped']}  rehearsals {result['rehearsals']}"
          + (f" (p50 {result['rehearsal_us']['p50_us']:.0f} µs each)"
             if result["rehearsals"] else ""))
    for name, f in result["figures"].items():
        print(f"  {name:28s} p50 {f['p50_us']:7.0f} µs  p99 {f['p99_us']:7.0f} µs  "
              f"p99.9 {f['p999_us']:7.0f} µs  ({f['samples']} samples)")
    for gen, g in result["gc"].items():
        print(f"  gc {gen}: {g['collections']} collections, max {g['max_us']:.0f} µs, "
              f"total {g['total_ms']:.1f} ms")
    print(f"  load average {result['loadavg_before']} before, {result['loadavg_after']} after")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
