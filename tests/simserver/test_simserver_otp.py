"""The new Deriv API's OTP flow: a REST call gives a WebSocket URL that needs no authorize."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets
from simserver_client import DEMO, REAL, TOKENS, Client, async_test, connect

from tickgate.host.simserver import SimServer


def _post(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@async_test
async def test_otp_flow() -> None:
    async with SimServer(port=0, tokens=TOKENS, rest_port=0) as server:
        loop = asyncio.get_running_loop()
        async with connect(server.url) as ws:
            loginid = (await Client(ws).ok({"authorize": DEMO}))["authorize"]["loginid"]
        base = f"http://127.0.0.1:{server.rest_port}/trading/v1/options/accounts"

        async def post(account: str, token: str, app: str = "1089") -> tuple[int, dict]:
            headers = {"Deriv-App-ID": app, "Authorization": f"Bearer {token}"}
            return await loop.run_in_executor(None, _post, f"{base}/{account}/otp", headers)

        assert (await post(loginid, DEMO, app="x"))[0] == 401
        assert (await post(loginid, "nope"))[1]["error"]["code"] == "InvalidToken"
        assert (await post(loginid, REAL))[0] == 403
        status, body = await post(loginid, DEMO)
        assert status == 200
        url = body["data"]["url"]
        assert "/trading/v1/options/ws/demo?otp=" in url
        async with connect(url) as ws:
            bal = (await Client(ws).ok({"balance": 1}))["balance"]
            assert bal["loginid"] == loginid
        with pytest.raises(websockets.InvalidStatus):     # one use only
            async with connect(url):
                pass
        async with connect(f"ws://127.0.0.1:{server.port}/trading/v1/options/ws/public") as ws:
            c = Client(ws)
            await c.ok({"ticks_history": "R_10", "end": "latest", "count": 2})
            await c.error({"balance": 1}, "AuthorizationRequired")
