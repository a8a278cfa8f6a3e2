"""Sessions: authorize, wrong tokens, req_id matching, dropped connections, malformed frames."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback

import pytest
from deriv_helpers import CALL, DEMO, TOKENS, async_test, make_client, wait_for

from tickgate.host.simserver import SimServer
from tickgate.host.venues.deriv import (
    AuthError,
    ConnectionLost,
    LegacyConnector,
    RateLimiter,
    UrlConnector,
    Window,
)
from tickgate.host.venues.deriv.client import DerivClient
from tickgate.host.venues.deriv.messages import Balance, Buy, Contract, Tick, parse


@async_test
async def test_authorize_demo_and_typed_replies() -> None:
    async with SimServer(port=0, tokens=TOKENS, speed=10) as server:
        client = make_client(server.url)
        async with client:
            assert client.is_virtual is True
            assert client.authorize_info["loginid"].startswith("VRTC")
            bal = parse(await client.request({"balance": 1}))
            assert isinstance(bal, Balance) and bal.balance == 10000 and bal.currency == "USD"
            sub = await client.subscribe({"buy": "1", "price": 100, "parameters": CALL})
            first = [parse(await anext(sub)) for _ in range(2)]
            assert isinstance(first[0], Buy) and first[0].contract_id > 0
            assert isinstance(first[1], Contract) and first[1].contract_id == first[0].contract_id
            tick = parse(await client.request({"ticks": "R_10"}))
            assert isinstance(tick, Tick) and tick.symbol == "R_10" and tick.pip_size == 3
        calls = [next(iter(r)) for _, r in client.send_log.sent]
        assert calls[:2] == ["website_status", "authorize"]


@async_test
async def test_legacy_connector_against_the_simulator() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        base = f"ws://127.0.0.1:{server.port}/websockets/v3"
        async with DerivClient(LegacyConnector(1089, DEMO, server=base),
                               keepalive_s=None) as client:
            assert client.is_virtual is True
        with pytest.raises(AuthError) as info:       # app_id refused at the handshake (401)
            await DerivClient(UrlConnector(server.url_for("0x1"), DEMO)).connect()
        assert "InvalidAppID" in str(info.value)


@pytest.mark.parametrize("token", ["wrong-secret-token-XYZ", "bad token with spaces!"])
def test_wrong_token_is_an_auth_error_without_the_token(
        caplog: pytest.LogCaptureFixture, token: str) -> None:
    caplog.set_level(logging.DEBUG)

    @async_test
    async def run() -> None:
        async with SimServer(port=0, tokens=TOKENS) as server:
            client = make_client(server.url, token)
            with pytest.raises(AuthError) as info:
                await client.connect()
            exc = info.value
            texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
                     caplog.text, repr(client.connector.token), str(client.connector.token)]
            for text in texts:
                assert token not in text
            assert exc.code in ("InvalidToken", "InputValidationFailed")
            logging.getLogger("tickgate.host.venues.deriv.client").warning(
                "token is %s (%r)", token, client.connector.token)
            assert token not in caplog.text
    run()


@async_test
async def test_many_concurrent_requests_matched_by_req_id() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        limiter = RateLimiter({"general": (Window(10_000, 60),)})
        client = make_client(server.url, read_limits=False, limiter=limiter)
        async with client:
            symbols = ["R_10", "R_25", "R_50", "R_75", "R_100", "1HZ10V", "1HZ100V"]
            requests = [{"ticks_history": symbols[i % len(symbols)], "end": "latest",
                         "count": 1 + i % 17} for i in range(300)]
            replies = await asyncio.gather(*(client.request(r) for r in requests))
        for req, reply in zip(requests, replies, strict=True):
            assert reply["echo_req"]["ticks_history"] == req["ticks_history"]
            assert len(reply["history"]["prices"]) == req["count"]
        assert len({r["req_id"] for r in replies}) == 300


@async_test
async def test_drop_fails_every_pending_request_promptly_and_never_resends_a_buy() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        client = make_client(server.url)
        async with client:
            server.faults.delay_s = 3.0          # replies are late: requests stay pending
            tasks = [asyncio.ensure_future(client.request(
                {"ticks_history": "R_10", "end": "latest", "count": 5})) for _ in range(20)]
            buy = asyncio.ensure_future(client.request(
                {"buy": "1", "price": 100, "parameters": CALL}))
            await wait_for(lambda: len(client._pending) == 21)
            t0 = time.monotonic()
            server.drop_connections()
            results = await asyncio.gather(*tasks, buy, return_exceptions=True)
            assert time.monotonic() - t0 < 0.5
            assert all(isinstance(r, ConnectionLost) for r in results)
            assert results[-1].maybe_executed and "buy" in str(results[-1])
            server.faults.delay_s = 0.0
            await client.wait_connected(5)
            await client.request({"ping": 1})
        assert len(client.send_log.calls("buy")) == 1
        assert len(client.send_log.calls("authorize")) == 2


@async_test
async def test_without_reconnect_a_drop_ends_the_client() -> None:
    async with SimServer(port=0, tokens=TOKENS) as server:
        client = make_client(server.url, reconnect=False)
        async with client:
            sub = await client.subscribe({"ticks": "R_10"})
            server.drop_connections()
            with pytest.raises(ConnectionLost):
                async for _ in sub:
                    pass
            with pytest.raises(ConnectionLost):
                await client.request({"ping": 1})


def test_malformed_frame_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    @async_test
    async def run() -> None:
        async with SimServer(port=0, tokens=TOKENS) as server:
            client = make_client(server.url)
            async with client:
                assert server.send_malformed() == 1
                server.send_malformed(b"[1, 2, 3]")        # JSON, but not a message
                await wait_for(lambda: client.stats["malformed"] == 2)
                assert (await client.request({"ping": 1}))["ping"] == "pong"
                assert client.sessions == 1 and client.stats["reconnects"] == 0
    caplog.set_level(logging.WARNING)
    run()
    assert "malformed frame skipped" in caplog.text
