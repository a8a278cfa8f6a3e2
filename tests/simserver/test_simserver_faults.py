"""Each fault switch does what it says."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
import websockets
from simserver_client import TOKENS, Client, async_test, connect

from tickgate.host.simserver import Faults, SimServer


@async_test
async def test_drop_connections() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        await Client(ws).ok({"ping": 1})
        assert server.drop_connections() == 1
        with pytest.raises(websockets.ConnectionClosedError) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is None          # no close frame: the TCP connection died


@async_test
async def test_delay_and_timeout() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        server.faults.delay_s = 0.3
        t0 = time.monotonic()
        await c.ok({"ping": 1})
        assert time.monotonic() - t0 >= 0.3
        server.faults.rpc_timeout_s = 0.2
        server.faults.delay_s = 0.5
        msg = await c.error({"time": 1}, "Timeout")
        assert msg["msg_type"] == "time"


@async_test
async def test_rate_limit() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        server.faults.rate_limit = frozenset({"ticks_history"})
        msg = await c.error({"ticks_history": "R_10", "end": "latest"}, "RateLimit")
        assert msg["error"]["message"] == "You have reached the rate limit for ticks_history."
        await c.ok({"active_symbols": "brief"})
        server.faults.rate_limit = True
        await c.error({"active_symbols": "brief"}, "RateLimit")
        await c.ok({"ping": 1})
        server.faults.rate_limit = False
        await c.ok({"active_symbols": "brief"})


@async_test
async def test_ping_flood_closes_with_1008() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        for _ in range(10):
            await c.ok({"ping": 1})
        await c.error({"time": 1}, "RateLimit")      # the 11th within a second
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd.code == 1008
        server.faults.ping_flood_limit = None
        async with connect(server.url) as ws2:
            c2 = Client(ws2)
            for _ in range(20):
                await c2.ok({"ping": 1})


@async_test
async def test_maintenance_then_drop() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, \
            connect(server.url) as ws, connect(server.url) as ws2:
        c, c2 = Client(ws), Client(ws2)
        sub = await c.ok({"website_status": 1, "subscribe": 1})
        await c2.ok({"ping": 1})
        task = asyncio.ensure_future(server.announce_maintenance(0.3))
        note = await c.next(lambda m: m["msg_type"] == "website_status")
        assert note["website_status"]["site_status"] == "updating"
        assert note["subscription"] == sub["subscription"]
        note2 = await c2.next(lambda m: m["msg_type"] == "website_status")
        assert note2["website_status"]["site_status"] == "updating"
        assert await task == 2
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        async with connect(server.url) as ws3:
            status = await Client(ws3).ok({"website_status": 1})
            assert status["website_status"]["site_status"] == "up"


@async_test
async def test_malformed_frame() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        assert server.send_malformed() == 1
        raw = await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
        await Client(ws).ok({"ping": 1})


@async_test
async def test_idle_timeout() -> None:
    faults = Faults(idle_timeout_s=0.4)
    async with SimServer(port=0, tokens=TOKENS, faults=faults) as server, \
            connect(server.url) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


def test_cli_serves_and_prints_a_demo_token() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "tickgate.host.cli", "sim-server",
                             "--port", "0", "--speed", "10", "--seed", "1"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        token = proc.stdout.readline().split()[-1]
        assert url.startswith("ws://127.0.0.1:") and "/websockets/v3?app_id=" in url

        async def talk() -> None:
            async with connect(url) as ws:
                c = Client(ws)
                auth = await c.ok({"authorize": token})
                assert auth["authorize"]["is_virtual"] == 1
                await c.ok({"ticks": "R_100"})
        asyncio.run(asyncio.wait_for(talk(), 20))
    finally:
        proc.terminate()
        proc.wait(10)
