"""Logging in: demo and real tokens, scopes, and the errors Deriv gives."""

from __future__ import annotations

import pytest
from simserver_client import DEMO, READONLY, REAL, TOKENS, Client, async_test, connect

from tickgate.host.simserver import SimServer
from tickgate.host.simserver.accounts import mask, parse_token_spec

BUY = {"buy": "1", "price": 10, "parameters": {
    "contract_type": "CALL", "currency": "USD", "symbol": "R_100", "amount": 10,
    "basis": "stake", "duration": 5, "duration_unit": "t"}}


@async_test
async def test_demo_and_real_accounts() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        demo = (await c.ok({"authorize": DEMO}))["authorize"]
        assert demo["loginid"].startswith("VRTC") and demo["is_virtual"] == 1
        assert demo["balance"] == 10000 and demo["scopes"] == ["read", "trade"]
        real = (await c.ok({"authorize": REAL}))["authorize"]
        assert real["loginid"].startswith("CR") and real["is_virtual"] == 0
        assert real["landing_company_name"] == "svg"
        bal = (await c.ok({"balance": 1}))["balance"]
        assert bal == {"balance": 1000.0, "currency": "USD", "loginid": real["loginid"]}
        both = (await c.ok({"authorize": DEMO, "tokens": [REAL]}))["authorize"]
        assert {a["loginid"] for a in both["account_list"]} == {demo["loginid"], real["loginid"]}
        other = await c.ok({"balance": 1, "loginid": real["loginid"]})
        assert other["balance"]["loginid"] == real["loginid"]
        everything = (await c.ok({"balance": 1, "account": "all"}))["balance"]
        assert set(everything["accounts"]) == {demo["loginid"], real["loginid"]}
        assert everything["total"]["deriv_demo"]["amount"] == 10000


@async_test
async def test_token_and_scope_errors() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server, connect(server.url) as ws:
        c = Client(ws)
        await c.error(BUY, "AuthorizationRequired")
        await c.error({"balance": 1}, "AuthorizationRequired")
        await c.error({"statement": 1}, "AuthorizationRequired")
        msg = await c.error({"authorize": "no-such-token"}, "InvalidToken")
        assert msg["error"]["message"] == "The token is invalid."
        await c.error({"authorize": "bad token!"}, "InputValidationFailed", raw=True)
        await c.ok({"authorize": READONLY})
        msg = await c.error(BUY, "PermissionDenied")
        assert msg["error"]["message"] == "Permission denied, requires trade scope(s)."
        await c.ok({"balance": 1})            # read is enough for balance
        await c.ok({"ticks_history": "R_10", "end": "latest", "count": 3})  # no auth needed


@async_test
async def test_generated_demo_token() -> None:
    async with SimServer(port=0) as server, connect(server.url) as ws:
        assert server.generated_token
        auth = (await Client(ws).ok({"authorize": server.generated_token}))["authorize"]
        assert auth["is_virtual"] == 1 and set(auth["scopes"]) == {"read", "trade"}


def test_token_specs() -> None:
    assert parse_token_spec("abc=demo") == ("abc", True, ("read", "trade"))
    assert parse_token_spec("x-1=real:read,admin") == ("x-1", False, ("read", "admin"))
    for bad in ("abc", "abc=paper", "a b=demo", "abc=demo:fly"):
        with pytest.raises(ValueError):
            parse_token_spec(bad)
    assert mask("secret-token") == "sec…"
