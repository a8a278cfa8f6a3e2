"""The market simulator's CPU per simulated second, as a function of the symbols streamed.

A ``SimServer`` runs in a child process (its own uvloop loop, clock ``--speed`` times real
time); this process connects one client, subscribes the first ``--symbols`` symbols of the
catalogue in one ``ticks`` request and counts the tick frames. After a warm-up, the child's
CPU time (user + system, from ``/proc/<pid>/stat``) is read over ``--seconds`` real seconds.
Figures: server CPU seconds per simulated second, CPU microseconds per tick sent, and the
server's time to answer one ``active_symbols: full`` (which prices every symbol 24 h back).

    .venv/bin/python bench/bench_sim_symbols.py [--symbols 100] [--speed 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import time

import websockets

TOKEN = "bench-sim-symbols-token-0001"


def _serve(port_out: mp.connection.Connection, speed: float) -> None:
    import uvloop

    from tickgate.host.simserver import SimServer

    async def main() -> None:
        async with SimServer(port=0, tokens=[f"{TOKEN}=demo:read,trade"], speed=speed,
                             seed=1) as server:
            port_out.send(server.url)
            await asyncio.Event().wait()

    uvloop.run(main())


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(url: str, pid: int, symbols: list[str], speed: float,
                   seconds: float) -> dict[str, float]:
    async with websockets.connect(url, max_size=2**24) as ws:
        t0 = time.perf_counter()
        await ws.send(json.dumps({"active_symbols": "full", "req_id": 1}))
        while json.loads(await ws.recv()).get("req_id") != 1:
            pass
        full_ms = (time.perf_counter() - t0) * 1000
        await ws.send(json.dumps({"ticks": symbols, "subscribe": 1}))
        seen: set[str] = set()
        ticks = 0

        async def count() -> None:
            nonlocal ticks
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("msg_type") == "tick":
                    ticks += 1
                    seen.add(msg["tick"]["symbol"])

        task = asyncio.create_task(count())
        await asyncio.sleep(2.0)                      # warm-up: every path generated
        cpu0, n0, t0 = _cpu_seconds(pid), ticks, time.perf_counter()
        await asyncio.sleep(seconds)
        window = {"cpu": _cpu_seconds(pid) - cpu0, "ticks": ticks - n0,
                  "real": time.perf_counter() - t0}
        task.cancel()
        sim_seconds = window["real"] * speed
        return {"symbols": len(symbols), "ticking": len(seen),
                "cpu_s_per_sim_s": window["cpu"] / sim_seconds,
                "cpu_share": window["cpu"] / window["real"],
                "ticks_per_s": window["ticks"] / window["real"],
                "cpu_us_per_tick": 1e6 * window["cpu"] / max(1, window["ticks"]),
                "active_symbols_full_ms": full_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=100, help="symbols streamed")
    parser.add_argument("--speed", type=float, default=20.0, help="simulated s per real s")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured real seconds")
    args = parser.parse_args()
    from tickgate.host.simserver.symbols import CATALOGUE

    symbols = [s.symbol for s in CATALOGUE][:args.symbols]
    if len(symbols) < args.symbols:
        print(f"the catalogue has {len(symbols)} symbols; streaming them all")
    recv, send = mp.Pipe(duplex=False)
    child = mp.get_context("spawn").Process(target=_serve, args=(send, args.speed),
                                            daemon=True)
    child.start()
    try:
        url = recv.recv()
        assert child.pid is not None
        result = asyncio.run(_measure(url, child.pid, symbols, args.speed, args.seconds))
    finally:
        child.terminate()
        child.join()
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v
                      for k, v in result.items()}))


if __name__ == "__main__":
    main()
