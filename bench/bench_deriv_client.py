"""Client-side ingest rate of Deriv tick messages: websockets 17 against picows, and our client.

Chooses the WebSocket library of the Deriv client (``tickgate.host.venues.deriv``). A sender
in a *separate process* (picows, its own core) waits for one request on the socket, then
sends ``--count`` Deriv ``tick`` envelopes (~250 bytes of JSON each, the request's ``req_id``
and one subscription id) as fast as it can. The receiver, in this process, under uvloop:

- ``websockets``: websockets 17's asyncio client, ``async for raw in ws`` + ``orjson.loads``
  + a dict look-up of the subscription (what a message layer must do at least);
- ``picows``: a picows listener, ``orjson.loads`` + the same look-up in ``on_ws_frame``;
- ``client``: the whole Deriv client (``DerivClient.subscribe`` then iterating its stream:
  decode, req_id/subscription routing, queue, consumer task).

Figure: messages per second from the request to the last message consumed, best of
``--repeat`` runs (the machine is shared).

    .venv/bin/python bench/bench_deriv_client.py [--count 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time

import orjson

SUB_ID = "c84a793b-8a87-7999-ce10-9b22f7ceead3"


def _sender(count: int, port_out: mp.Queue) -> None:
    from picows import WSListener, WSMsgType, ws_create_server

    class Sender(WSListener):
        def on_ws_frame(self, transport, frame) -> None:  # noqa: ANN001
            if frame.msg_type != WSMsgType.TEXT:
                return
            req = orjson.loads(frame.get_payload_as_bytes())
            msg = {"echo_req": {"ticks": "R_100", "subscribe": 1}, "msg_type": "tick",
                   "req_id": req.get("req_id"), "subscription": {"id": SUB_ID},
                   "tick": {"ask": 1234.57, "bid": 1234.55, "epoch": 0, "id": SUB_ID,
                            "pip_size": 2, "quote": 1234.56, "symbol": "R_100"}}
            tick = msg["tick"]
            for i in range(count):
                tick["epoch"] = 1718000000 + i
                transport.send(WSMsgType.TEXT, orjson.dumps(msg))

    async def run() -> None:
        server = await ws_create_server(lambda _r: Sender(), "127.0.0.1", 0)
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    import uvloop
    uvloop.run(run())


async def _recv_websockets(url: str, count: int) -> float:
    from websockets.asyncio.client import connect

    routes = {SUB_ID: 0}
    async with connect(url, compression=None, max_queue=None, max_size=None) as ws:
        t0 = time.perf_counter()
        await ws.send(orjson.dumps({"ticks": "R_100", "subscribe": 1, "req_id": 1}).decode())
        n = 0
        async for raw in ws:
            msg = orjson.loads(raw)
            routes[msg["subscription"]["id"]] += 1
            n += 1
            if n == count:
                return count / (time.perf_counter() - t0)
    raise RuntimeError("closed early")


async def _recv_picows(url: str, count: int) -> float:
    from picows import WSListener, WSMsgType, ws_connect

    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    routes = {SUB_ID: 0}

    class Receiver(WSListener):
        n = 0

        def on_ws_frame(self, transport, frame) -> None:  # noqa: ANN001
            if frame.msg_type == WSMsgType.TEXT:
                msg = orjson.loads(frame.get_payload_as_bytes())
                routes[msg["subscription"]["id"]] += 1
                self.n += 1
                if self.n == count:
                    done.set_result(time.perf_counter())

    transport, _ = await ws_connect(Receiver, url)
    t0 = time.perf_counter()
    transport.send(WSMsgType.TEXT, orjson.dumps({"ticks": "R_100", "subscribe": 1,
                                                 "req_id": 1}))
    t1 = await done
    transport.disconnect()
    return count / (t1 - t0)


async def _recv_client(url: str, count: int) -> float:
    from tickgate.host.venues.deriv import DerivClient, UrlConnector

    async with DerivClient(UrlConnector(url), keepalive_s=None, validate=False,
                           read_limits=False) as client:
        t0 = time.perf_counter()
        sub = await client.subscribe({"ticks": "R_100"})
        n = 0
        async for _msg in sub:
            n += 1
            if n == count:
                return count / (time.perf_counter() - t0)
    raise RuntimeError("closed early")


RECEIVERS = {"websockets": _recv_websockets, "picows": _recv_picows, "client": _recv_client}


def main() -> None:
    """Run each receiver ``--repeat`` times and print messages per second."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per receiver; best shown")
    parser.add_argument("--only", choices=sorted(RECEIVERS))
    args = parser.parse_args()
    import uvloop

    kinds = [args.only] if args.only else list(RECEIVERS)
    ctx = mp.get_context("spawn")
    for kind in kinds:
        rates = []
        for _ in range(args.repeat):
            port_q: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_sender, args=(args.count, port_q), daemon=True)
            proc.start()
            try:
                url = f"ws://127.0.0.1:{port_q.get(timeout=30)}/websockets/v3?app_id=1089"
                rates.append(uvloop.run(RECEIVERS[kind](url, args.count)))
            finally:
                proc.terminate()
                proc.join()
        print(f"{kind:10s} uvloop best {max(rates) / 1000:6.0f}k msg/s"
              f"  (runs: {', '.join(f'{r / 1000:.0f}k' for r in rates)})", flush=True)


if __name__ == "__main__":
    main()
