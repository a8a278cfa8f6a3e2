"""Tick ingest: our Deriv client against the official python-deriv-api, the same stream.

A sender in *its own process* (picows on uvloop) answers ``time`` and waits for one
``ticks`` subscribe request, then sends ``--count`` Deriv ``tick`` envelopes (ten symbols in
turn, each symbol's epoch one second after its previous tick, the request's ``req_id``, one
subscription id per symbol; ~300 bytes of JSON each), encoded and framed (WebSocket text
frames) before the request arrives, so sending is writes of 1 MB to the socket. Receivers,
in this process, one at a time, each with a fresh sender:

- ``sender``: a bare picows receiver that counts frames and parses nothing, in another
  process: the sender's own rate, which must be above every receiver's;
- ``official``: python-deriv-api 0.1.6 (websockets, ``json``, RxPY): ``api.subscribe`` then
  an observer counting ``on_next`` calls (install it with ``pip install --no-deps
  -r bench/requirements-bench.txt``: it pins websockets 10.3, which has no wheel for
  Python 3.11; it runs on websockets 17);
- ``ours``: ``DerivClient`` + ``TickFeed`` as the daemon runs them (``inline``: ingested in
  the transport callback; its clock from a ``time`` call, as in the daemon, which the sender
  answers with the stream's last epoch; no tick stale): decoded (the typed tick path),
  routed, validated, normalised to ``pip_size``, appended to each symbol's ring buffer and
  handed to ``on_tick``;
- ``ours+board``: the same, with the daemon's path into the model board (``BoardRunner``:
  one tick at once with ``process_one`` when nothing is queued, else batches, small ones
  inline).

Figure: messages per second from the subscribe request to the last message processed, best
of ``--repeat`` runs; the ratio ours / official; the load average around the run.

    .venv/bin/python bench/bench_ingest.py [--count 200000] [--repeat 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import time
from typing import Any

import orjson

SYMBOLS = ["R_10", "R_25", "R_50", "R_75", "R_100",
           "1HZ10V", "1HZ25V", "1HZ50V", "1HZ75V", "1HZ100V"]
EPOCH0 = 1_718_000_000
CHUNK = 1 << 20           # bytes per socket write of the sender


def _messages(count: int, req_id: int, request: dict[str, Any]) -> list[bytes]:
    """The stream: ``count`` tick envelopes answering ``request``."""
    ids = {s: f"c84a793b-8a87-7999-ce10-9b22f7ce{i:04x}" for i, s in enumerate(SYMBOLS)}
    out = []
    for i in range(count):
        sym = SYMBOLS[i % len(SYMBOLS)]
        quote = round(1000.0 + (i % 97) * 0.01 - (i % 13) * 0.02, 2)
        out.append(orjson.dumps({
            "echo_req": request, "msg_type": "tick", "req_id": req_id,
            "subscription": {"id": ids[sym]},
            "tick": {"ask": round(quote + 0.01, 2), "bid": round(quote - 0.01, 2),
                     "epoch": EPOCH0 + i // len(SYMBOLS), "id": ids[sym], "pip_size": 2,
                     "quote": quote, "symbol": sym}}))
    return out


def _wire(messages: list[bytes]) -> bytes:
    """The messages as unmasked WebSocket text frames (server to client), back to back."""
    out = bytearray()
    for m in messages:
        n = len(m)
        if n < 126:
            out += bytes((0x81, n))
        elif n < 65536:
            out += bytes((0x81, 126)) + n.to_bytes(2, "big")
        else:
            out += bytes((0x81, 127)) + n.to_bytes(8, "big")
        out += m
    return bytes(out)


def _sender(count: int, port_out: mp.Queue) -> None:
    """The sender process: answer ``time``, and a ``ticks`` request with the whole stream
    (encoded in advance for ``req_id`` 1 and 2, the receivers' requests; re-encoded
    otherwise)."""
    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    request = {"ticks": SYMBOLS, "subscribe": 1}
    # req_id 1: the official client's and the counter's request; 2: ours, after ``time``
    ready = {rid: _wire(_messages(count, rid, request)) for rid in (1, 2)}

    class Sender(WSListener):
        def on_ws_frame(self, transport, frame) -> None:  # noqa: ANN001
            if frame.msg_type != WSMsgType.TEXT:
                return
            req = orjson.loads(frame.get_payload_as_bytes())
            if "time" in req:             # the feed's clock sync: Deriv's time at the stream's end
                transport.send(WSMsgType.TEXT, orjson.dumps({
                    "echo_req": req, "msg_type": "time", "req_id": req.get("req_id"),
                    "time": EPOCH0 + count // len(SYMBOLS)}))
                return
            if "ticks" not in req:
                return
            echo = {k: v for k, v in req.items() if k != "req_id"}
            wire = ready[req["req_id"]] if echo == request and req.get("req_id") in ready \
                else _wire(_messages(count, req.get("req_id", 1), echo))
            write = transport.underlying_transport.write
            for start in range(0, len(wire), CHUNK):
                write(wire[start:start + CHUNK])

    async def run() -> None:
        server = await ws_create_server(lambda _r: Sender(), "127.0.0.1", 0)
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(run())


def _counter(url: str, count: int, out: mp.Queue) -> None:
    """A bare picows receiver in its own process: frames per second, nothing parsed."""
    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    async def run() -> None:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        class Counter(WSListener):
            n = 0

            def on_ws_frame(self, transport, frame) -> None:  # noqa: ANN001
                if frame.msg_type == WSMsgType.TEXT:
                    self.n += 1
                    if self.n == count:
                        done.set_result(time.perf_counter())

        transport, _ = await ws_connect(Counter, url)
        t0 = time.perf_counter()
        transport.send(WSMsgType.TEXT, orjson.dumps({"ticks": SYMBOLS, "subscribe": 1,
                                                     "req_id": 1}))
        out.put(count / (await done - t0))
        transport.disconnect()

    uvloop.run(run())


async def _official(url: str, count: int) -> float:
    import websockets
    from deriv_api import DerivAPI

    connection = await websockets.connect(url, max_size=None, compression=None)
    api = DerivAPI(connection=connection)
    n = 0
    last = 0.0

    def on_next(_msg: dict[str, Any]) -> None:
        nonlocal n, last
        n += 1
        last = time.perf_counter()

    t0 = time.perf_counter()
    source = await api.subscribe({"ticks": SYMBOLS})
    source.subscribe(on_next)
    seen = -1
    while n < count and n != seen:         # stop at the count, or when the stream went quiet
        seen = n
        await asyncio.sleep(1.0)
    await api.clear()
    if n < count * 0.99:
        raise RuntimeError(f"the official client delivered {n} of {count} messages")
    return n / (last - t0)


async def _ours(url: str, count: int, board: bool = False) -> float:
    from tickgate.host.venues.deriv import DerivClient, UrlConnector
    from tickgate.host.venues.deriv.feed import TickFeed

    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    hooks: list[Any] = []
    n = 0

    def on_tick(symbol: str, epoch: int, quote: float) -> None:
        nonlocal n
        n += 1
        if n == count and not done.done():
            done.set_result(time.perf_counter())

    pump = None
    if board:
        pump = _BoardPump()
        await pump.open()
        hooks.append(pump.on_tick)
    hooks.append(on_tick)
    async with DerivClient(UrlConnector(url), keepalive_s=None, read_limits=False) as client:
        # the daemon's clock (server time from ``time``); a stale window wider than the
        # stream's span of epochs (count / 10 s)
        feed = TickFeed(client, SYMBOLS, stale_after_s=1e9, inline=True)
        feed.on_tick.extend(hooks)
        t0 = time.perf_counter()
        await feed.start()
        t1 = await done
        if pump is not None:
            await pump.drain()
            t1 = time.perf_counter()
            await pump.close()
        rejected = sum(feed.check.counts().values())
        if rejected:
            raise RuntimeError(f"the feed rejected {rejected} ticks")
        # no feed.stop(): its ``forget`` would wait for replies this sender never gives
    return count / (t1 - t0)


class _BoardPump:
    """The daemon's tick path into the model board (``Daemon._on_tick``: one tick through the
    board at once when nothing is queued, ``BoardRunner.process_one``; else queued, packed and
    run in batches by a pump task, inline when small)."""

    def __init__(self) -> None:
        from tickgate.host.daemon.boardloop import Batch, BoardRunner
        from tickgate.host.daemon.config import validate

        self.Batch = Batch
        self.runner = BoardRunner(validate({"daemon": {"symbols": SYMBOLS}}))
        self.index = {s: i for i, s in enumerate(SYMBOLS)}
        self.pending = Batch.empty()
        self.ready = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None
        self.ticks = 0

    async def open(self) -> None:
        await self.runner.open(equity_cents=10**8, positions={})
        self.task = asyncio.get_running_loop().create_task(self._pump())

    def on_tick(self, symbol: str, epoch: int, quote: float) -> None:
        p = self.pending
        index = self.index[symbol]
        pips = round(quote * 100)
        if not p.symbol:                  # nothing queued before it: at once, as the daemon
            done = self.runner.process_one(index, pips, epoch)
            if done is not None:
                self.ticks += len(done[0])
                return
        p.symbol.append(index)
        p.pips.append(pips)
        p.epoch.append(epoch)
        p.arrived.append(0.0)
        self.idle.clear()
        self.ready.set()

    async def _pump(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            while len(self.pending):
                batch = self.pending
                if len(batch) > 256:
                    self.pending, batch = batch.tail(256), batch.head(256)
                else:
                    self.pending = self.Batch.empty()
                done = self.runner.process_inline(batch)
                if done is None:
                    done = await self.runner.process(batch)
                self.ticks += len(done[0])
            self.idle.set()

    async def drain(self) -> None:
        while len(self.pending) or not self.idle.is_set():
            await self.idle.wait()
            await asyncio.sleep(0)

    async def close(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.runner.close()


async def _ours_board(url: str, count: int) -> float:
    return await _ours(url, count, board=True)


RECEIVERS = {"official": _official, "ours": _ours, "ours+board": _ours_board}


def _one(kind: str, count: int) -> float:
    import uvloop

    ctx = mp.get_context("spawn")
    port_q: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_sender, args=(count, port_q), daemon=True)
    proc.start()
    try:
        url = f"ws://127.0.0.1:{port_q.get(timeout=30)}/websockets/v3?app_id=1089"
        if kind == "sender":
            out: mp.Queue = ctx.Queue()
            counter = ctx.Process(target=_counter, args=(url, count, out), daemon=True)
            counter.start()
            rate = float(out.get(timeout=120))
            counter.join()
            return rate
        return uvloop.run(RECEIVERS[kind](url, count))
    finally:
        proc.terminate()
        proc.join()


def main() -> None:
    """Run every receiver ``--repeat`` times (interleaved) and print messages per second."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per receiver; best shown")
    parser.add_argument("--only", choices=["sender", *RECEIVERS], action="append")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    kinds = args.only or ["sender", "official", "ours", "ours+board"]
    load0 = os.getloadavg()
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.repeat):
        for kind in kinds:
            rates[kind].append(_one(kind, args.count))
    best = {k: max(v) for k, v in rates.items()}
    print(f"tick ingest on loopback, {args.count} messages, best of {args.repeat}")
    for kind in kinds:
        print(f"  {kind:11s} {best[kind] / 1000:7.1f}k msg/s  (runs: "
              f"{', '.join(f'{r / 1000:.1f}k' for r in rates[kind])})")
    if "ours" in best and "official" in best:
        print(f"  ratio ours / official: {best['ours'] / best['official']:.2f}x")
    if "ours+board" in best and "official" in best:
        print(f"  ratio ours+board / official: {best['ours+board'] / best['official']:.2f}x")
    load1 = os.getloadavg()
    print(f"  load average {[round(x, 2) for x in load0]} before, "
          f"{[round(x, 2) for x in load1]} after")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"count": args.count, "rates": rates, "best": best,
                       "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                       "loadavg_before": load0, "loadavg_after": load1}, f, indent=2)


if __name__ == "__main__":
    main()
