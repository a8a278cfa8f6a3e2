"""How many WebSocket text messages per second a server can send over loopback.

Chooses the market simulator's WebSocket library: the simulator later feeds a throughput
benchmark of the client, where the sender must not be the bottleneck. Each run starts a
server in this process that, once a client connects, sends ``--count`` tick messages
(Deriv's ``tick`` envelope, ~230 bytes of JSON made with orjson) as fast as the library lets
it; the client, in a *separate process* (its own core, picows, counting frames only) reports
when the last one arrives. Figure: count / (time from first send to last receipt), best of
``--repeat`` runs (the machine may be shared).

    .venv/bin/python bench/bench_ws_send.py [--count 300000] [--loop asyncio|uvloop]

Servers measured: ``websockets`` 17 (asyncio API, no compression, ``await ws.send`` per
message), the same with the frames written straight to the transport
(``protocol.send_text`` + ``send_data``, the documented "sans-I/O" fast path) and ``picows``
(``transport.send`` per message, pure callbacks).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time

import orjson

TICK = {
    "echo_req": {"ticks": "R_100", "subscribe": 1},
    "msg_type": "tick",
    "subscription": {"id": "c84a793b-8a87-7999-ce10-9b22f7ceead3"},
    "tick": {"ask": 1234.57, "bid": 1234.55, "epoch": 1718000000,
             "id": "c84a793b-8a87-7999-ce10-9b22f7ceead3", "pip_size": 2,
             "quote": 1234.56, "symbol": "R_100"},
}


def _message(i: int) -> bytes:
    TICK["tick"]["epoch"] = 1718000000 + i
    return orjson.dumps(TICK)


def _client(port: int, count: int, out: mp.Queue) -> None:
    from picows import WSListener, WSMsgType, ws_connect

    class Counter(WSListener):
        def __init__(self) -> None:
            self.n = 0
            self.done = asyncio.get_event_loop().create_future()

        def on_ws_frame(self, transport, frame) -> None:  # noqa: ANN001
            if frame.msg_type == WSMsgType.TEXT:
                self.n += 1
                if self.n == count:
                    self.done.set_result(time.perf_counter())

    async def run() -> None:
        _, listener = await ws_connect(Counter, f"ws://127.0.0.1:{port}/")
        out.put(await listener.done)

    asyncio.run(run())


async def _serve_websockets(count: int, fast: bool, ready: asyncio.Future) -> float:
    from websockets.asyncio.server import serve

    started: list[float] = []
    finished = asyncio.get_running_loop().create_future()

    async def handler(ws) -> None:  # noqa: ANN001
        started.append(time.perf_counter())
        if fast:
            proto, transport = ws.protocol, ws.transport
            for i in range(count):
                proto.send_text(_message(i))
                for data in proto.data_to_send():
                    transport.write(data)
        else:
            for i in range(count):
                await ws.send(_message(i), text=True)
        finished.set_result(None)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        ready.set_result(server.sockets[0].getsockname()[1])
        await finished
        return started[0]


async def _serve_picows(count: int, ready: asyncio.Future) -> float:
    from picows import WSListener, ws_create_server

    started: list[float] = []

    class Sender(WSListener):
        def on_ws_connected(self, transport) -> None:  # noqa: ANN001
            started.append(time.perf_counter())
            for i in range(count):
                transport.send(1, _message(i))  # WSMsgType.TEXT

    server = await ws_create_server(lambda _req: Sender(), "127.0.0.1", 0)
    ready.set_result(server.sockets[0].getsockname()[1])
    while not started:
        await asyncio.sleep(0.01)
    return started[0]


async def _one(kind: str, count: int) -> float:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future = loop.create_future()
    if kind == "picows":
        task = asyncio.ensure_future(_serve_picows(count, ready))
    else:
        task = asyncio.ensure_future(_serve_websockets(count, kind == "websockets-fast", ready))
    port = await ready
    out: mp.Queue = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=_client, args=(port, count, out))
    proc.start()
    t0 = await task
    t1 = await loop.run_in_executor(None, out.get)
    proc.join()
    return count / (t1 - t0)


def main() -> None:
    """Run each server once and print messages per second."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300_000)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--only", choices=["websockets", "websockets-fast", "picows"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per server; best is shown")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    kinds = [args.only] if args.only else ["websockets", "websockets-fast", "picows"]
    for kind in kinds:
        rates = [asyncio.run(_one(kind, args.count)) for _ in range(args.repeat)]
        print(f"{kind:16s} {args.loop:8s} best {max(rates) / 1000:6.0f}k msg/s"
              f"  (runs: {', '.join(f'{r / 1000:.0f}k' for r in rates)})")


if __name__ == "__main__":
    main()
